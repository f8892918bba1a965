package cimjson

import (
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// ClassLookup returns the resolved class called name (an error such as
// WBEM_E_NOT_FOUND or WBEM_E_INVALID_CLASS if there is none).
type ClassLookup func(name string) (*cim.Object, error)

// Decode reads one object in its JSON form. An object with "__GENUS": 1 is
// a class definition; any other is an instance of the class named by its
// "__CLASS" member (or by class, when the member is absent), spawned from
// that class so that every value is converted to its declared type. System
// properties other than __CLASS and __GENUS are read-only and ignored.
//
// Errors name the line and column: WBEM_E_INVALID_PARAMETER for malformed
// JSON, WBEM_E_INVALID_PROPERTY for a property the class does not have,
// WBEM_E_TYPE_MISMATCH for a value of the wrong type.
func Decode(data []byte, class string, lookup ClassLookup) (*cim.Object, error) {
	return DecodeSpawned(data, class, lookup, nil)
}

// Spawner returns a new instance of a resolved class, as its
// SpawnInstance does (a cim.Template's Spawn, whose qualifiers are
// shared).
type Spawner func(cls *cim.Object) (*cim.Object, error)

// DecodeSpawned is Decode with the instances, embedded ones included,
// made by spawn from their classes (nil: the class's SpawnInstance).
func DecodeSpawned(data []byte, class string, lookup ClassLookup, spawn Spawner) (*cim.Object, error) {
	if o, ok := decodeFlat(data, class, lookup, spawn); ok {
		return o, nil
	}
	return decodeTree(data, class, lookup, spawn)
}

// decodeTree is DecodeSpawned through a tree of the JSON document: every
// form, and the errors.
func decodeTree(data []byte, class string, lookup ClassLookup, spawn Spawner) (*cim.Object, error) {
	p := &parser{data: data, spawn: spawn}
	root, err := parse(data)
	if err != nil {
		return nil, err
	}
	if root.kind != 'o' {
		return nil, p.errAt(root.off, "expected a JSON object")
	}
	if g, ok := root.member("__GENUS"); ok && g.kind == 'n' && g.text == "1" {
		return p.class(root)
	}
	return p.instance(root, class, lookup, 0)
}

func (p *parser) at(n *node, s cim.Status, format string, args ...any) error {
	e := cim.Errorf(s, format, args...)
	e.Description = position(p.data, n.off) + ": " + e.Description
	return e
}

func (p *parser) str(n *node, what string) (string, error) {
	if n.kind != 's' {
		return "", p.at(n, cim.EInvalidParameter, "%s must be a string", what)
	}
	return n.text, nil
}

func (p *parser) instance(root *node, class string, lookup ClassLookup, depth int) (*cim.Object, error) {
	if depth > cim.MaxObjectNesting {
		return nil, p.at(root, cim.EInvalidParameter, "objects nested more than %d levels", cim.MaxObjectNesting)
	}
	if cn, ok := root.member("__CLASS"); ok {
		name, err := p.str(cn, "__CLASS")
		if err != nil {
			return nil, err
		}
		class = name
	}
	if class == "" {
		return nil, p.at(root, cim.EInvalidParameter, "the instance names no class (__CLASS)")
	}
	cls, err := lookup(class)
	if err != nil {
		e := cim.AsError(err)
		c := *e
		c.Description = position(p.data, root.off) + ": " + e.Description
		return nil, &c
	}
	if cls.Genus != cim.GenusClass {
		return nil, p.at(root, cim.EInvalidClass, "%s is not a class", class)
	}
	var inst *cim.Object
	if p.spawn != nil {
		inst, err = p.spawn(cls)
	} else {
		inst, err = cls.SpawnInstance()
	}
	if err != nil {
		return nil, err
	}
	next := 0
	for i, name := range root.keys {
		if cim.IsSystemName(name) {
			continue
		}
		prop, at, ok := inst.PropertyNear(name, next)
		next = at + 1
		if !ok {
			return nil, p.at(root.vals[i], cim.EInvalidProperty, "class %s has no property %s", cls.Class, name)
		}
		v, err := p.value(root.vals[i], prop.Type, prop.RefClass, lookup, depth)
		if err != nil {
			return nil, err
		}
		prop.Value = v
	}
	return inst, nil
}

// value converts a JSON value to a CIM value of type t.
func (p *parser) value(n *node, t cim.Type, refClass string, lookup ClassLookup, depth int) (cim.Value, error) {
	if n.kind == 'z' {
		return cim.Null(t), nil
	}
	if t.IsArray() {
		if n.kind != 'a' {
			return cim.Value{}, p.at(n, cim.ETypeMismatch, "%s needs a JSON array", t)
		}
		elems := make([]any, len(n.elems))
		for i, e := range n.elems {
			if e.kind == 'z' {
				return cim.Value{}, p.at(e, cim.ETypeMismatch, "array elements cannot be null")
			}
			v, err := p.value(e, t.Elem(), refClass, lookup, depth)
			if err != nil {
				return cim.Value{}, err
			}
			elems[i] = v.V
		}
		v, err := cim.NewValue(t, elems)
		if err != nil {
			return cim.Value{}, p.at(n, cim.ETypeMismatch, "%v", cim.AsError(err).Description)
		}
		return v, nil
	}
	var v cim.Value
	var err error
	switch {
	case t == cim.TypeObject:
		if n.kind != 'o' {
			return cim.Value{}, p.at(n, cim.ETypeMismatch, "an embedded object needs a JSON object")
		}
		var o *cim.Object
		if g, ok := n.member("__GENUS"); ok && g.kind == 'n' && g.text == "1" {
			o, err = p.class(n)
		} else {
			o, err = p.instance(n, refClass, lookup, depth+1)
		}
		if err != nil {
			return cim.Value{}, err
		}
		return cim.Value{Type: t, V: o}, nil
	case n.kind == 'n' && (t.IsInteger() || t.IsReal()):
		v, err = cim.ParseValue(t, n.text)
	case n.kind == 's' && (t == cim.TypeSint64 || t == cim.TypeUint64):
		v, err = cim.ParseValue(t, n.text) // WMI passes 64-bit integers as strings
	case n.kind == 'b' && t == cim.TypeBoolean:
		v = cim.Value{Type: t, V: n.b}
	case n.kind == 's' && (t == cim.TypeString || t == cim.TypeDatetime || t == cim.TypeReference || t == cim.TypeChar16):
		v, err = cim.NewValue(t, n.text)
	default:
		return cim.Value{}, p.at(n, cim.ETypeMismatch, "a JSON %s cannot be a %s value", kindName(n.kind), t)
	}
	if err != nil {
		return cim.Value{}, p.at(n, cim.ETypeMismatch, "%s", cim.AsError(err).Description)
	}
	return v, nil
}

func kindName(k byte) string {
	return map[byte]string{'o': "object", 'a': "array", 's': "string", 'n': "number", 'b': "boolean", 'z': "null"}[k]
}

// class reads a class definition.
func (p *parser) class(root *node) (*cim.Object, error) {
	c := &cim.Object{Genus: cim.GenusClass}
	for i, name := range root.keys {
		n := root.vals[i]
		var err error
		switch strings.ToUpper(name) {
		case "__GENUS":
		case "__CLASS":
			c.Class, err = p.str(n, name)
		case "__SUPERCLASS":
			if n.kind != 'z' {
				c.Superclass, err = p.str(n, name)
			}
		case "QUALIFIERS":
			c.Qualifiers, err = p.qualifiers(n)
		case "PROPERTIES":
			if n.kind != 'a' {
				return nil, p.at(n, cim.EInvalidParameter, "Properties must be an array")
			}
			for _, e := range n.elems {
				prop, err := p.property(e)
				if err != nil {
					return nil, err
				}
				c.Properties = append(c.Properties, prop)
			}
		case "METHODS":
			if n.kind != 'a' {
				return nil, p.at(n, cim.EInvalidParameter, "Methods must be an array")
			}
			for _, e := range n.elems {
				m, err := p.method(e)
				if err != nil {
					return nil, err
				}
				c.Methods = append(c.Methods, m)
			}
		default:
			if !cim.IsSystemName(name) {
				return nil, p.at(n, cim.EInvalidParameter, "unknown class member %q (want __CLASS, __SUPERCLASS, Qualifiers, Properties, Methods)", name)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if c.Class == "" {
		return nil, p.at(root, cim.EInvalidParameter, "the class has no __CLASS")
	}
	for i := range c.Properties {
		c.Properties[i].Origin = c.Class
	}
	for i := range c.Methods {
		c.Methods[i].Origin = c.Class
	}
	return c, nil
}

// decl reads the members a property, parameter or method share.
func (p *parser) decl(n *node) (name string, t cim.Type, ref string, size int, qs []cim.Qualifier, err error) {
	if n.kind != 'o' {
		return "", 0, "", 0, nil, p.at(n, cim.EInvalidParameter, "expected a declaration object")
	}
	tn, ok := n.member("Type")
	if !ok {
		return "", 0, "", 0, nil, p.at(n, cim.EInvalidParameter, "declaration without a Type")
	}
	text, err := p.str(tn, "Type")
	if err != nil {
		return
	}
	t, ref, ok = parseTypeText(text)
	if !ok {
		return "", 0, "", 0, nil, p.at(tn, cim.EInvalidPropertyType, "unknown CIM type %q", text)
	}
	nn, ok := n.member("Name")
	if !ok {
		return "", 0, "", 0, nil, p.at(n, cim.EInvalidParameter, "declaration without a Name")
	}
	if name, err = p.str(nn, "Name"); err != nil {
		return
	}
	if sn, ok := n.member("ArraySize"); ok {
		v, e := cim.ParseValue(cim.TypeUint32, sn.text)
		if sn.kind != 'n' || e != nil {
			return "", 0, "", 0, nil, p.at(sn, cim.EInvalidParameter, "ArraySize must be a whole number")
		}
		size = int(v.V.(uint32))
	}
	if qn, ok := n.member("Qualifiers"); ok {
		qs, err = p.qualifiers(qn)
	}
	return
}

func (p *parser) property(n *node) (cim.Property, error) {
	name, t, ref, size, qs, err := p.decl(n)
	if err != nil {
		return cim.Property{}, err
	}
	prop := cim.Property{Name: name, Type: t, RefClass: ref, ArraySize: size, Qualifiers: qs, Value: cim.Null(t)}
	if dn, ok := n.member("Default"); ok {
		v, err := p.value(dn, t, ref, func(string) (*cim.Object, error) {
			return nil, cim.Errorf(cim.ENotSupported, "embedded instances cannot be class defaults in JSON")
		}, 0)
		if err != nil {
			return cim.Property{}, err
		}
		prop.Value = v
	}
	return prop, nil
}

func (p *parser) method(n *node) (cim.Method, error) {
	name, t, _, _, qs, err := p.decl(n)
	if err != nil {
		return cim.Method{}, err
	}
	m := cim.Method{Name: name, ReturnType: t, Qualifiers: qs}
	if pn, ok := n.member("Parameters"); ok {
		if pn.kind != 'a' {
			return cim.Method{}, p.at(pn, cim.EInvalidParameter, "Parameters must be an array")
		}
		for _, e := range pn.elems {
			pname, pt, pref, psize, pqs, err := p.decl(e)
			if err != nil {
				return cim.Method{}, err
			}
			m.Parameters = append(m.Parameters, cim.Parameter{Name: pname, Type: pt, RefClass: pref, ArraySize: psize, Qualifiers: pqs})
		}
	}
	return m, nil
}

func (p *parser) qualifiers(n *node) ([]cim.Qualifier, error) {
	if n.kind != 'a' {
		return nil, p.at(n, cim.EInvalidParameter, "Qualifiers must be an array")
	}
	var out []cim.Qualifier
	for _, e := range n.elems {
		if e.kind != 'o' {
			return nil, p.at(e, cim.EInvalidParameter, "expected a qualifier object")
		}
		nn, ok := e.member("Name")
		if !ok {
			return nil, p.at(e, cim.EInvalidParameter, "qualifier without a Name")
		}
		name, err := p.str(nn, "Name")
		if err != nil {
			return nil, err
		}
		q := cim.Qualifier{Name: name}
		vn, hasValue := e.member("Value")
		t := cim.TypeBoolean
		if tn, ok := e.member("Type"); ok {
			text, err := p.str(tn, "Type")
			if err != nil {
				return nil, err
			}
			if t, _, ok = parseTypeText(text); !ok {
				return nil, p.at(tn, cim.EInvalidQualifierType, "unknown qualifier type %q", text)
			}
		} else if hasValue {
			switch vn.kind {
			case 's':
				t = cim.TypeString
			case 'n':
				t = cim.TypeSint32
				if strings.ContainsAny(vn.text, ".eE") {
					t = cim.TypeReal64
				}
			}
		}
		q.Value = cim.Value{Type: cim.TypeBoolean, V: true}
		if hasValue {
			v, err := p.value(vn, t, "", nil, 0)
			if err != nil {
				return nil, err
			}
			q.Value = v
		}
		if fn, ok := e.member("Flavor"); ok {
			if fn.kind != 'a' {
				return nil, p.at(fn, cim.EInvalidFlavor, "Flavor must be an array of names")
			}
			for _, f := range fn.elems {
				found := false
				for _, known := range flavorNames {
					if f.kind == 's' && strings.EqualFold(f.text, known.name) {
						q.Flavor |= known.f
						found = true
					}
				}
				if !found {
					return nil, p.at(f, cim.EInvalidFlavor, "unknown flavor (want ToInstance, ToSubclass, DisableOverride, Amended)")
				}
			}
		}
		out = append(out, q)
	}
	return out, nil
}
