package mof

import (
	"context"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// CompileInstances compiles u, when it holds plain instances only
// (BuildInstances), and hands all of its instances, of the session's
// current namespace, to write in one call, which must write all of them
// atomically or none (cimom's PutInstances).
//
// It reports whether it compiled u. It does not, and leaves the session
// as it was, when BuildInstances does not or when write fails: the caller
// then compiles u with Compile (in a transaction), which names the error
// exactly. A bulk load thus skips the transaction view and its reads for
// the common piece of a streamed compile.
func (s *Session) CompileInstances(root cimom.Services, u *Unit, write func(ctx context.Context, ns string, insts []*cim.Object) error) bool {
	m := s.Mark()
	ns, insts, ok := s.BuildInstances(root, u)
	if !ok {
		return false
	}
	if len(insts) > 0 {
		if err := write(s.c.ctx, ns, insts); err != nil {
			s.Restore(m)
			return false
		}
	}
	return true
}

// Mark is a state of a session to come back to (Restore): its summary,
// its errors and the instances waiting for an alias.
type Mark struct {
	sum            Summary
	errs, deferred int
}

// Mark returns the session's state, for Restore.
func (s *Session) Mark() Mark {
	return Mark{sum: s.c.sum, errs: len(s.c.errs), deferred: len(s.c.deferred)}
}

// Restore puts the session back to m, across units compiled by
// BuildInstances only (they only add to what m records): the instances
// they built were not written after all.
func (s *Session) Restore(m Mark) {
	c := s.c
	c.sum, c.errs, c.deferred = m.sum, c.errs[:m.errs], c.deferred[:m.deferred]
}

// BuildInstances compiles u, when it holds plain instances only, without
// writing anything through root: every declaration of u is an instance
// without an alias, and instances are created (no #pragma instanceflags
// other than createonly is in force). It builds the instances through
// root (reads of classes and qualifier declarations only) and returns
// them with their namespace, counted as created: the caller writes them
// all, or Restores the session to a Mark taken before.
//
// It reports false, and leaves the session as it was, when u holds
// anything else, or when a declaration has an error or needs a write of
// its own; the caller then compiles u with Compile.
func (s *Session) BuildInstances(root cimom.Services, u *Unit) (string, []*cim.Object, bool) {
	c := s.c
	if c.instFlags&^cimom.FlagCreateOnly != 0 {
		return "", nil, false
	}
	for _, it := range u.items {
		d, ok := it.decl.(*InstanceDecl)
		if !ok || d.Alias != "" {
			return "", nil, false
		}
	}
	m := s.Mark()
	var insts []*cim.Object
	saved := s.Bulk
	s.Bulk = func(_ context.Context, _ string, group []*cim.Object) error {
		insts = append(insts, group...)
		return nil
	}
	errs := s.Compile(readOnlyServices{root}, u)
	s.Bulk = saved
	if len(errs) > 0 || c.ctx.Err() != nil || c.conn == nil {
		s.Restore(m)
		return "", nil, false
	}
	return c.ns, insts, true
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
