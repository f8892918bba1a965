package cimxml

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/internal/testdata"
)

// server starts the handler on a real repository holding the sample
// schema, behind real HTTP; user "admin" (password "pw") is an
// administrator.
func server(t *testing.T) string { return benchServer(t) }

// benchServer is server for tests and benchmarks alike.
func benchServer(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(benchHandler(t))
	t.Cleanup(srv.Close)
	return srv.URL
}

// benchHandler is the handler benchServer serves: the door behind the
// daemon's filters (a 1 MiB body limit, no log), as host "localhost".
func benchHandler(t testing.TB) http.Handler {
	t.Helper()
	om := testdata.SampleCIMOM(t)
	if err := om.RegisterMethodProvider("root/sample", "Sample_Disk", testdata.SpinProvider{}); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Connector: om, Host: "localhost"}
	t.Cleanup(h.Close)
	auth := func(r *http.Request) (cimom.Principal, bool) {
		n, p, ok := r.BasicAuth()
		return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
	}
	stack := &httpstack.Stack{Observer: httpstack.NewObserver(slog.New(slog.DiscardHandler)), Auth: auth,
		OperationTimeout: 5 * time.Minute, MaxRequest: 1 << 20}
	return stack.Serve(h.Door(), h)
}

// asRoot authenticates every request as the administrator.
func asRoot(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }

// behind serves h behind the filters with auth.
func behind(h *Handler, auth httpstack.Authenticator) http.Handler {
	return (&httpstack.Stack{Auth: auth}).Serve(h.Door(), h)
}

// call posts one intrinsic call and returns the status, the CIMError
// header and the body.
func call(t *testing.T, url, method, ns, params string) (int, string, string) {
	t.Helper()
	var nsx strings.Builder
	for _, p := range strings.Split(ns, "/") {
		nsx.WriteString(`<NAMESPACE NAME="` + p + `"/>`)
	}
	body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
		`<IMETHODCALL NAME="` + method + `"><LOCALNAMESPACEPATH>` + nsx.String() + `</LOCALNAMESPACEPATH>` + params +
		`</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	return post(t, url, method, ns, body)
}

func post(t *testing.T, url, method, ns, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/cimom", strings.NewReader(body))
	req.SetBasicAuth("admin", "pw")
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
	return rsp.StatusCode, rsp.Header.Get("CIMError"), string(b)
}

func validateDTD(t *testing.T, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rsp.xml")
	os.WriteFile(f, []byte(doc), 0o644)
	out, err := exec.Command("xmllint", "--noout", "--dtdvalid", filepath.Join(testdata.Dir(), "dtd", "DSP0203_2.4.0.dtd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("not valid against the DTD: %v\n%s\n%.1500s", err, out, doc)
	}
}

func TestIntrinsicMethods(t *testing.T) {
	url := server(t)
	cases := []struct {
		method, params string
		want           []string // substrings of the answer
	}{
		{"ExecQuery", `<IPARAMVALUE NAME="QueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE><IPARAMVALUE NAME="Query"><VALUE>SELECT Name FROM Sample_Disk WHERE Model LIKE 'sam%'</VALUE></IPARAMVALUE>`,
			[]string{`<VALUE.OBJECTWITHPATH><INSTANCEPATH><NAMESPACEPATH><HOST>localhost</HOST>`, `<VALUE>sda</VALUE>`}},
		{"ExecQuery", `<IPARAMVALUE NAME="QueryLanguage"><VALUE>XQL</VALUE></IPARAMVALUE><IPARAMVALUE NAME="Query"><VALUE>SELECT * FROM Sample_Disk</VALUE></IPARAMVALUE>`,
			[]string{`<ERROR CODE="14"`}},
		{"ExecQuery", `<IPARAMVALUE NAME="QueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE><IPARAMVALUE NAME="Query"><VALUE>SELECT * FROM</VALUE></IPARAMVALUE>`,
			[]string{`<ERROR CODE="15"`, `1:14`}},
		{"EnumerateQualifiers", ``, []string{`<QUALIFIER.DECLARATION NAME="Key" TYPE="boolean" OVERRIDABLE="false"><SCOPE REFERENCE="true" PROPERTY="true"></SCOPE><VALUE>FALSE</VALUE></QUALIFIER.DECLARATION>`}},
		{"GetQualifier", `<IPARAMVALUE NAME="QualifierName"><VALUE>Units</VALUE></IPARAMVALUE>`, []string{`TRANSLATABLE="true"`}},
		{"SetQualifier", `<IPARAMVALUE NAME="QualifierDeclaration"><QUALIFIER.DECLARATION NAME="Color" TYPE="string" TOSUBCLASS="false"><SCOPE CLASS="true"></SCOPE><VALUE>red</VALUE></QUALIFIER.DECLARATION></IPARAMVALUE>`, nil},
		{"GetQualifier", `<IPARAMVALUE NAME="QualifierName"><VALUE>Color</VALUE></IPARAMVALUE>`, []string{`<QUALIFIER.DECLARATION NAME="Color" TYPE="string" TOSUBCLASS="false"><SCOPE CLASS="true"></SCOPE><VALUE>red</VALUE>`}},
		{"DeleteQualifier", `<IPARAMVALUE NAME="QualifierName"><VALUE>Color</VALUE></IPARAMVALUE>`, nil},
		{"GetQualifier", `<IPARAMVALUE NAME="QualifierName"><VALUE>Color</VALUE></IPARAMVALUE>`, []string{`<ERROR CODE="6"`}},
		{"CreateClass", `<IPARAMVALUE NAME="NewClass"><CLASS NAME="Sample_Tape" SUPERCLASS="Sample_StorageElement"><PROPERTY NAME="Slots" TYPE="uint16"><VALUE>8</VALUE></PROPERTY></CLASS></IPARAMVALUE>`, nil},
		{"GetClass", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Tape"/></IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>TRUE</VALUE></IPARAMVALUE>`,
			[]string{`<CLASS NAME="Sample_Tape" SUPERCLASS="Sample_StorageElement"><PROPERTY NAME="Slots" TYPE="uint16"><VALUE>8</VALUE></PROPERTY></CLASS>`}},
		{"CreateClass", `<IPARAMVALUE NAME="NewClass"><CLASS NAME="Orphan" SUPERCLASS="Nowhere"></CLASS></IPARAMVALUE>`, []string{`<ERROR CODE="10"`}},
		{"ModifyClass", `<IPARAMVALUE NAME="ModifiedClass"><CLASS NAME="Sample_Tape" SUPERCLASS="Sample_StorageElement"><PROPERTY NAME="Slots" TYPE="uint32"></PROPERTY></CLASS></IPARAMVALUE>`, nil},
		{"EnumerateClassNames", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_StorageElement"/></IPARAMVALUE>`, []string{`<CLASSNAME NAME="Sample_Tape"></CLASSNAME>`}},
		{"EnumerateInstances", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_StorageElement"/></IPARAMVALUE><IPARAMVALUE NAME="DeepInheritance"><VALUE>FALSE</VALUE></IPARAMVALUE>`,
			[]string{`<VALUE.NAMEDINSTANCE><INSTANCENAME CLASSNAME="Sample_Disk">`}},
		{"GetInstance", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Model</VALUE></VALUE.ARRAY></IPARAMVALUE>`,
			[]string{`<INSTANCE CLASSNAME="Sample_Disk"><PROPERTY NAME="Model" TYPE="string"><VALUE>Samsung 980</VALUE></PROPERTY></INSTANCE>`}},
		{"ModifyInstance", `<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME><INSTANCE CLASSNAME="Sample_Disk"><PROPERTY NAME="Model" TYPE="string"><VALUE>Changed &lt;1&gt;</VALUE></PROPERTY><PROPERTY NAME="RotationRate" TYPE="uint32"><VALUE>5</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE><IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Model</VALUE></VALUE.ARRAY></IPARAMVALUE>`, nil},
		{"GetProperty", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>Model</VALUE></IPARAMVALUE>`,
			[]string{`<VALUE>Changed &lt;1&gt;</VALUE>`}},
		{"GetProperty", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>RotationRate</VALUE></IPARAMVALUE>`,
			[]string{`<VALUE>0</VALUE>`}}, // the PropertyList kept RotationRate out of the change
		{"GetProperty", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>Nope</VALUE></IPARAMVALUE>`,
			[]string{`<ERROR CODE="12"`}},
		{"GetInstance", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Nope"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`,
			[]string{`<ERROR CODE="5"`}},
	}
	for _, c := range cases {
		code, _, body := call(t, url, c.method, "root/sample", c.params)
		if code != 200 {
			t.Errorf("%s: HTTP %d: %s", c.method, code, body)
			continue
		}
		if c.want == nil && strings.Contains(body, "<ERROR") {
			t.Errorf("%s: %s", c.method, body)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: answer lacks %s:\n%s", c.method, w, body)
			}
		}
		validateDTD(t, body)
	}
}

func TestRequestErrors(t *testing.T) {
	url := server(t)
	ok := `<?xml version="1.0"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateClassNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	if code, _, body := post(t, url, "EnumerateClassNames", "root/sample", ok); code != 200 || !strings.Contains(body, "Sample_Disk") {
		t.Fatalf("baseline: %d %s", code, body)
	}
	cases := []struct {
		name, method, ns, body string
		code                   int
		cimError               string
	}{
		{"method header mismatch", "GetClass", "root/sample", ok, 400, "header-mismatch"},
		{"object header mismatch", "EnumerateClassNames", "root/other", ok, 400, "header-mismatch"},
		{"truncated XML", "EnumerateClassNames", "root/sample", ok[:len(ok)-20], 400, "request-not-valid"},
		{"bad entity", "EnumerateClassNames", "root/sample", strings.Replace(ok, `ID="1"`, `ID="&bogus;"`, 1), 400, "request-not-well-formed"},
		{"bad DTD version", "EnumerateClassNames", "root/sample", strings.Replace(ok, `DTDVERSION="2.0"`, `DTDVERSION="2."`, 1), 501, "unsupported-dtd-version"},
		{"not CIM", "EnumerateClassNames", "root/sample", `<?xml version="1.0"?><FOO/>`, 400, "request-not-valid"},
		{"oversized", "EnumerateClassNames", "root/sample", ok[:len(ok)-6] + strings.Repeat(" ", 2<<20) + "</CIM>", 413, "request-not-valid"},
	}
	for _, c := range cases {
		code, cimErr, _ := post(t, url, c.method, c.ns, c.body)
		if code != c.code || cimErr != c.cimError {
			t.Errorf("%s: HTTP %d CIMError %q, want %d %q", c.name, code, cimErr, c.code, c.cimError)
		}
	}
	// A value that does not parse is a request error (HTTP 400), as in
	// DSP0200 and OpenPegasus, not a CIM error.
	bad := `<?xml version="1.0"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="CreateInstance"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH>` +
		`<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="Sample_Disk"><PROPERTY NAME="Name" TYPE="string"><VALUE>x</VALUE></PROPERTY><PROPERTY NAME="SizeBytes" TYPE="uint64"><VALUE>lots</VALUE></PROPERTY></INSTANCE></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	if code, cimErr, body := post(t, url, "CreateInstance", "root/sample", bad); code != 400 || cimErr != "request-not-valid" || !strings.Contains(body, `uint64 value "lots"`) {
		t.Errorf("bad value: HTTP %d %q %s", code, cimErr, body)
	}
	// No credentials: 401 before any operation.
	req, _ := http.NewRequest("POST", url+"/cimom", strings.NewReader(ok))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", "EnumerateClassNames")
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 401 || rsp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: HTTP %d", rsp.StatusCode)
	}
	// The server still serves after all that.
	if code, _, _ := post(t, url, "EnumerateClassNames", "root/sample", ok); code != 200 {
		t.Errorf("after the bad requests: HTTP %d", code)
	}
	_ = cim.SNoError
}

// TestPullOperations opens an enumeration and pulls it to the end in
// batches, then checks that a finished context is refused.
func TestPullOperations(t *testing.T) {
	url := server(t)
	ctxOf := func(body string) string {
		i := strings.Index(body, `<PARAMVALUE NAME="EnumerationContext"><VALUE>`)
		if i < 0 {
			t.Fatalf("no EnumerationContext in %s", body)
		}
		rest := body[i+len(`<PARAMVALUE NAME="EnumerationContext"><VALUE>`):]
		return rest[:strings.Index(rest, "<")]
	}
	_, _, body := call(t, url, "OpenEnumerateInstances", "root/sample", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_StorageElement"/></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>1</VALUE></IPARAMVALUE>`)
	validateDTD(t, body)
	total := strings.Count(body, "<VALUE.INSTANCEWITHPATH>")
	if total != 1 || !strings.Contains(body, `<PARAMVALUE NAME="EndOfSequence"><VALUE>FALSE</VALUE>`) {
		t.Fatalf("open: %s", body)
	}
	id := ctxOf(body)
	for _, max := range []string{"2", "5"} {
		_, _, body = call(t, url, "PullInstancesWithPath", "root/sample", `<IPARAMVALUE NAME="EnumerationContext"><VALUE>`+id+`</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>`+max+`</VALUE></IPARAMVALUE>`)
		validateDTD(t, body)
		total += strings.Count(body, "<VALUE.INSTANCEWITHPATH>")
	}
	if total != 4 || !strings.Contains(body, `<PARAMVALUE NAME="EndOfSequence"><VALUE>TRUE</VALUE>`) || ctxOf(body) != "" {
		t.Fatalf("pulled %d of 4; last answer %s", total, body)
	}
	_, _, body = call(t, url, "PullInstancesWithPath", "root/sample", `<IPARAMVALUE NAME="EnumerationContext"><VALUE>`+id+`</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>1</VALUE></IPARAMVALUE>`)
	if !strings.Contains(body, `<ERROR CODE="21"`) {
		t.Errorf("pull on a finished context: %s", body)
	}
	// Paths, closed early.
	_, _, body = call(t, url, "OpenEnumerateInstancePaths", "root/sample", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>1</VALUE></IPARAMVALUE>`)
	validateDTD(t, body)
	if !strings.Contains(body, "<IRETURNVALUE><INSTANCEPATH>") {
		t.Errorf("paths: %s", body)
	}
	id = ctxOf(body)
	if _, _, body = call(t, url, "CloseEnumeration", "root/sample", `<IPARAMVALUE NAME="EnumerationContext"><VALUE>`+id+`</VALUE></IPARAMVALUE>`); strings.Contains(body, "<ERROR") {
		t.Errorf("close: %s", body)
	}
	if _, _, body = call(t, url, "PullInstancePaths", "root/sample", `<IPARAMVALUE NAME="EnumerationContext"><VALUE>`+id+`</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>1</VALUE></IPARAMVALUE>`); !strings.Contains(body, `<ERROR CODE="21"`) {
		t.Errorf("pull after close: %s", body)
	}
	// Queries and associations through pull.
	_, _, body = call(t, url, "OpenQueryInstances", "root/sample", `<IPARAMVALUE NAME="FilterQueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE><IPARAMVALUE NAME="FilterQuery"><VALUE>SELECT * FROM Sample_Volume</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>10</VALUE></IPARAMVALUE>`)
	if strings.Count(body, "<VALUE.INSTANCEWITHPATH>") != 2 {
		t.Errorf("OpenQueryInstances: %s", body)
	}
	_, _, body = call(t, url, "OpenAssociatorInstancePaths", "root/sample", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>10</VALUE></IPARAMVALUE>`)
	validateDTD(t, body)
	if !strings.Contains(body, `<KEYVALUE VALUETYPE="string" TYPE="string">sda2</KEYVALUE>`) {
		t.Errorf("OpenAssociatorInstancePaths: %s", body)
	}
}

// TestStreamedAnswer: a large enumeration is streamed (chunked) and, for
// a client that takes trailers, ends with CIMStatusCode 0.
func TestStreamedAnswer(t *testing.T) {
	ctx := context.Background()
	om := testdata.SampleCIMOM(t)
	svc, _ := om.Connect(ctx, "root/sample", cimom.Principal{Name: "root"})
	cls, _ := svc.GetObject(ctx, "Sample_Disk", 0, nil)
	var batch []*cim.Object
	for i := 0; i < 3000; i++ {
		o, _ := cls.SpawnInstance()
		o.Put("Name", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("bulk%05d", i)})
		o.Put("Model", cim.Value{Type: cim.TypeString, V: strings.Repeat("m", 200)})
		batch = append(batch, o)
	}
	if _, err := om.PutInstances(ctx, "root/sample", cimom.Principal{Name: "root"}, batch, cimom.FlagCreateOnly); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(behind(&Handler{Connector: om}, asRoot))
	defer srv.Close()
	body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="9" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	for _, te := range []string{"trailers", ""} {
		req, _ := http.NewRequest("POST", srv.URL+"/cimom", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("CIMOperation", "MethodCall")
		req.Header.Set("CIMMethod", "EnumerateInstances")
		req.Header.Set("CIMObject", "root%2Fsample")
		if te != "" {
			req.Header.Set("TE", te)
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if rsp.ContentLength != -1 || len(rsp.TransferEncoding) == 0 {
			t.Errorf("TE %q: the answer was not streamed (Content-Length %d)", te, rsp.ContentLength)
		}
		if n := strings.Count(string(b), "<VALUE.NAMEDINSTANCE>"); n != 3002 {
			t.Errorf("TE %q: %d instances, want 3002", te, n)
		}
		if te != "" && rsp.Trailer.Get("CIMStatusCode") != "0" {
			t.Errorf("trailer CIMStatusCode = %q", rsp.Trailer.Get("CIMStatusCode"))
		}
		validateDTD(t, string(b))
	}
}

// TestStreamedAnswerTrailers: an answer of 120 KB, under the threshold
// past which answers are streamed to every client, is streamed to a
// client that takes trailers (it decodes the first results while the
// rest are produced), and a failure once the answer is under way reaches
// that client in the CIMStatusCode trailer after the results produced
// before it; a client that does not take trailers gets the whole answer
// buffered, with the failure as its ERROR.
func TestStreamedAnswerTrailers(t *testing.T) {
	fail := cim.Errorf(cim.EProviderFailure, "the disk is on fire")
	for _, c := range []struct {
		te   string
		err  error
		code string // CIMStatusCode trailer
	}{
		{"trailers", nil, "0"},
		{"trailers", fail, "1"},
		{"", nil, ""},
		{"", fail, ""},
	} {
		om := testdata.SampleCIMOM(t)
		testdata.AddFailing(t, om, 200, 400, c.err)
		srv := httptest.NewServer(behind(&Handler{Connector: om}, asRoot))
		body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="9" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateInstances"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Failing"/></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
		req, _ := http.NewRequest("POST", srv.URL+"/cimom", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("CIMOperation", "MethodCall")
		req.Header.Set("CIMMethod", "EnumerateInstances")
		req.Header.Set("CIMObject", "root%2Fsample")
		if c.te != "" {
			req.Header.Set("TE", c.te)
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		srv.Close()
		name := fmt.Sprintf("TE %q, error %v", c.te, c.err)
		if streamed := rsp.ContentLength == -1; streamed != (c.te != "") {
			t.Errorf("%s: streamed %v (Content-Length %d)", name, streamed, rsp.ContentLength)
		}
		if got := rsp.Trailer.Get("CIMStatusCode"); got != c.code {
			t.Errorf("%s: CIMStatusCode trailer %q, want %q", name, got, c.code)
		}
		instances := strings.Count(string(b), "<VALUE.NAMEDINSTANCE>")
		switch {
		case c.err == nil:
			validateDTD(t, string(b))
			if instances != 200 {
				t.Errorf("%s: %d instances, want 200", name, instances)
			}
		case c.te != "":
			if instances != 200 || strings.Contains(string(b), "</CIM>") {
				t.Errorf("%s: %d instances, want the 200 before the failure and no end", name, instances)
			}
			if got := TrailerError(rsp.Trailer); cim.StatusOf(got) != cim.EProviderFailure || !strings.Contains(got.Error(), "the disk is on fire") {
				t.Errorf("%s: TrailerError = %v", name, got)
			}
		default:
			validateDTD(t, string(b))
			if instances != 0 || !strings.Contains(string(b), `<ERROR CODE="1"`) {
				t.Errorf("%s: %d instances, want an ERROR alone: %.300s", name, instances, b)
			}
		}
	}
}
