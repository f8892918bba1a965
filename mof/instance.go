package mof

import (
	"context"
	"errors"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// Instance builds the instance that src declares, as `wbem put` takes
// one: src holds exactly one `instance of` declaration (no pragmas, no
// aliases of other declarations), its class and the qualifier
// declarations are read through svc, and nothing is written. The
// diagnostics are those of Compile.
func Instance(ctx context.Context, svc cimom.Services, file, src string) (*cim.Object, []*Error) {
	f, errs := Parse(file, src)
	if len(errs) > 0 {
		return nil, errs
	}
	var decl *InstanceDecl
	for _, d := range f.Decls {
		id, ok := d.(*InstanceDecl)
		if !ok || decl != nil {
			return nil, []*Error{{Pos: DeclPos(d), Status: cim.EInvalidParameter, Msg: "put takes one instance declaration and nothing else (use mofcomp for more)"}}
		}
		decl = id
	}
	if decl == nil {
		return nil, []*Error{{Pos: Pos{File: file, Line: 1, Col: 1}, Status: cim.EInvalidParameter, Msg: "no instance declaration"}}
	}
	c := &compiler{ctx: ctx, root: svc, conn: svc, ns: svc.Namespace(), conns: map[string]cimom.Services{},
		classes: map[string]*cim.Object{}, decls: map[string]map[string]*cim.QualifierDecl{},
		flavorStmts: map[string]cim.Flavor{}, aliases: map[string]string{}, failedAliases: map[string]bool{}}
	inst, err := c.instance(decl, 0)
	var ma *missingAlias
	if errors.As(err, &ma) {
		c.errorf(ma.v.At, cim.EInvalidParameter, "alias $%s is not defined", ma.v.Text)
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return inst, nil
}
