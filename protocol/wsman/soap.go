package wsman

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// XML namespaces of the protocol.
const (
	nsSOAP12   = "http://www.w3.org/2003/05/soap-envelope"
	nsSOAP11   = "http://schemas.xmlsoap.org/soap/envelope/"
	nsWSA      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan    = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsWSEN     = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
	nsWXF      = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsWSMID    = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
	nsWSMB     = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	nsMSWSMan  = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
	nsWSManF   = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
	nsCIM      = "http://schemas.dmtf.org/wbem/wscim/1/common"
	anonymous  = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
	dialectWQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
	dialectSel = "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter"
	dialectAsc = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"
)

// Actions.
const (
	actGet       = nsWXF + "/Get"
	actPut       = nsWXF + "/Put"
	actCreate    = nsWXF + "/Create"
	actDelete    = nsWXF + "/Delete"
	actEnumerate = nsWSEN + "/Enumerate"
	actPull      = nsWSEN + "/Pull"
	actRelease   = nsWSEN + "/Release"
	actRenew     = nsWSEN + "/Renew"
	actGetStatus = nsWSEN + "/GetStatus"
)

// elem is one decoded XML element: its expanded name, attributes, the
// character data directly inside it and its child elements.
type elem struct {
	space, local string
	attrs        []xml.Attr
	text         string
	kids         []*elem
}

// is reports whether e has the expanded name {space}local.
func (e *elem) is(space, local string) bool {
	return e != nil && e.space == space && e.local == local
}

// kid returns the first child named {space}local.
func (e *elem) kid(space, local string) *elem {
	if e == nil {
		return nil
	}
	for _, k := range e.kids {
		if k.is(space, local) {
			return k
		}
	}
	return nil
}

// attr returns the value of the attribute with the local name (in no
// namespace, or in space when space is not "").
func (e *elem) attr(space, local string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == space) {
			return a.Value, true
		}
	}
	return "", false
}

// trimmed returns e's text without surrounding white space.
func (e *elem) trimmed() string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.text)
}

// Decoder limits: a request is bounded by the handler's size limit; these
// bound its shape.
const (
	maxDepth    = 64
	maxElements = 200000
)

// errMalformed marks XML that is not well-formed or too deep.
var errMalformed = errors.New("malformed XML")

// parseXML reads one XML document into a tree with encoding/xml's
// streaming decoder.
func parseXML(r io.Reader) (*elem, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var stack []*elem
	var root *elem
	var text strings.Builder
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%w: a second root element <%s>", errMalformed, t.Name.Local)
			}
			count++
			if len(stack) >= maxDepth || count > maxElements {
				return nil, fmt.Errorf("%w: elements nested deeper than %d or more than %d elements", errMalformed, maxDepth, maxElements)
			}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text += text.String()
			}
			text.Reset()
			e := &elem{space: t.Name.Space, local: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, e)
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			top := stack[len(stack)-1]
			top.text += text.String()
			text.Reset()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if strings.TrimSpace(string(t)) != "" {
					return nil, fmt.Errorf("%w: text outside the root element", errMalformed)
				}
				continue
			}
			text.Write(t)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", errMalformed)
	}
	return root, nil
}

// selector is one wsman:Selector: a text value, or an EPR for a reference.
type selector struct {
	name string
	text string
	epr  *elem
}

// envelope is a decoded request.
type envelope struct {
	soap        string // the envelope namespace (SOAP 1.2 or 1.1)
	header      *elem
	body        *elem // nil when the envelope has no Body
	action      string
	hasAction   bool
	messageID   string
	hasMsgID    bool
	resourceURI string
	hasURI      bool
	selectors   []selector
	hasSelSet   bool
	maxEnvelope int           // 0 when not given
	timeout     time.Duration // 0 when not given
	fragment    string
	hasFragment bool
}

// payload returns the first element child of the Body, or nil.
func (env *envelope) payload() *elem {
	if env.body == nil || len(env.body.kids) == 0 {
		return nil
	}
	return env.body.kids[0]
}

// understood lists the header elements this server acts on or may
// safely ignore; a mustUnderstand header outside it is a
// s:MustUnderstand fault.
var understood = map[[2]string]bool{
	{nsWSA, "Action"}: true, {nsWSA, "To"}: true, {nsWSA, "MessageID"}: true, {nsWSA, "ReplyTo"}: true,
	{nsWSA, "FaultTo"}: true, {nsWSA, "From"}: true,
	{nsWSMan, "ResourceURI"}: true, {nsWSMan, "SelectorSet"}: true, {nsWSMan, "MaxEnvelopeSize"}: true,
	{nsWSMan, "OperationTimeout"}: true, {nsWSMan, "Locale"}: true, {nsWSMan, "OptionSet"}: true,
	{nsWSMan, "FragmentTransfer"}: true, {nsWSMan, "RequestEPR"}: true,
	{nsMSWSMan, "DataLocale"}: true, {nsMSWSMan, "SessionId"}: true, {nsMSWSMan, "OperationID"}: true,
	{nsMSWSMan, "SequenceId"}: true,
}

// bodies holds request buffers for reuse.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeEnvelope reads a SOAP envelope and its WS-Addressing and WS-Man
// headers. Its errors are faults, or the reader's error (a body over the
// size limit).
func decodeEnvelope(r io.Reader) (*envelope, error) {
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodies.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("reading the request: %w", err)
	}
	root, err := parseFast(buf.Bytes())
	if err != nil {
		if root, err = parseXML(bytes.NewReader(buf.Bytes())); err != nil {
			return nil, err
		}
	}
	return envelopeOf(root)
}

// envelopeOf interprets a parsed document as a SOAP envelope.
func envelopeOf(root *elem) (*envelope, error) {
	if root.local != "Envelope" {
		return nil, newFault(faultSchema, "the document is not a SOAP envelope (found <%s>)", root.local)
	}
	if root.space != nsSOAP12 && root.space != nsSOAP11 {
		return nil, newFault(faultVersionMismatch, "the envelope namespace %q is neither SOAP 1.2 nor SOAP 1.1", root.space)
	}
	env := &envelope{soap: root.space}
	for _, k := range root.kids {
		switch {
		case k.is(root.space, "Header"):
			if env.header != nil {
				return env, newFault(faultSchema, "the envelope has two Header elements")
			}
			env.header = k
		case k.is(root.space, "Body"):
			if env.body != nil {
				return env, newFault(faultSchema, "the envelope has two Body elements")
			}
			env.body = k
		default:
			return env, newFault(faultSchema, "unexpected element <%s> in the envelope", k.local)
		}
	}
	if env.header == nil {
		return env, nil
	}
	for _, h := range env.header.kids {
		name := [2]string{h.space, h.local}
		switch name {
		case [2]string{nsWSA, "Action"}:
			if env.hasAction {
				return env, newFault(faultInvalidHeader, "two wsa:Action headers")
			}
			env.action, env.hasAction = h.trimmed(), true
		case [2]string{nsWSA, "MessageID"}:
			if env.hasMsgID {
				return env, newFault(faultInvalidHeader, "two wsa:MessageID headers")
			}
			env.messageID, env.hasMsgID = h.trimmed(), true
		case [2]string{nsWSMan, "ResourceURI"}:
			if env.hasURI {
				return env, newFault(faultInvalidHeader, "two wsman:ResourceURI headers")
			}
			env.resourceURI, env.hasURI = h.trimmed(), true
		case [2]string{nsWSMan, "SelectorSet"}:
			if env.hasSelSet {
				return env, newFault(faultInvalidSelectors, "two wsman:SelectorSet headers")
			}
			env.hasSelSet = true
			sels, err := selectorsOf(h)
			if err != nil {
				return env, err
			}
			env.selectors = sels
		case [2]string{nsWSMan, "MaxEnvelopeSize"}:
			n, err := strconv.Atoi(h.trimmed())
			if err != nil || n <= 0 {
				return env, newFault(faultEncodingLimitValue, "wsman:MaxEnvelopeSize %q is not a positive integer", h.trimmed())
			}
			env.maxEnvelope = n
		case [2]string{nsWSMan, "OperationTimeout"}:
			d, err := parseDuration(h.trimmed())
			if err != nil || d <= 0 {
				return env, newFault(faultInvalidTimeout, "wsman:OperationTimeout %q is not a positive xs:duration", h.trimmed())
			}
			env.timeout = d
		case [2]string{nsWSMan, "FragmentTransfer"}:
			env.fragment, env.hasFragment = h.trimmed(), true
		default:
			if !understood[name] && mustUnderstand(h, root.space) {
				return env, newFault(faultMustUnderstand, "header {%s}%s is not understood", h.space, h.local)
			}
		}
	}
	return env, nil
}

// mustUnderstand reports whether a header carries mustUnderstand true,
// with the attribute in the envelope's namespace or unqualified.
func mustUnderstand(h *elem, soapNS string) bool {
	v, ok := h.attr(soapNS, "mustUnderstand")
	if !ok {
		return false
	}
	v = strings.TrimSpace(v)
	return v == "true" || v == "1"
}

// selectorsOf reads a wsman:SelectorSet.
func selectorsOf(set *elem) ([]selector, error) {
	var out []selector
	for _, s := range set.kids {
		if !s.is(nsWSMan, "Selector") {
			return nil, newFault(faultInvalidSelectors, "unexpected element <%s> in wsman:SelectorSet", s.local)
		}
		name, ok := s.attr("", "Name")
		if !ok || name == "" {
			return nil, newFault(faultInvalidSelectors, "a wsman:Selector has no Name")
		}
		for _, o := range out {
			if strings.EqualFold(o.name, name) {
				return nil, newFault(faultDuplicateSelectors, "selector %s is given twice", name)
			}
		}
		sel := selector{name: name, text: s.trimmed()}
		if epr := s.kid(nsWSA, "EndpointReference"); epr != nil {
			sel.epr = epr
		} else if len(s.kids) > 0 {
			return nil, newFault(faultInvalidSelectors, "selector %s holds an element other than wsa:EndpointReference", name)
		}
		out = append(out, sel)
	}
	return out, nil
}

// parseDuration reads an xs:duration (PnYnMnDTnHnMnS; years and months
// count 365 and 30 days).
func parseDuration(s string) (time.Duration, error) {
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return 0, fmt.Errorf("not an xs:duration: %q", s)
	}
	s = s[1:]
	var total float64
	inTime := false
	units := map[bool]map[byte]float64{
		false: {'Y': 365 * 86400, 'M': 30 * 86400, 'D': 86400},
		true:  {'H': 3600, 'M': 60, 'S': 1},
	}
	any := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("two T in duration")
			}
			inTime, s = true, s[1:]
			if len(s) == 0 {
				return 0, fmt.Errorf("nothing after T in duration")
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, fmt.Errorf("malformed duration")
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("malformed duration number: %w", err)
		}
		u, ok := units[inTime][s[i]]
		if !ok {
			return 0, fmt.Errorf("unknown duration unit %q", s[i])
		}
		total += n * u
		any = true
		s = s[i+1:]
	}
	if !any {
		return 0, fmt.Errorf("empty duration")
	}
	if total > float64(1<<62)/1e9 {
		return 0, fmt.Errorf("duration too long")
	}
	d := time.Duration(total * float64(time.Second))
	if neg {
		d = -d
	}
	return d, nil
}

// formatDuration writes d as an xs:duration.
func formatDuration(d time.Duration) string {
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteString("P")
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
	}
	b.WriteString("T")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S")
	return b.String()
}
