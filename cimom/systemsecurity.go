package cimom

import (
	"context"
	"errors"
	"fmt"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// systemSecurityClass is WMI's class whose methods read and change a
// namespace's security; every namespace has it.
const systemSecurityClass = "__SystemSecurity"

// systemSecurityDecl declares the methods of __SystemSecurity that wbemd
// serves, static since they act on the namespace, not an instance:
//
//	uint32 GetSD([out] string SDDL);                 // READ_CONTROL
//	uint32 SetSD([in] string SDDL);                  // WRITE_DAC
//	uint32 GetCallerAccessRights([out] sint32 Rights); // any enabled caller
//
// WMI's GetSD and SetSD carry a binary descriptor whose trustees are
// Windows SIDs; wbemd's trustees are names, so its descriptor travels as
// SDDL text (sddl.go), a plain string every door and client carries.
func systemSecurityDecl(o *cim.Object) *cim.Object {
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	static := []cim.Qualifier{{Name: "Static", Value: yes}}
	param := func(name string, t cim.Type, dir string) cim.Parameter {
		return cim.Parameter{Name: name, Type: t, Qualifiers: []cim.Qualifier{{Name: dir, Value: yes}}}
	}
	method := func(name string, p cim.Parameter) cim.Method {
		return cim.Method{Name: name, ReturnType: cim.TypeUint32, Origin: o.Class, Qualifiers: static, Parameters: []cim.Parameter{p}}
	}
	o.Methods = []cim.Method{
		method("GetSD", param("SDDL", cim.TypeString, "Out")),
		method("SetSD", param("SDDL", cim.TypeString, "In")),
		method("GetCallerAccessRights", param("Rights", cim.TypeSint32, "Out")),
	}
	return o
}

// systemSecurity runs a method of __SystemSecurity on the caller's
// namespace: GetCallerAccessRights (any enabled caller), GetSD
// (READ_CONTROL) and SetSD (WRITE_DAC), with in-parameters in.
func (s *services) systemSecurity(ctx context.Context, m *cim.Method, in *cim.Object) (*cim.Object, error) {
	out := func(name string, v cim.Value) *cim.Object {
		o := &cim.Object{Genus: cim.GenusInstance, Class: ParametersClass, Properties: []cim.Property{
			{Name: ReturnValue, Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(0)}}}}
		if name != "" {
			o.Properties = append(o.Properties, cim.Property{Name: name, Type: v.Type, Value: v})
		}
		return o
	}
	switch {
	case cim.EqualFold(m.Name, "GetCallerAccessRights"):
		sd, err := s.c.namespaceSD(ctx, s.ns)
		if err != nil {
			return nil, err
		}
		return out("Rights", cim.Value{Type: cim.TypeSint32, V: int32(accessRights(sd, s.p))}), nil
	case cim.EqualFold(m.Name, "GetSD"):
		sd, err := s.getSD(ctx)
		if err != nil {
			return nil, err
		}
		return out("SDDL", cim.Value{Type: cim.TypeString, V: FormatSDDL(sd)}), nil
	case cim.EqualFold(m.Name, "SetSD"):
		v, _ := in.Get("SDDL")
		text, ok := v.V.(string)
		if !ok {
			return nil, cim.Errorf(cim.EInvalidParameter, "SetSD needs the descriptor in SDDL").WithParam("SDDL")
		}
		sd, err := ParseSDDL(text)
		if err != nil {
			return nil, err
		}
		if err := s.setSD(ctx, sd); err != nil {
			return nil, err
		}
		return out("", cim.Value{}), nil
	}
	return nil, cim.Errorf(cim.EMethodNotImplemented, "__SystemSecurity.%s is not implemented", m.Name).WithParam(m.Name)
}

// InstallSystemSecurity declares the current methods of __SystemSecurity
// in every namespace of a repository that has an older declaration (new
// namespaces get it when created). It is idempotent and reads one record
// per namespace when nothing is to change.
func (c *CIMOM) InstallSystemSecurity(ctx context.Context) error {
	want := cim.EncodeClass(nil, systemSecurityDecl(&cim.Object{Genus: cim.GenusClass, Class: systemSecurityClass, Superclass: "__SystemClass"}))
	names, err := c.Namespaces(ctx)
	if err != nil {
		return err
	}
	var stale []string
	var cmps []store.Compare
	for _, ns := range names {
		kv, found, err := c.st.Get(ctx, classKey(ns, systemSecurityClass))
		if err != nil {
			return fmt.Errorf("cimom: install __SystemSecurity: %w", err)
		}
		if found && string(kv.Value) == string(want) {
			continue
		}
		stale = append(stale, ns)
		cmps = append(cmps, store.Compare{Key: classKey(ns, systemSecurityClass), ModRev: kv.ModRev})
	}
	for i, ns := range stale {
		ops := []store.Op{store.Put(classKey(ns, systemSecurityClass), want)}
		if _, err := c.commit(ctx, cmps[i:i+1], ops); err != nil && !errors.Is(err, store.ErrCompareFailed) {
			return fmt.Errorf("cimom: install __SystemSecurity in %s: %w", ns, err)
		}
	}
	return nil
}
