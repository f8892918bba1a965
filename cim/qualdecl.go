package cim

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Scope is the set of schema elements a qualifier may be used on (the
// meta-elements of DSP0004's qualifier declarations).
type Scope uint8

// The scopes.
const (
	ScopeClass Scope = 1 << iota
	ScopeAssociation
	ScopeIndication
	ScopeProperty
	ScopeReference
	ScopeMethod
	ScopeParameter
	ScopeAny Scope = 1<<iota - 1
)

var scopeNames = []struct {
	s    Scope
	name string
}{{ScopeClass, "class"}, {ScopeAssociation, "association"}, {ScopeIndication, "indication"},
	{ScopeProperty, "property"}, {ScopeReference, "reference"}, {ScopeMethod, "method"}, {ScopeParameter, "parameter"}}

// ParseScope returns the scope a DSP0004 meta-element name stands for
// ("class", ..., "any"), in any case.
func ParseScope(name string) (Scope, bool) {
	if strings.EqualFold(name, "any") {
		return ScopeAny, true
	}
	for _, sn := range scopeNames {
		if strings.EqualFold(sn.name, name) {
			return sn.s, true
		}
	}
	return 0, false
}

// Names returns the scope's meta-element names; ScopeAny is ["any"].
func (s Scope) Names() []string {
	if s == ScopeAny {
		return []string{"any"}
	}
	var out []string
	for _, sn := range scopeNames {
		if s&sn.s != 0 {
			out = append(out, sn.name)
		}
	}
	return out
}

// String joins the scope's names with commas.
func (s Scope) String() string { return strings.Join(s.Names(), ", ") }

// QualifierDecl is a qualifier type declaration: the qualifier's type,
// default value, where it may be used and the flavors its uses get by
// default (CIM-XML's QUALIFIER.DECLARATION, MOF's "Qualifier Name : type").
// FlavorAmended in Flavor stands for DMTF's Translatable: the qualifier may
// be translated.
type QualifierDecl struct {
	Name      string
	Type      Type
	ArraySize int // the declared maximum array size, 0 if none
	Value     Value
	Scope     Scope
	Flavor    Flavor
}

// Check validates a declaration: a name, a qualifier type (a scalar or
// array of integer, real, boolean, string, datetime or char16), a default
// of that type, and a scope.
func (d *QualifierDecl) Check() error {
	if err := checkUserName(d.Name, "qualifier"); err != nil {
		return err
	}
	switch e := d.Type.Elem(); {
	case e.IsInteger(), e.IsReal(), e == TypeBoolean, e == TypeString, e == TypeDatetime, e == TypeChar16:
	default:
		return Errorf(EInvalidQualifierType, "qualifier %s: %s is not a qualifier type", d.Name, d.Type).WithParam(d.Name)
	}
	v, err := Convert(d.Value, d.Type)
	if err != nil {
		return AsError(err).WithParam(d.Name)
	}
	d.Value = v
	if d.Scope == 0 {
		return Errorf(EInvalidParameter, "qualifier %s has no scope", d.Name).WithParam(d.Name)
	}
	if d.Flavor&^(FlavorMaskPropagation|FlavorMaskPermissions|FlavorAmended) != 0 {
		return Errorf(EInvalidFlavor, "qualifier %s: flavor 0x%x has read-only bits", d.Name, d.Flavor).WithParam(d.Name)
	}
	return nil
}

type declJSON struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	ArraySize int      `json:"arraySize,omitempty"`
	Value     *string  `json:"value,omitempty"`
	Values    []string `json:"values,omitempty"`
	Scope     []string `json:"scope"`
	Flavor    Flavor   `json:"flavor"`
}

// EncodeQualifierDecl returns the stored form of a declaration.
func EncodeQualifierDecl(d *QualifierDecl) []byte {
	j := declJSON{Name: d.Name, Type: TypeName(d.Type), ArraySize: d.ArraySize, Scope: d.Scope.Names(), Flavor: d.Flavor}
	if !d.Value.IsNull() {
		if d.Type.IsArray() {
			j.Values = make([]string, d.Value.Len())
			for i := range j.Values {
				j.Values[i] = FormatValue(d.Value.Index(i))
			}
		} else {
			s := FormatValue(d.Value)
			j.Value = &s
		}
	}
	b, _ := json.Marshal(j)
	return b
}

// DecodeQualifierDecl reads a stored declaration; damage is
// WBEM_E_CRITICAL_ERROR.
func DecodeQualifierDecl(b []byte) (*QualifierDecl, error) {
	var j declJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, Errorf(ECriticalError, "qualifier declaration record is damaged: %v", err)
	}
	t, ok := ParseTypeName(j.Type)
	if !ok {
		return nil, Errorf(ECriticalError, "qualifier declaration %s: unknown type %q", j.Name, j.Type)
	}
	d := &QualifierDecl{Name: j.Name, Type: t, ArraySize: j.ArraySize, Value: Null(t), Flavor: j.Flavor}
	for _, n := range j.Scope {
		s, ok := ParseScope(n)
		if !ok {
			return nil, Errorf(ECriticalError, "qualifier declaration %s: unknown scope %q", j.Name, n)
		}
		d.Scope |= s
	}
	var err error
	switch {
	case j.Value != nil:
		d.Value, err = ParseValue(t, *j.Value)
	case j.Values != nil:
		elems := make([]any, len(j.Values))
		for i, s := range j.Values {
			var ev Value
			if ev, err = ParseValue(t.Elem(), s); err != nil {
				break
			}
			elems[i] = ev.V
		}
		if err == nil {
			d.Value, err = NewValue(t, elems)
		}
	}
	if err != nil {
		return nil, Errorf(ECriticalError, "qualifier declaration %s: damaged value: %v", j.Name, err)
	}
	return d, nil
}

// MOF returns the declaration in MOF, as DSP0004 writes it.
func (d *QualifierDecl) MOF() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Qualifier %s : %s", d.Name, TypeName(d.Type.Elem()))
	if d.Type.IsArray() {
		if d.ArraySize > 0 {
			fmt.Fprintf(&b, "[%d]", d.ArraySize)
		} else {
			b.WriteString("[]")
		}
	}
	if !d.Value.IsNull() {
		b.WriteString(" = ")
		writeMOFValue(&b, d.Value, "", false)
	}
	b.WriteString(",\n    Scope(" + d.Scope.String() + ")")
	var fl []string
	if d.Flavor&FlavorDisableOverride != 0 {
		fl = append(fl, "DisableOverride")
	} else {
		fl = append(fl, "EnableOverride")
	}
	if d.Flavor&FlavorToSubclass != 0 {
		fl = append(fl, "ToSubclass")
	} else {
		fl = append(fl, "Restricted")
	}
	if d.Flavor&FlavorToInstance != 0 {
		fl = append(fl, "ToInstance")
	}
	if d.Flavor&FlavorAmended != 0 {
		fl = append(fl, "Translatable")
	}
	b.WriteString(",\n    Flavor(" + strings.Join(fl, ", ") + ");\n")
	return b.String()
}
