package wsman

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
)

// out builds an answer by appending to a byte slice.
type out struct {
	b []byte
}

func (o *out) s(str string) { o.b = append(o.b, str...) }

func (o *out) uint(n uint64) { o.b = strconv.AppendUint(o.b, n, 10) }

// text appends character data, escaped; characters XML cannot carry
// become U+FFFD.
func (o *out) text(s string) { o.b = appendEscaped(o.b, s, false) }

// attrText appends an attribute value, escaped.
func (o *out) attrText(s string) { o.b = appendEscaped(o.b, s, true) }

func appendEscaped(b []byte, s string, attr bool) []byte {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' || c == '>' || c == '&' || c == '"' || c == '\r' || c < 0x20 && c != '\n' && c != '\t' || c >= 0x80 || attr && (c == '\n' || c == '\t') {
			clean = false
			break
		}
	}
	if clean {
		return append(b, s...)
	}
	for _, r := range s {
		switch {
		case r == '<':
			b = append(b, "&lt;"...)
		case r == '>':
			b = append(b, "&gt;"...)
		case r == '&':
			b = append(b, "&amp;"...)
		case r == '"':
			b = append(b, "&quot;"...)
		case r == '\r':
			b = append(b, "&#xD;"...)
		case attr && r == '\n':
			b = append(b, "&#xA;"...)
		case attr && r == '\t':
			b = append(b, "&#x9;"...)
		case r == '\n' || r == '\t':
			b = append(b, byte(r))
		case r < 0x20 || r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			b = utf8.AppendRune(b, '\uFFFD')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

// newMessageID returns a fresh uuid: message identifier.
func newMessageID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return "uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// head starts an answer envelope: the namespaces every answer uses, and
// the addressing headers.
func (o *out) head(soap, action, relatesTo string, hasRelates bool) {
	o.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:Envelope xmlns:s="`)
	o.s(soap)
	o.s(`" xmlns:wsa="` + nsWSA + `" xmlns:wsman="` + nsWSMan + `" xmlns:wsen="` + nsWSEN + `" xmlns:wxf="` + nsWXF +
		`" xmlns:xsi="` + nsXSI + `" xmlns:cim="` + nsCIM + `"><s:Header><wsa:To>` + anonymous +
		`</wsa:To><wsa:Action s:mustUnderstand="true">`)
	o.text(action)
	o.s("</wsa:Action>")
	if hasRelates {
		o.s("<wsa:RelatesTo>")
		o.text(relatesTo)
		o.s("</wsa:RelatesTo>")
	}
	o.s("<wsa:MessageID>")
	o.s(newMessageID())
	o.s("</wsa:MessageID></s:Header><s:Body>")
}

const tailText = "</s:Body></s:Envelope>\n"

// tail ends an answer envelope.
func (o *out) tail() { o.s(tailText) }

// encoder writes CIM objects as WS-CIM XML (DSP0230): an instance is an
// element named after its class in the namespace of its resource URI,
// with one child per property.
type encoder struct {
	res *resource // gives the resource URIs of classes
}

// instance writes inst as <prefix:Class>. With declare, the element
// declares its own namespace; otherwise the caller declared prefix on an
// ancestor (wsl rebuilds instances from the lines of an answer, and only
// an opening tag without attributes survives that).
func (enc *encoder) instance(o *out, inst *cim.Object, prefix string, declare bool, depth int) {
	uri := enc.res.classURI(inst.Namespace, inst.Class)
	o.s("<" + prefix + ":")
	o.s(inst.Class)
	if declare {
		o.s(" xmlns:" + prefix + `="`)
		o.attrText(uri)
		o.s(`"`)
	}
	if depth == 0 && enc.res != nil && enc.res.class != "" && !cim.EqualFold(inst.Class, enc.res.class) {
		// An instance of a subclass of the class addressed names its type
		// (DSP0227 1.1 §8.2, DSP0230 §7.2: the element of a derived
		// class's instance carries xsi:type, <Class>_Type in the class's
		// namespace).
		o.s(` xsi:type="` + prefix + ":")
		o.attrText(inst.Class)
		o.s(`_Type"`)
	}
	o.s(">")
	for i := range inst.Properties {
		p := &inst.Properties[i]
		if strings.HasPrefix(p.Name, "__") {
			continue
		}
		enc.property(o, prefix, p.Name, p.Value, inst.Namespace, depth)
	}
	o.s("</" + prefix + ":")
	o.s(inst.Class)
	o.s(">")
}

// property writes one property (or parameter): NULL as xsi:nil, an array
// as repeated elements.
func (enc *encoder) property(o *out, prefix, name string, v cim.Value, ns string, depth int) {
	if v.IsNull() {
		o.s("<" + prefix + ":")
		o.s(name)
		o.s(` xsi:nil="true"/>`)
		return
	}
	if v.Type.IsArray() {
		for i := 0; i < v.Len(); i++ {
			enc.scalar(o, prefix, name, v.Index(i), ns, depth)
		}
		return
	}
	enc.scalar(o, prefix, name, v, ns, depth)
}

func (enc *encoder) scalar(o *out, prefix, name string, v cim.Value, ns string, depth int) {
	o.s("<" + prefix + ":")
	o.s(name)
	o.s(">")
	switch x := v.V.(type) {
	case string:
		if v.Type == cim.TypeReference {
			enc.reference(o, x, ns)
		} else {
			o.text(x)
		}
	case bool:
		if x {
			o.s("true")
		} else {
			o.s("false")
		}
	case int8:
		o.b = strconv.AppendInt(o.b, int64(x), 10)
	case int16:
		o.b = strconv.AppendInt(o.b, int64(x), 10)
	case int32:
		o.b = strconv.AppendInt(o.b, int64(x), 10)
	case int64:
		o.b = strconv.AppendInt(o.b, x, 10)
	case uint8:
		o.b = strconv.AppendUint(o.b, uint64(x), 10)
	case uint16:
		o.b = strconv.AppendUint(o.b, uint64(x), 10)
	case uint32:
		o.b = strconv.AppendUint(o.b, uint64(x), 10)
	case uint64:
		o.b = strconv.AppendUint(o.b, x, 10)
	case float32:
		o.s(formatReal(float64(x), 32))
	case float64:
		o.s(formatReal(x, 64))
	case cim.Char16:
		o.text(string(rune(x)))
	case cim.Datetime:
		datetime(o, x)
	case *cim.Object:
		if depth < 8 {
			if x.Namespace == "" {
				x = shallowWithNS(x, ns)
			}
			enc.instance(o, x, "e"+strconv.Itoa(depth+1), true, depth+1)
		}
	default:
		o.text(cim.FormatValue(v))
	}
	o.s("</" + prefix + ":")
	o.s(name)
	o.s(">")
}

func shallowWithNS(x *cim.Object, ns string) *cim.Object {
	c := *x
	c.Namespace = ns
	return &c
}

// formatReal writes an xs:float or xs:double.
func formatReal(f float64, bits int) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'G', -1, bits)
}

// datetime writes a CIM datetime as DSP0230 does: cim:Datetime for a
// timestamp, cim:Interval for an interval, cim:CIMDateTime for a value
// with wildcards. The element declares its namespace itself, so that it
// stays well-formed when a client (wsl put) copies it into a request.
func datetime(o *out, d cim.Datetime) {
	const decl = ` xmlns:cim="` + nsCIM + `">`
	if d.IsInterval() {
		o.s("<cim:Interval" + decl + formatInterval(d) + "</cim:Interval>")
		return
	} else if t, ok := d.Time(); ok {
		o.s("<cim:Datetime" + decl + t.Format(time.RFC3339Nano) + "</cim:Datetime>")
		return
	}
	o.s("<cim:CIMDateTime" + decl + d.String() + "</cim:CIMDateTime>")
}

// reference writes the EPR of an object path inside an element.
func (enc *encoder) reference(o *out, path, ns string) {
	p, err := cim.ParsePath(path)
	if err != nil {
		o.text(path)
		return
	}
	if p.Namespace != "" {
		ns = p.Namespace
	}
	enc.eprBody(o, ns, p.Class, p.Keys)
}

// epr writes a wsa:EndpointReference for an instance path.
func (enc *encoder) epr(o *out, ns, class string, keys []cim.KeyBinding) {
	o.s("<wsa:EndpointReference>")
	enc.eprBody(o, ns, class, keys)
	o.s("</wsa:EndpointReference>")
}

// eprBody writes the address and reference parameters of an EPR.
func (enc *encoder) eprBody(o *out, ns, class string, keys []cim.KeyBinding) {
	o.s("<wsa:Address>" + anonymous + "</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>")
	o.text(enc.res.classURI(ns, class))
	o.s("</wsman:ResourceURI><wsman:SelectorSet>")
	for _, k := range keys {
		o.s(`<wsman:Selector Name="`)
		o.attrText(k.Name)
		o.s(`">`)
		if k.Value.Type == cim.TypeReference {
			if s, ok := k.Value.V.(string); ok {
				p, err := cim.ParsePath(s)
				if err == nil {
					rns := ns
					if p.Namespace != "" {
						rns = p.Namespace
					}
					enc.epr(o, rns, p.Class, p.Keys)
				} else {
					o.text(s)
				}
			}
		} else {
			o.text(keyText(k.Value))
		}
		o.s("</wsman:Selector>")
	}
	o.s(`<wsman:Selector Name="__cimnamespace">`)
	o.text(ns)
	o.s("</wsman:Selector></wsman:SelectorSet></wsa:ReferenceParameters>")
}

// keyText is the selector text of a key value.
func keyText(v cim.Value) string {
	switch x := v.V.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case cim.Datetime:
		return x.String()
	}
	return cim.FormatValue(v)
}

// instanceEPR writes the EPR of a stored instance.
func (enc *encoder) instanceEPR(o *out, inst *cim.Object) error {
	p, err := inst.ObjectPath()
	if err != nil {
		return err
	}
	ns := inst.Namespace
	if p.Namespace != "" {
		ns = p.Namespace
	}
	enc.epr(o, ns, inst.Class, p.Keys)
	return nil
}

// outs holds answer buffers for reuse.
var outs = sync.Pool{New: func() any { return &out{b: make([]byte, 0, 4096)} }}

// answer starts an answer with the action of the request plus
// "Response".
func answer(req *request, action string) *out {
	o := outs.Get().(*out)
	o.b = o.b[:0]
	o.head(req.env.soap, action, req.env.messageID, req.env.hasMsgID)
	return o
}
