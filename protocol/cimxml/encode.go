package cimxml

import (
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
)

// writer writes CIM-XML. It escapes text itself (only &lt; &gt; &amp;
// &quot; &apos;: wbemcli prints numeric character references literally)
// and never writes a self-closing tag (wbemcli's parser breaks on some).
type writer struct {
	w *outbuf
}

// outbuf buffers what a writer writes, as a bufio.Writer does; a write
// that fits its buffer is an append that the compiler inlines (an answer
// is made of many short strings). The first error of the destination
// ends the writing: later writes are dropped, and Flush returns it.
type outbuf struct {
	buf []byte
	dst io.Writer
	err error
}

// newOutbuf returns an outbuf of size bytes on dst.
func newOutbuf(dst io.Writer, size int) *outbuf {
	return &outbuf{buf: make([]byte, 0, size), dst: dst}
}

// writeString writes s.
func (b *outbuf) writeString(s string) {
	if len(s) <= cap(b.buf)-len(b.buf) {
		b.buf = append(b.buf, s...)
		return
	}
	b.more(s)
}

// writeByte writes c.
func (b *outbuf) writeByte(c byte) {
	if len(b.buf) < cap(b.buf) {
		b.buf = append(b.buf, c)
		return
	}
	b.more(string(c))
}

// Write writes p.
func (b *outbuf) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && b.err == nil {
		n := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf, p = b.buf[:len(b.buf)+n], p[n:]
		if len(p) > 0 {
			b.Flush()
		}
	}
	if b.err != nil {
		return 0, b.err
	}
	return total, nil
}

// more writes s, which does not fit what is left of the buffer.
func (b *outbuf) more(s string) {
	for len(s) > 0 && b.err == nil {
		n := copy(b.buf[len(b.buf):cap(b.buf)], s)
		b.buf, s = b.buf[:len(b.buf)+n], s[n:]
		if len(s) > 0 {
			b.Flush()
		}
	}
}

// Flush writes the buffer to the destination.
func (b *outbuf) Flush() error {
	if b.err == nil && len(b.buf) > 0 {
		_, b.err = b.dst.Write(b.buf)
	}
	b.buf = b.buf[:0]
	return b.err
}

// Reset empties the buffer and makes dst its destination.
func (b *outbuf) Reset(dst io.Writer) {
	b.buf, b.dst, b.err = b.buf[:0], dst, nil
}

// bufWriters are the buffers of writers, reused.
var bufWriters = sync.Pool{New: func() any { return newOutbuf(nil, 4096) }}

// newWriter returns a writer to dst; release gives its buffer back.
func newWriter(dst io.Writer) *writer {
	bw := bufWriters.Get().(*outbuf)
	bw.Reset(dst)
	return &writer{w: bw}
}

// release flushes the writer and gives its buffer back; the writer is not
// used after.
func (w *writer) release() {
	w.w.Flush()
	w.w.Reset(nil)
	bufWriters.Put(w.w)
	w.w = nil
}

func (w *writer) s(text string) { w.w.writeString(text) }

// tag writes "<", or "</" when end is set, then name; what follows (">"
// or attributes) is the caller's.
func (w *writer) tag(name string, end bool) {
	w.w.writeByte('<')
	if end {
		w.w.writeByte('/')
	}
	w.w.writeString(name)
}

// xmlSpecial marks the bytes that esc replaces.
var xmlSpecial = [256]bool{'<': true, '>': true, '&': true, '"': true, '\'': true}

func (w *writer) esc(text string) {
	last := 0
	for i := 0; i < len(text); i++ {
		if !xmlSpecial[text[i]] {
			continue
		}
		var rep string
		switch text[i] {
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '&':
			rep = "&amp;"
		case '"':
			rep = "&quot;"
		case '\'':
			rep = "&apos;"
		default:
			continue
		}
		w.w.writeString(text[last:i])
		w.w.writeString(rep)
		last = i + 1
	}
	w.w.writeString(text[last:])
}

func (w *writer) attr(name, value string) {
	w.w.writeByte(' ')
	w.w.writeString(name)
	w.w.writeString(`="`)
	w.esc(value)
	w.w.writeByte('"')
}

// options are the per-operation choices of what an object carries.
type options struct {
	localOnly, qualifiers, classOrigin bool
	properties                         []string // nil: all
	// translatable names, in lower case, the qualifiers whose declaration
	// in the namespace is Translatable: their values carry the flavor
	// (DSP0201 2.4 §5.1.1 QUALIFIER's TRANSLATABLE, DSP0004 §5.6.1.5).
	translatable map[string]bool
}

func (o options) wants(name string) bool {
	if o.properties == nil {
		return true
	}
	for _, p := range o.properties {
		if strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// typeName is the TYPE attribute of a scalar type.
func typeName(t cim.Type) string {
	switch t.Elem() {
	case cim.TypeObject:
		return "string"
	case cim.TypeReference:
		return "reference"
	}
	return cim.TypeName(t.Elem())
}

func (w *writer) value(v cim.Value) {
	if v.IsNull() {
		return
	}
	if v.Type.IsArray() {
		w.s("<VALUE.ARRAY>")
		for i := 0; i < v.Len(); i++ {
			w.value(v.Index(i))
		}
		w.s("</VALUE.ARRAY>")
		return
	}
	if v.Type == cim.TypeReference {
		s, _ := v.V.(string)
		w.reference(s)
		return
	}
	w.s("<VALUE>")
	if !w.integer(v) {
		w.esc(valueText(v))
	}
	w.s("</VALUE>")
}

// integer writes the digits of an integer value (cim.AppendInteger)
// straight into the buffer, as they need no escaping; false for a value
// of another type.
func (w *writer) integer(v cim.Value) bool {
	var digits [24]byte
	b, ok := cim.AppendInteger(digits[:0], v)
	if ok {
		w.w.Write(b)
	}
	return ok
}

// valueText is the text of a scalar VALUE: TRUE/FALSE become lower case as
// DSP0201 writes them, embedded objects their escaped CIM-XML.
func valueText(v cim.Value) string {
	switch x := v.V.(type) {
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case *cim.Object:
		var b strings.Builder
		bw := newWriter(&b)
		if x.Genus == cim.GenusClass {
			bw.class(x, options{qualifiers: true})
		} else {
			bw.instance(x, options{qualifiers: true})
		}
		bw.release()
		return b.String()
	}
	return cim.FormatValue(v)
}

func (w *writer) reference(path string) {
	w.s("<VALUE.REFERENCE>")
	p, err := cim.ParsePath(path)
	if err != nil {
		w.s("<INSTANCENAME")
		w.attr("CLASSNAME", path)
		w.s("></INSTANCENAME>")
	} else {
		w.objectPath(p)
	}
	w.s("</VALUE.REFERENCE>")
}

// objectPath writes a path as CLASSNAME/INSTANCENAME, or with its
// namespace as LOCALCLASSPATH/LOCALINSTANCEPATH (INSTANCEPATH with a host).
func (w *writer) objectPath(p *cim.ObjectPath) {
	if p.Namespace == "" {
		if p.IsClass() {
			w.s("<CLASSNAME")
			w.attr("NAME", p.Class)
			w.s("></CLASSNAME>")
			return
		}
		w.instanceName(p)
		return
	}
	kind := "INSTANCE"
	if p.IsClass() {
		kind = "CLASS"
	}
	if p.Server != "" && p.Server != "." {
		w.tag(kind, false)
		w.s("PATH><NAMESPACEPATH><HOST>")
		w.esc(p.Server)
		w.s("</HOST>")
		w.localNamespace(p.Namespace)
		w.s("</NAMESPACEPATH>")
	} else {
		w.s("<LOCAL")
		w.s(kind)
		w.s("PATH>")
		w.localNamespace(p.Namespace)
	}
	rel := *p
	rel.Namespace, rel.Server = "", ""
	w.objectPath(&rel)
	if p.Server != "" && p.Server != "." {
		w.tag(kind, true)
		w.s("PATH>")
	} else {
		w.s("</LOCAL")
		w.s(kind)
		w.s("PATH>")
	}
}

func (w *writer) localNamespace(ns string) {
	w.s("<LOCALNAMESPACEPATH>")
	for _, part := range strings.Split(ns, "/") {
		w.s("<NAMESPACE")
		w.attr("NAME", part)
		w.s("></NAMESPACE>")
	}
	w.s("</LOCALNAMESPACEPATH>")
}

func (w *writer) instanceName(p *cim.ObjectPath) {
	w.s("<INSTANCENAME")
	w.attr("CLASSNAME", p.Class)
	w.s(">")
	for _, k := range p.Keys {
		w.keyBinding(k.Name, k.Value)
	}
	w.s("</INSTANCENAME>")
}

// instanceNameOf writes the INSTANCENAME of an instance: what
// instanceName(pathOfObject(o)) writes, without building the path.
func (w *writer) instanceNameOf(o *cim.Object) {
	w.s("<INSTANCENAME")
	w.attr("CLASSNAME", o.Class)
	w.s(">")
	for i := range o.Properties {
		if p := &o.Properties[i]; p.IsKey() && p.Value.IsNull() {
			w.s("</INSTANCENAME>") // a NULL key makes the path the class's alone (pathOfObject)
			return
		}
	}
	for i := range o.Properties {
		if p := &o.Properties[i]; p.IsKey() {
			w.keyBinding(p.Name, p.Value)
		}
	}
	w.s("</INSTANCENAME>")
}

// keyBinding writes the KEYBINDING of one key.
func (w *writer) keyBinding(name string, v cim.Value) {
	w.s("<KEYBINDING")
	w.attr("NAME", name)
	w.s(">")
	if v.Type == cim.TypeReference {
		s, _ := v.V.(string)
		w.reference(s)
	} else {
		vt := "string"
		switch {
		case v.Type == cim.TypeBoolean:
			vt = "boolean"
		case v.Type.IsInteger() || v.Type.IsReal():
			vt = "numeric"
		}
		w.s(`<KEYVALUE VALUETYPE="`)
		w.s(vt)
		w.w.writeByte('"')
		w.attr("TYPE", cim.TypeName(v.Type)) // required by DSP0203 2.4
		w.s(">")
		w.esc(valueText(v))
		w.s("</KEYVALUE>")
	}
	w.s("</KEYBINDING>")
}

func (w *writer) qualifier(q cim.Qualifier) {
	w.s("<QUALIFIER")
	w.attr("NAME", q.Name)
	w.attr("TYPE", typeName(q.Value.Type))
	if q.Flavor&cim.FlavorOriginPropagated != 0 {
		w.s(` PROPAGATED="true"`)
	}
	w.flavors(q.Flavor)
	w.s(">")
	w.value(q.Value)
	w.s("</QUALIFIER>")
}

// flavors writes the flavor attributes that differ from DSP0201's defaults.
func (w *writer) flavors(f cim.Flavor) {
	if f&cim.FlavorDisableOverride != 0 {
		w.s(` OVERRIDABLE="false"`)
	}
	if f&cim.FlavorToSubclass == 0 {
		w.s(` TOSUBCLASS="false"`)
	}
	if f&cim.FlavorToInstance != 0 {
		w.s(` TOINSTANCE="true"`)
	}
	if f&cim.FlavorAmended != 0 {
		w.s(` TRANSLATABLE="true"`)
	}
}

func (w *writer) qualifiers(qs []cim.Qualifier, o options) {
	if !o.qualifiers {
		return
	}
	for _, q := range qs {
		if o.translatable[strings.ToLower(q.Name)] {
			q.Flavor |= cim.FlavorAmended
		}
		w.qualifier(q)
	}
}

func (w *writer) property(p *cim.Property, o options, class bool) {
	tag := "PROPERTY"
	switch {
	case p.Type == cim.TypeReference:
		tag = "PROPERTY.REFERENCE"
	case p.Type.IsArray():
		tag = "PROPERTY.ARRAY"
	}
	w.tag(tag, false)
	w.attr("NAME", p.Name)
	if p.Type == cim.TypeReference {
		if p.RefClass != "" {
			w.attr("REFERENCECLASS", p.RefClass)
		}
	} else {
		w.attr("TYPE", typeName(p.Type))
	}
	if p.Type.Elem() == cim.TypeObject {
		if p.RefClass != "" {
			w.s(` EmbeddedObject="instance"`)
			w.attr("EmbeddedInstance", p.RefClass)
		} else {
			w.s(` EmbeddedObject="object"`)
		}
	}
	if p.Type.IsArray() && p.ArraySize > 0 {
		w.attr("ARRAYSIZE", strconv.Itoa(p.ArraySize))
	}
	if o.classOrigin && p.Origin != "" {
		w.attr("CLASSORIGIN", p.Origin)
	}
	if class && p.Propagated {
		w.s(` PROPAGATED="true"`)
	}
	w.s(">")
	w.qualifiers(p.Qualifiers, o)
	w.value(p.Value)
	w.tag(tag, true)
	w.w.writeByte('>')
}

func (w *writer) class(c *cim.Object, o options) {
	w.s("<CLASS")
	w.attr("NAME", c.Class)
	if c.Superclass != "" {
		w.attr("SUPERCLASS", c.Superclass)
	}
	w.s(">")
	qs := c.Qualifiers
	if o.localOnly {
		qs = local(qs)
	}
	w.qualifiers(qs, o)
	for i := range c.Properties {
		p := &c.Properties[i]
		if (o.localOnly && p.Propagated) || !o.wants(p.Name) {
			continue
		}
		w.property(p, o, true)
	}
	for i := range c.Methods {
		m := &c.Methods[i]
		if o.localOnly && m.Propagated {
			continue
		}
		w.s("<METHOD")
		w.attr("NAME", m.Name)
		w.attr("TYPE", typeName(m.ReturnType))
		if o.classOrigin && m.Origin != "" {
			w.attr("CLASSORIGIN", m.Origin)
		}
		if m.Propagated {
			w.s(` PROPAGATED="true"`)
		}
		w.s(">")
		w.qualifiers(m.Qualifiers, o)
		for j := range m.Parameters {
			pa := &m.Parameters[j]
			tag := "PARAMETER"
			switch {
			case pa.Type == cim.TypeReference:
				tag = "PARAMETER.REFERENCE"
			case pa.Type == cim.TypeReference.ArrayOf():
				tag = "PARAMETER.REFARRAY"
			case pa.Type.IsArray():
				tag = "PARAMETER.ARRAY"
			}
			w.tag(tag, false)
			w.attr("NAME", pa.Name)
			if pa.Type.Elem() == cim.TypeReference {
				if pa.RefClass != "" {
					w.attr("REFERENCECLASS", pa.RefClass)
				}
			} else {
				w.attr("TYPE", typeName(pa.Type))
			}
			w.s(">")
			w.qualifiers(pa.Qualifiers, o)
			w.tag(tag, true)
			w.w.writeByte('>')
		}
		w.s("</METHOD>")
	}
	w.s("</CLASS>")
}

func local(qs []cim.Qualifier) []cim.Qualifier {
	var out []cim.Qualifier
	for _, q := range qs {
		if q.Flavor&cim.FlavorOriginPropagated == 0 {
			out = append(out, q)
		}
	}
	return out
}

func (w *writer) instance(inst *cim.Object, o options) {
	w.s("<INSTANCE")
	w.attr("CLASSNAME", inst.Class)
	w.s(">")
	w.qualifiers(inst.Qualifiers, o)
	for i := range inst.Properties {
		p := &inst.Properties[i]
		if !o.wants(p.Name) || (o.localOnly && p.Origin != "" && !cim.EqualFold(p.Origin, inst.Class)) {
			continue
		}
		w.property(p, o, false)
	}
	w.s("</INSTANCE>")
}

func (w *writer) qualifierDecl(d *cim.QualifierDecl) {
	tag := "QUALIFIER.DECLARATION"
	w.tag(tag, false)
	w.attr("NAME", d.Name)
	w.attr("TYPE", cim.TypeName(d.Type.Elem()))
	if d.Type.IsArray() {
		w.s(` ISARRAY="true"`)
		if d.ArraySize > 0 {
			w.attr("ARRAYSIZE", strconv.Itoa(d.ArraySize))
		}
	}
	w.flavors(d.Flavor)
	w.s("><SCOPE")
	for _, sn := range []struct {
		s    cim.Scope
		attr string
	}{{cim.ScopeClass, "CLASS"}, {cim.ScopeAssociation, "ASSOCIATION"}, {cim.ScopeReference, "REFERENCE"},
		{cim.ScopeProperty, "PROPERTY"}, {cim.ScopeMethod, "METHOD"}, {cim.ScopeParameter, "PARAMETER"}, {cim.ScopeIndication, "INDICATION"}} {
		if d.Scope&sn.s != 0 {
			w.w.writeByte(' ')
			w.s(sn.attr)
			w.s(`="true"`)
		}
	}
	w.s("></SCOPE>")
	w.value(d.Value)
	w.tag(tag, true)
	w.w.writeByte('>')
}

// pathOfObject is the instance path of an object in its namespace.
func pathOfObject(o *cim.Object) *cim.ObjectPath {
	if o.Genus == cim.GenusClass {
		return &cim.ObjectPath{Class: o.Class, Namespace: o.Namespace}
	}
	p, err := o.ObjectPath()
	if err != nil {
		return &cim.ObjectPath{Class: o.Class}
	}
	return p
}

// paramValue writes a method parameter as a PARAMVALUE with its PARAMTYPE.
func (w *writer) paramValue(p *cim.Property) {
	w.s("<PARAMVALUE")
	w.attr("NAME", p.Name)
	w.attr("PARAMTYPE", typeName(p.Type))
	w.s(">")
	w.value(p.Value)
	w.s("</PARAMVALUE>")
}

// responseHead writes an answer up to its results: the MESSAGE with the
// request's ID, the SIMPLERSP and the response element (IMETHODRESPONSE,
// or METHODRESPONSE for an extrinsic call) naming the method.
func (w *writer) responseHead(id, method string, intrinsic bool) {
	w.s(`<?xml version="1.0" encoding="utf-8" ?>` + "\n" + `<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE`)
	w.attr("ID", id)
	if intrinsic {
		w.s(` PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE`)
	} else {
		w.s(` PROTOCOLVERSION="1.0"><SIMPLERSP><METHODRESPONSE`)
	}
	w.attr("NAME", method)
	w.s(">")
}

// responseTail returns the end of an answer after its results.
func responseTail(intrinsic bool) string {
	if intrinsic {
		return "</IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n"
	}
	return "</METHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n"
}

// The results of operations.

// className writes a CLASSNAME.
func (w *writer) className(name string) {
	w.s("<CLASSNAME")
	w.attr("NAME", name)
	w.s("></CLASSNAME>")
}

// namedInstance writes an instance with its name, as VALUE.NAMEDINSTANCE.
func (w *writer) namedInstance(inst *cim.Object, o options) {
	w.s("<VALUE.NAMEDINSTANCE>")
	w.instanceNameOf(inst)
	w.instance(inst, o)
	w.s("</VALUE.NAMEDINSTANCE>")
}

// objectWithPath writes a class or an instance with its path, as
// VALUE.OBJECTWITHPATH.
func (w *writer) objectWithPath(p *cim.ObjectPath, obj *cim.Object, o options) {
	w.s("<VALUE.OBJECTWITHPATH>")
	w.objectPath(p)
	if obj.Genus == cim.GenusClass {
		w.class(obj, o)
	} else {
		w.instance(obj, o)
	}
	w.s("</VALUE.OBJECTWITHPATH>")
}

// instanceWithPath writes an instance with its path, as
// VALUE.INSTANCEWITHPATH.
func (w *writer) instanceWithPath(p *cim.ObjectPath, inst *cim.Object, o options) {
	w.s("<VALUE.INSTANCEWITHPATH>")
	w.objectPath(p)
	w.instance(inst, o)
	w.s("</VALUE.INSTANCEWITHPATH>")
}

// objectPathElem writes a path as OBJECTPATH.
func (w *writer) objectPathElem(p *cim.ObjectPath) {
	w.s("<OBJECTPATH>")
	w.objectPath(p)
	w.s("</OBJECTPATH>")
}

// returnValue writes an extrinsic method's return value as RETURNVALUE.
func (w *writer) returnValue(rv *cim.Property) {
	w.s("<RETURNVALUE")
	w.attr("PARAMTYPE", typeName(rv.Type))
	w.s(">")
	w.value(rv.Value)
	w.s("</RETURNVALUE>")
}

// endOfSequence writes the PARAMVALUEs that end a pull operation's
// answer: EndOfSequence, and the context to pull from next ("" at the
// end).
func (w *writer) endOfSequence(end bool, next string) {
	w.s(`<PARAMVALUE NAME="EndOfSequence"><VALUE>`)
	if end {
		w.s("TRUE")
	} else {
		w.s("FALSE")
	}
	w.s(`</VALUE></PARAMVALUE><PARAMVALUE NAME="EnumerationContext"><VALUE>` + next + `</VALUE></PARAMVALUE>`)
}
