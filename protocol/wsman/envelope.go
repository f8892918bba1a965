package wsman

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
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
	nsWSE      = "http://schemas.xmlsoap.org/ws/2004/08/eventing"
	nsXML      = "http://www.w3.org/XML/1998/namespace"
	anonymous  = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
	dialectWQL = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
	dialectCQL = "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf"
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

	actSubscribe       = nsWSE + "/Subscribe"
	actRenewSub        = nsWSE + "/Renew"
	actGetStatusSub    = nsWSE + "/GetStatus"
	actUnsubscribe     = nsWSE + "/Unsubscribe"
	actSubscriptionEnd = nsWSE + "/SubscriptionEnd"
)

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
	identifier  string // wse:Identifier: the subscription a Renew, GetStatus or Unsubscribe addresses
	// requestEPR: wsman:RequestEPR, the answer carries wsman:RequestedEPR
	// (DSP0226 1.2 §7.8).
	requestEPR bool
	// polymorphism is wsmb:PolymorphismMode (DSP0227 1.1 §8.2).
	polymorphism int
}

// Values of wsmb:PolymorphismMode (DSP0227 1.1 §8.2): the default,
// IncludeSubClassProperties, enumerates instances of subclasses with all
// their properties; ExcludeSubClassProperties with the properties of the
// class addressed only; None, instances of the class addressed only.
const (
	polyInclude = iota
	polyExcludeSubclassProperties
	polyNone
)

// faultPolymorphismMode: a PolymorphismMode this service does not know
// (DSP0227 1.1 §8.2, wsmb:PolymorphismModeNotSupported).
var faultPolymorphismMode = &faultKind{"Sender", nsWSMB, "PolymorphismModeNotSupported", faultActionWSMan, "", cim.ENotSupported, http.StatusBadRequest}

// locale returns the WMI locale ("MS_409") of the request's wsman:Locale
// header (DSP0226 §6.3: its xml:lang), "" when it has none or names a
// language wbemd does not know: reads and writes then ask for that
// locale's amended qualifiers (cimom.Localized), as CIM-XML's
// Accept-Language does.
func (env *envelope) locale() string {
	l := env.header.kid(nsWSMan, "Locale")
	if l == nil {
		return ""
	}
	lang, _ := l.attr(nsXML, "lang")
	loc, _ := cimom.LocaleOfLanguage(lang)
	return loc
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
		case [2]string{nsWSE, "Identifier"}:
			env.identifier = h.trimmed()
		case [2]string{nsWSMan, "FragmentTransfer"}:
			// Fragment transfer is optional (DSP0226 1.2 §7.7): a header
			// the client does not require to be understood is ignored,
			// and the operation addresses the whole resource.
			if mustUnderstand(h, root.space) {
				env.fragment, env.hasFragment = h.trimmed(), true
			}
		case [2]string{nsWSMan, "RequestEPR"}:
			env.requestEPR = true
		case [2]string{nsWSMB, "PolymorphismMode"}:
			switch m := h.trimmed(); m {
			case "IncludeSubClassProperties", "":
			case "ExcludeSubClassProperties":
				env.polymorphism = polyExcludeSubclassProperties
			case "None":
				env.polymorphism = polyNone
			default:
				return env, newFault(faultPolymorphismMode, "wsmb:PolymorphismMode %q is not IncludeSubClassProperties, ExcludeSubClassProperties or None", m)
			}
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

// faultAddressingMode: a ReplyTo or FaultTo this service cannot answer to
// (DSP0226 1.2 §5.4.2, R5.4.2-3; master fault table, detail
// AddressingMode).
var faultAddressingMode = &faultKind{"Sender", nsWSMan, "UnsupportedFeature", faultActionWSMan, faultDetailBase + "AddressingMode", cim.ENotSupported, http.StatusBadRequest}

// errMediaType marks a request whose Content-Type is not SOAP's: it is
// answered 415 Unsupported Media Type, without an envelope.
var errMediaType = errors.New("unsupported media type")

// checkMediaType checks a request's Content-Type: application/soap+xml
// (SOAP 1.2, RFC 3902) or text/xml (SOAP 1.1), in UTF-8 (DSP0226 1.2
// §13.1 R13.1-2: the service takes UTF-8; another charset is a
// wsman:EncodingLimit fault with the CharacterSet detail). It returns the
// action the media type carries (SOAP 1.2's action parameter), if any.
func checkMediaType(header string) (action string, err error) {
	if strings.TrimSpace(header) == "" {
		return "", fmt.Errorf("%w: the request has no Content-Type", errMediaType)
	}
	mt, params, perr := mime.ParseMediaType(header)
	if perr != nil {
		return "", fmt.Errorf("%w: Content-Type %q: %v", errMediaType, header, perr)
	}
	if mt != "application/soap+xml" && mt != "text/xml" {
		return "", fmt.Errorf("%w: Content-Type %s is not application/soap+xml or text/xml", errMediaType, mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", newFault(faultCharacterLimit, "charset %q is not supported: send UTF-8", cs)
	}
	return params["action"], nil
}

// checkAddressing checks what WS-Addressing asks of the answer: a
// SOAPAction (SOAP 1.1's header, or SOAP 1.2's action parameter) that
// names another action than wsa:Action is refused (DSP0226 1.2 §5.4.5,
// and the master fault table: wsa:ActionNotSupported with the
// ActionMismatch detail); so is a ReplyTo or FaultTo that is not the
// anonymous address, since answers go back on the request's connection
// only (R5.4.2-3, wsman:UnsupportedFeature, AddressingMode).
func checkAddressing(env *envelope, soapAction string) error {
	soapAction = strings.Trim(strings.TrimSpace(soapAction), `"`)
	if soapAction != "" && env.hasAction && soapAction != env.action {
		return newFault(faultActionNotSupported, "SOAPAction %s contradicts wsa:Action %s", soapAction, env.action)
	}
	if env.header == nil {
		return nil
	}
	for _, name := range []string{"ReplyTo", "FaultTo"} {
		h := env.header.kid(nsWSA, name)
		if h == nil {
			continue
		}
		if a := h.kid(nsWSA, "Address"); a == nil || a.trimmed() != anonymous {
			return newFault(faultAddressingMode, "wsa:%s must be the anonymous address %s: answers go back on the request's connection", name, anonymous)
		}
	}
	return nil
}
