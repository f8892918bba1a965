package wsman

import (
	"context"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
)

// TestLongInterval: a CIM interval holds up to 99,999,999 days; its
// xs:duration (DSP0230 1.0 §7.2.6, cim:Interval) is written from its
// fields and read back without passing through a 292-year time.Duration.
func TestLongInterval(t *testing.T) {
	url, _ := newServer(t, nil)
	sdc := [][2]string{{"Name", "sdc"}}
	do(t, url, msg{action: actCreate, uri: diskURI, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Name>sdc</p:Name><p:Model>m</p:Model>` +
		`<p:Installed><cim:Interval xmlns:cim="` + nsCIM + `">P20010515DT1H2M3.25S</cim:Interval></p:Installed></p:Sample_Disk>`}, 200, actCreate+"Response")
	body := do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 200, actGet+"Response")
	if !strings.Contains(body, `P20010515DT1H2M3.25S</cim:Interval>`) {
		t.Errorf("interval of 20010515 days:\n%s", body)
	}
	// Years and months count 365 and 30 days; past 99,999,999 days the
	// value is refused.
	do(t, url, msg{action: actPut, uri: diskURI, selectors: sdc, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Installed>P2Y1M3DT25H</p:Installed></p:Sample_Disk>`}, 200, actPut+"Response")
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sdc}, 200, actGet+"Response")
	if !strings.Contains(body, `P764DT1H0S</cim:Interval>`) {
		t.Errorf("P2Y1M3DT25H:\n%s", body)
	}
	env, _ := msg{action: actPut, uri: diskURI, selectors: sdc, body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:Installed>P100000000D</p:Installed></p:Sample_Disk>`}.build()
	if code, body := post(t, url, env); code == 200 {
		t.Errorf("P100000000D accepted:\n%s", body)
	}
}

// FuzzParseInterval: whatever xs:duration parseInterval takes, the
// interval it makes writes back as a duration that reads as the same
// interval.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"P20010515DT1H2M3.25S", "PT0S", "P1Y2M3DT4H5M6.000007S", "PT86400S", "P99999999D"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseInterval(s)
		if err != nil {
			return
		}
		back, err := parseInterval(formatInterval(d))
		if err != nil || back != d {
			t.Fatalf("%q: %s written %s read %s (%v)", s, d, formatInterval(d), back, err)
		}
	})
}

// TestRequestHeaderChecks: the media type is SOAP's (application/soap+xml
// or text/xml; otherwise HTTP 415), the charset UTF-8 (DSP0226 1.2 §13.1:
// otherwise wsman:EncodingLimit, detail CharacterSet), a SOAPAction must
// name wsa:Action (§5.4.5: wsa:ActionNotSupported, detail ActionMismatch)
// and ReplyTo and FaultTo must be anonymous (§5.4.2 R5.4.2-3:
// wsman:UnsupportedFeature, detail AddressingMode); nothing runs.
func TestRequestHeaderChecks(t *testing.T) {
	url, _ := newServer(t, nil)
	get, _ := msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}}.build()
	send := func(env string, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(env))
		req.SetBasicAuth("admin", "pw")
		for k, v := range hdr {
			req.Header[k] = []string{v}
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		return rsp.StatusCode, string(b)
	}
	ok := "application/soap+xml;charset=UTF-8"
	for _, c := range []struct {
		name   string
		env    string
		hdr    map[string]string
		status int
		detail string
	}{
		{"no Content-Type", get, map[string]string{}, 415, ""},
		{"unparsable Content-Type", get, map[string]string{"Content-Type": "application/soap+xml;;="}, 415, ""},
		{"wrong Content-Type", get, map[string]string{"Content-Type": "application/json"}, 415, ""},
		{"bogus charset", get, map[string]string{"Content-Type": "application/soap+xml;charset=bogus"}, 400, "CharacterSet"},
		{"SOAPAction contradicts wsa:Action", get, map[string]string{"Content-Type": ok, "SOAPAction": `"` + actDelete + `"`}, 400, "ActionMismatch"},
		{"action parameter contradicts wsa:Action", get, map[string]string{"Content-Type": ok + `;action="` + actDelete + `"`}, 400, "ActionMismatch"},
		{"ReplyTo not anonymous", strings.Replace(get, "<wsa:Address>"+anonymous, "<wsa:Address>http://elsewhere/", 1), map[string]string{"Content-Type": ok}, 400, "AddressingMode"},
		{"FaultTo not anonymous", strings.Replace(get, "</s:Header>", "<wsa:FaultTo><wsa:Address>http://elsewhere/</wsa:Address></wsa:FaultTo></s:Header>", 1), map[string]string{"Content-Type": ok}, 400, "AddressingMode"},
		{"matching SOAPAction", get, map[string]string{"Content-Type": ok, "SOAPAction": `"` + actGet + `"`}, 200, ""},
		{"SOAP 1.2 with its action", get, map[string]string{"Content-Type": `application/soap+xml; charset=utf-8; action="` + actGet + `"`}, 200, ""},
	} {
		code, body := send(c.env, c.hdr)
		if code != c.status || (c.detail != "" && !strings.Contains(body, "<wsman:FaultDetail>"+faultDetailBase+c.detail+"</wsman:FaultDetail>")) {
			t.Errorf("%s: HTTP %d, want %d with detail %q:\n%s", c.name, code, c.status, c.detail, body)
		}
	}
}

// TestPullForeignResource: a Pull or Release whose ResourceURI is not the
// Enumerate's is refused (DSP0226 1.2 §8.4) and the enumeration stays as
// it was; an EnumerationMode this service does not know is
// wsman:UnsupportedFeature with the EnumerationMode detail (DSP0226 1.2
// §8.7, master fault table).
func TestPullForeignResource(t *testing.T) {
	url, _ := newServer(t, nil)
	body := do(t, url, msg{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate/>"}, 200, actEnumerate+"Response")
	id := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)<`).FindStringSubmatch(body)[1]
	vol := dmtf + "Sample_Volume"
	pull := func(uri string) msg {
		return msg{action: actPull, uri: uri, body: "<wsen:Pull><wsen:EnumerationContext>" + id + "</wsen:EnumerationContext></wsen:Pull>"}
	}
	body = do(t, url, pull(vol), 500, nsWSEN+"/fault")
	checkFault(t, body, "Receiver", "wsen:InvalidEnumerationContext", 0)
	body = do(t, url, msg{action: actRelease, uri: vol, body: "<wsen:Release><wsen:EnumerationContext>" + id + "</wsen:EnumerationContext></wsen:Release>"}, 500, nsWSEN+"/fault")
	checkFault(t, body, "Receiver", "wsen:InvalidEnumerationContext", 0)
	if body = do(t, url, pull(diskURI), 200, actPull+"Response"); !strings.Contains(body, "<p:Name>sd") {
		t.Errorf("the enumeration after the foreign Pull and Release:\n%s", body)
	}
	body = do(t, url, msg{action: actEnumerate, uri: diskURI, body: "<wsen:Enumerate><wsman:EnumerationMode>EnumerateEverything</wsman:EnumerationMode></wsen:Enumerate>"}, 400, faultActionWSMan)
	checkFault(t, body, "Sender", "wsman:UnsupportedFeature", 0)
	if !strings.Contains(body, "<wsman:FaultDetail>"+faultDetailBase+"EnumerationMode</wsman:FaultDetail>") {
		t.Errorf("EnumerationMode fault without its detail:\n%s", body)
	}
}

// TestPolymorphismMode: wsmb:PolymorphismMode (DSP0227 1.1 §8.2):
// IncludeSubClassProperties (the default) enumerates the instances of
// subclasses with all their properties, ExcludeSubClassProperties with the
// properties of the class addressed only, None the class's own instances
// only; another value is wsmb:PolymorphismModeNotSupported.
func TestPolymorphismMode(t *testing.T) {
	url, _ := newServer(t, nil)
	se := dmtf + "Sample_StorageElement"
	poly := func(mode string) string {
		return `<wsmb:PolymorphismMode s:mustUnderstand="true">` + mode + `</wsmb:PolymorphismMode>`
	}
	run := func(headers string) string {
		body := do(t, url, msg{action: actEnumerate, uri: se, headers: headers, body: "<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>100</wsman:MaxElements></wsen:Enumerate>"}, 200, actEnumerate+"Response")
		return body
	}
	if b := run(""); !strings.Contains(b, "<p:RotationRate>7200</p:RotationRate>") || !strings.Contains(b, "<p:FileSystem>xfs</p:FileSystem>") {
		t.Errorf("IncludeSubClassProperties:\n%s", b)
	}
	if b := run(poly("IncludeSubClassProperties")); !strings.Contains(b, "<p:RotationRate>7200</p:RotationRate>") {
		t.Errorf("IncludeSubClassProperties:\n%s", b)
	}
	b := run(poly("ExcludeSubClassProperties"))
	if strings.Contains(b, "RotationRate") || strings.Contains(b, "FileSystem") || !strings.Contains(b, "<p:Name>sdb1</p:Name>") || !strings.Contains(b, "<p:Model>WD Blue</p:Model>") {
		t.Errorf("ExcludeSubClassProperties:\n%s", b)
	}
	if b := run(poly("None")); strings.Contains(b, "<p:Name>") {
		t.Errorf("None (the abstract class has no instances of its own):\n%s", b)
	}
	body := do(t, url, msg{action: actEnumerate, uri: se, headers: poly("Sometimes"), body: "<wsen:Enumerate/>"}, 400, faultActionWSMan)
	if !strings.Contains(body, `<s:Subcode><s:Value xmlns:wsmb="`+nsWSMB+`">wsmb:PolymorphismModeNotSupported</s:Value>`) {
		t.Errorf("PolymorphismMode fault:\n%s", body)
	}
}

// TestRequestEPRAndFragment: wsman:RequestEPR gets the resource's EPR in
// a wsman:RequestedEPR header of the answer (DSP0226 1.2 §7.8); a
// FragmentTransfer header the client does not require to be understood
// is ignored, and the whole resource is addressed (§7.7: fragment
// transfer is optional, and only a mustUnderstand header must be acted on
// or faulted).
func TestRequestEPRAndFragment(t *testing.T) {
	url, _ := newServer(t, nil)
	sda := [][2]string{{"Name", "sda"}}
	body := do(t, url, msg{action: actPut, uri: diskURI, selectors: sda, headers: `<wsman:RequestEPR/>`,
		body: `<p:Sample_Disk xmlns:p="` + diskURI + `"><p:RotationRate>5400</p:RotationRate></p:Sample_Disk>`}, 200, actPut+"Response")
	head, _, _ := strings.Cut(body, "</s:Header>")
	if !strings.Contains(head, `<wsman:RequestedEPR><wsa:EndpointReference><wsa:Address>`+anonymous+`</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>`+diskURI+`</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">sda</wsman:Selector>`) {
		t.Errorf("no RequestedEPR header:\n%s", body)
	}
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sda, headers: `<wsman:FragmentTransfer>Nonsense[[</wsman:FragmentTransfer>`}, 200, actGet+"Response")
	if !strings.Contains(body, "<p:RotationRate>5400</p:RotationRate>") || strings.Contains(body, "XmlFragment") {
		t.Errorf("optional FragmentTransfer:\n%s", body)
	}
	body = do(t, url, msg{action: actGet, uri: diskURI, selectors: sda, headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Model</wsman:FragmentTransfer>`}, 200, actGet+"Response")
	if !strings.Contains(body, "<wsman:XmlFragment><Model>Samsung 980</Model></wsman:XmlFragment>") {
		t.Errorf("FragmentTransfer:\n%s", body)
	}
}

// TestAssociationFilterNamespace: an association filter whose Object
// names another namespace (its __cimnamespace selector) than the request
// follows the association in the Object's namespace (DSP0227 1.1
// §8.3.1).
func TestAssociationFilterNamespace(t *testing.T) {
	url, _ := newServer(t, nil)
	obj := `<wsmb:Object><wsa:Address>` + anonymous + `</wsa:Address><wsa:ReferenceParameters><wsman:ResourceURI>` + diskURI + `</wsman:ResourceURI><wsman:SelectorSet><wsman:Selector Name="Name">sda</wsman:Selector><wsman:Selector Name="__cimnamespace">root/sample</wsman:Selector></wsman:SelectorSet></wsa:ReferenceParameters></wsmb:Object>`
	body := do(t, url, msg{action: actEnumerate, uri: uriDMTFAll, selectors: [][2]string{{"__cimnamespace", "root"}},
		body: `<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>10</wsman:MaxElements><wsman:Filter Dialect="` + dialectAsc + `"><wsmb:AssociatedInstances>` + obj + `</wsmb:AssociatedInstances></wsman:Filter></wsen:Enumerate>`}, 200, actEnumerate+"Response")
	if !strings.Contains(body, "<p:Name>sda2</p:Name>") || !strings.Contains(body, `xmlns:p="`+dmtf+`Sample_Volume"`) {
		t.Errorf("associators of an object in root/sample, asked in root:\n%s", body)
	}
}

// TestEmbeddedObjectRoundTrip: an embedded instance (a property of type
// object) is written as an element named after its class (DSP0230
// §7.2.7) and read back the same way in Create and Put.
func TestEmbeddedObjectRoundTrip(t *testing.T) {
	url, h := newServer(t, nil)
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "holder.mof")
	os.WriteFile(f, []byte("#pragma namespace(\"root/sample\")\nclass Sample_Holder { [Key] string Name; object Thing; };\n"), 0o644)
	u, errs := mof.Load([]string{f}, nil, nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	root, err := h.Connector.Connect(ctx, "root", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := mof.Compile(ctx, root, u, mof.Options{}); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	holder := dmtf + "Sample_Holder"
	thing := `<p:Thing><e1:Sample_Disk xmlns:e1="` + diskURI + `"><e1:Name>inner</e1:Name><e1:Model>m</e1:Model><e1:Tags>a</e1:Tags><e1:Tags>b</e1:Tags></e1:Sample_Disk></p:Thing>`
	do(t, url, msg{action: actCreate, uri: holder, body: `<p:Sample_Holder xmlns:p="` + holder + `"><p:Name>h</p:Name>` + thing + `</p:Sample_Holder>`}, 200, actCreate+"Response")
	body := do(t, url, msg{action: actGet, uri: holder, selectors: [][2]string{{"Name", "h"}}}, 200, actGet+"Response")
	if !strings.Contains(body, `<p:Thing><e1:Sample_Disk xmlns:e1="`+diskURI+`"><e1:Name>inner</e1:Name>`) || !strings.Contains(body, `<e1:Tags>a</e1:Tags><e1:Tags>b</e1:Tags>`) {
		t.Errorf("embedded instance read back:\n%s", body)
	}
	env, _ := msg{action: actPut, uri: holder, selectors: [][2]string{{"Name", "h"}}, body: `<p:Sample_Holder xmlns:p="` + holder + `"><p:Thing><e1:Nope xmlns:e1="urn:x"/></p:Thing></p:Sample_Holder>`}.build()
	if code, body := post(t, url, env); code == 200 {
		t.Errorf("an embedded instance of a class that does not exist was taken:\n%s", body)
	}
}

// TestCQLFilter: an Enumerate with the CQL filter dialect (DSP0227 1.1
// §8.1, http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf), as wsl enum,
// put and invoke send it.
func TestCQLFilter(t *testing.T) {
	url, _ := newServer(t, nil)
	body := do(t, url, msg{action: actEnumerate, uri: diskURI, body: `<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>512</wsman:MaxElements><wsman:EnumerationMode>EnumerateEPR</wsman:EnumerationMode>` +
		`<wsman:Filter Dialect="` + dialectCQL + `">select * from Sample_Disk where Name='sdb'</wsman:Filter></wsen:Enumerate>`}, 200, actEnumerate+"Response")
	if !strings.Contains(body, `<wsman:Selector Name="Name">sdb</wsman:Selector>`) || strings.Contains(body, ">sda<") {
		t.Errorf("CQL filter:\n%s", body)
	}
}

// FuzzCheckMediaType: a Content-Type is refused (as a media type or a
// charset) or is SOAP's in UTF-8; nothing else passes.
func FuzzCheckMediaType(f *testing.F) {
	for _, s := range []string{"application/soap+xml;charset=UTF-8", `application/soap+xml; action="urn:a"`, "text/xml", "application/json", "", "text/xml;charset=latin1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := checkMediaType(s); err != nil {
			return
		}
		mt, params, err := mime.ParseMediaType(s)
		if err != nil || (mt != "application/soap+xml" && mt != "text/xml") || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
			t.Fatalf("%q taken", s)
		}
	})
}
