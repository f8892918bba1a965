package mof

import (
	"context"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// CompileInstances compiles u, when it holds plain instances only, without
// writing anything through root: every declaration of u is an instance
// without an alias, and instances are created (no #pragma instanceflags
// other than createonly is in force). It builds the instances through
// root (reads of classes and qualifier declarations only), then hands all
// of them, of the session's current namespace, to write in one call, which
// must write all of them atomically or none (cimom's PutInstances).
//
// It reports whether it compiled u. It does not, and leaves the session
// as it was, when u holds anything else, when a declaration has an error
// or needs a write of its own, or when write fails: the caller then
// compiles u with Compile (in a transaction), which names the error
// exactly. A bulk load thus skips the transaction view and its reads for
// the common piece of a streamed compile.
func (s *Session) CompileInstances(root cimom.Services, u *Unit, write func(ctx context.Context, ns string, insts []*cim.Object) error) bool {
	c := s.c
	if c.instFlags&^cimom.FlagCreateOnly != 0 {
		return false
	}
	for _, it := range u.items {
		d, ok := it.decl.(*InstanceDecl)
		if !ok || d.Alias != "" {
			return false
		}
	}
	sum, nerrs, ndeferred := c.sum, len(c.errs), len(c.deferred)
	restore := func() bool {
		c.sum, c.errs, c.deferred = sum, c.errs[:nerrs], c.deferred[:ndeferred]
		return false
	}
	var insts []*cim.Object
	s.Bulk = func(_ context.Context, _ string, group []*cim.Object) error {
		insts = append(insts, group...)
		return nil
	}
	errs := s.Compile(readOnlyServices{root}, u)
	s.Bulk = nil
	if len(errs) > 0 || c.ctx.Err() != nil || c.conn == nil {
		return restore()
	}
	if len(insts) > 0 {
		if err := write(c.ctx, c.ns, insts); err != nil {
			return restore()
		}
	}
	return true
}

// errReadOnly refuses a write through readOnlyServices.
var errReadOnly = cim.Errorf(cim.EFailed, "a plain-instance compile writes through its bulk writer only")

// readOnlyServices is a connection that reads and refuses every write the
// compiler makes: CompileInstances compiles through it, so that a
// declaration that would write on its own fails the attempt (which then
// goes the ordinary way) instead of writing outside the bulk transaction.
type readOnlyServices struct{ cimom.Services }

func (r readOnlyServices) OpenNamespace(ctx context.Context, ns string, flags cimom.Flags, wctx *cimom.Context) (cimom.Services, error) {
	s, err := r.Services.OpenNamespace(ctx, ns, flags, wctx)
	if err != nil {
		return nil, err
	}
	return readOnlyServices{s}, nil
}

func (readOnlyServices) PutClass(context.Context, *cim.Object, cimom.Flags, *cimom.Context) error {
	return errReadOnly
}

func (readOnlyServices) DeleteClass(context.Context, string, cimom.Flags, *cimom.Context) error {
	return errReadOnly
}

func (readOnlyServices) PutInstance(context.Context, *cim.Object, cimom.Flags, *cimom.Context) (string, error) {
	return "", errReadOnly
}

func (readOnlyServices) DeleteInstance(context.Context, string, cimom.Flags, *cimom.Context) error {
	return errReadOnly
}

func (readOnlyServices) PutQualifier(context.Context, *cim.QualifierDecl, cimom.Flags) error {
	return errReadOnly
}

func (readOnlyServices) DeleteQualifier(context.Context, string) error { return errReadOnly }
