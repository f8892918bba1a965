// Package cimjson is the JSON form of CIM objects used by the wbem command
// line (-o json, and instances given to `wbem put`) and by the REST door.
//
// An instance is a flat JSON object: its system properties first
// ("__CLASS", "__PATH", ...), then one member per property in declaration
// order, with NULL as null:
//
//	{"__CLASS": "Disk", "__RELPATH": "Disk.Name=\"sda\"", "Name": "sda", "Size": 100}
//
// Values map as follows: integers and reals are JSON numbers (a sint64 or
// uint64 may also be given as a decimal string, as WMI's automation layer
// passes them); boolean is true/false; string, datetime, reference and
// char16 are JSON strings; an embedded object is a nested JSON object that
// names its class in "__CLASS"; arrays are JSON arrays.
//
// A class is a JSON object with "__GENUS": 1, "__CLASS", "__SUPERCLASS",
// "Qualifiers", "Properties" and "Methods"; see EncodeClass.
package cimjson

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
)

// VersionMember is the member that carries a stored instance's version
// (cim.Object.Revision) as decimal text, after the system properties. It
// is read-only: Decode ignores it, as it ignores every "__" member.
const VersionMember = "__VERSION"

// Encode returns the JSON form of a class or instance, indented when
// indent is true.
func Encode(o *cim.Object, indent bool) []byte {
	b := Append(nil, o)
	if !indent {
		return b
	}
	return appendIndented(make([]byte, 0, len(b)+len(b)/2), b)
}

// appendIndented appends compact JSON src (as Append writes it: valid,
// no space outside strings) indented by two spaces a level, as
// json.Indent(dst, src, "", "  ") writes it, in one pass without
// encoding/json's scanner.
func appendIndented(dst, src []byte) []byte {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, "  "...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			j := i + 1
			for j < len(src) && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			dst = append(dst, src[i:min(j+1, len(src))]...)
			i = j
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1]) // empty: {} or [] on one line
				i++
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Append appends the JSON form of a class or instance (as Encode, not
// indented) to b and returns the extended buffer: a caller that encodes
// many objects reuses one buffer.
func Append(b []byte, o *cim.Object) []byte {
	if o.Genus == cim.GenusClass {
		return appendClass(b, o)
	}
	return appendInstance(b, o, true)
}

func appendInstance(b []byte, o *cim.Object, withSystem bool) []byte {
	b = append(b, '{')
	first := true
	member := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, name)
		b = append(b, ':')
	}
	if withSystem {
		b = appendSystem(b, o)
		first = false
		if o.Revision != 0 {
			member(VersionMember)
			b = append(b, '"')
			b = strconv.AppendInt(b, o.Revision, 10)
			b = append(b, '"')
		}
	} else {
		member("__CLASS")
		b = appendString(b, o.Class)
	}
	for i := range o.Properties {
		p := &o.Properties[i]
		member(p.Name)
		b = appendValue(b, p.Value)
	}
	return append(b, '}')
}

// appendSystem writes an instance's system properties that are not
// NULL, in the order of cim.SystemPropertyNames, each as appendValue
// writes the value of cim.Object.SystemProperty (the test holds them
// alike), without boxing each value: an instance's JSON starts with them.
func appendSystem(b []byte, o *cim.Object) []byte {
	b = append(b, `"__GENUS":`...)
	b = strconv.AppendInt(b, int64(o.Genus), 10)
	b = appendStringMember(b, "__CLASS", o.Class)
	b = appendStringMember(b, "__SUPERCLASS", o.Superclass)
	dynasty := o.Class
	if n := len(o.Derivation); n > 0 {
		dynasty = o.Derivation[n-1]
	}
	b = appendStringMember(b, "__DYNASTY", dynasty)
	path, err := o.ObjectPath()
	if err == nil {
		b = appendStringMember(b, "__RELPATH", path.RelPath())
	}
	b = append(b, `,"__PROPERTY_COUNT":`...)
	b = strconv.AppendInt(b, int64(len(o.Properties)), 10)
	b = append(b, `,"__DERIVATION":[`...)
	for i, d := range o.Derivation {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, d)
	}
	b = append(b, ']')
	if o.Namespace != "" {
		b = appendStringMember(b, "__SERVER", o.Server)
		b = appendStringMember(b, "__NAMESPACE", strings.ReplaceAll(o.Namespace, "/", `\`))
		if err == nil {
			b = appendStringMember(b, "__PATH", path.String())
		}
	}
	return b
}

// appendStringMember writes ,"name":"value" unless value is empty (a
// NULL system property is left out).
func appendStringMember(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',')
	b = appendString(b, name)
	b = append(b, ':')
	return appendString(b, value)
}

func appendClass(b []byte, c *cim.Object) []byte {
	b = append(b, `{"__GENUS":1,"__CLASS":`...)
	b = appendString(b, c.Class)
	b = append(b, `,"__SUPERCLASS":`...)
	if c.Superclass == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, c.Superclass)
	}
	b = append(b, `,"Qualifiers":`...)
	b = appendQualifiers(b, c.Qualifiers)
	b = append(b, `,"Properties":[`...)
	for i := range c.Properties {
		p := &c.Properties[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDecl(b, p.Name, p.Type, p.RefClass, p.ArraySize, p.Qualifiers)
		if !p.Value.IsNull() {
			b = append(b, `,"Default":`...)
			b = appendValue(b, p.Value)
		}
		if p.Origin != "" {
			b = append(b, `,"Origin":`...)
			b = appendString(b, p.Origin)
		}
		if p.Propagated {
			b = append(b, `,"Propagated":true`...)
		}
		b = append(b, '}')
	}
	b = append(b, `],"Methods":[`...)
	for i := range c.Methods {
		m := &c.Methods[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendDecl(b, m.Name, m.ReturnType, "", 0, m.Qualifiers)
		b = append(b, `,"Parameters":[`...)
		for j := range m.Parameters {
			pa := &m.Parameters[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = appendDecl(b, pa.Name, pa.Type, pa.RefClass, pa.ArraySize, pa.Qualifiers)
			b = append(b, '}')
		}
		b = append(b, ']')
		if m.Origin != "" {
			b = append(b, `,"Origin":`...)
			b = appendString(b, m.Origin)
		}
		if m.Propagated {
			b = append(b, `,"Propagated":true`...)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendDecl writes the opening of a declaration object (left open for
// the caller to add members and close).
func appendDecl(b []byte, name string, t cim.Type, refClass string, arraySize int, qs []cim.Qualifier) []byte {
	b = append(b, `{"Name":`...)
	b = appendString(b, name)
	b = append(b, `,"Type":`...)
	b = appendString(b, typeText(t, refClass))
	if arraySize > 0 {
		b = append(b, `,"ArraySize":`...)
		b = strconv.AppendInt(b, int64(arraySize), 10)
	}
	if len(qs) > 0 {
		b = append(b, `,"Qualifiers":`...)
		b = appendQualifiers(b, qs)
	}
	return b
}

// typeText renders a declared type: "uint32", "string[]", "ref:CIM_Foo",
// "object:CIM_Foo" — WMI's CIMTYPE qualifier text.
func typeText(t cim.Type, refClass string) string {
	elem := t.Elem()
	var s string
	switch {
	case elem == cim.TypeReference && refClass != "":
		s = "ref:" + refClass
	case elem == cim.TypeObject && refClass != "":
		s = "object:" + refClass
	default:
		s = cim.TypeName(elem)
	}
	if t.IsArray() {
		s += "[]"
	}
	return s
}

func parseTypeText(s string) (cim.Type, string, bool) {
	array := strings.HasSuffix(s, "[]")
	s = strings.TrimSuffix(s, "[]")
	var t cim.Type
	ref := ""
	switch {
	case strings.HasPrefix(strings.ToLower(s), "ref:"):
		t, ref = cim.TypeReference, s[4:]
	case strings.HasPrefix(strings.ToLower(s), "object:"):
		t, ref = cim.TypeObject, s[7:]
	default:
		var ok bool
		if t, ok = cim.ParseTypeName(s); !ok || t.IsArray() {
			return 0, "", false
		}
	}
	if array {
		t = t.ArrayOf()
	}
	return t, ref, true
}

var flavorNames = []struct {
	f    cim.Flavor
	name string
}{
	{cim.FlavorToInstance, "ToInstance"},
	{cim.FlavorToSubclass, "ToSubclass"},
	{cim.FlavorDisableOverride, "DisableOverride"},
	{cim.FlavorAmended, "Amended"},
	{cim.FlavorOriginPropagated, "Propagated"},
}

func appendQualifiers(b []byte, qs []cim.Qualifier) []byte {
	b = append(b, '[')
	for i := range qs {
		q := &qs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = appendString(b, q.Name)
		b = append(b, `,"Type":`...)
		b = appendString(b, typeText(q.Value.Type, ""))
		b = append(b, `,"Value":`...)
		b = appendValue(b, q.Value)
		if q.Flavor != 0 {
			b = append(b, `,"Flavor":[`...)
			n := 0
			for _, fn := range flavorNames {
				if q.Flavor&fn.f != 0 {
					if n > 0 {
						b = append(b, ',')
					}
					b = appendString(b, fn.name)
					n++
				}
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendValue(b []byte, v cim.Value) []byte {
	if v.IsNull() {
		return append(b, "null"...)
	}
	switch x := v.V.(type) {
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float32:
		return appendFloat(b, float64(x), 32)
	case float64:
		return appendFloat(b, x, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return appendString(b, x)
	case cim.Char16:
		return appendString(b, string(rune(x)))
	case cim.Datetime:
		return appendString(b, x.String())
	case *cim.Object:
		if x == nil {
			return append(b, "null"...)
		}
		if x.Genus == cim.GenusClass {
			return appendClass(b, x)
		}
		return appendInstance(b, x, false)
	}
	// Arrays: the element type's representation, one by one.
	n := v.Len()
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendValue(b, v.Index(i))
	}
	return append(b, ']')
}

func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return appendString(b, strconv.FormatFloat(f, 'g', -1, bits))
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// appendString writes s as a JSON string, escaping only what JSON requires
// (no HTML escaping: values such as "a<b" stay readable).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
