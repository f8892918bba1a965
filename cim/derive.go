package cim

// alwaysInherited names the property qualifiers that reach subclasses
// whatever their flavor: keys are inherited and frozen (WMI's key rules).
var alwaysInherited = []string{"Key"}

// inherit returns the qualifiers of a parent element that propagate to a
// subclass (ToSubclass flavor, or always-inherited ones when keyLike is
// set), marked as propagated.
func inherit(qs []Qualifier, keyLike bool) []Qualifier {
	var out []Qualifier
	for _, q := range qs {
		if q.Flavor&FlavorToSubclass != 0 || (keyLike && isAlwaysInherited(q.Name)) {
			q.Flavor |= FlavorOriginPropagated
			out = append(out, q)
		}
	}
	return out
}

func isAlwaysInherited(name string) bool {
	for _, n := range alwaysInherited {
		if EqualFold(n, name) {
			return true
		}
	}
	return false
}

// mergeQualifiers lays local qualifiers over inherited ones: a local
// qualifier replaces an inherited one of the same name unless that one
// has DisableOverride and a different value (WBEM_E_OVERRIDE_NOT_ALLOWED).
func mergeQualifiers(inherited, local []Qualifier, where string) ([]Qualifier, error) {
	out := append([]Qualifier(nil), inherited...)
	for _, q := range local {
		q.Flavor &^= FlavorOriginPropagated
		if cur, ok := FindQualifier(out, q.Name); ok {
			if cur.Flavor&FlavorDisableOverride != 0 && !cur.Value.Equal(q.Value) {
				return nil, Errorf(EOverrideNotAllowed, "%s: qualifier %s is DisableOverride in a superclass and cannot be given another value", where, q.Name).WithParam(q.Name)
			}
			*cur = q
			continue
		}
		out = append(out, q)
	}
	return out, nil
}

// Derive builds a resolved class from its resolved superclass (nil for a
// root class) and its definition as declared (local members only). The
// result lists inherited properties and methods first, in the parent's
// order, then the local ones; a local member with an inherited name
// overrides it (same type required). Qualifiers propagate by flavor.
func Derive(parent *Object, local *Object) (*Object, error) {
	if local.Genus != GenusClass {
		return nil, Errorf(EInvalidClass, "%s is not a class", local.Class)
	}
	c := &Object{Genus: GenusClass, Class: local.Class, Superclass: local.Superclass, Server: local.Server, Namespace: local.Namespace}
	var err error
	if parent == nil {
		c.Superclass = ""
		c.Qualifiers, err = mergeQualifiers(nil, local.Qualifiers, local.Class)
		if err != nil {
			return nil, err
		}
	} else {
		c.Superclass = parent.Class
		c.Derivation = append([]string{parent.Class}, parent.Derivation...)
		if c.Qualifiers, err = mergeQualifiers(inherit(parent.Qualifiers, false), local.Qualifiers, local.Class); err != nil {
			return nil, err
		}
		for _, p := range parent.Properties {
			p.Qualifiers = inherit(p.Qualifiers, true)
			p.Propagated = true
			c.Properties = append(c.Properties, p)
		}
		for _, m := range parent.Methods {
			m.Qualifiers = inherit(m.Qualifiers, false)
			m.Propagated = true
			c.Methods = append(c.Methods, m)
		}
	}
	for _, p := range local.Properties {
		where := local.Class + "." + p.Name
		if cur, ok := c.Property(p.Name); ok && cur.Propagated {
			if cur.Type != p.Type {
				return nil, Errorf(EInvalidPropertyType, "%s overrides an inherited %s property with type %s", where, cur.Type, p.Type).WithParam(p.Name)
			}
			qs, err := mergeQualifiers(cur.Qualifiers, p.Qualifiers, where)
			if err != nil {
				return nil, err
			}
			cur.Qualifiers, cur.Propagated = qs, false
			if !p.Value.IsNull() {
				cur.Value = p.Value
			}
			if p.RefClass != "" {
				cur.RefClass = p.RefClass
			}
			continue
		} else if ok {
			return nil, Errorf(EInvalidParameter, "%s: property declared twice", where).WithParam(p.Name)
		}
		qs, err := mergeQualifiers(nil, p.Qualifiers, where)
		if err != nil {
			return nil, err
		}
		p.Qualifiers, p.Propagated, p.Origin = qs, false, local.Class
		c.Properties = append(c.Properties, p)
	}
	for _, m := range local.Methods {
		where := local.Class + "." + m.Name
		if cur, ok := c.GetMethod(m.Name); ok && cur.Propagated {
			if cur.ReturnType != m.ReturnType || len(cur.Parameters) != len(m.Parameters) {
				return nil, Errorf(EPropagatedMethod, "%s overrides an inherited method with another signature", where).WithParam(m.Name)
			}
			qs, err := mergeQualifiers(cur.Qualifiers, m.Qualifiers, where)
			if err != nil {
				return nil, err
			}
			origin := cur.Origin
			*cur = m
			cur.Qualifiers, cur.Propagated, cur.Origin = qs, false, origin
			continue
		} else if ok {
			return nil, Errorf(EInvalidParameter, "%s: method declared twice", where).WithParam(m.Name)
		}
		m.Propagated, m.Origin = false, local.Class
		c.Methods = append(c.Methods, m)
	}
	return c, nil
}

// LocalDefinition returns what the class declares itself: its local and
// overriding members with their local qualifiers, and its local class
// qualifiers. It is the inverse of Derive, and what the repository stores.
func (o *Object) LocalDefinition() *Object {
	d := &Object{Genus: GenusClass, Class: o.Class, Superclass: o.Superclass}
	d.Qualifiers = localQualifiers(o.Qualifiers)
	for _, p := range o.Properties {
		if p.Propagated {
			continue
		}
		p.Qualifiers = localQualifiers(p.Qualifiers)
		p.Value = cloneValue(p.Value)
		d.Properties = append(d.Properties, p)
	}
	for _, m := range o.Methods {
		if m.Propagated {
			continue
		}
		m.Qualifiers = localQualifiers(m.Qualifiers)
		d.Methods = append(d.Methods, m)
	}
	return d
}

func localQualifiers(qs []Qualifier) []Qualifier {
	var out []Qualifier
	for _, q := range qs {
		if q.Flavor&FlavorOriginPropagated == 0 {
			q.Value = cloneValue(q.Value)
			out = append(out, q)
		}
	}
	return out
}
