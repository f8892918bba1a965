package cim

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

var typeNames = map[Type]string{
	TypeSint8: "sint8", TypeUint8: "uint8", TypeSint16: "sint16", TypeUint16: "uint16",
	TypeSint32: "sint32", TypeUint32: "uint32", TypeSint64: "sint64", TypeUint64: "uint64",
	TypeReal32: "real32", TypeReal64: "real64", TypeBoolean: "boolean", TypeString: "string",
	TypeChar16: "char16", TypeDatetime: "datetime", TypeReference: "ref", TypeObject: "object",
}

// typeNameTable is typeNames indexed by type, for TypeName, which the
// wires call for every property they write or read.
var typeNameTable = func() (tab [TypeChar16 + 1]string) {
	for t, n := range typeNames {
		tab[t] = n
	}
	return tab
}()

var typesByName = func() map[string]Type {
	m := map[string]Type{"reference": TypeReference}
	for t, n := range typeNames {
		m[n] = t
	}
	return m
}()

// TypeName returns the MOF keyword of a type ("uint32", "string[]", "ref",
// "object"), or "" for an unknown type.
func TypeName(t Type) string {
	e := t.Elem()
	if int(e) >= len(typeNameTable) || typeNameTable[e] == "" {
		return ""
	}
	n := typeNameTable[e]
	if t.IsArray() {
		return n + "[]"
	}
	return n
}

// ParseTypeName looks up a MOF type keyword (case-insensitive, "[]" for
// arrays; "ref" and "reference" are references).
func ParseTypeName(s string) (Type, bool) {
	array := strings.HasSuffix(s, "[]")
	t, ok := typesByName[strings.ToLower(strings.TrimSuffix(s, "[]"))]
	if !ok {
		return 0, false
	}
	if array {
		t = t.ArrayOf()
	}
	return t, true
}

// String returns the MOF keyword of the type, or its number if unknown.
func (t Type) String() string {
	if n := TypeName(t); n != "" {
		return n
	}
	return fmt.Sprintf("Type(%d)", uint16(t))
}

// Valid reports whether t is a known CIM type (or an array of one).
func (t Type) Valid() bool {
	switch t &^ TypeArray {
	case TypeSint8, TypeUint8, TypeSint16, TypeUint16, TypeSint32, TypeUint32, TypeSint64, TypeUint64,
		TypeReal32, TypeReal64, TypeBoolean, TypeString, TypeChar16, TypeDatetime, TypeReference, TypeObject:
		return true
	}
	return false
}

func mismatch(format string, args ...any) error {
	return Errorf(ETypeMismatch, format, args...)
}

// Len returns the number of elements of an array value (0 for NULL or a
// scalar).
func (v Value) Len() int {
	if v.V == nil || !v.Type.IsArray() {
		return 0
	}
	return reflect.ValueOf(v.V).Len()
}

// Index returns element i of an array value.
func (v Value) Index(i int) Value {
	return Value{Type: v.Type.Elem(), V: reflect.ValueOf(v.V).Index(i).Interface()}
}

// Equal reports whether two values have the same type and the same
// contents: reals compare by their bits (a NaN equals the same NaN, as a
// stored value equals itself), embedded objects compare as CompareTo with
// CompareIncludeAll.
func (v Value) Equal(w Value) bool {
	if v.Type != w.Type || (v.V == nil) != (w.V == nil) {
		return false
	}
	if v.V == nil {
		return true
	}
	if !v.Type.IsArray() {
		return scalarEqual(v.V, w.V)
	}
	switch a := v.V.(type) {
	case []string:
		b, ok := w.V.([]string)
		return ok && slices.Equal(a, b)
	case []float32, []float64, []*Object:
		n := v.Len()
		if n != w.Len() {
			return false
		}
		for i := 0; i < n; i++ {
			if !scalarEqual(v.Index(i).V, w.Index(i).V) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(v.V, w.V)
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case *Object:
		y, ok := b.(*Object)
		return ok && (x == y || x != nil && y != nil && x.CompareTo(y, CompareIncludeAll))
	}
	return reflect.DeepEqual(a, b)
}

// NewValue makes a value of type t from a Go value: the exact
// representation documented on Value, any Go integer or float that
// converts exactly (see Convert), a string for string, datetime, reference
// and char16 types, or for arrays a slice ([]any or a typed slice) whose
// elements convert. nil is NULL.
func NewValue(t Type, x any) (Value, error) {
	if !t.Valid() {
		return Value{}, Errorf(EInvalidCIMType, "invalid CIM type %d", uint16(t))
	}
	if x == nil {
		return Null(t), nil
	}
	if v, ok := x.(Value); ok {
		return Convert(v, t)
	}
	if t.IsArray() {
		rv := reflect.ValueOf(x)
		if rv.Kind() != reflect.Slice {
			return Value{}, mismatch("%s needs an array, got %T", t, x)
		}
		out := makeSlice(t.Elem(), rv.Len())
		for i := 0; i < rv.Len(); i++ {
			e := rv.Index(i).Interface()
			if e == nil {
				return Value{}, mismatch("%s: element %d is NULL; array elements cannot be NULL", t, i)
			}
			ev, err := convertScalar(e, t.Elem())
			if err != nil {
				return Value{}, fmt.Errorf("element %d: %w", i, err)
			}
			out.Index(i).Set(reflect.ValueOf(ev))
		}
		return Value{Type: t, V: out.Interface()}, nil
	}
	ev, err := convertScalar(x, t)
	if err != nil {
		return Value{}, err
	}
	return Value{Type: t, V: ev}, nil
}

// Convert returns v converted to type t, or WBEM_E_TYPE_MISMATCH when the
// conversion would lose information or the text does not parse:
//   - integers convert between widths when the value fits; a real converts to
//     an integer only if it is integral and fits (WMI accepts VT_R8 for
//     integers);
//   - integers and reals convert to real32/real64 (real64 to real32 rounds,
//     but overflow to infinity is a mismatch);
//   - a string converts to datetime, reference and char16 when it parses (a
//     char16 string is exactly one character); datetime, reference and
//     char16 convert to string;
//   - boolean and object convert only from themselves;
//   - arrays convert element by element; scalars and arrays never mix.
//
// NULL converts to NULL of type t.
func Convert(v Value, t Type) (Value, error) {
	if !t.Valid() {
		return Value{}, Errorf(EInvalidCIMType, "invalid CIM type %d", uint16(t))
	}
	if v.V == nil {
		return Null(t), nil
	}
	if v.Type == t {
		return v, nil
	}
	if v.Type.IsArray() != t.IsArray() {
		return Value{}, mismatch("cannot convert %s to %s", v.Type, t)
	}
	if t.IsArray() {
		return NewValue(t, v.V)
	}
	ev, err := convertScalar(v.V, t)
	if err != nil {
		return Value{}, err
	}
	return Value{Type: t, V: ev}, nil
}

func makeSlice(t Type, n int) reflect.Value {
	return reflect.MakeSlice(reflect.SliceOf(goType(t)), n, n)
}

var goTypes = map[Type]reflect.Type{
	TypeSint8: reflect.TypeFor[int8](), TypeUint8: reflect.TypeFor[uint8](),
	TypeSint16: reflect.TypeFor[int16](), TypeUint16: reflect.TypeFor[uint16](),
	TypeSint32: reflect.TypeFor[int32](), TypeUint32: reflect.TypeFor[uint32](),
	TypeSint64: reflect.TypeFor[int64](), TypeUint64: reflect.TypeFor[uint64](),
	TypeReal32: reflect.TypeFor[float32](), TypeReal64: reflect.TypeFor[float64](),
	TypeBoolean: reflect.TypeFor[bool](), TypeString: reflect.TypeFor[string](),
	TypeChar16: reflect.TypeFor[Char16](), TypeDatetime: reflect.TypeFor[Datetime](),
	TypeReference: reflect.TypeFor[string](), TypeObject: reflect.TypeFor[*Object](),
}

func goType(t Type) reflect.Type { return goTypes[t] }

// goValueTypes holds the Go type of the values of every CIM type: [0]
// for scalars, [1] for arrays, by type code (all below 128).
var goValueTypes = func() (m [2][128]reflect.Type) {
	for t, g := range goTypes {
		m[0][t], m[1][t] = g, reflect.SliceOf(g)
	}
	return m
}()

// holdsGoType reports whether v.V is of the Go type of v.Type's values.
func holdsGoType(v Value) bool {
	e, arr := v.Type.Elem(), 0
	if v.Type.IsArray() {
		arr = 1
	}
	return e < 128 && reflect.TypeOf(v.V) == goValueTypes[arr][e]
}

// intRange gives the bounds of each integer type.
var intRange = map[Type]struct{ min, max float64 }{
	TypeSint8: {math.MinInt8, math.MaxInt8}, TypeUint8: {0, math.MaxUint8},
	TypeSint16: {math.MinInt16, math.MaxInt16}, TypeUint16: {0, math.MaxUint16},
	TypeSint32: {math.MinInt32, math.MaxInt32}, TypeUint32: {0, math.MaxUint32},
}

// IsInteger reports whether t is one of the eight integer types.
func (t Type) IsInteger() bool {
	switch t {
	case TypeSint8, TypeUint8, TypeSint16, TypeUint16, TypeSint32, TypeUint32, TypeSint64, TypeUint64:
		return true
	}
	return false
}

// IsReal reports whether t is real32 or real64.
func (t Type) IsReal() bool { return t == TypeReal32 || t == TypeReal64 }

// asInt classifies a Go number: i is set for signed values, u for unsigned,
// f for floats.
func asNumber(x any) (i int64, u uint64, f float64, kind byte) {
	switch n := x.(type) {
	case int:
		return int64(n), 0, 0, 'i'
	case int8:
		return int64(n), 0, 0, 'i'
	case int16:
		return int64(n), 0, 0, 'i'
	case int32:
		return int64(n), 0, 0, 'i'
	case int64:
		return n, 0, 0, 'i'
	case uint:
		return 0, uint64(n), 0, 'u'
	case uint8:
		return 0, uint64(n), 0, 'u'
	case uint16:
		return 0, uint64(n), 0, 'u'
	case uint32:
		return 0, uint64(n), 0, 'u'
	case uint64:
		return 0, n, 0, 'u'
	case float32:
		return 0, 0, float64(n), 'f'
	case float64:
		return 0, 0, n, 'f'
	}
	return 0, 0, 0, 0
}

func convertScalar(x any, t Type) (any, error) {
	switch t {
	case TypeSint8, TypeUint8, TypeSint16, TypeUint16, TypeSint32, TypeUint32, TypeSint64, TypeUint64:
		return toInteger(x, t)
	case TypeReal32, TypeReal64:
		i, u, f, kind := asNumber(x)
		switch kind {
		case 'i':
			f = float64(i)
		case 'u':
			f = float64(u)
		case 'f':
		default:
			return nil, mismatch("cannot convert %T to %s", x, t)
		}
		if t == TypeReal32 {
			if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
				return nil, mismatch("%g overflows real32", f)
			}
			return float32(f), nil
		}
		return f, nil
	case TypeBoolean:
		if b, ok := x.(bool); ok {
			return b, nil
		}
	case TypeString:
		switch s := x.(type) {
		case string:
			if !utf8.ValidString(s) {
				return nil, mismatch("string is not valid UTF-8")
			}
			return x, nil // x holds s already: no new allocation
		case Char16:
			return string(rune(s)), nil
		case Datetime:
			return s.String(), nil
		}
	case TypeChar16:
		switch c := x.(type) {
		case Char16:
			if c >= 0xD800 && c <= 0xDFFF {
				return nil, mismatch("char16 %#x is a surrogate", uint16(c))
			}
			return c, nil
		case string:
			r, size := utf8.DecodeRuneInString(c)
			if size == 0 || size != len(c) || r == utf8.RuneError || r > 0xFFFF || (r >= 0xD800 && r <= 0xDFFF) {
				return nil, mismatch("char16 needs exactly one character of the Basic Multilingual Plane, got %q", c)
			}
			return Char16(r), nil
		}
		i, u, _, kind := asNumber(x)
		if kind == 'i' && i >= 0 {
			u, kind = uint64(i), 'u'
		}
		if kind == 'u' && u <= 0xFFFF && (u < 0xD800 || u > 0xDFFF) {
			return Char16(u), nil
		}
	case TypeDatetime:
		switch d := x.(type) {
		case Datetime:
			if d.IsZero() {
				return nil, mismatch("empty datetime")
			}
			return d, nil
		case string:
			return ParseDatetime(d)
		}
	case TypeReference:
		if s, ok := x.(string); ok {
			if _, err := ParsePath(s); err != nil {
				return nil, mismatch("reference %q is not an object path: %v", s, err)
			}
			return s, nil
		}
		if p, ok := x.(*ObjectPath); ok && p != nil {
			return p.String(), nil
		}
	case TypeObject:
		if o, ok := x.(*Object); ok && o != nil {
			return o, nil
		}
	}
	return nil, mismatch("cannot convert %T to %s", x, t)
}

func toInteger(x any, t Type) (any, error) {
	i, u, f, kind := asNumber(x)
	switch kind {
	case 'f':
		if f != math.Trunc(f) || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, mismatch("%g is not an integer (%s)", f, t)
		}
		switch {
		case f < 0 && f >= -9.223372036854775808e18:
			i, kind = int64(f), 'i'
		case f >= 0 && f < 1.8446744073709551616e19:
			u, kind = uint64(f), 'u'
		default:
			return nil, mismatch("%g out of range for %s", f, t)
		}
	case 'i', 'u':
	default:
		return nil, mismatch("cannot convert %T to %s", x, t)
	}
	if kind == 'i' && i >= 0 {
		u, kind = uint64(i), 'u'
	}
	// Now kind 'i' means negative.
	switch t {
	case TypeSint64:
		if kind == 'u' {
			if u > math.MaxInt64 {
				return nil, mismatch("%d out of range for sint64", u)
			}
			return int64(u), nil
		}
		return i, nil
	case TypeUint64:
		if kind == 'i' {
			return nil, mismatch("%d out of range for uint64", i)
		}
		return u, nil
	}
	r := intRange[t]
	var n float64
	if kind == 'i' {
		n = float64(i)
	} else {
		if u > math.MaxUint32 {
			return nil, mismatch("%d out of range for %s", u, t)
		}
		n = float64(u)
	}
	if n < r.min || n > r.max {
		if kind == 'i' {
			return nil, mismatch("%d out of range for %s", i, t)
		}
		return nil, mismatch("%d out of range for %s", u, t)
	}
	s := int64(n)
	switch t {
	case TypeSint8:
		return int8(s), nil
	case TypeUint8:
		return uint8(s), nil
	case TypeSint16:
		return int16(s), nil
	case TypeUint16:
		return uint16(s), nil
	case TypeSint32:
		return int32(s), nil
	default:
		return uint32(s), nil
	}
}

// ParseValue converts the text form of a value (a command-line argument, a
// path key) to type t: integers in decimal or 0x hexadecimal, reals,
// TRUE/FALSE (any case) for boolean, datetimes in CIM form, references as
// object paths, a single character for char16. Arrays are written
// {a,b,c}. The text NULL is not special: use a NULL Value for that.
func ParseValue(t Type, text string) (Value, error) {
	if !t.Valid() {
		return Value{}, Errorf(EInvalidCIMType, "invalid CIM type %d", uint16(t))
	}
	if t.IsArray() {
		s := strings.TrimSpace(text)
		if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
			return Value{}, mismatch("%s value %q: an array is written {a,b,...}", t, text)
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
		var parts []string
		if s != "" {
			parts = strings.Split(s, ",")
		}
		out := makeSlice(t.Elem(), len(parts))
		for i, p := range parts {
			ev, err := ParseValue(t.Elem(), strings.TrimSpace(p))
			if err != nil {
				return Value{}, fmt.Errorf("element %d: %w", i, err)
			}
			out.Index(i).Set(reflect.ValueOf(ev.V))
		}
		return Value{Type: t, V: out.Interface()}, nil
	}
	switch {
	case t.IsInteger():
		if strings.ContainsRune(text, '_') {
			return Value{}, mismatch("%s value %q is not a number", t, text)
		}
		if strings.HasPrefix(text, "-") {
			n, err := strconv.ParseInt(text, 0, 64)
			if err != nil {
				return Value{}, mismatch("%s value %q is not a number in range", t, text)
			}
			return NewValue(t, n)
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(text, "+"), 0, 64)
		if err != nil {
			return Value{}, mismatch("%s value %q is not a number in range", t, text)
		}
		return NewValue(t, n)
	case t.IsReal():
		bits := 64
		if t == TypeReal32 {
			bits = 32
		}
		f, err := strconv.ParseFloat(text, bits)
		if err != nil {
			return Value{}, mismatch("%s value %q is not a real number in range", t, text)
		}
		return NewValue(t, f)
	case t == TypeBoolean:
		switch strings.ToLower(text) {
		case "true":
			return Value{Type: t, V: true}, nil
		case "false":
			return Value{Type: t, V: false}, nil
		}
		return Value{}, mismatch("boolean value %q is neither TRUE nor FALSE", text)
	case t == TypeObject:
		return Value{}, mismatch("an embedded object has no text form")
	}
	return NewValue(t, text)
}

// FormatValue returns the text form of a value, the inverse of ParseValue
// for scalars: decimal integers, shortest round-trip reals, TRUE/FALSE,
// strings as they are, datetimes in CIM form, arrays as {a,b}. NULL is
// "NULL"; an embedded object is "instance of Class" (or "class Class").
func FormatValue(v Value) string {
	if v.V == nil {
		return "NULL"
	}
	if v.Type.IsArray() {
		var b strings.Builder
		b.WriteByte('{')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(FormatValue(v.Index(i)))
		}
		b.WriteByte('}')
		return b.String()
	}
	if b, ok := AppendInteger(nil, v); ok {
		return string(b)
	}
	switch x := v.V.(type) {
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case string:
		return x
	case Char16:
		return string(rune(x))
	case Datetime:
		return x.String()
	case *Object:
		if x.Genus == GenusClass {
			return "class " + x.Class
		}
		return "instance of " + x.Class
	}
	return fmt.Sprint(v.V)
}

// AppendInteger appends the decimal digits of a scalar integer value to
// b, as FormatValue writes them, without an intermediate string; false
// (and b as it was) for a value that is not an integer.
func AppendInteger(b []byte, v Value) ([]byte, bool) {
	switch i, u, _, kind := asNumber(v.V); kind {
	case 'i':
		return strconv.AppendInt(b, i, 10), true
	case 'u':
		return strconv.AppendUint(b, u, 10), true
	}
	return b, false
}

func valueOf(x any) reflect.Value { return reflect.ValueOf(x) }
