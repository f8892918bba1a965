package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/protocol/rest"
	"github.com/wbemd/wbemd/store/bolt"
)

// testMOF is the schema of these tests, compiled into test/rest.
const testMOF = `
class Test_Disk {
  [Key] string Name;
  uint32 Size;
  string Label;
  [Static] uint32 Sum([In] uint32 A, [In] uint32 B);
  uint32 Grow([In] uint32 By);
};
`

// users is a user store made once (hashing is slow on purpose): "admin"
// (password "secret") administers, "guest" (password "guest-pw") does not.
var usersDB *bolt.DB

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "rest")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		if usersDB, err = bolt.Open(filepath.Join(dir, "users.db"), bolt.Options{}); err != nil {
			panic(err)
		}
		defer usersDB.Close()
		u := auth.New(usersDB)
		if err := u.Add(context.Background(), "admin", "secret", true); err != nil {
			panic(err)
		}
		if err := u.Add(context.Background(), "guest", "guest-pw", false); err != nil {
			panic(err)
		}
		return m.Run()
	}())
}

// sumProvider runs Test_Disk's methods: Sum adds its arguments, Grow
// returns the instance's Size plus By.
type sumProvider struct{ om *cimom.CIMOM }

func (sumProvider) Name() string { return "sum" }

func (p sumProvider) ExecMethod(ctx context.Context, ns string, target *cim.ObjectPath, m *cim.Method, in *cim.Object, wctx *cimom.Context) (*cim.Object, error) {
	u32 := func(name string) uint32 {
		v, _ := in.Get(name)
		x, _ := v.V.(uint32)
		return x
	}
	var r uint32
	if m.Name == "Sum" {
		r = u32("A") + u32("B")
	} else {
		svc, err := p.om.Connect(ctx, ns, cimom.Principal{Name: "root"})
		if err != nil {
			return nil, err
		}
		inst, err := svc.GetObject(ctx, target.String(), 0, nil)
		if err != nil {
			return nil, err
		}
		v, _ := inst.Get("Size")
		size, _ := v.V.(uint32)
		r = size + u32("By")
	}
	out := &cim.Object{Genus: cim.GenusInstance, Class: "__PARAMETERS"}
	out.Properties = []cim.Property{{Name: "ReturnValue", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: r}}}
	return out, nil
}

// server is a JSON door over real HTTP, behind the filters, on a
// repository on disk with test/rest (Test_Disk) and test/secret (which
// guest may not enter).
type server struct {
	t   *testing.T
	url string
	om  *cimom.CIMOM
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "testsystem"})
	if err != nil {
		t.Fatal(err)
	}
	admin := cimom.Principal{Name: "root"}
	for _, ns := range []string{"test/rest", "test/secret"} {
		if _, err := om.CreateNamespace(ctx, ns, admin); err != nil {
			t.Fatal(err)
		}
	}
	u, errs := mof.Load([]string{"test.mof"}, nil, func(string) ([]byte, error) { return []byte(testMOF), nil })
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	root, _ := om.Connect(ctx, "root", admin)
	if _, errs := mof.Compile(ctx, root, u, mof.Options{Namespace: "test/rest"}); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if err := om.RegisterMethodProvider("test/rest", "Test_Disk", sumProvider{om}); err != nil {
		t.Fatal(err)
	}
	// guest may reach both namespaces over the network, and read only
	// test/rest.
	for _, name := range []string{"test/rest", "test/secret"} {
		svc, _ := om.Connect(ctx, name, admin)
		sd, err := svc.GetSD(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sd = sd.Grant("guest", cimom.RightRemoteEnable, cimom.ACEContainerInherit)
		if name == "test/secret" {
			sd = sd.Deny("guest", cimom.RightEnable, cimom.ACEContainerInherit)
		}
		if err := svc.SetSD(ctx, sd); err != nil {
			t.Fatal(err)
		}
	}
	stack := &httpstack.Stack{Observer: httpstack.NewObserver(slog.New(slog.DiscardHandler)),
		Auth: httpstack.Basic(auth.New(usersDB), slog.New(slog.DiscardHandler))}
	h := &rest.Handler{Connector: om, Namespaces: om.Namespaces}
	mux := http.NewServeMux()
	mux.Handle(rest.Prefix, stack.Serve(h.Door(), h))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); om.Close(ctx); db.Close() })
	return &server{t: t, url: srv.URL, om: om}
}

// answer is a response, its body read.
type answer struct {
	code int
	h    http.Header
	body []byte
}

// json decodes the body into a map.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return m
}

// wbem returns the WBEM status name of an error answer.
func (a answer) wbem(t *testing.T) string {
	t.Helper()
	var e rest.Error
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	return e.Name
}

// req is a request's options.
type req struct {
	user, pw string // "" for admin/secret; "-" for none
	body     string
	headers  map[string]string
	noClient bool // leave out the X-WBEM-Client header
}

func (s *server) do(method, path string, o req) answer {
	s.t.Helper()
	var body io.Reader
	if o.body != "" {
		body = strings.NewReader(o.body)
	}
	r, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	switch o.user {
	case "":
		r.SetBasicAuth("admin", "secret")
	case "-":
	default:
		r.SetBasicAuth(o.user, o.pw)
	}
	if !o.noClient {
		r.Header.Set(rest.ClientHeader, "test")
	}
	if o.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range o.headers {
		r.Header.Set(k, v)
	}
	rsp, err := http.DefaultClient.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return answer{rsp.StatusCode, rsp.Header, b}
}

const ns = "/api/v1/namespaces/test%2Frest"

func inst(name string) string {
	return ns + "/instances/" + url.PathEscape(`Test_Disk.Name="`+name+`"`)
}

// TestInstances: create, get, list, put, patch and delete an instance,
// each write conditional on the version the last one returned; a stale
// version is refused with 412 and WBEM_E_TRANSACTION_CONFLICT and
// changes nothing.
func TestInstances(t *testing.T) {
	s := newServer(t)
	a := s.do("POST", ns+"/classes/Test_Disk/instances", req{body: `{"Name":"sda","Size":100,"Label":"boot"}`})
	if a.code != 201 || a.h.Get("ETag") == "" || a.h.Get("Location") != inst("sda") {
		t.Fatalf("create: %d %v %s", a.code, a.h, a.body)
	}
	v1 := a.h.Get("ETag")
	if m := a.json(t); m["Size"] != 100.0 || m["__VERSION"] != strings.Trim(v1, `"`) || m["__RELPATH"] != `Test_Disk.Name="sda"` {
		t.Errorf("created: %s", a.body)
	}
	if a := s.do("POST", ns+"/classes/Test_Disk/instances", req{body: `{"Name":"sda"}`}); a.code != 409 || a.wbem(t) != "WBEM_E_ALREADY_EXISTS" {
		t.Errorf("create twice: %d %s", a.code, a.body)
	}
	a = s.do("GET", inst("sda"), req{})
	if a.code != 200 || a.h.Get("ETag") != v1 {
		t.Errorf("get: %d %s %s", a.code, a.h.Get("ETag"), a.body)
	}
	a = s.do("PUT", inst("sda"), req{body: `{"Name":"sda","Size":200,"Label":"root"}`, headers: map[string]string{"If-Match": v1}})
	v2 := a.h.Get("ETag")
	if a.code != 200 || v2 == v1 || a.json(t)["Size"] != 200.0 {
		t.Fatalf("put: %d %s %s", a.code, v2, a.body)
	}
	// The version v1 is stale now: every write conditional on it fails.
	for _, c := range []struct{ method, body string }{{"PUT", `{"Name":"sda","Size":1}`}, {"PATCH", `{"Size":1}`}, {"DELETE", ""}} {
		a = s.do(c.method, inst("sda"), req{body: c.body, headers: map[string]string{"If-Match": v1}})
		if a.code != 412 || a.wbem(t) != "WBEM_E_TRANSACTION_CONFLICT" || !strings.Contains(a.json(t)["message"].(string), "changed") {
			t.Errorf("%s with a stale If-Match: %d %s", c.method, a.code, a.body)
		}
	}
	// A partial update: only Label changes.
	a = s.do("PATCH", inst("sda"), req{body: `{"Label":"data"}`, headers: map[string]string{"If-Match": v2}})
	if m := a.json(t); a.code != 200 || m["Label"] != "data" || m["Size"] != 200.0 {
		t.Errorf("patch: %d %s", a.code, a.body)
	}
	// PUT with a property list is a partial update too.
	a = s.do("PUT", inst("sda")+"?mode=update&properties=Size", req{body: `{"Name":"sda","Size":7,"Label":"ignored"}`})
	if m := a.json(t); a.code != 200 || m["Label"] != "data" || m["Size"] != 7.0 {
		t.Errorf("put with properties: %d %s", a.code, a.body)
	}
	if a := s.do("PUT", inst("sdb")+"?mode=update", req{body: `{"Name":"sdb"}`}); a.code != 404 || a.wbem(t) != "WBEM_E_NOT_FOUND" {
		t.Errorf("update of a missing instance: %d %s", a.code, a.body)
	}
	if a := s.do("PUT", inst("sdb"), req{body: `{"Name":"sdc"}`}); a.code != 400 || a.wbem(t) != "WBEM_E_INVALID_PARAMETER" {
		t.Errorf("put with another key than the path's: %d %s", a.code, a.body)
	}
	if a := s.do("PUT", inst("sdb"), req{body: `{"Name":"sdb"}`, headers: map[string]string{"If-Match": `W/"1"`}}); a.code != 400 {
		t.Errorf("weak If-Match: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/classes/Test_Disk/instances", req{})
	if items := a.json(t)["items"].([]any); a.code != 200 || len(items) != 1 {
		t.Errorf("list: %d %s", a.code, a.body)
	}
	cur := s.do("GET", inst("sda"), req{}).h.Get("ETag")
	if a := s.do("DELETE", inst("sda"), req{headers: map[string]string{"If-Match": cur}}); a.code != 204 {
		t.Errorf("delete: %d %s", a.code, a.body)
	}
	if a := s.do("GET", inst("sda"), req{}); a.code != 404 || a.wbem(t) != "WBEM_E_NOT_FOUND" {
		t.Errorf("get after delete: %d %s", a.code, a.body)
	}
	if a := s.do("DELETE", inst("sda"), req{headers: map[string]string{"If-Match": cur}}); a.code != 404 {
		t.Errorf("delete twice: %d %s", a.code, a.body)
	}
	// A bad value is refused with its WBEM status, and the error names
	// the operation.
	a = s.do("POST", ns+"/classes/Test_Disk/instances", req{body: `{"Name":"sdx","Size":"big"}`})
	if a.code != 400 || a.wbem(t) != "WBEM_E_TYPE_MISMATCH" {
		t.Errorf("bad value: %d %s", a.code, a.body)
	}
	var e rest.Error
	json.Unmarshal(a.body, &e)
	if e.Code != uint32(cim.ETypeMismatch) || e.Extended.Operation != "CreateInstance" || e.Message == "" {
		t.Errorf("error body %+v", e)
	}
}

// TestPaging: 250 instances read 100 at a time come back once each, in
// key order; a page can start after an instance deleted meanwhile.
func TestPaging(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	svc, _ := s.om.Connect(ctx, "test/rest", cimom.Principal{Name: "root"})
	cls, _ := svc.GetObject(ctx, "Test_Disk", 0, nil)
	for i := range 250 {
		in, _ := cls.SpawnInstance()
		in.Put("Name", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("d%04d", i)})
		if _, err := svc.PutInstance(ctx, in, cimom.FlagCreateOnly, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	next, pages := "", 0
	for {
		q := "?limit=100"
		if next != "" {
			q += "&after=" + url.QueryEscape(next)
		}
		a := s.do("GET", ns+"/classes/Test_Disk/instances"+q, req{})
		if a.code != 200 {
			t.Fatalf("page %d: %d %s", pages, a.code, a.body)
		}
		m := a.json(t)
		for _, it := range m["items"].([]any) {
			names = append(names, it.(map[string]any)["Name"].(string))
		}
		pages++
		n, ok := m["next"].(string)
		if !ok {
			break
		}
		next = n
	}
	if pages != 3 || len(names) != 250 || !slices.IsSorted(names) || slices.Compact(slices.Clone(names))[249] != "d0249" {
		t.Errorf("%d pages, %d names (sorted %v)", pages, len(names), slices.IsSorted(names))
	}
	if err := svc.DeleteInstance(ctx, `Test_Disk.Name="d0100"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	a := s.do("GET", ns+"/classes/Test_Disk/instances?limit=2&after="+url.QueryEscape(`Test_Disk.Name="d0100"`), req{})
	if items := a.json(t)["items"].([]any); len(items) != 2 || items[0].(map[string]any)["Name"] != "d0101" {
		t.Errorf("after a deleted instance: %s", a.body)
	}
	for _, bad := range []string{"?limit=0", "?limit=5000", "?after=" + url.QueryEscape(`Other.Name="x"`), "?after=" + url.QueryEscape("Test_Disk")} {
		if a := s.do("GET", ns+"/classes/Test_Disk/instances"+bad, req{}); a.code/100 != 4 {
			t.Errorf("%s: %d %s", bad, a.code, a.body)
		}
	}
}

// TestSecurity: credentials, the cross-site rule, and rights.
func TestSecurity(t *testing.T) {
	s := newServer(t)
	a := s.do("GET", ns+"/rights", req{user: "-", noClient: true})
	if a.code != 401 || a.h.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d %v", a.code, a.h)
	}
	a = s.do("GET", ns+"/rights", req{user: "admin", pw: "wrong"})
	if a.code != 401 || a.h.Get("WWW-Authenticate") != "" || a.wbem(t) != "WBEM_E_ACCESS_DENIED" {
		t.Errorf("wrong password from a page: %d %v %s", a.code, a.h, a.body)
	}
	body := `{"Name":"x"}`
	if a := s.do("POST", ns+"/classes/Test_Disk/instances", req{body: body, noClient: true}); a.code != 403 || !strings.Contains(string(a.body), rest.ClientHeader) {
		t.Errorf("POST without %s: %d %s", rest.ClientHeader, a.code, a.body)
	}
	if a := s.do("POST", ns+"/classes/Test_Disk/instances", req{body: body, headers: map[string]string{"Origin": "https://evil.example"}}); a.code != 403 {
		t.Errorf("POST from another origin: %d %s", a.code, a.body)
	}
	if a := s.do("POST", ns+"/classes/Test_Disk/instances", req{body: body, headers: map[string]string{"Origin": s.url}}); a.code != 201 {
		t.Errorf("POST from the same origin: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/rights", req{user: "guest", pw: "guest-pw"})
	if m := a.json(t); a.code != 200 || m["user"] != "guest" || m["administrator"] != false || !slices.Contains(toStrings(m["names"]), "WBEM_ENABLE") || slices.Contains(toStrings(m["names"]), "WBEM_FULL_WRITE_REP") {
		t.Errorf("guest's rights: %d %s", a.code, a.body)
	}
	a = s.do("GET", "/api/v1/namespaces/test%2Fsecret/classes", req{user: "guest", pw: "guest-pw"})
	if a.code != 403 || a.wbem(t) != "WBEM_E_ACCESS_DENIED" {
		t.Errorf("guest in test/secret: %d %s", a.code, a.body)
	}
	a = s.do("GET", "/api/v1/namespaces", req{user: "guest", pw: "guest-pw"})
	if names := toStrings(a.json(t)["items"]); !slices.Contains(names, "test/rest") || slices.Contains(names, "test/secret") {
		t.Errorf("guest's namespaces: %v", names)
	}
	a = s.do("GET", "/api/v1/namespaces", req{})
	if names := toStrings(a.json(t)["items"]); !slices.Contains(names, "test/secret") || !slices.Contains(names, "root") {
		t.Errorf("admin's namespaces: %v", names)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

// TestSchemaQueryMethods: the class tree, a class in JSON and MOF, a
// query with its plan, method calls, the providers' page, and an unknown
// resource.
func TestSchemaQueryMethods(t *testing.T) {
	s := newServer(t)
	a := s.do("GET", ns+"/classes", req{})
	if !strings.Contains(string(a.body), `"name":"Test_Disk"`) {
		t.Errorf("class tree: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/classes?deep=true&superclass=Test_Disk", req{})
	if a.code != 200 || string(a.body) != `{"items":[]}` {
		t.Errorf("subclasses: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/classes/Test_Disk", req{})
	if m := a.json(t); a.code != 200 || m["class"].(map[string]any)["__CLASS"] != "Test_Disk" || m["derivation"] == nil {
		t.Errorf("class: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/classes/Test_Disk?format=mof", req{})
	if a.code != 200 || !strings.Contains(string(a.body), "class Test_Disk") || !strings.HasPrefix(a.h.Get("Content-Type"), "text/plain") {
		t.Errorf("MOF: %d %s", a.code, a.body)
	}
	if a := s.do("GET", ns+"/classes/No_Such", req{}); a.code != 404 || a.wbem(t) != "WBEM_E_NOT_FOUND" && a.wbem(t) != "WBEM_E_INVALID_CLASS" {
		t.Errorf("missing class: %d %s", a.code, a.body)
	}
	for _, n := range []string{"a", "b", "c"} {
		s.do("POST", ns+"/classes/Test_Disk/instances", req{body: fmt.Sprintf(`{"Name":%q,"Size":%d}`, n, len(n)*10)})
	}
	a = s.do("GET", ns+"/query?limit=2&q="+url.QueryEscape(`SELECT * FROM Test_Disk WHERE Name = "b"`), req{})
	if m := a.json(t); a.code != 200 || !strings.Contains(m["plan"].(string), "key lookup") || len(m["items"].([]any)) != 1 || m["truncated"] != false {
		t.Errorf("query: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/query?limit=2&q="+url.QueryEscape(`SELECT Name FROM Test_Disk`), req{})
	if m := a.json(t); a.code != 200 || len(m["items"].([]any)) != 2 || m["truncated"] != true {
		t.Errorf("truncated query: %d %s", a.code, a.body)
	}
	a = s.do("GET", ns+"/query?explain=true&q="+url.QueryEscape(`SELECT * FROM Test_Disk WHERE Size > 5`), req{})
	if m := a.json(t); a.code != 200 || !strings.Contains(m["plan"].(string), "scan") || len(m["items"].([]any)) != 0 {
		t.Errorf("explain: %d %s", a.code, a.body)
	}
	if a := s.do("GET", ns+"/query?q="+url.QueryEscape(`SELECT * FROM`), req{}); a.code != 400 || !strings.HasPrefix(a.wbem(t), "WBEM_E_INVALID_QUERY") {
		t.Errorf("bad query: %d %s", a.code, a.body)
	}
	a = s.do("POST", ns+"/classes/Test_Disk/methods/Sum", req{body: `{"A":2,"B":"40"}`})
	if m := a.json(t); a.code != 200 || m["ReturnValue"] != 42.0 {
		t.Errorf("Sum: %d %s", a.code, a.body)
	}
	a = s.do("POST", inst("c")+"/methods/Grow", req{body: `{"By":5}`})
	if m := a.json(t); a.code != 200 || m["ReturnValue"] != 15.0 {
		t.Errorf("Grow: %d %s", a.code, a.body)
	}
	if a := s.do("POST", ns+"/classes/Test_Disk/methods/Sum", req{body: `{"C":1}`}); a.code != 400 || a.wbem(t) != "WBEM_E_INVALID_METHOD_PARAMETERS" {
		t.Errorf("unknown parameter: %d %s", a.code, a.body)
	}
	if a := s.do("POST", ns+"/classes/Test_Disk/methods/Nope", req{}); a.code != 404 || a.wbem(t) != "WBEM_E_INVALID_METHOD" {
		t.Errorf("unknown method: %d %s", a.code, a.body)
	}
	a = s.do("GET", "/api/v1/providers", req{})
	if a.code != 200 || string(a.body) != `{"items":[]}` {
		t.Errorf("providers without a provider host: %d %s", a.code, a.body)
	}
	if a := s.do("GET", "/api/v1/nothing", req{}); a.code != 404 || a.wbem(t) != "WBEM_E_NOT_SUPPORTED" {
		t.Errorf("unknown resource: %d %s", a.code, a.body)
	}
	if a := s.do("DELETE", ns+"/classes/Test_Disk/instances", req{}); a.code != 405 || a.h.Get("Allow") != "GET, POST" || a.wbem(t) != "WBEM_E_NOT_SUPPORTED" {
		t.Errorf("another method: %d %v %s", a.code, a.h, a.body)
	}
}

// TestOpenAPI: the document served validates as OpenAPI 3, and describes
// every resource the door serves.
func TestOpenAPI(t *testing.T) {
	s := newServer(t)
	a := s.do("GET", "/api/v1/openapi.json", req{user: "-", noClient: true})
	if a.code != 200 {
		t.Fatalf("%d %s", a.code, a.body)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(a.body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document does not validate: %v", err)
	}
	want := map[string][]string{
		"/api/v1/openapi.json": {"GET"}, "/api/v1/namespaces": {"GET"}, "/api/v1/providers": {"GET"},
		"/api/v1/namespaces/{ns}/rights": {"GET"}, "/api/v1/namespaces/{ns}/classes": {"GET"},
		"/api/v1/namespaces/{ns}/classes/{class}":                   {"GET"},
		"/api/v1/namespaces/{ns}/classes/{class}/instances":         {"GET", "POST"},
		"/api/v1/namespaces/{ns}/classes/{class}/methods/{method}":  {"POST"},
		"/api/v1/namespaces/{ns}/instances/{path}":                  {"GET", "PUT", "PATCH", "DELETE"},
		"/api/v1/namespaces/{ns}/instances/{path}/methods/{method}": {"POST"},
		"/api/v1/namespaces/{ns}/query":                             {"GET"},
		"/api/v1/events":                                            {"GET"}, // served by protocol/eventstream, described here
	}
	if doc.Paths.Len() != len(want) {
		t.Errorf("%d paths described, want %d", doc.Paths.Len(), len(want))
	}
	for p, methods := range want {
		item := doc.Paths.Find(p)
		if item == nil {
			t.Errorf("%s is not described", p)
			continue
		}
		for _, m := range methods {
			if item.GetOperation(m) == nil {
				t.Errorf("%s %s is not described", m, p)
			}
		}
	}
	if !bytes.Equal(a.body, rest.OpenAPI) {
		t.Error("the document served is not the embedded one")
	}
}

// FuzzParseIfMatch: any header parses or fails cleanly, and a parsed
// version prints back as its ETag.
func FuzzParseIfMatch(f *testing.F) {
	for _, s := range []string{`"42"`, "*", `W/"1"`, `"1", "2"`, "", `"-3"`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		rev, anyVersion, ok, err := rest.ParseIfMatch(h)
		if err != nil || !ok || anyVersion {
			return
		}
		if rev <= 0 || rest.ETag(rev) != strings.TrimSpace(h) {
			t.Errorf("%q parsed as %d", h, rev)
		}
	})
}

// FuzzArguments: any body gives in-parameters or a WBEM error.
func FuzzArguments(f *testing.F) {
	for _, s := range []string{`{"A":1,"B":"x"}`, `{"L":[1,2,true]}`, `[]`, ``, `{"O":{}}`, `{"A":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		args, err := rest.Arguments(strings.NewReader(body))
		if err != nil {
			if _, ok := err.(*cim.Error); !ok {
				t.Errorf("%q: %T %v", body, err, err)
			}
			return
		}
		for _, a := range args {
			if a.Name == "" && a.Decode == nil && a.Value.V == nil {
				t.Errorf("%q: empty argument", body)
			}
		}
	})
}
