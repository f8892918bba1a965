package cimom

import (
	"context"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// Localization follows WMI's model: the locale-neutral class lives in its
// namespace; its amended (localizable) qualifiers live in a class of the
// same name in the child namespace ms_<lcid> (e.g. root/cimv2/ms_409),
// which holds only the properties that have amended qualifiers. Reads with
// FlagUseAmendedQualifiers merge that copy in, the neutral object winning
// on a clash; reads without it return the neutral object untouched.

// locale returns the localization namespace component for a call: the
// context's UI locale ("MS_409"), else the CIMOM's default.
func (c *CIMOM) locale(wctx *Context) string {
	if v, ok := wctx.GetValue(UILocale); ok {
		if s, ok := v.(string); ok && len(s) > 3 && strings.EqualFold(s[:3], "ms_") {
			return strings.ToLower(s)
		}
	}
	return strings.ToLower(c.opts.DefaultLocale)
}

func isAmended(q cim.Qualifier) bool { return q.Flavor&cim.FlavorAmended != 0 }

// splitAmended separates a class as declared into its neutral form (no
// amended qualifiers) and its localized form (only them); localized is nil
// when the class has no amended qualifier.
func splitAmended(local *cim.Object) (neutral, localized *cim.Object) {
	neutral = local.Clone()
	loc := &cim.Object{Genus: cim.GenusClass, Class: local.Class}
	found := false
	keep := func(qs []cim.Qualifier) (n, a []cim.Qualifier) {
		for _, q := range qs {
			if isAmended(q) {
				a = append(a, q)
				found = true
			} else {
				n = append(n, q)
			}
		}
		return n, a
	}
	neutral.Qualifiers, loc.Qualifiers = keep(neutral.Qualifiers)
	for i := range neutral.Properties {
		p := &neutral.Properties[i]
		var a []cim.Qualifier
		p.Qualifiers, a = keep(p.Qualifiers)
		if len(a) > 0 {
			loc.Properties = append(loc.Properties, cim.Property{Name: p.Name, Type: p.Type, RefClass: p.RefClass, Value: cim.Null(p.Type), Qualifiers: a, Origin: local.Class})
		}
	}
	if !found {
		return neutral, nil
	}
	loc.Qualifiers = append(loc.Qualifiers, cim.Qualifier{Name: "Amendment", Value: cim.Value{Type: cim.TypeBoolean, V: true}})
	return neutral, loc
}

// localeClassOps stores a localized class in ns/locale, creating that
// namespace when needed.
func (c *CIMOM) localeClassOps(ctx context.Context, ns, locale string, loc *cim.Object) ([]store.Op, error) {
	lns := ns + "/" + locale
	var ops []store.Op
	_, _, exists, err := c.loadNamespace(ctx, lns)
	if err != nil {
		return nil, err
	}
	if !exists {
		parentSD, err := c.namespaceSD(ctx, ns)
		if err != nil {
			return nil, err
		}
		ops = append(ops, namespaceOps(lns, inheritSD(&SecurityDescriptor{Owner: parentSD.Owner, Group: parentSD.Group}, parentSD))...)
		ops = append(ops, namespaceInstanceOp(ns, locale))
	}
	return append(ops, classOps(lns, loc)...), nil
}

// mergeAmended adds the amended qualifiers of the object's class, from the
// caller's locale namespace, to obj. The neutral object wins on a clash.
func (s *services) mergeAmended(ctx context.Context, obj *cim.Object, wctx *Context) error {
	lns := s.ns + "/" + s.c.locale(wctx)
	kv, found, err := s.c.st.Get(ctx, classKey(lns, obj.Class))
	if err != nil || !found {
		return err
	}
	loc, err := cim.DecodeClass(kv.Value)
	if err != nil {
		return err
	}
	add := func(dst []cim.Qualifier, src []cim.Qualifier) []cim.Qualifier {
		out := dst
		copied := false
		for _, q := range src {
			if cim.EqualFold(q.Name, "Amendment") {
				continue
			}
			if _, ok := cim.FindQualifier(out, q.Name); ok {
				continue
			}
			if !copied {
				out = append([]cim.Qualifier(nil), out...)
				copied = true
			}
			out = append(out, q)
		}
		return out
	}
	if obj.Genus == cim.GenusClass {
		obj.Qualifiers = add(obj.Qualifiers, loc.Qualifiers)
	}
	for _, lp := range loc.Properties {
		if p, ok := obj.Property(lp.Name); ok {
			p.Qualifiers = add(p.Qualifiers, lp.Qualifiers)
		}
	}
	return nil
}
