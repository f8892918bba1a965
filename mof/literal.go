package mof

import (
	"math"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// parseInteger reads an integer literal: decimal, 0x hexadecimal,
// leading-zero octal or trailing-b binary, with an optional sign. It
// returns the value as int64 when negative, else uint64.
func parseInteger(text string) (any, bool) {
	neg := strings.HasPrefix(text, "-")
	digits := strings.TrimLeft(text, "+-")
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X"):
		base, digits = 16, digits[2:]
	case strings.HasSuffix(digits, "b") || strings.HasSuffix(digits, "B"):
		base, digits = 2, digits[:len(digits)-1]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	u, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return nil, false
	}
	if !neg {
		return u, true
	}
	if u > 1<<63 {
		return nil, false
	}
	return -int64(u), true
}

// literalValue converts a scalar or array literal to type t. Aliases and
// embedded instances are resolved by the compiler before this is called.
func literalValue(v *Value, t cim.Type) (cim.Value, error) {
	switch v.Kind {
	case ValueNull:
		return cim.Null(t), nil
	case ValueArray:
		if !t.IsArray() {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "an array value needs an array type, not %s", t)
		}
		elems := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			if e.Kind == ValueNull {
				return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "array element %d is NULL: MOF arrays cannot hold NULL", i)
			}
			ev, err := literalValue(e, t.Elem())
			if err != nil {
				return cim.Value{}, err
			}
			elems[i] = ev.V
		}
		return cim.NewValue(t, elems)
	}
	if t.IsArray() {
		return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "%s needs an array value in braces", t)
	}
	switch v.Kind {
	case ValueBool:
		if t != cim.TypeBoolean {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "a boolean cannot be %s", t)
		}
		return cim.Value{Type: t, V: v.Text == "true"}, nil
	case ValueInteger:
		n, ok := parseInteger(v.Text)
		if !ok {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "integer %s is out of range", v.Text)
		}
		if !t.IsInteger() && !t.IsReal() {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "an integer cannot be %s", t)
		}
		return cim.NewValue(t, n)
	case ValueReal:
		if !t.IsReal() {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "a real number cannot be %s", t)
		}
		bits := 64
		if t == cim.TypeReal32 {
			bits = 32
		}
		f, err := strconv.ParseFloat(v.Text, bits)
		if err != nil || math.IsInf(f, 0) {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "real number %s is out of range for %s", v.Text, t)
		}
		return cim.NewValue(t, f)
	case ValueString:
		switch t {
		case cim.TypeString, cim.TypeDatetime, cim.TypeReference, cim.TypeChar16:
			return cim.NewValue(t, v.Text)
		}
		return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "a string cannot be %s", t)
	case ValueChar:
		switch t {
		case cim.TypeChar16, cim.TypeString:
			return cim.NewValue(t, v.Text)
		}
		return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "a char16 literal cannot be %s", t)
	case ValueAlias:
		return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "alias $%s can only be the value of a reference", v.Text)
	case ValueInstance:
		return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "an embedded instance can only be the value of an object property")
	}
	return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "cannot use this value as %s", t)
}

// inferType gives an undeclared qualifier's value its type, as WMI does:
// booleans, sint32 integers (sint64 or uint64 when they do not fit),
// real64, strings; an array takes the type of its elements.
func inferType(v *Value) (cim.Type, bool) {
	switch v.Kind {
	case ValueBool:
		return cim.TypeBoolean, true
	case ValueInteger:
		n, ok := parseInteger(v.Text)
		if !ok {
			return 0, false
		}
		switch x := n.(type) {
		case int64:
			if x >= math.MinInt32 {
				return cim.TypeSint32, true
			}
			return cim.TypeSint64, true
		case uint64:
			switch {
			case x <= math.MaxInt32:
				return cim.TypeSint32, true
			case x <= math.MaxInt64:
				return cim.TypeSint64, true
			}
			return cim.TypeUint64, true
		}
	case ValueReal:
		return cim.TypeReal64, true
	case ValueString, ValueChar:
		return cim.TypeString, true
	case ValueNull:
		return cim.TypeString, true
	case ValueArray:
		t := cim.TypeString
		for i, e := range v.Elems {
			et, ok := inferType(e)
			if !ok || e.Kind == ValueArray {
				return 0, false
			}
			switch {
			case i == 0:
				t = et
			case et == t:
			case (et.IsInteger() || et.IsReal()) && (t.IsInteger() || t.IsReal()):
				if et.IsReal() || t.IsReal() {
					t = cim.TypeReal64
				} else if et == cim.TypeUint64 || t == cim.TypeUint64 {
					t = cim.TypeUint64
				} else {
					t = cim.TypeSint64
				}
			default:
				return 0, false
			}
		}
		return t.ArrayOf(), true
	}
	return 0, false
}
