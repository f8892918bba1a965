package cimom

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// Qualifier declarations are DSP0004's qualifier types. WMI keeps none and
// accepts any qualifier; wbemd keeps them per namespace, as CIM-XML needs,
// and applies them to the classes written after them: a qualifier that has
// a declaration must be used within its scope, and its value takes the
// declared type. A qualifier without a declaration is accepted as WMI
// accepts it.

// qualCache holds each namespace's declarations, loaded whole on first use
// and dropped by the change feed on any declaration write.
type qualCache struct {
	mu  sync.Mutex
	m   map[string]map[string]*cim.QualifierDecl // folded ns -> folded name
	gen uint64                                   // raised by every drop (see feed.go)
}

func (qc *qualCache) drop(ns string) {
	qc.mu.Lock()
	delete(qc.m, cim.Fold(ns))
	qc.gen++
	qc.mu.Unlock()
}

func (qc *qualCache) clear() {
	qc.mu.Lock()
	qc.m = nil
	qc.gen++
	qc.mu.Unlock()
}

// decls returns the namespace's declarations by folded name.
func (c *CIMOM) decls(ctx context.Context, ns string) (map[string]*cim.QualifierDecl, error) {
	c.quals.mu.Lock()
	m, ok := c.quals.m[cim.Fold(ns)]
	gen := c.quals.gen
	c.quals.mu.Unlock()
	if ok {
		return m, nil
	}
	m = map[string]*cim.QualifierDecl{}
	p := qualPrefix(ns)
	for kv, err := range c.st.Range(ctx, p, store.PrefixEnd(p)) {
		if err != nil {
			return nil, err
		}
		d, err := cim.DecodeQualifierDecl(kv.Value)
		if err != nil {
			return nil, err
		}
		m[cim.Fold(d.Name)] = d
	}
	c.quals.mu.Lock()
	if c.quals.gen == gen {
		if c.quals.m == nil {
			c.quals.m = map[string]map[string]*cim.QualifierDecl{}
		}
		c.quals.m[cim.Fold(ns)] = m
	}
	c.quals.mu.Unlock()
	return m, nil
}

func (s *services) GetQualifier(ctx context.Context, name string) (*cim.QualifierDecl, error) {
	var out *cim.QualifierDecl
	err := s.call("GetQualifier", func() error {
		if err := s.require(ctx, RightEnable); err != nil {
			return err
		}
		m, err := s.c.decls(ctx, s.ns)
		if err != nil {
			return err
		}
		d, ok := m[cim.Fold(name)]
		if !ok {
			return cim.Errorf(cim.ENotFound, "qualifier %s is not declared in %s", name, s.ns).WithParam(name)
		}
		cp := *d
		out = &cp
		return nil
	})
	return out, err
}

func (s *services) EnumQualifiers(ctx context.Context) ([]*cim.QualifierDecl, error) {
	var out []*cim.QualifierDecl
	err := s.call("EnumQualifiers", func() error {
		if err := s.require(ctx, RightEnable); err != nil {
			return err
		}
		m, err := s.c.decls(ctx, s.ns)
		if err != nil {
			return err
		}
		for _, d := range m {
			cp := *d
			out = append(out, &cp)
		}
		sort.Slice(out, func(i, j int) bool { return cim.Fold(out[i].Name) < cim.Fold(out[j].Name) })
		return nil
	})
	return out, err
}

func (s *services) PutQualifier(ctx context.Context, decl *cim.QualifierDecl, flags Flags) error {
	return s.call("PutQualifier", func() error {
		if decl == nil {
			return cim.Errorf(cim.EInvalidParameter, "no qualifier declaration given").WithParam("decl")
		}
		if err := checkFlags(flags, FlagCreateOnly|FlagUpdateOnly); err != nil {
			return err
		}
		d := *decl
		if err := d.Check(); err != nil {
			return err
		}
		if err := s.require(ctx, RightFullWrite); err != nil {
			return err
		}
		kv, found, err := s.c.st.Get(ctx, qualKey(s.ns, d.Name))
		if err != nil {
			return err
		}
		switch {
		case found && flags&FlagCreateOnly != 0:
			return cim.Errorf(cim.EAlreadyExists, "qualifier %s is already declared", d.Name).WithParam(d.Name)
		case !found && flags&FlagUpdateOnly != 0:
			return cim.Errorf(cim.ENotFound, "qualifier %s is not declared", d.Name).WithParam(d.Name)
		}
		if found {
			if old, err := cim.DecodeQualifierDecl(kv.Value); err == nil {
				d.Name = old.Name // keep the first spelling
			}
		}
		_, err = s.c.commit(ctx, []store.Compare{{Key: qualKey(s.ns, d.Name), ModRev: kv.ModRev}},
			[]store.Op{store.Put(qualKey(s.ns, d.Name), cim.EncodeQualifierDecl(&d))})
		if errors.Is(err, store.ErrCompareFailed) {
			return cim.Errorf(cim.ETransactionConflict, "qualifier %s changed during the write; retry", d.Name)
		}
		return err
	})
}

func (s *services) DeleteQualifier(ctx context.Context, name string) error {
	return s.call("DeleteQualifier", func() error {
		if err := s.require(ctx, RightFullWrite); err != nil {
			return err
		}
		kv, found, err := s.c.st.Get(ctx, qualKey(s.ns, name))
		if err != nil {
			return err
		}
		if !found {
			return cim.Errorf(cim.ENotFound, "qualifier %s is not declared in %s", name, s.ns).WithParam(name)
		}
		_, err = s.c.commit(ctx, []store.Compare{{Key: qualKey(s.ns, name), ModRev: kv.ModRev}}, []store.Op{store.Delete(qualKey(s.ns, name))})
		if errors.Is(err, store.ErrCompareFailed) {
			return cim.Errorf(cim.ETransactionConflict, "qualifier %s changed during the delete; retry", name)
		}
		return err
	})
}

// applyDecls checks the qualifiers a class declares against the
// namespace's declarations (scope and type) and converts each declared
// qualifier's value to its declared type.
func (s *services) applyDecls(ctx context.Context, local *cim.Object) error {
	m, err := s.c.decls(ctx, s.ns)
	if err != nil || len(m) == 0 {
		return err
	}
	classScope := cim.ScopeClass
	switch {
	case cim.HasTrueQualifier(local.Qualifiers, "Association"):
		classScope |= cim.ScopeAssociation
	case cim.HasTrueQualifier(local.Qualifiers, "Indication"):
		classScope |= cim.ScopeIndication
	}
	// check returns qs with declared values converted, copying the slice
	// before the first change (it may be shared with the caller's object).
	check := func(qs []cim.Qualifier, scope cim.Scope, where string) ([]cim.Qualifier, error) {
		copied := false
		for i := range qs {
			q := qs[i]
			d, ok := m[cim.Fold(q.Name)]
			if !ok {
				continue
			}
			if d.Scope&scope == 0 {
				return nil, cim.Errorf(cim.EInvalidQualifier, "%s: qualifier %s is used outside its scope (%s)", where, q.Name, d.Scope).WithParam(q.Name)
			}
			if q.Value.Type == d.Type {
				continue
			}
			v, err := cim.Convert(q.Value, d.Type)
			if err != nil {
				return nil, cim.Errorf(cim.ETypeMismatch, "%s: qualifier %s must be %s: %s", where, q.Name, d.Type, cim.AsError(err).Description).WithParam(q.Name)
			}
			if !copied {
				qs = append([]cim.Qualifier(nil), qs...)
				copied = true
			}
			qs[i].Value = v
		}
		return qs, nil
	}
	if local.Qualifiers, err = check(local.Qualifiers, classScope, "class "+local.Class); err != nil {
		return err
	}
	for i := range local.Properties {
		p := &local.Properties[i]
		scope := cim.ScopeProperty
		if p.Type.Elem() == cim.TypeReference {
			scope |= cim.ScopeReference
		}
		if p.Qualifiers, err = check(p.Qualifiers, scope, "property "+p.Name); err != nil {
			return err
		}
	}
	for i := range local.Methods {
		m := &local.Methods[i]
		if m.Qualifiers, err = check(m.Qualifiers, cim.ScopeMethod, "method "+m.Name); err != nil {
			return err
		}
		for j := range m.Parameters {
			pa := &m.Parameters[j]
			if pa.Qualifiers, err = check(pa.Qualifiers, cim.ScopeParameter, "parameter "+pa.Name); err != nil {
				return err
			}
		}
	}
	return nil
}
