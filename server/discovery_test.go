package server_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// cimxmlCall posts one intrinsic CIM-XML call as pywbem writes it and
// returns the answer, which it validates against the DSP0203 DTD.
func cimxmlCall(t *testing.T, url, user, pw, ns, method, params string) string {
	t.Helper()
	var nsXML strings.Builder
	for _, part := range strings.Split(ns, "/") {
		nsXML.WriteString(`<NAMESPACE NAME="` + part + `"/>`)
	}
	body := `<?xml version="1.0" encoding="utf-8" ?>
<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1001" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="` + method + `"><LOCALNAMESPACEPATH>` +
		nsXML.String() + `</LOCALNAMESPACEPATH>` + params + `</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	req, _ := http.NewRequest(http.MethodPost, url+"/cimom", strings.NewReader(body))
	req.SetBasicAuth(user, pw)
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", method)
	req.Header.Set("CIMObject", strings.ReplaceAll(ns, "/", "%2F"))
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	if rsp.StatusCode != http.StatusOK {
		t.Fatalf("%s in %s: HTTP %d\n%s", method, ns, rsp.StatusCode, b)
	}
	validate(t, string(b))
	return string(b)
}

// answerInstances reads the instances of an EnumerateInstances answer as
// maps of property name to value text (arrays joined with ",").
func answerInstances(t *testing.T, answer string) []map[string]string {
	t.Helper()
	type value struct {
		Text string `xml:",chardata"`
	}
	type property struct {
		Name   string  `xml:"NAME,attr"`
		Value  *value  `xml:"VALUE"`
		Values []value `xml:"VALUE.ARRAY>VALUE"`
	}
	type instance struct {
		Props  []property `xml:"PROPERTY"`
		Arrays []property `xml:"PROPERTY.ARRAY"`
	}
	var doc struct {
		Error *struct {
			Code string `xml:"CODE,attr"`
			Desc string `xml:"DESCRIPTION,attr"`
		} `xml:"MESSAGE>SIMPLERSP>IMETHODRESPONSE>ERROR"`
		Instances []instance `xml:"MESSAGE>SIMPLERSP>IMETHODRESPONSE>IRETURNVALUE>VALUE.NAMEDINSTANCE>INSTANCE"`
	}
	if err := xml.Unmarshal([]byte(answer), &doc); err != nil {
		t.Fatalf("answer: %v\n%s", err, answer)
	}
	if doc.Error != nil {
		t.Fatalf("answer is an error %s: %s", doc.Error.Code, doc.Error.Desc)
	}
	var out []map[string]string
	for _, in := range doc.Instances {
		m := map[string]string{}
		for _, p := range in.Props {
			if p.Value != nil {
				m[p.Name] = p.Value.Text
			}
		}
		for _, p := range in.Arrays {
			var vs []string
			for _, v := range p.Values {
				vs = append(vs, v.Text)
			}
			m[p.Name] = strings.Join(vs, ",")
		}
		out = append(out, m)
	}
	return out
}

// TestDiscovery is what pywbem's WBEMServer does to discover a server, in
// raw CIM-XML, as an ordinary user: it probes the interop namespace names
// in pywbem's order with EnumerateInstanceNames of CIM_Namespace, then
// reads the namespaces, the object manager (brand and version) and the
// registered profiles (their organization through the ValueMap of
// GetClass). Every answer is valid against the DTD.
func TestDiscovery(t *testing.T) {
	d := startDaemon(t)
	url := "http://" + d.http
	call := func(ns, method, params string) string {
		return cimxmlCall(t, url, "guest", "guest-pw", ns, method, params)
	}
	className := func(c string) string {
		return `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="` + c + `"/></IPARAMVALUE>`
	}
	for _, ns := range []string{"interop", "root/interop", "root/PG_Interop"} {
		if a := call(ns, "EnumerateInstanceNames", className("CIM_Namespace")); strings.Count(a, "<INSTANCENAME ") < 5 {
			t.Errorf("EnumerateInstanceNames of CIM_Namespace in %s:\n%s", ns, a)
		}
	}
	var names []string
	for _, inst := range answerInstances(t, call("interop", "EnumerateInstances", className("CIM_Namespace"))) {
		names = append(names, inst["Name"])
	}
	for _, want := range []string{"root", "root/cimv2", "root/sample", "root/interop", "root/wbemd"} {
		if !slices.Contains(names, want) {
			t.Errorf("CIM_Namespace names %v lack %s", names, want)
		}
	}
	oms := answerInstances(t, call("interop", "EnumerateInstances", className("CIM_ObjectManager")))
	if len(oms) != 1 || strings.Fields(oms[0]["ElementName"])[0] != "wbemd" || !strings.HasPrefix(oms[0]["Description"], "wbemd version ") {
		t.Errorf("CIM_ObjectManager: %v", oms)
	}
	profiles := answerInstances(t, call("interop", "EnumerateInstances", className("CIM_RegisteredProfile")))
	if len(profiles) != 1 || profiles[0]["RegisteredName"] != "Profile Registration" || profiles[0]["RegisteredVersion"] != "1.0.0" {
		t.Fatalf("CIM_RegisteredProfile: %v", profiles)
	}
	// The organization's name, as pywbem's ValueMapping reads it.
	cls := call("interop", "GetClass", className("CIM_RegisteredProfile")+
		`<IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="IncludeQualifiers"><VALUE>TRUE</VALUE></IPARAMVALUE>`)
	var c struct {
		Props []struct {
			Name  string `xml:"NAME,attr"`
			Quals []struct {
				Name   string   `xml:"NAME,attr"`
				Values []string `xml:"VALUE.ARRAY>VALUE"`
			} `xml:"QUALIFIER"`
		} `xml:"MESSAGE>SIMPLERSP>IMETHODRESPONSE>IRETURNVALUE>CLASS>PROPERTY"`
	}
	if err := xml.Unmarshal([]byte(cls), &c); err != nil {
		t.Fatal(err)
	}
	org := ""
	for _, p := range c.Props {
		if p.Name != "RegisteredOrganization" {
			continue
		}
		var vmap, vals []string
		for _, q := range p.Quals {
			switch q.Name {
			case "ValueMap":
				vmap = q.Values
			case "Values":
				vals = q.Values
			}
		}
		if i := slices.Index(vmap, profiles[0]["RegisteredOrganization"]); i >= 0 && i < len(vals) {
			org = vals[i]
		}
	}
	if org != "DMTF" {
		t.Errorf("the profile's organization reads as %q, want DMTF", org)
	}
	// The association of the namespaces to the object manager.
	const link = `<INSTANCENAME CLASSNAME="CIM_NamespaceInManager"`
	if a := call("interop", "EnumerateInstanceNames", className("CIM_NamespaceInManager")); strings.Count(a, link) != len(names) {
		t.Errorf("%d CIM_NamespaceInManager for %d namespaces:\n%s", strings.Count(a, link), len(names), a)
	}
}
