package server_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cimxmlPost posts one CIM-XML intrinsic call to d as admin, with extra
// headers, and returns the answer's body.
func cimxmlPost(t *testing.T, d *daemon, ns, method, params string, headers map[string]string) string {
	t.Helper()
	var nsx strings.Builder
	for _, p := range strings.Split(ns, "/") {
		nsx.WriteString(`<NAMESPACE NAME="` + p + `"></NAMESPACE>`)
	}
	body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
		`<IMETHODCALL NAME="` + method + `"><LOCALNAMESPACEPATH>` + nsx.String() + `</LOCALNAMESPACEPATH>` + params +
		`</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	req, _ := http.NewRequest("POST", "http://"+d.http+"/cimom", strings.NewReader(body))
	req.SetBasicAuth("admin", "secret")
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", method)
	req.Header.Set("CIMObject", strings.ReplaceAll(ns, "/", "%2F"))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	if rsp.StatusCode != 200 {
		t.Fatalf("%s: HTTP %d: %s", method, rsp.StatusCode, b)
	}
	return string(b)
}

// validDTD checks a CIM-XML document with xmllint against DSP0203 2.4.
func validDTD(t *testing.T, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "answer.xml")
	if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--dtdvalid", "../testdata/dtd/DSP0203_2.4.0.dtd", f).CombinedOutput()
	if err != nil {
		t.Errorf("not valid against DSP0203 2.4.0: %v\n%s\n%s", err, out, doc)
	}
}

// TestErrorsInFull: a failure of a built-in provider (a process that does
// not exist) reaches every client with its extended status: CIM-XML's
// ERROR carries CIM_Error and __ExtendedStatus and is valid against the
// DTD; pywinrm's fault names the provider; the CLI through the local
// socket and through --url prints the operation, parameter and provider.
func TestErrorsInFull(t *testing.T) {
	d := startDaemon(t)
	const missing = `Win32_Process.Handle="4294967295"`
	body := cimxmlPost(t, d, "root/cimv2", "GetInstance", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Win32_Process"><KEYBINDING NAME="Handle"><KEYVALUE VALUETYPE="string">4294967295</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`, nil)
	provider := regexp.MustCompile(`<PROPERTY NAME="ProviderName" TYPE="string"><VALUE>([^<]+)</VALUE>`).FindStringSubmatch(body)
	if provider == nil || provider[1] == "wbemd" || !strings.Contains(body, `<ERROR CODE="6"`) || !strings.Contains(body, `<INSTANCE CLASSNAME="CIM_Error">`) ||
		!strings.Contains(body, `<PROPERTY NAME="Operation" TYPE="string"><VALUE>GetObject</VALUE>`) {
		t.Fatalf("CIM-XML error of a built-in provider:\n%s", body)
	}
	validDTD(t, body)
	name := provider[1]

	r := pywinrm(t, d, "http://"+d.wsman+"/wsman", "admin", "secret", "get", map[string]any{"uri": wmiURI + "root/cimv2/Win32_Process", "selectors": map[string]string{"Handle": "4294967295"}})
	if r.OK || !strings.Contains(r.Fault, `<f:ProviderFault provider="`+name+`"`) || !strings.Contains(r.Fault, "<p:ProviderName>"+name+"</p:ProviderName>") ||
		!strings.Contains(r.Fault, "<p:Operation>GetObject</p:Operation>") {
		t.Errorf("pywinrm's fault does not name the provider %s: %+v", name, r)
	}

	want := "[operation GetObject, parameter " + missing + ", provider " + name + "]"
	out, err := runWbem(nil, "--repo", d.repo, "get", missing)
	if err == nil || !strings.Contains(out, "WBEM_E_NOT_FOUND") || !strings.Contains(out, want) {
		t.Errorf("wbem through the socket: %v\n%s\nwant %s", err, out, want)
	}
	out, err = runWbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "get", missing)
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("wbem --url: %v\n%s\nwant %s", err, out, want)
	}
}

// TestLocaleEveryPath: a class with an amended (localized) qualifier is
// written with --locale through the local socket; its amended qualifier
// shows through every path that asks for the locale — wbem --locale
// through the socket (also semisynchronously) and through --url,
// CIM-XML's Accept-Language — and through none that does not.
func TestLocaleEveryPath(t *testing.T) {
	d := startDaemon(t)
	class := `{"__GENUS":1,"__CLASS":"Loc_Thing","Qualifiers":[{"Name":"Description","Value":"localized text","Flavor":["Amended"]}],
 "Properties":[{"Name":"Id","Type":"string","Qualifiers":[{"Name":"Key","Value":true}]}]}`
	cmd := exec.Command(filepath.Join(bin, "wbem"), "--repo", d.repo, "-n", "root/sample", "--locale", "MS_409", "put", "-")
	cmd.Stdin = strings.NewReader(class)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("put --locale through the socket: %v\n%s", err, out)
	}
	for _, c := range []struct {
		what string
		env  []string
		args []string
		want bool
	}{
		{"socket", nil, []string{"--repo", d.repo}, false},
		{"socket --locale", nil, []string{"--repo", d.repo, "--locale", "MS_409"}, true},
		{"socket --locale MS_407", nil, []string{"--repo", d.repo, "--locale", "MS_407"}, false},
		{"socket --semisync --locale", nil, []string{"--repo", d.repo, "--semisync", "1ms", "--locale", "MS_409"}, true},
		{"--url", []string{"WBEM_PASSWORD=secret"}, []string{"--url", "http://" + d.http, "--user", "admin"}, false},
		{"--url --locale", []string{"WBEM_PASSWORD=secret"}, []string{"--url", "http://" + d.http, "--user", "admin", "--locale", "MS_409"}, true},
	} {
		out, err := runWbem(c.env, append(c.args, "-n", "root/sample", "-o", "json", "get", "Loc_Thing")...)
		if err != nil {
			t.Errorf("%s: %v\n%s", c.what, err, out)
			continue
		}
		if got := strings.Contains(out, "localized text"); got != c.want {
			t.Errorf("%s: the amended qualifier shows: %v, want %v\n%s", c.what, got, c.want, out)
		}
	}
	get := `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Loc_Thing"></CLASSNAME></IPARAMVALUE>`
	if body := cimxmlPost(t, d, "root/sample", "GetClass", get, nil); strings.Contains(body, "localized text") {
		t.Errorf("CIM-XML without Accept-Language shows the amended qualifier:\n%s", body)
	}
	if body := cimxmlPost(t, d, "root/sample", "GetClass", get, map[string]string{"Accept-Language": "en-US"}); !strings.Contains(body, "localized text") {
		t.Errorf("CIM-XML with Accept-Language: en-US lacks the amended qualifier:\n%s", body)
	}
}
