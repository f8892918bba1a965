package wql

import (
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// LiteralOf returns the WQL constant of a CIM value: an integer, a real, a
// boolean, or a string for strings, datetimes, char16 and references
// (which WQL compares as text). NULL, arrays and embedded objects have
// no constant: WBEM_E_INVALID_QUERY.
func LiteralOf(v cim.Value) (*Literal, error) {
	if v.IsNull() || v.Type.IsArray() {
		return nil, cim.Errorf(cim.EInvalidQuery, "a %s value has no WQL constant", cim.TypeName(v.Type))
	}
	switch x := v.V.(type) {
	case string:
		return &Literal{Kind: LitString, Text: x}, nil
	case cim.Datetime:
		return &Literal{Kind: LitString, Text: x.String()}, nil
	case cim.Char16:
		return &Literal{Kind: LitString, Text: string(rune(x))}, nil
	case bool:
		if x {
			return &Literal{Kind: LitBool, Text: "TRUE", Int: 1}, nil
		}
		return &Literal{Kind: LitBool, Text: "FALSE"}, nil
	}
	switch {
	case v.Type.IsInteger():
		text := cim.FormatValue(v)
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return &Literal{Kind: LitInt, Text: text, Int: n}, nil
		}
		u, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return nil, cim.Errorf(cim.EInvalidQuery, "integer %s has no WQL constant", text)
		}
		return &Literal{Kind: LitInt, Text: text, Uint: u, Big: true}, nil
	case v.Type.IsReal():
		text := cim.FormatValue(v) // as its own width prints it
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || !strings.ContainsAny(text, "0123456789") || strings.ContainsAny(text, "nN") {
			return nil, cim.Errorf(cim.EInvalidQuery, "real %s has no WQL constant", text)
		}
		if !strings.ContainsAny(text, ".eE") {
			text += ".0"
		}
		return &Literal{Kind: LitReal, Text: text, Real: f}, nil
	}
	return nil, cim.Errorf(cim.EInvalidQuery, "a %s value has no WQL constant", cim.TypeName(v.Type))
}

// Equal returns the condition prop = v, with v as LiteralOf writes it.
func Equal(prop string, v cim.Value) (*Compare, error) {
	lit, err := LiteralOf(v)
	if err != nil {
		return nil, cim.AsError(err).WithParam(prop)
	}
	return &Compare{Prop: &Prop{Path: []string{prop}}, Op: OpEq, Value: lit}, nil
}

// And joins conditions with AND, left to right as the parser groups
// them; nil when there are none.
func And(conds ...Expr) Expr {
	var e Expr
	for _, c := range conds {
		if e == nil {
			e = c
		} else {
			e = &Binary{L: e, R: c}
		}
	}
	return e
}
