package cim

import (
	"strconv"
	"strings"
)

// GetObjectText returns the MOF text of the object, as WMI's
// GetObjectText: for a class, its own declaration (local qualifiers,
// properties and methods, and the superclass it derives from); for an
// instance, "instance of Class" with its non-NULL property values and its
// own qualifiers. flags is reserved (WMI's WBEM_FLAG_NO_FLAVORS is 0x1:
// with it, flavors are left out).
func (o *Object) GetObjectText(flags int) string {
	var b strings.Builder
	writeMOF(&b, o, "", flags&1 != 0)
	b.WriteString(";\n")
	return b.String()
}

func writeMOF(b *strings.Builder, o *Object, indent string, noFlavors bool) {
	if o.Genus == GenusClass {
		d := o
		if o.Derivation != nil || hasPropagated(o) {
			d = o.LocalDefinition()
		}
		writeQualifierList(b, d.Qualifiers, indent, noFlavors, true)
		b.WriteString("class " + d.Class)
		if d.Superclass != "" {
			b.WriteString(" : " + d.Superclass)
		}
		b.WriteString("\n" + indent + "{\n")
		for i := range d.Properties {
			p := &d.Properties[i]
			b.WriteString(indent + "\t")
			writeQualifierList(b, p.Qualifiers, "", noFlavors, false)
			b.WriteString(declType(p.Type, p.RefClass) + " " + p.Name)
			if p.Type.IsArray() {
				if p.ArraySize > 0 {
					b.WriteString("[" + strconv.Itoa(p.ArraySize) + "]")
				} else {
					b.WriteString("[]")
				}
			}
			if !p.Value.IsNull() {
				b.WriteString(" = ")
				writeMOFValue(b, p.Value, indent+"\t", noFlavors)
			}
			b.WriteString(";\n")
		}
		for i := range d.Methods {
			m := &d.Methods[i]
			b.WriteString(indent + "\t")
			writeQualifierList(b, m.Qualifiers, "", noFlavors, false)
			b.WriteString(declType(m.ReturnType, "") + " " + m.Name + "(")
			for j := range m.Parameters {
				pa := &m.Parameters[j]
				if j > 0 {
					b.WriteString(", ")
				}
				writeQualifierList(b, pa.Qualifiers, "", noFlavors, false)
				b.WriteString(declType(pa.Type, pa.RefClass) + " " + pa.Name)
				if pa.Type.IsArray() {
					b.WriteString("[]")
				}
			}
			b.WriteString(");\n")
		}
		b.WriteString(indent + "}")
		return
	}
	var own []Qualifier
	for _, q := range o.Qualifiers {
		if q.Flavor&FlavorOriginPropagated == 0 {
			own = append(own, q)
		}
	}
	writeQualifierList(b, own, indent, noFlavors, true)
	b.WriteString("instance of " + o.Class + "\n" + indent + "{\n")
	for i := range o.Properties {
		p := &o.Properties[i]
		if p.Value.IsNull() {
			continue
		}
		b.WriteString(indent + "\t" + p.Name + " = ")
		writeMOFValue(b, p.Value, indent+"\t", noFlavors)
		b.WriteString(";\n")
	}
	b.WriteString(indent + "}")
}

func hasPropagated(o *Object) bool {
	for i := range o.Properties {
		if o.Properties[i].Propagated {
			return true
		}
	}
	for _, q := range o.Qualifiers {
		if q.Flavor&FlavorOriginPropagated != 0 {
			return true
		}
	}
	return false
}

// declType is the MOF type of a declaration: "uint32", "CIM_Foo ref",
// "object" or the class of a strongly typed embedded object.
func declType(t Type, refClass string) string {
	switch t.Elem() {
	case TypeReference:
		if refClass == "" {
			return "object ref"
		}
		return refClass + " ref"
	case TypeObject:
		if refClass != "" {
			return refClass
		}
		return "object"
	}
	return TypeName(t.Elem())
}

var flavorWords = []struct {
	f    Flavor
	word string
}{{FlavorToInstance, "ToInstance"}, {FlavorToSubclass, "ToSubclass"}, {FlavorDisableOverride, "DisableOverride"}, {FlavorAmended, "Amended"}}

func writeQualifierList(b *strings.Builder, qs []Qualifier, indent string, noFlavors, newline bool) {
	var local []Qualifier
	for _, q := range qs {
		if q.Flavor&FlavorOriginPropagated == 0 {
			local = append(local, q)
		}
	}
	if len(local) == 0 {
		return
	}
	b.WriteString(indent + "[")
	for i, q := range local {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q.Name)
		switch {
		case q.Value.IsNull():
		case q.Value.Type == TypeBoolean && !q.Value.Type.IsArray():
			if v, _ := q.Value.V.(bool); !v {
				b.WriteString("(FALSE)")
			}
		case q.Value.Type.IsArray():
			writeMOFValue(b, q.Value, indent, noFlavors)
		default:
			b.WriteString("(")
			writeMOFValue(b, q.Value, indent, noFlavors)
			b.WriteString(")")
		}
		if !noFlavors && q.Flavor&^(FlavorOriginPropagated|FlavorOriginSystem) != 0 {
			b.WriteString(" :")
			for _, fw := range flavorWords {
				if q.Flavor&fw.f != 0 {
					b.WriteString(" " + fw.word)
				}
			}
		}
	}
	b.WriteString("]")
	if newline {
		b.WriteString("\n")
	} else {
		b.WriteString(" ")
	}
}

// writeMOFValue writes a value as a MOF literal.
func writeMOFValue(b *strings.Builder, v Value, indent string, noFlavors bool) {
	if v.IsNull() {
		b.WriteString("NULL")
		return
	}
	if v.Type.IsArray() {
		b.WriteString("{")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeMOFValue(b, v.Index(i), indent, noFlavors)
		}
		b.WriteString("}")
		return
	}
	switch x := v.V.(type) {
	case string:
		b.WriteString(MOFString(x))
	case Datetime:
		b.WriteString(MOFString(x.String()))
	case Char16:
		b.WriteString("'" + strings.Trim(MOFString(string(rune(x))), `"`) + "'")
	case *Object:
		writeMOF(b, x, indent, noFlavors)
	case float32, float64:
		s := FormatValue(v)
		if !strings.ContainsAny(s, ".eEIN") {
			s += ".0"
		}
		b.WriteString(s)
	default:
		b.WriteString(FormatValue(v))
	}
}

// MOFString quotes s as a MOF string literal, escaping backslashes,
// quotes and control characters.
func MOFString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\x` + strconv.FormatInt(int64(r), 16))
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
