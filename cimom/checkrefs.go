package cimom

import (
	"context"
	"fmt"

	"github.com/wbemd/wbemd/cim"
)

// checkReferences follows every reference of the stored instance inst
// (at path op in namespace ns) and records in rep those whose target does
// not exist.
func (c *CIMOM) checkReferences(ctx context.Context, ns string, inst *cim.Object, op *cim.ObjectPath, rep *CheckReport) {
	for _, p := range inst.Properties {
		if p.Type != cim.TypeReference || p.Value.IsNull() {
			continue
		}
		rep.References++
		target, _ := p.Value.V.(string)
		if why := c.danglingReason(ctx, ns, target); why != "" {
			if rep.DanglingCount++; len(rep.Dangling) < maxDangling {
				rep.Dangling = append(rep.Dangling, fmt.Sprintf("%s:%s.%s -> %s (%s)", ns, op.RelPath(), p.Name, target, why))
			}
		}
	}
}

// danglingReason says why the reference target, held by an instance of
// namespace ns, names no instance ("" when it does, or when its class is
// [Dynamic]).
func (c *CIMOM) danglingReason(ctx context.Context, ns, target string) string {
	op, err := cim.ParsePath(target)
	if err != nil {
		return "not an object path"
	}
	tns := ns
	if op.Namespace != "" {
		if tns, err = cim.NormalizeNamespace(op.Namespace); err != nil {
			return "not a namespace"
		}
	}
	if _, found, err := c.namespaceName(ctx, tns); err != nil || !found {
		return "no namespace " + tns
	}
	s := &services{c: c, ns: tns, p: Principal{Name: providerSelf, Groups: []string{GroupAdministrators}}}
	ref, err := s.bindPath(ctx, op)
	switch {
	case cim.StatusOf(err) == cim.EInvalidClass:
		return "no class " + op.Class
	case err != nil:
		return cim.AsError(err).Description
	case ref.ci.dynamic:
		return ""
	}
	if _, err := s.getInstance(ctx, ref, nil); err != nil {
		return "no such instance"
	}
	return ""
}
