package wql

import (
	"strings"

	"github.com/wbemd/wbemd/cim"
)

func errAt(at Pos, st cim.Status, format string, args ...any) *Error {
	return &Error{Pos: at, Status: st, Msg: sprintf(format, args...)}
}

// Check validates a data query against the resolved class of its FROM:
// every property it names exists (an unknown one in the select list is
// WBEM_E_INVALID_QUERY, as MS-WMI says; in WHERE, WBEM_E_INVALID_PROPERTY),
// every operator applies to its property's type and every constant has
// the property's kind (WBEM_E_INVALID_QUERY). Members of embedded objects
// are not checked: an invalid embedded path matches nothing.
func Check(s *Select, cls *cim.Object) error {
	for _, p := range s.Props {
		if _, ok := propType(p, cls); !ok {
			return errAt(p.At, cim.EInvalidQuery, "class %s has no property %s", cls.Class, p.Path[0])
		}
	}
	var walk func(e Expr) error
	walk = func(e Expr) error {
		switch e := e.(type) {
		case *Binary:
			if err := walk(e.L); err != nil {
				return err
			}
			return walk(e.R)
		case *Not:
			return walk(e.X)
		case *IsNull:
			_, err := checkedType(e.Prop, cls)
			return err
		case *Isa:
			if len(e.Prop.Path) == 1 && strings.EqualFold(e.Prop.Path[0], "__this") {
				return nil
			}
			t, err := checkedType(e.Prop, cls)
			if err != nil {
				return err
			}
			if t != 0 && t != cim.TypeObject {
				return errAt(e.At, cim.EInvalidQuery, "ISA applies to embedded objects, and %s is %s", e.Prop, t)
			}
		case *Compare:
			t, err := checkedType(e.Prop, cls)
			if err != nil || t == 0 {
				return err
			}
			return checkCompare(e, t)
		}
		return nil
	}
	if s.Where != nil {
		return walk(s.Where)
	}
	return nil
}

// checkedType returns the type of the property a reference names (0 for a
// member of an embedded object, which is not checked).
func checkedType(p *Prop, cls *cim.Object) (cim.Type, error) {
	t, ok := propType(p, cls)
	if !ok {
		return 0, errAt(p.At, cim.EInvalidProperty, "class %s has no property %s", cls.Class, p.Path[0])
	}
	if len(p.Path) > 1 {
		if t != cim.TypeObject {
			return 0, errAt(p.At, cim.EInvalidQuery, "%s is %s, not an embedded object", p.Path[0], t)
		}
		return 0, nil
	}
	return t, nil
}

var sysTypes = map[string]cim.Type{"__class": cim.TypeString, "__superclass": cim.TypeString, "__dynasty": cim.TypeString,
	"__relpath": cim.TypeString, "__path": cim.TypeString, "__server": cim.TypeString, "__namespace": cim.TypeString,
	"__genus": cim.TypeSint32, "__property_count": cim.TypeSint32, "__derivation": cim.TypeString.ArrayOf()}

func propType(p *Prop, cls *cim.Object) (cim.Type, bool) {
	name := p.Path[0]
	if cim.IsSystemName(name) {
		t, ok := sysTypes[strings.ToLower(name)]
		return t, ok
	}
	prop, ok := cls.Property(name)
	if !ok {
		return 0, false
	}
	return prop.Type, true
}

func checkCompare(e *Compare, t cim.Type) error {
	lit := e.Value
	bad := func(format string, args ...any) error {
		return errAt(lit.At, cim.EInvalidQuery, format, args...)
	}
	if lit.Kind == LitNull {
		return bad("compare with NULL using IS NULL or IS NOT NULL")
	}
	if t.IsArray() {
		return errAt(e.At, cim.EInvalidQuery, "%s is an array: WQL cannot compare arrays", e.Prop)
	}
	switch t {
	case cim.TypeObject:
		return errAt(e.At, cim.EInvalidQuery, "%s is an embedded object: use ISA, IS NULL or a member (%s.Name)", e.Prop, e.Prop)
	case cim.TypeString, cim.TypeChar16:
		if lit.Kind != LitString {
			return bad("%s is a string: compare it with a string constant", e.Prop)
		}
	case cim.TypeDatetime:
		if lit.Kind != LitString {
			return bad("%s is a datetime: compare it with a datetime string", e.Prop)
		}
		if _, err := cim.ParseDatetime(lit.Text); err != nil {
			return bad("%q is not a CIM datetime (yyyymmddHHMMSS.mmmmmmsUUU)", lit.Text)
		}
		if e.Op == OpLike && hasWildcards(lit.Text) {
			return bad("LIKE with wildcards applies to strings only")
		}
	case cim.TypeReference:
		if lit.Kind != LitString {
			return bad("%s is a reference: compare it with an object path string", e.Prop)
		}
		if e.Op != OpEq && e.Op != OpNe && e.Op != OpLike {
			return errAt(e.At, cim.EInvalidQuery, "references compare only with = and <>")
		}
		if e.Op == OpLike && hasWildcards(lit.Text) {
			return bad("LIKE with wildcards applies to strings only")
		}
	case cim.TypeBoolean:
		if lit.Kind != LitBool && lit.Kind != LitInt {
			return bad("%s is a boolean: compare it with TRUE or FALSE", e.Prop)
		}
		if e.Op != OpEq && e.Op != OpNe {
			return errAt(e.At, cim.EInvalidQuery, "booleans compare only with = and <>")
		}
	default: // numbers
		if lit.Kind != LitInt && lit.Kind != LitReal {
			if e.Op == OpLike && lit.Kind == LitString && hasWildcards(lit.Text) {
				return bad("LIKE with wildcards applies to strings only")
			}
			return bad("%s is %s: compare it with a number", e.Prop, t)
		}
	}
	return nil
}

// CheckEvent validates an event query against the resolved class of its
// FROM: the class must be an event class, WMI's (derived from __Event) or
// DMTF's (from CIM_Indication), else WBEM_E_NOT_EVENT_CLASS; its
// properties are checked as in Check, and GROUP BY may not name an
// embedded object itself (WBEM_E_AGGREGATING_BY_OBJECT: name a member,
// TargetInstance.Name).
func CheckEvent(s *Select, cls *cim.Object) error {
	if s.Meta || !(cls.IsA("__Event") || cls.IsA("CIM_Indication")) {
		return errAt(s.FromAt, cim.ENotEventClass, "%s is not an event class (it does not derive from __Event or CIM_Indication)", s.From)
	}
	if err := Check(s, cls); err != nil {
		return err
	}
	if s.Group != nil {
		for _, by := range s.Group.By {
			t, ok := propType(by, cls)
			if !ok {
				return errAt(by.At, cim.EInvalidProperty, "class %s has no property %s", cls.Class, by.Path[0])
			}
			if t == cim.TypeObject && len(by.Path) == 1 {
				return errAt(by.At, cim.EAggregatingByObject, "GROUP BY %s: name a member of the embedded object (%s.Name)", by, by)
			}
		}
	}
	return nil
}
