package wsman

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/internal/testdata"
)

const (
	sampleNS = "root/sample"
	dmtf     = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
	diskURI  = dmtf + "Sample_Disk"
)

// newServer starts the handler on a real repository holding the sample
// schema, behind real HTTP and the daemon's filters (a 1 MiB body limit);
// "admin" with password "pw" is an administrator. DMTF URIs default to
// root/sample.
func newServer(t testing.TB, tune func(h *Handler, s *httpstack.Stack)) (string, *Handler) {
	t.Helper()
	om := testdata.SampleCIMOM(t)
	h := &Handler{Connector: om, Namespace: sampleNS}
	s := &httpstack.Stack{Observer: httpstack.NewObserver(slog.New(slog.DiscardHandler)), MaxRequest: 1 << 20,
		Auth: func(r *http.Request) (cimom.Principal, bool) {
			n, p, ok := r.BasicAuth()
			if ok && n == "guest" && p == "guest-pw" {
				return cimom.Principal{Name: "guest"}, true
			}
			return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
		}}
	if tune != nil {
		tune(h, s)
	}
	srv := httptest.NewServer(s.Serve(h.Door(), h))
	t.Cleanup(func() { srv.Close(); h.Close() })
	return srv.URL + "/wsman", h
}

var msgSeq atomic.Uint64

// msg is a request envelope in wsl's style (prefixed, mustUnderstand
// qualified); it returns the envelope and its MessageID.
type msg struct {
	action, uri string
	selectors   [][2]string
	headers     string
	body        string // inside s:Body; "-" for no Body element
}

func (m msg) build() (string, string) {
	id := fmt.Sprintf("uuid:00000000-0000-4000-8000-%012d", msgSeq.Add(1))
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:wsmb="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Header>`)
	if m.action != "" {
		b.WriteString(`<wsa:Action s:mustUnderstand="true">` + m.action + `</wsa:Action>`)
	}
	b.WriteString(`<wsa:To s:mustUnderstand="true">http://127.0.0.1:5985/wsman</wsa:To>`)
	if m.uri != "" {
		b.WriteString(`<wsman:ResourceURI s:mustUnderstand="true">` + m.uri + `</wsman:ResourceURI>`)
	}
	b.WriteString(`<wsa:MessageID s:mustUnderstand="true">` + id + `</wsa:MessageID><wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>`)
	if len(m.selectors) > 0 {
		b.WriteString("<wsman:SelectorSet>")
		for _, s := range m.selectors {
			b.WriteString(`<wsman:Selector Name="` + s[0] + `">` + s[1] + `</wsman:Selector>`)
		}
		b.WriteString("</wsman:SelectorSet>")
	}
	b.WriteString(m.headers + "</s:Header>")
	if m.body != "-" {
		b.WriteString("<s:Body>" + m.body + "</s:Body>")
	}
	b.WriteString("</s:Envelope>")
	return b.String(), id
}

// post sends a raw envelope with Basic admin:pw and returns the status
// and the body.
func post(t testing.TB, url, envelope string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(envelope))
	req.SetBasicAuth("admin", "pw")
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rsp.StatusCode, string(b)
}

// do sends m and checks that the answer is well-formed XML with the
// expected status, Action and RelatesTo.
func do(t *testing.T, url string, m msg, status int, action string) string {
	t.Helper()
	env, id := m.build()
	code, body := post(t, url, env)
	if code != status {
		t.Fatalf("%s: HTTP %d, want %d\n%s", m.action, code, status, body)
	}
	checkAnswer(t, body, id, action)
	return body
}

// checkAnswer checks an answer's well-formedness, Action and RelatesTo.
func checkAnswer(t *testing.T, body, id, action string) *envelope {
	t.Helper()
	root, err := parseXML(strings.NewReader(body))
	if err != nil {
		t.Fatalf("answer is not well-formed: %v\n%s", err, body)
	}
	env, err := envelopeOf(root)
	if err != nil {
		t.Fatalf("answer is not an envelope: %v", err)
	}
	if env.action != action {
		t.Errorf("Action %q, want %q\n%s", env.action, action, body)
	}
	rel := env.header.kid(nsWSA, "RelatesTo").trimmed()
	if rel != id {
		t.Errorf("RelatesTo %q, want %q", rel, id)
	}
	if !strings.HasPrefix(env.messageID, "uuid:") || env.messageID == id {
		t.Errorf("answer MessageID %q", env.messageID)
	}
	return env
}

// checkFault checks a fault's code, subcode and WSManFault code.
func checkFault(t *testing.T, body, code, subcode string, hresult uint32) {
	t.Helper()
	if !strings.Contains(body, "<s:Value>s:"+code+"</s:Value>") {
		t.Errorf("fault code is not %s:\n%s", code, body)
	}
	if subcode != "" && !strings.Contains(body, "<s:Subcode><s:Value>"+subcode+"</s:Value></s:Subcode>") {
		t.Errorf("fault subcode is not %s:\n%s", subcode, body)
	}
	if hresult != 0 && !strings.Contains(body, fmt.Sprintf(`Code="%d"`, hresult)) {
		t.Errorf("WSManFault Code is not %d:\n%s", hresult, body)
	}
}

func TestIdentify(t *testing.T) {
	url, h := newServer(t, nil)
	env := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>`
	code, body := post(t, url, env)
	if code != 200 || !strings.Contains(body, "<wsmid:IdentifyResponse>") || !strings.Contains(body, "<wsmid:ProtocolVersion>"+nsWSMan) {
		t.Fatalf("Identify: %d\n%s", code, body)
	}
	if _, err := parseXML(strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	rsp, err := http.Post(url, "application/soap+xml", strings.NewReader(env))
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 401 {
		t.Errorf("anonymous Identify without --wsman-anonymous-identify: %d", rsp.StatusCode)
	}
	h.AnonymousIdentify = true
	for _, c := range []struct {
		env  string
		want int
	}{{env, 200}, {strings.Replace(env, "<wsmid:Identify/>", "<wsmid:Other/>", 1), 401}, {"<junk", 401}} {
		rsp, err = http.Post(url, "application/soap+xml", strings.NewReader(c.env))
		if err != nil {
			t.Fatal(err)
		}
		rsp.Body.Close()
		if rsp.StatusCode != c.want {
			t.Errorf("anonymous %q: %d, want %d", c.env, rsp.StatusCode, c.want)
		}
	}
}

func TestGet(t *testing.T) {
	url, _ := newServer(t, nil)
	body := do(t, url, msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}}, 200, actGet+"Response")
	for _, want := range []string{`<p:Sample_Disk xmlns:p="` + diskURI + `">`, "<p:Name>sda</p:Name>", "<p:Tags>nvme</p:Tags><p:Tags>system</p:Tags>",
		"<p:Installed><cim:Datetime xmlns:cim=\"" + nsCIM + "\">2026-01-01T12:00:00Z</cim:Datetime></p:Installed>", "<p:SizeBytes>512110190592</p:SizeBytes>", "<p:RotationRate>0</p:RotationRate>"} {
		if !strings.Contains(body, want) {
			t.Errorf("Get answer lacks %s\n%s", want, body)
		}
	}
	// No Body element (pywinrm when the caller forgets), the namespace
	// selector, and the WMI-style URI.
	do(t, url, msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sdb"}, {"__cimnamespace", "root/sample"}}, body: "-"}, 200, actGet+"Response")
	body = do(t, url, msg{action: actGet, uri: uriWMI + "root/sample/Sample_Volume", selectors: [][2]string{{"Name", "sda2"}}}, 200, actGet+"Response")
	if !strings.Contains(body, `xmlns:p="`+uriWMI+`root/sample/Sample_Volume"`) || !strings.Contains(body, "<p:Mounted>true</p:Mounted>") {
		t.Errorf("WMI-style Get:\n%s", body)
	}
	// A base class URI finds a subclass instance; an unknown base works
	// when its last segment is the class.
	do(t, url, msg{action: actGet, uri: "http://schemas.example.com/wbem/wscim/1/cim-schema/2/Sample_StorageElement", selectors: [][2]string{{"Name", "sda"}}}, 200, actGet+"Response")
	// A fragment.
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Model</wsman:FragmentTransfer>`}, 200, actGet+"Response")
	if !strings.Contains(body, "<wsman:XmlFragment><Model>Samsung 980</Model></wsman:XmlFragment>") {
		t.Errorf("fragment Get:\n%s", body)
	}
}

func TestFaults(t *testing.T) {
	url, _ := newServer(t, nil)
	get := func(sels ...[2]string) msg { return msg{action: actGet, uri: diskURI, selectors: sels} }
	do(t, url, msg{action: actCreate, uri: diskURI, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>big</p:Name><p:Model>` + strings.Repeat("x", 9000) + `</p:Model></p:Sample_Disk>`}, 200, actCreate+"Response")
	cases := []struct {
		name    string
		m       msg
		status  int
		code    string
		subcode string
		hresult uint32
	}{
		{"missing instance", get([2]string{"Name", "nope"}), 400, "Sender", "wsa:DestinationUnreachable", 0x80041002},
		{"selector not a key", get([2]string{"Model", "x"}), 400, "Sender", "wsman:InvalidSelectors", 0x8004103A},
		{"no selectors", get(), 400, "Sender", "wsman:InvalidSelectors", 0x8004103A},
		{"bad namespace selector", get([2]string{"Name", "sda"}, [2]string{"__cimnamespace", "root/nothing"}), 400, "Sender", "wsa:DestinationUnreachable", 0x8004100E},
		{"unknown class", msg{action: actGet, uri: dmtf + "CIM_Nothing", selectors: [][2]string{{"Name", "x"}}}, 400, "Sender", "wsa:DestinationUnreachable", 0x80041010},
		{"no resource URI", msg{action: actGet}, 400, "Sender", "wsa:DestinationUnreachable", 0},
		{"unknown action", msg{action: "http://example.com/Frob", uri: diskURI}, 400, "Sender", "wsa:ActionNotSupported", 0},
		{"Renew", msg{action: actRenew, uri: diskURI}, 400, "Sender", "wsa:ActionNotSupported", 0},
		{"no action", msg{uri: diskURI}, 400, "Sender", "wsa:MessageInformationHeaderRequired", 0},
		{"unknown mustUnderstand header", msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: `<x:Thing xmlns:x="urn:x" s:mustUnderstand="true"/>`}, 400, "MustUnderstand", "", 0},
		{"enumeration item over MaxEnvelopeSize", msg{action: actEnumerate, uri: diskURI, headers: `<wsman:MaxEnvelopeSize s:mustUnderstand="true">8192</wsman:MaxEnvelopeSize>`,
			body: `<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>1</wsman:MaxElements><wsman:Filter Dialect="` + dialectWQL + `">SELECT * FROM Sample_Disk WHERE Name = 'big'</wsman:Filter></wsen:Enumerate>`}, 400, "Sender", "wsman:EncodingLimit", 0},
		{"Get over MaxEnvelopeSize", msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "big"}}, headers: `<wsman:MaxEnvelopeSize s:mustUnderstand="true">8192</wsman:MaxEnvelopeSize>`}, 400, "Sender", "wsman:EncodingLimit", 0},
		{"MaxEnvelopeSize too small", msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: `<wsman:MaxEnvelopeSize s:mustUnderstand="true">100</wsman:MaxEnvelopeSize>`}, 400, "Sender", "wsman:EncodingLimit", 0},
		{"OperationTimeout passed", msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: `<wsman:OperationTimeout>PT0.000001S</wsman:OperationTimeout>`}, 500, "Receiver", "wsman:TimedOut", 0},
		{"bad OperationTimeout", msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: `<wsman:OperationTimeout>soon</wsman:OperationTimeout>`}, 400, "Sender", "wsa:InvalidMessageInformationHeader", 0},
		{"XPath", msg{action: actEnumerate, uri: diskURI, body: `<wsen:Enumerate><wsman:Filter Dialect="http://www.w3.org/TR/1999/REC-xpath-19991116">/Sample_Disk</wsman:Filter></wsen:Enumerate>`}, 400, "Sender", "wsen:FilterDialectRequestedUnavailable", 0x80041018},
		{"CQL outside the subset", msg{action: actEnumerate, uri: diskURI, body: `<wsen:Enumerate><wsman:Filter Dialect="` + dialectCQL + `">select * from Sample_Disk order by Name</wsman:Filter></wsen:Enumerate>`}, 400, "Sender", "wsen:CannotProcessFilter", 0},
		{"bad WQL", msg{action: actEnumerate, uri: uriDMTFAll, body: `<wsen:Enumerate><wsman:Filter Dialect="` + dialectWQL + `">SELEKT</wsman:Filter></wsen:Enumerate>`}, 400, "Sender", "wsen:CannotProcessFilter", 0},
		{"all classes without a filter", msg{action: actEnumerate, uri: uriDMTFAll, body: `<wsen:Enumerate/>`}, 400, "Sender", "wsman:UnsupportedFeature", 0},
		{"Get of the all-classes URI", msg{action: actGet, uri: uriDMTFAll}, 400, "Sender", "wsa:DestinationUnreachable", 0},
		{"Pull of a context never opened", msg{action: actPull, uri: diskURI, body: `<wsen:Pull><wsen:EnumerationContext>uuid:nothing</wsen:EnumerationContext></wsen:Pull>`}, 500, "Receiver", "wsen:InvalidEnumerationContext", 0},
		{"Create that exists", msg{action: actCreate, uri: diskURI, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sda</p:Name></p:Sample_Disk>`}, 400, "Sender", "wsman:AlreadyExists", 0x80041019},
		{"Put of an unknown property", msg{action: actPut, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Colour>red</p:Colour></p:Sample_Disk>`}, 400, "Sender", "wxf:InvalidRepresentation", 0x80041031},
		{"Put of a wrong type", msg{action: actPut, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:RotationRate>fast</p:RotationRate></p:Sample_Disk>`}, 400, "Sender", "wxf:InvalidRepresentation", 0x80041005},
		{"Put changing a key", msg{action: actPut, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sdz</p:Name></p:Sample_Disk>`}, 400, "Sender", "wxf:InvalidRepresentation", 0},
		{"Delete of a missing instance", msg{action: actDelete, uri: diskURI, selectors: [][2]string{{"Name", "nope"}}}, 400, "Sender", "wsa:DestinationUnreachable", 0x80041002},
		{"unknown method", msg{action: diskURI + "/Explode", uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, body: `<p:Explode_INPUT xmlns:p="` + diskURI + `"/>`}, 400, "Sender", "wsa:ActionNotSupported", 0x8004102E},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, id := c.m.build()
			code, body := post(t, url, env)
			if code != c.status {
				t.Fatalf("HTTP %d, want %d\n%s", code, c.status, body)
			}
			e := checkAnswer(t, body, id, e0(body))
			if !strings.HasSuffix(e.action, "/fault") {
				t.Errorf("fault Action %q", e.action)
			}
			checkFault(t, body, c.code, c.subcode, c.hresult)
		})
	}
}

// e0 returns the Action of an answer (checked separately).
func e0(body string) string {
	m := regexp.MustCompile(`<wsa:Action[^>]*>([^<]*)</wsa:Action>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestMalformed sends envelopes that are broken in each way the decoder
// knows: each gets a precise fault, none a crash.
func TestMalformed(t *testing.T) {
	url, _ := newServer(t, func(_ *Handler, s *httpstack.Stack) { s.MaxRequest = 64 << 10 })
	get, _ := msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}}.build()
	cases := []struct {
		name, env, code, subcode string
	}{
		{"not XML", "this is not xml", "Sender", "wsman:SchemaValidationError"},
		{"truncated", get[:len(get)-20], "Sender", "wsman:SchemaValidationError"},
		{"not an envelope", `<a/>`, "Sender", "wsman:SchemaValidationError"},
		{"SOAP of no version", strings.ReplaceAll(get, "http://www.w3.org/2003/05/soap-envelope", "urn:soap"), "VersionMismatch", ""},
		{"two bodies", strings.Replace(get, "</s:Envelope>", "<s:Body/></s:Envelope>", 1), "Sender", "wsman:SchemaValidationError"},
		{"duplicate selector", strings.Replace(get, "</wsman:SelectorSet>", `<wsman:Selector Name="name">x</wsman:Selector></wsman:SelectorSet>`, 1), "Sender", "wsman:InvalidSelectors"},
		{"oversized", strings.Replace(get, "<s:Body>", "<s:Body>"+strings.Repeat("<x/>", 20000), 1), "Sender", "wsman:EncodingLimit"},
		{"deep", strings.Replace(get, "<s:Body>", "<s:Body>"+strings.Repeat("<x>", 100)+strings.Repeat("</x>", 100), 1), "Sender", "wsman:SchemaValidationError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := post(t, url, c.env)
			if code != 400 {
				t.Fatalf("HTTP %d\n%s", code, body)
			}
			if _, err := parseXML(strings.NewReader(body)); err != nil {
				t.Fatalf("fault not well-formed: %v", err)
			}
			checkFault(t, body, c.code, c.subcode, 0)
		})
	}
	// A SOAP 1.1 request gets a SOAP 1.1 fault.
	v11 := strings.ReplaceAll(strings.ReplaceAll(get, "http://www.w3.org/2003/05/soap-envelope", nsSOAP11), ">sda<", ">nope<")
	code, body := post(t, url, v11)
	if code != 400 || !strings.Contains(body, `xmlns:s="`+nsSOAP11+`"`) || !strings.Contains(body, "<faultcode>wsa:DestinationUnreachable</faultcode>") {
		t.Errorf("SOAP 1.1 fault: %d\n%s", code, body)
	}
	v11 = strings.ReplaceAll(get, "http://www.w3.org/2003/05/soap-envelope", nsSOAP11)
	if code, body := post(t, url, v11); code != 200 || !strings.Contains(body, "<p:Name>sda</p:Name>") {
		t.Errorf("SOAP 1.1 Get: %d\n%s", code, body)
	}
	// GET is not WS-Management; a wrong password never reaches an
	// operation.
	rsp, _ := http.Get(url)
	rsp.Body.Close()
	if rsp.StatusCode != 405 {
		t.Errorf("GET: %d", rsp.StatusCode)
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader(get))
	req.SetBasicAuth("admin", "wrong")
	rsp, _ = http.DefaultClient.Do(req)
	rsp.Body.Close()
	if rsp.StatusCode != 401 || rsp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong password: %d", rsp.StatusCode)
	}
}

func TestPutCreateDelete(t *testing.T) {
	url, _ := newServer(t, nil)
	sdc := [][2]string{{"Name", "sdc"}}
	body := do(t, url, msg{action: actCreate, uri: diskURI, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sdc</p:Name><p:Model>new</p:Model><p:Tags>a</p:Tags><p:Tags>b</p:Tags><p:Installed><cim:Datetime xmlns:cim="` + nsCIM + `">2026-03-04T05:06:07Z</cim:Datetime></p:Installed></p:Sample_Disk>`}, 200, actCreate+"Response")
	if !strings.Contains(body, `<wxf:ResourceCreated><wsa:Address>`+anonymous+`</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>`+diskURI+`</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">sdc</wsman:Selector><wsman:Selector Name="__cimnamespace">root/sample</wsman:Selector>`) {
		t.Errorf("ResourceCreated:\n%s", body)
	}
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 200, actGet+"Response")
	if !strings.Contains(body, "<p:Model>new</p:Model>") || !strings.Contains(body, "<p:Tags>a</p:Tags><p:Tags>b</p:Tags>") || !strings.Contains(body, "2026-03-04T05:06:07Z") || !strings.Contains(body, "<p:RotationRate>0</p:RotationRate>") {
		t.Errorf("created instance:\n%s", body)
	}
	// A Put with a subset of the properties changes those only.
	body = do(t, url, msg{action: actPut, uri: diskURI, selectors: sdc, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:RotationRate>5400</p:RotationRate></p:Sample_Disk>`}, 200, actPut+"Response")
	if !strings.Contains(body, "<p:RotationRate>5400</p:RotationRate>") || !strings.Contains(body, "<p:Model>new</p:Model>") {
		t.Errorf("subset Put:\n%s", body)
	}
	// A whole instance, with a NULL.
	body = do(t, url, msg{action: actPut, uri: diskURI, selectors: sdc, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sdc</p:Name><p:SizeBytes>10</p:SizeBytes><p:Model>m2</p:Model><p:Installed xsi:nil="true"/><p:RotationRate>7200</p:RotationRate><p:Tags>z</p:Tags></p:Sample_Disk>`}, 200, actPut+"Response")
	if !strings.Contains(body, `<p:Installed xsi:nil="true"/>`) || !strings.Contains(body, "<p:SizeBytes>10</p:SizeBytes>") || strings.Contains(body, "<p:Tags>a</p:Tags>") {
		t.Errorf("full Put:\n%s", body)
	}
	// A fragment, as wsl put -fragment sends it.
	body = do(t, url, msg{action: actPut, uri: diskURI, selectors: append(sdc, [2]string{"__cimnamespace", "root/sample"}),
		headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Model</wsman:FragmentTransfer>`, body: `<wsman:XmlFragment><Model>frag</Model></wsman:XmlFragment>`}, 200, actPut+"Response")
	if !strings.Contains(body, "<wsman:XmlFragment><Model>frag</Model></wsman:XmlFragment>") {
		t.Errorf("fragment Put:\n%s", body)
	}
	body = do(t, url, msg{action: actPut, uri: diskURI, selectors: sdc,
		headers: `<wsman:FragmentTransfer s:mustUnderstand="true">RotationRate/text()</wsman:FragmentTransfer>`, body: `<wsman:XmlFragment>15000</wsman:XmlFragment>`}, 200, actPut+"Response")
	if !strings.Contains(body, "<wsman:XmlFragment>15000</wsman:XmlFragment>") {
		t.Errorf("text fragment Put:\n%s", body)
	}
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 200, actGet+"Response")
	if !strings.Contains(body, "<p:Model>frag</p:Model>") || !strings.Contains(body, "<p:RotationRate>15000</p:RotationRate>") || !strings.Contains(body, "<p:SizeBytes>10</p:SizeBytes>") {
		t.Errorf("after the fragments:\n%s", body)
	}
	// A reference property given as an EPR.
	dv := dmtf + "Sample_DiskVolume"
	epr := func(class, name string) string {
		return `<wsa:Address>` + anonymous + `</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>` + dmtf + class + `</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">` + name + `</wsman:Selector></wsman:SelectorSet></wsa:ReferenceParameters>`
	}
	body = do(t, url, msg{action: actCreate, uri: dv, body: `<p:Sample_DiskVolume xmlns:p="` + dv + `"><p:Disk>` + epr("Sample_Disk", "sdc") + `</p:Disk><p:Volume>` + epr("Sample_Volume", "sdb1") + `</p:Volume></p:Sample_DiskVolume>`}, 200, actCreate+"Response")
	if !strings.Contains(body, `<wsman:Selector Name="Disk"><wsa:EndpointReference>`) {
		t.Errorf("association created:\n%s", body)
	}
	do(t, url, msg{action: actDelete, uri: diskURI, selectors: sdc}, 200, actDelete+"Response")
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 400, nsWSA+"/fault")
	checkFault(t, body, "Sender", "wsa:DestinationUnreachable", 0x80041002)
}

// enumerate runs an Enumerate (and its Pulls, one element each) and
// returns every answer.
func enumerate(t *testing.T, url, uri, enumBody string, pullMax int) []string {
	t.Helper()
	body := do(t, url, msg{action: actEnumerate, uri: uri, body: "<wsen:Enumerate>" + enumBody + "</wsen:Enumerate>"}, 200, actEnumerate+"Response")
	out := []string{body}
	ctxRE := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)</wsen:EnumerationContext>`)
	for i := 0; ; i++ {
		m := ctxRE.FindStringSubmatch(body)
		if m == nil {
			return out
		}
		if i > 1000 {
			t.Fatal("the pull loop does not end")
		}
		body = do(t, url, msg{action: actPull, uri: uri, body: fmt.Sprintf("<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext><wsen:MaxElements>%d</wsen:MaxElements></wsen:Pull>", m[1], pullMax)}, 200, actPull+"Response")
		out = append(out, body)
	}
}

func TestEnumerate(t *testing.T) {
	url, _ := newServer(t, nil)
	names := regexp.MustCompile(`<p:Name>([^<]+)</p:Name>`)
	all := func(answers []string) string {
		var got []string
		for _, a := range answers {
			for _, m := range names.FindAllStringSubmatch(a, -1) {
				got = append(got, m[1])
			}
		}
		return strings.Join(got, ",")
	}
	// Plain: the context, then one element per Pull; the last Pull has
	// EndOfSequence and no context.
	answers := enumerate(t, url, diskURI, "", 1)
	if len(answers) != 3 || all(answers) != "sda,sdb" || !strings.Contains(answers[2], "<wsen:EndOfSequence/>") || strings.Contains(answers[2], "EnumerationContext") {
		t.Errorf("plain enumeration: %d answers, %s\n%s", len(answers), all(answers), strings.Join(answers, "\n"))
	}
	// Through the base class: both subclasses, each in its own URI.
	answers = enumerate(t, url, dmtf+"Sample_StorageElement", "", 3)
	if got := sortedNames(all(answers)); got != "sda,sda2,sdb,sdb1" {
		t.Errorf("deep enumeration: %s", got)
	}
	if !strings.Contains(answers[1], `<p:Sample_Volume xmlns:p="`+dmtf+`Sample_Volume" xsi:type="p:Sample_Volume_Type">`) {
		t.Errorf("subclass instances carry their own URI and their type (DSP0227 1.1 §8.2):\n%s", answers[1])
	}
	// Optimized, all at once: no context, EndOfSequence.
	answers = enumerate(t, url, diskURI, "<wsman:OptimizeEnumeration/><wsman:MaxElements>512</wsman:MaxElements>", 1)
	if len(answers) != 1 || all(answers) != "sda,sdb" || !strings.Contains(answers[0], "<wsman:Items>") || !strings.Contains(answers[0], "<wsman:EndOfSequence/>") {
		t.Errorf("optimized: %s", strings.Join(answers, "\n"))
	}
	// Optimized with one element, then pulls.
	answers = enumerate(t, url, diskURI, "<wsman:OptimizeEnumeration/>", 1)
	if len(answers) != 2 || all(answers) != "sda,sdb" {
		t.Errorf("optimized, one element: %s", strings.Join(answers, "\n"))
	}
	// EPRs.
	answers = enumerate(t, url, diskURI, "<wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements><wsman:EnumerationMode>EnumerateEPR</wsman:EnumerationMode>", 1)
	if !strings.Contains(answers[0], `<wsman:Items><wsa:EndpointReference><wsa:Address>`+anonymous+`</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>`+diskURI+`</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">sda</wsman:Selector><wsman:Selector Name="__cimnamespace">root/sample</wsman:Selector></wsman:SelectorSet></wsa:ReferenceParameters></wsa:EndpointReference>`) {
		t.Errorf("EnumerateEPR:\n%s", answers[0])
	}
	// Objects and EPRs: the instance tag carries no attributes.
	answers = enumerate(t, url, diskURI, "<wsman:EnumerationMode>EnumerateObjectAndEPR</wsman:EnumerationMode>", 5)
	if len(answers) != 2 || !strings.Contains(answers[1], `<wsen:Items><wsman:Item xmlns:p="`+diskURI+`"><p:Sample_Disk><p:Name>sda</p:Name>`) || strings.Count(answers[1], "<wsa:EndpointReference>") != 2 {
		t.Errorf("EnumerateObjectAndEPR:\n%s", strings.Join(answers, "\n"))
	}
	// WQL over the all-classes URI and over a class URI.
	answers = enumerate(t, url, uriDMTFAll, `<wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements><wsman:Filter Dialect="`+dialectWQL+`">SELECT * FROM Sample_StorageElement WHERE SizeBytes &gt; 600000000000</wsman:Filter>`, 1)
	if got := all(answers); got != "sdb,sdb1" && got != "sdb1,sdb" {
		t.Errorf("WQL: %s\n%s", got, answers[0])
	}
	answers = enumerate(t, url, uriWMI+"root/sample/*", `<wsman:Filter Dialect="`+dialectWQL+`">SELECT * FROM Sample_Volume</wsman:Filter>`, 10)
	if got := all(answers); got != "sda2,sdb1" {
		t.Errorf("WQL over a WMI URI: %s", got)
	}
	// The selector filter.
	answers = enumerate(t, url, diskURI, `<wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements><wsman:Filter Dialect="`+dialectSel+`"><wsman:SelectorSet><wsman:Selector Name="Name">sdb</wsman:Selector></wsman:SelectorSet></wsman:Filter>`, 1)
	if got := all(answers); got != "sdb" {
		t.Errorf("selector filter: %s", got)
	}
	// The association filter: associated instances and association
	// instances, with class and role restrictions.
	obj := `<wsmb:Object><wsa:Address>` + anonymous + `</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>` + diskURI + `</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">sda</wsman:Selector></wsman:SelectorSet></wsa:ReferenceParameters></wsmb:Object>`
	assoc := func(inner string) string {
		return `<wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements><wsman:Filter Dialect="` + dialectAsc + `">` + inner + `</wsman:Filter>`
	}
	answers = enumerate(t, url, uriDMTFAll, assoc(`<wsmb:AssociatedInstances>`+obj+`</wsmb:AssociatedInstances>`), 1)
	if got := all(answers); got != "sda2" || !strings.Contains(answers[0], `xmlns:p="`+dmtf+`Sample_Volume"`) {
		t.Errorf("associated instances: %s\n%s", got, answers[0])
	}
	answers = enumerate(t, url, uriDMTFAll, assoc(`<wsmb:AssociatedInstances>`+obj+`<wsmb:AssociationClassName>Sample_DiskVolume</wsmb:AssociationClassName><wsmb:Role>Disk</wsmb:Role><wsmb:ResultClassName>Sample_Volume</wsmb:ResultClassName><wsmb:ResultRole>Volume</wsmb:ResultRole></wsmb:AssociatedInstances>`), 1)
	if got := all(answers); got != "sda2" {
		t.Errorf("associated instances with restrictions: %s", got)
	}
	answers = enumerate(t, url, uriDMTFAll, assoc(`<wsmb:AssociatedInstances>`+obj+`<wsmb:Role>Volume</wsmb:Role></wsmb:AssociatedInstances>`), 1)
	if got := all(answers); got != "" {
		t.Errorf("associated instances in the wrong role: %s", got)
	}
	answers = enumerate(t, url, uriDMTFAll, assoc(`<wsmb:AssociationInstances>`+obj+`<wsmb:ResultClassName>Sample_DiskVolume</wsmb:ResultClassName><wsmb:Role>Disk</wsmb:Role></wsmb:AssociationInstances>`), 1)
	if !strings.Contains(answers[0], `<p:Sample_DiskVolume xmlns:p="`+dmtf+`Sample_DiskVolume"><p:Disk><wsa:Address>`) {
		t.Errorf("association instances:\n%s", answers[0])
	}
	// An envelope limit that holds one instance per answer: the batch
	// stops there, and the rest comes in the next Pull.
	answers = nil
	body := do(t, url, msg{action: actEnumerate, uri: diskURI, headers: `<wsman:MaxEnvelopeSize>8192</wsman:MaxEnvelopeSize>`, body: "<wsen:Enumerate/>"}, 200, actEnumerate+"Response")
	id := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)<`).FindStringSubmatch(body)[1]
	body = do(t, url, msg{action: actPull, uri: diskURI, headers: `<wsman:MaxEnvelopeSize>8192</wsman:MaxEnvelopeSize>`, body: "<wsen:Pull><wsen:EnumerationContext>" + id + "</wsen:EnumerationContext><wsen:MaxElements>10</wsen:MaxElements><wsen:MaxCharacters>600</wsen:MaxCharacters></wsen:Pull>"}, 200, actPull+"Response")
	if got := all([]string{body}); got != "sda" || !strings.Contains(body, id) {
		t.Errorf("MaxCharacters: %s\n%s", got, body)
	}
	// Release ends it; a Pull after that faults.
	do(t, url, msg{action: actRelease, uri: diskURI, body: "<wsen:Release><wsen:EnumerationContext>" + id + "</wsen:EnumerationContext></wsen:Release>"}, 200, actRelease+"Response")
	body = do(t, url, msg{action: actPull, uri: diskURI, body: "<wsen:Pull><wsen:EnumerationContext>" + id + "</wsen:EnumerationContext></wsen:Pull>"}, 500, nsWSEN+"/fault")
	checkFault(t, body, "Receiver", "wsen:InvalidEnumerationContext", 0)
}

func sortedNames(s string) string {
	l := strings.Split(s, ",")
	sort.Strings(l)
	return strings.Join(l, ",")
}

func TestEnumerationExpires(t *testing.T) {
	url, h := newServer(t, func(h *Handler, _ *httpstack.Stack) {
		h.EnumerationExpiry = 100 * time.Millisecond
		h.MaxEnumerations = 2
	})
	ctxRE := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)<`)
	open := func() string {
		body := do(t, url, msg{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate/>"}, 200, actEnumerate+"Response")
		return ctxRE.FindStringSubmatch(body)[1]
	}
	a := open()
	open()
	body := do(t, url, msg{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate/>"}, 400, faultActionWSMan)
	checkFault(t, body, "Sender", "wsman:QuotaLimit", 0)
	// Each Pull renews the lifetime; an idle context expires.
	do(t, url, msg{action: actPull, uri: diskURI, body: "<wsen:Pull><wsen:EnumerationContext>" + a + "</wsen:EnumerationContext></wsen:Pull>"}, 200, actPull+"Response")
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := h.enums.Len()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d contexts did not expire", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	body = do(t, url, msg{action: actPull, uri: diskURI, body: "<wsen:Pull><wsen:EnumerationContext>" + a + "</wsen:EnumerationContext></wsen:Pull>"}, 500, nsWSEN+"/fault")
	checkFault(t, body, "Receiver", "wsen:InvalidEnumerationContext", 0)
	// An explicit wsen:Expires.
	body = do(t, url, msg{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate><wsen:Expires>PT1H</wsen:Expires></wsen:Enumerate>"}, 200, actEnumerate+"Response")
	if !strings.Contains(body, "<wsen:Expires>PT1HS</wsen:Expires>") && !strings.Contains(body, "<wsen:Expires>PT1H0S</wsen:Expires>") {
		t.Logf("expires: %s", body)
	}
	body = do(t, url, msg{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate><wsen:Expires>never</wsen:Expires></wsen:Enumerate>"}, 400, nsWSEN+"/fault")
	checkFault(t, body, "Sender", "wsen:InvalidExpirationTime", 0)
}

// TestThirdStyle sends envelopes as the npm wsman-messages library
// builds them: SOAP in the default namespace, unprefixed enumeration
// elements, integer MessageIDs, a:To = /wsman, no mustUnderstand.
func TestThirdStyle(t *testing.T) {
	url, _ := newServer(t, nil)
	header := func(action, id string, sel string) string {
		return `<?xml version="1.0" encoding="utf-8"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><Header><a:Action>` + action +
			`</a:Action><a:To>/wsman</a:To><w:ResourceURI>` + diskURI + `</w:ResourceURI><a:MessageID>` + id + `</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><w:OperationTimeout>PT60S</w:OperationTimeout>` + sel + `</Header>`
	}
	code, body := post(t, url, header(actGet, "0", `<w:SelectorSet><w:Selector Name="Name">sda</w:Selector></w:SelectorSet>`)+`<Body></Body></Envelope>`)
	if code != 200 || !strings.Contains(body, "<p:Name>sda</p:Name>") {
		t.Fatalf("Get: %d\n%s", code, body)
	}
	checkAnswer(t, body, "0", actGet+"Response")
	code, body = post(t, url, header(actEnumerate, "1", "")+`<Body><Enumerate xmlns="http://schemas.xmlsoap.org/ws/2004/09/enumeration" /></Body></Envelope>`)
	if code != 200 {
		t.Fatalf("Enumerate: %d\n%s", code, body)
	}
	checkAnswer(t, body, "1", actEnumerate+"Response")
	id := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)<`).FindStringSubmatch(body)[1]
	code, body = post(t, url, header(actPull, "2", "")+`<Body><Pull xmlns="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><EnumerationContext>`+id+`</EnumerationContext><MaxElements>999</MaxElements><MaxCharacters>99999</MaxCharacters></Pull></Body></Envelope>`)
	if code != 200 || strings.Count(body, "<p:Name>") != 2 || !strings.Contains(body, "<wsen:EndOfSequence/>") {
		t.Fatalf("Pull: %d\n%s", code, body)
	}
	checkAnswer(t, body, "2", actPull+"Response")
	// An empty MessageID is accepted too (wsl without uuidgen).
	code, body = post(t, url, header(actDelete, "", `<w:SelectorSet><w:Selector Name="Name">nope</w:Selector></w:SelectorSet>`)+`<Body/></Envelope>`)
	if code != 400 || !strings.Contains(body, "<wsa:RelatesTo></wsa:RelatesTo>") {
		t.Errorf("empty MessageID: %d\n%s", code, body)
	}
}

func TestInvoke(t *testing.T) {
	url, _ := newServer(t, nil)
	ss := dmtf + "__SystemSecurity"
	env, id := msg{action: ss + "/GetCallerAccessRights", uri: ss, body: `<p:GetCallerAccessRights_INPUT xmlns:p="` + ss + `"/>`}.build()
	code, body := post(t, url, env)
	if code != 200 {
		t.Fatalf("Invoke: %d\n%s", code, body)
	}
	checkAnswer(t, body, id, ss+"/GetCallerAccessRightsResponse")
	if !regexp.MustCompile(`<p:GetCallerAccessRights_OUTPUT xmlns:p="[^"]+"><p:Rights>\d+</p:Rights><p:ReturnValue>0</p:ReturnValue></p:GetCallerAccessRights_OUTPUT>`).MatchString(body) {
		t.Errorf("Invoke answer:\n%s", body)
	}
	// The WMI-style URI, without a body.
	wss := uriWMI + "root/sample/__SystemSecurity"
	do(t, url, msg{action: wss + "/GetCallerAccessRights", uri: wss}, 200, wss+"/GetCallerAccessRightsResponse")
	// An instance method with an unknown in-parameter, and one that no
	// provider serves.
	body = do(t, url, msg{action: diskURI + "/Spin", uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, body: `<p:Spin_INPUT xmlns:p="` + diskURI + `"><p:Down>true</p:Down></p:Spin_INPUT>`}, 400, faultActionWSMan)
	checkFault(t, body, "Sender", "wsman:InvalidParameter", 0x8004102F)
	env, _ = msg{action: diskURI + "/Spin", uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, body: `<p:Spin_INPUT xmlns:p="` + diskURI + `"><p:Up>true</p:Up></p:Spin_INPUT>`}.build()
	code, body = post(t, url, env)
	if code == 200 || !strings.Contains(body, "<s:Fault>") {
		t.Errorf("Spin without a provider: %d\n%s", code, body)
	}
}

// TestAccessDenied: a user without rights on the namespace gets
// wsman:AccessDenied from cimom's check, whatever the operation.
func TestAccessDenied(t *testing.T) {
	url, _ := newServer(t, nil)
	for _, m := range []msg{
		{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}},
		{action: actDelete, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}},
		{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate/>"},
	} {
		env, id := m.build()
		req, _ := http.NewRequest("POST", url, strings.NewReader(env))
		req.SetBasicAuth("guest", "guest-pw")
		req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if rsp.StatusCode != 400 {
			t.Errorf("%s as guest: HTTP %d\n%s", m.action, rsp.StatusCode, b)
		}
		checkAnswer(t, string(b), id, faultActionWSMan)
		checkFault(t, string(b), "Sender", "wsman:AccessDenied", 0x80041003)
	}
}

// TestStreamedPull: a Pull answer past 64 KiB streams; when it turns out
// to be the last, it carries EndOfSequence and the context, and the next
// Pull answers EndOfSequence alone.
func TestStreamedPull(t *testing.T) {
	url, h := newServer(t, nil)
	ctx := context.Background()
	svc, err := h.Connector.Connect(ctx, sampleNS, cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := svc.GetObject(ctx, "Sample_Volume", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var batch []*cim.Object
	for i := 0; i < 400; i++ {
		inst, _ := cls.SpawnInstance()
		inst.Put("Name", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("vol%03d", i)})
		inst.Put("Model", cim.Value{Type: cim.TypeString, V: strings.Repeat("m", 300)})
		batch = append(batch, inst)
	}
	if _, err := h.Connector.(*cimom.CIMOM).PutInstances(ctx, sampleNS, cimom.Principal{Name: "root"}, batch, cimom.FlagCreateOnly); err != nil {
		t.Fatal(err)
	}
	vol := dmtf + "Sample_Volume"
	body := do(t, url, msg{action: actEnumerate, uri: vol, body: "<wsen:Enumerate/>"}, 200, actEnumerate+"Response")
	id := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)<`).FindStringSubmatch(body)[1]
	pull := msg{action: actPull, uri: vol, body: "<wsen:Pull><wsen:EnumerationContext>" + id + "</wsen:EnumerationContext><wsen:MaxElements>1000</wsen:MaxElements></wsen:Pull>"}
	body = do(t, url, pull, 200, actPull+"Response")
	if n := strings.Count(body, "<p:Sample_Volume "); n != 402 || len(body) < 128<<10 || !strings.Contains(body, "<wsen:EndOfSequence/>") || !strings.Contains(body, id) {
		t.Fatalf("streamed Pull: %d instances, %d bytes", n, len(body))
	}
	body = do(t, url, pull, 200, actPull+"Response")
	if !strings.Contains(body, "<wsen:PullResponse><wsen:EndOfSequence/></wsen:PullResponse>") {
		t.Errorf("final Pull:\n%s", body)
	}
	do(t, url, pull, 500, nsWSEN+"/fault")
}
