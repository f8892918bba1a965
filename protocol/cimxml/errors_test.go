package cimxml

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/internal/testdata"
)

// postHeaders posts one intrinsic call with extra headers ("" deletes
// one: User-Agent "" sends none) and returns the body.
func postHeaders(t *testing.T, url, method, params string, headers map[string]string) string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
		`<IMETHODCALL NAME="` + method + `"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH>` + params +
		`</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	req, _ := http.NewRequest("POST", url+"/cimom", strings.NewReader(body))
	req.SetBasicAuth("admin", "pw")
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", method)
	req.Header.Set("CIMObject", "root%2Fsample")
	for k, v := range headers {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
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

// TestErrorInstances: an error answer carries a CIM_Error instance and
// WMI's __ExtendedStatus (operation, parameter, provider, WBEM status),
// is valid against the DSP0203 DTD, and reads back into the same
// *cim.Error; a client without a User-Agent (sblim-wbemcli, whose parser
// breaks on any child of ERROR) gets the ERROR's attributes only.
func TestErrorInstances(t *testing.T) {
	url := server(t)
	missing := `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>nope</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`
	badProp := `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>Nope</VALUE></IPARAMVALUE>`
	for _, c := range []struct {
		method, params string
		want           cim.Error
		cimCode        string
	}{
		{"GetInstance", missing, cim.Error{Status: cim.ENotFound, Operation: "GetObject", Parameter: `Sample_Disk.Name="nope"`, Provider: "wbemd"}, "6"},
		{"GetProperty", badProp, cim.Error{Status: cim.EInvalidProperty, Operation: "GetProperty", Provider: "wbemd"}, "12"},
	} {
		body := postHeaders(t, url, c.method, c.params, nil)
		for _, w := range []string{`<INSTANCE CLASSNAME="CIM_Error">`, `<PROPERTY NAME="CIMStatusCode" TYPE="uint32"><VALUE>` + c.cimCode + `</VALUE>`,
			`<PROPERTY NAME="MessageID" TYPE="string"><VALUE>` + c.want.Status.String() + `</VALUE>`,
			`<INSTANCE CLASSNAME="__ExtendedStatus">`, `<PROPERTY NAME="ProviderName" TYPE="string"><VALUE>wbemd</VALUE>`} {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the answer lacks %s:\n%s", c.method, w, body)
			}
		}
		validateDTD(t, body)
		a, err := ReadAnswer(io.NopCloser(strings.NewReader(body)), -1, true)
		if err == nil {
			a.Close()
			t.Fatalf("%s: no error read back", c.method)
		}
		got := cim.AsError(err)
		if got.Status != c.want.Status || !strings.HasPrefix(got.Operation, c.want.Operation) || got.Parameter != c.want.Parameter || got.Provider != c.want.Provider || got.Description == "" {
			t.Errorf("%s: read back %+v, want %+v", c.method, got, c.want)
		}
		bare := postHeaders(t, url, c.method, c.params, map[string]string{"User-Agent": ""})
		if !strings.Contains(bare, `<ERROR CODE="`+c.cimCode+`" DESCRIPTION="`) || strings.Contains(bare, "<INSTANCE") {
			t.Errorf("%s without a User-Agent: %s", c.method, bare)
		}
		validateDTD(t, bare)
	}
}

// TestAcceptLanguage: Accept-Language makes reads return the amended
// qualifiers of its locale (WBEM_FLAG_USE_AMENDED_QUALIFIERS), and only
// then.
func TestAcceptLanguage(t *testing.T) {
	om := testdata.SampleCIMOM(t)
	ctx := context.Background()
	svc, err := om.Connect(ctx, "root/sample", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	cls := &cim.Object{Genus: cim.GenusClass, Class: "Loc_Thing",
		Qualifiers: []cim.Qualifier{{Name: "Description", Value: cim.Value{Type: cim.TypeString, V: "localized text"}, Flavor: cim.FlavorAmended}},
		Properties: []cim.Property{{Name: "Id", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}}}}
	if err := cimom.Localized(svc, "MS_409").PutClass(ctx, cls, 0, nil); err != nil {
		t.Fatal(err)
	}
	h := &Handler{Connector: om, Host: "localhost"}
	t.Cleanup(h.Close)
	auth := func(r *http.Request) (cimom.Principal, bool) {
		n, p, ok := r.BasicAuth()
		return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
	}
	stack := &httpstack.Stack{Observer: httpstack.NewObserver(slog.New(slog.DiscardHandler)), Auth: auth, OperationTimeout: time.Minute, MaxRequest: 1 << 20}
	srv := httptest.NewServer(stack.Serve(h.Door(), h))
	t.Cleanup(srv.Close)
	get := `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Loc_Thing"/></IPARAMVALUE>`
	for _, c := range []struct {
		lang string
		want bool
	}{{"", false}, {"en-US", true}, {"en", true}, {"de-DE", false}, {"fr;q=0, en-GB;q=0.5", false}, {"x-ms-409", true}} {
		h := map[string]string{}
		if c.lang != "" {
			h["Accept-Language"] = c.lang
		}
		body := postHeaders(t, srv.URL, "GetClass", get, h)
		if got := strings.Contains(body, "localized text"); got != c.want {
			t.Errorf("Accept-Language %q: amended qualifier shown %v, want %v:\n%s", c.lang, got, c.want, body)
		}
	}
}
