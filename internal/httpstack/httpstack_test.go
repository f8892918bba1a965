package httpstack_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store/bolt"
)

// quiet is the log of failed logins in these tests.
var quiet = slog.New(slog.DiscardHandler)

// peerName is the name PeerCredentials gives this process's user.
func peerName() string {
	uid := os.Getuid()
	if uid == 0 {
		return "root"
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid:" + strconv.Itoa(uid)
}

// syncBuffer is a log destination shared by the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the JSON log lines written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// requests returns the access log lines.
func (s *syncBuffer) requests(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, l := range s.lines(t) {
		if l["msg"] == "request" {
			out = append(out, l)
		}
	}
	return out
}

// userDB is a real user store on disk, made once (password hashing is
// slow on purpose): "admin" (password "secret") is an administrator,
// "guest" (password "guest-pw") is not.
var userDB *bolt.DB

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "httpstack")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(dir)
		if userDB, err = bolt.Open(filepath.Join(dir, "users.db"), bolt.Options{}); err != nil {
			panic(err)
		}
		defer userDB.Close()
		u := auth.New(userDB)
		ctx := context.Background()
		if err := u.Add(ctx, "admin", "secret", true); err != nil {
			panic(err)
		}
		if err := u.Add(ctx, "guest", "guest-pw", false); err != nil {
			panic(err)
		}
		return m.Run()
	}())
}

// users returns the users of userDB, with a failed-login count of their
// own.
func users(*testing.T) *auth.Users { return auth.New(userDB) }

// door is a small front door: it names the operation of the request's
// "op" query parameter in namespace "root/test", fails it with
// WBEM_E_NOT_FOUND when "fail" is set, and otherwise answers who called.
type door struct {
	seen chan context.Context // each request's context, when not nil
}

var doorOps = []string{"Get", "Put"}

func (d *door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if d.seen != nil {
		d.seen <- ctx
	}
	rec := httpstack.RecordFrom(ctx)
	rec.SetOperation(r.URL.Query().Get("op"), "root/test")
	if _, err := io.ReadAll(r.Body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("larger than %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.URL.Query().Has("wait") {
		<-ctx.Done()
		rec.Fail(cim.ECallCancelled, context.Cause(ctx).Error())
		http.Error(w, "cancelled", http.StatusServiceUnavailable)
		return
	}
	p, ok := httpstack.PrincipalFrom(ctx)
	if !ok {
		httpstack.Unauthorized(w)
		return
	}
	if r.URL.Query().Has("fail") {
		rec.Fail(cim.ENotFound, "no such thing")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	fmt.Fprintf(w, "%s remote=%v admin=%v", p.Name, p.Remote, p.IsAdmin())
}

// serve starts d behind a Stack over real HTTP, logging JSON to the
// returned buffer.
func serve(t *testing.T, s *httpstack.Stack, d httpstack.Door, h http.Handler) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	if s.Observer == nil {
		s.Observer = httpstack.NewObserver(slog.New(slog.NewJSONHandler(logs, nil)))
	}
	srv := httptest.NewServer(s.Serve(d, h))
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

func get(t *testing.T, url, user, password string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader("body"))
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	return rsp, string(b)
}

// TestAuthenticate: Basic credentials are checked against a real user
// store; the door reads the caller from the context and never sees a
// request with missing or wrong credentials.
func TestAuthenticate(t *testing.T) {
	d := &door{}
	url, logs := serve(t, &httpstack.Stack{Auth: httpstack.Basic(users(t), slog.New(slog.DiscardHandler))},
		httpstack.Door{Name: "test", Operations: doorOps}, d)
	if rsp, body := get(t, url+"?op=Get", "admin", "secret"); rsp.StatusCode != 200 || body != "admin remote=true admin=true" {
		t.Errorf("admin: %d %q", rsp.StatusCode, body)
	}
	if rsp, body := get(t, url+"?op=Get", "guest", "guest-pw"); rsp.StatusCode != 200 || body != "guest remote=true admin=false" {
		t.Errorf("guest: %d %q", rsp.StatusCode, body)
	}
	for _, c := range [][2]string{{"admin", "wrong"}, {"nobody", "secret"}, {"", ""}} {
		rsp, body := get(t, url+"?op=Get", c[0], c[1])
		if rsp.StatusCode != 401 || rsp.Header.Get("WWW-Authenticate") != `Basic realm="wbemd"` || body != "" {
			t.Errorf("%q/%q: %d %q %q", c[0], c[1], rsp.StatusCode, rsp.Header.Get("WWW-Authenticate"), body)
		}
	}
	// Refused requests are logged too, without an operation: the door
	// never saw them.
	reqs := logs.requests(t)
	if len(reqs) != 5 {
		t.Fatalf("%d access log lines, want 5", len(reqs))
	}
	for _, l := range reqs[2:] {
		if l["code"] != 401.0 || l["op"] != "" || l["user"] != "" {
			t.Errorf("refused request logged as %v", l)
		}
	}
}

// TestNilAuthenticator: a Stack without an authenticator refuses every
// request with 401 (it does not panic), except those the door admits
// anonymously, which reach it without a caller.
func TestNilAuthenticator(t *testing.T) {
	d := &door{}
	url, _ := serve(t, &httpstack.Stack{}, httpstack.Door{Name: "test",
		Anonymous: func(r *http.Request) bool { return r.URL.Query().Has("anonymous") }}, d)
	for _, user := range []string{"", "admin"} {
		if rsp, body := get(t, url, user, "secret"); rsp.StatusCode != 401 || rsp.Header.Get("WWW-Authenticate") == "" || body != "" {
			t.Errorf("user %q: %d %q", user, rsp.StatusCode, body)
		}
	}
	// Admitted anonymously: the door has no caller, and refuses itself.
	if rsp, _ := get(t, url+"?anonymous", "admin", "secret"); rsp.StatusCode != 401 {
		t.Errorf("anonymous: %d", rsp.StatusCode)
	}
	// An Authenticate filter alone (no Observe) also carries the caller.
	h := httpstack.Authenticate(func(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }, nil, d)
	srv := httptest.NewServer(h)
	defer srv.Close()
	if rsp, body := get(t, srv.URL, "", ""); rsp.StatusCode != 200 || body != "root remote=true admin=true" {
		t.Errorf("without Observe: %d %q", rsp.StatusCode, body)
	}
}

// TestPeerCredentials: over a Unix socket the caller is the peer's user,
// whatever the request says; over TCP PeerCredentials asks the next
// authenticator.
func TestPeerCredentials(t *testing.T) {
	d := &door{}
	h := (&httpstack.Stack{Auth: httpstack.PeerCredentials(httpstack.Basic(users(t), quiet))}).Serve(httpstack.Door{Name: "test"}, d)
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnContext: httpstack.ConnContext}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	rsp, err := client.Post("http://local/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != 200 || !strings.HasPrefix(string(b), peerName()+" remote=true") {
		t.Errorf("over the socket: %d %q, want the peer %s", rsp.StatusCode, b, peerName())
	}
	tcp := httptest.NewServer(h)
	defer tcp.Close()
	if rsp, _ := get(t, tcp.URL, "", ""); rsp.StatusCode != 401 {
		t.Errorf("over TCP without credentials: %d", rsp.StatusCode)
	}
	if rsp, body := get(t, tcp.URL, "guest", "guest-pw"); rsp.StatusCode != 200 || !strings.HasPrefix(body, "guest ") {
		t.Errorf("over TCP as guest: %d %q", rsp.StatusCode, body)
	}
}

// TestRequestID: every answer carries a new request id, the one the door
// reads from its context and the one the access log line names.
func TestRequestID(t *testing.T) {
	d := &door{seen: make(chan context.Context, 10)}
	url, logs := serve(t, &httpstack.Stack{Auth: httpstack.Basic(users(t), quiet)}, httpstack.Door{Name: "test", Operations: doorOps}, d)
	ids := map[string]bool{}
	for i := 0; i < 5; i++ {
		rsp, _ := get(t, url+"?op=Get", "admin", "secret")
		id := rsp.Header.Get(httpstack.HeaderRequestID)
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9]+$`).MatchString(id) || ids[id] {
			t.Fatalf("request id %q (seen: %v)", id, ids)
		}
		ids[id] = true
		if got := httpstack.RequestIDFrom(<-d.seen); got != id {
			t.Errorf("the door's request id %q, the answer's %q", got, id)
		}
		if l := logs.requests(t)[i]; l["id"] != id {
			t.Errorf("logged id %v, answered %q", l["id"], id)
		}
	}
	// A refused request has an id too.
	if rsp, _ := get(t, url, "admin", "wrong"); rsp.Header.Get(httpstack.HeaderRequestID) == "" {
		t.Error("a 401 without a request id")
	}
	if httpstack.RequestIDFrom(context.Background()) != "" {
		t.Error("a request id outside the filters")
	}
}

// TestAccessLog: successful and failed requests are each logged once, in
// JSON, with what the door reported.
func TestAccessLog(t *testing.T) {
	d := &door{}
	url, logs := serve(t, &httpstack.Stack{Auth: httpstack.Basic(users(t), quiet)}, httpstack.Door{Name: "test", Operations: doorOps}, d)
	ok, _ := get(t, url+"/x?op=Get", "guest", "guest-pw")
	failed, _ := get(t, url+"/y?op=Put&fail", "admin", "secret")
	reqs := logs.requests(t)
	if len(reqs) != 2 {
		t.Fatalf("%d access log lines, want 2: %v", len(reqs), reqs)
	}
	check := func(l map[string]any, want map[string]any) {
		t.Helper()
		for k, v := range want {
			if l[k] != v {
				t.Errorf("%s = %v (%T), want %v in %v", k, l[k], l[k], v, l)
			}
		}
		if d, ok := l["duration"].(float64); !ok || d <= 0 {
			t.Errorf("duration %v", l["duration"])
		}
	}
	check(reqs[0], map[string]any{"level": "INFO", "id": ok.Header.Get(httpstack.HeaderRequestID), "door": "test", "method": "POST", "path": "/x",
		"user": "guest", "op": "Get", "namespace": "root/test", "code": 200.0, "bytes": 29.0})
	if _, has := reqs[0]["status"]; has {
		t.Errorf("a success logged with a status: %v", reqs[0])
	}
	check(reqs[1], map[string]any{"level": "INFO", "id": failed.Header.Get(httpstack.HeaderRequestID), "path": "/y", "user": "admin", "op": "Put",
		"namespace": "root/test", "code": 404.0, "status": "WBEM_E_NOT_FOUND", "error": "no such thing"})
	if r, _ := reqs[0]["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
		t.Errorf("remote %q", r)
	}
}

// TestAbortedLogged: a door that abandons its answer (the
// http.ErrAbortHandler of a stream cut short) is logged, as a warning.
func TestAbortedLogged(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpstack.RecordFrom(r.Context()).SetOperation("Get", "root/test")
		w.Write([]byte("partial"))
		panic(http.ErrAbortHandler)
	})
	url, logs := serve(t, &httpstack.Stack{Auth: httpstack.Basic(users(t), quiet)}, httpstack.Door{Name: "test", Operations: doorOps}, h)
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth("admin", "secret")
	if rsp, err := http.DefaultClient.Do(req); err == nil {
		io.ReadAll(rsp.Body)
		rsp.Body.Close()
	}
	reqs := logs.requests(t)
	if len(reqs) != 1 || reqs[0]["aborted"] != true || reqs[0]["level"] != "WARN" || reqs[0]["op"] != "Get" {
		t.Errorf("aborted request logged as %v", reqs)
	}
}

// TestTimeout: past the operation timeout the door's context ends with
// context.DeadlineExceeded.
func TestTimeout(t *testing.T) {
	d := &door{}
	url, logs := serve(t, &httpstack.Stack{Auth: httpstack.Basic(users(t), quiet), OperationTimeout: 50 * time.Millisecond},
		httpstack.Door{Name: "test", Operations: doorOps}, d)
	if rsp, body := get(t, url+"?op=Get&wait", "admin", "secret"); rsp.StatusCode != 503 {
		t.Errorf("past the timeout: %d %q", rsp.StatusCode, body)
	}
	if l := logs.requests(t); len(l) != 1 || l[0]["status"] != "WBEM_E_CALL_CANCELLED" || l[0]["error"] != context.DeadlineExceeded.Error() || l[0]["level"] != "WARN" {
		t.Errorf("logged as %v", l)
	}
}

// TestMaxBytes: a body over the limit fails the door's read with an
// *http.MaxBytesError naming the limit.
func TestMaxBytes(t *testing.T) {
	d := &door{}
	url, _ := serve(t, &httpstack.Stack{Auth: httpstack.Basic(users(t), quiet), MaxRequest: 1000}, httpstack.Door{Name: "test"}, d)
	post := func(n int) (int, string) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(strings.Repeat("x", n)))
		req.SetBasicAuth("admin", "secret")
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		return rsp.StatusCode, string(b)
	}
	if code, body := post(1000); code != 200 {
		t.Errorf("at the limit: %d %q", code, body)
	}
	if code, body := post(1001); code != 413 || !strings.Contains(body, "larger than 1000 bytes") {
		t.Errorf("over the limit: %d %q", code, body)
	}
}

// series returns the metric series /metrics would show.
func series(o *httpstack.Observer) []string {
	var b strings.Builder
	o.WriteMetrics(&b)
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			name, _, _ := strings.Cut(l, " ")
			out = append(out, name)
		}
	}
	return out
}

// TestMetricsBounded: operation names a door did not declare count under
// one label, so 1,000 requests with random names add no series.
func TestMetricsBounded(t *testing.T) {
	o := httpstack.NewObserver(slog.New(slog.DiscardHandler))
	d := &door{}
	url, _ := serve(t, &httpstack.Stack{Observer: o, Auth: httpstack.Basic(users(t), quiet)},
		httpstack.Door{Name: "test", MetricsPrefix: "T.", Operations: doorOps}, d)
	get(t, url+"?op=Get", "admin", "secret")
	get(t, url+"?op=Put&fail", "admin", "secret")
	get(t, url+"?op=Bogus&fail", "admin", "secret")
	before := series(o)
	text := strings.Join(before, "\n")
	for _, want := range []string{`wbemd_requests_total{operation="T.Get"}`, `wbemd_requests_total{operation="T.Put"}`,
		`wbemd_requests_total{operation="T.other"}`, `wbemd_errors_total{status="WBEM_E_NOT_FOUND"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	for i := 0; i < 1000; i++ {
		get(t, fmt.Sprintf("%s?op=M%016x&fail", url, rand.Uint64()), "admin", "secret")
	}
	after := series(o)
	if strings.Join(after, "\n") != text {
		t.Errorf("%d series before, %d after 1,000 random operation names", len(before), len(after))
	}
	var b strings.Builder
	o.WriteMetrics(&b)
	for _, want := range []string{`wbemd_requests_total{operation="T.other"} 1001`, `wbemd_errors_total{status="WBEM_E_NOT_FOUND"} 1002`,
		`wbemd_request_duration_seconds_count{operation="T.Get"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in\n%s", want, b.String())
		}
	}
}

// TestAccessLogText: an Observer that writes its access lines itself
// (WriteText) writes what its TextHandler would, but for the time and the
// duration, and nothing through the handler.
func TestAccessLogText(t *testing.T) {
	lines := func(direct bool) []string {
		var viaLog, viaText syncBuffer
		o := httpstack.NewObserver(slog.New(slog.NewTextHandler(&viaLog, nil)))
		if direct {
			o.WriteText(&viaText)
		}
		url, _ := serve(t, &httpstack.Stack{Observer: o, Auth: httpstack.Basic(users(t), quiet)}, httpstack.Door{Name: "test", Operations: doorOps}, &door{})
		get(t, url+"/x?op=Get", "guest", "guest-pw")
		get(t, url+"/y?op=Put&fail", "admin", "secret")
		out := viaLog.String()
		if direct {
			if out != "" {
				t.Errorf("written through the handler too: %s", out)
			}
			out = viaText.String()
		}
		var got []string
		for l := range strings.Lines(out) {
			f := strings.Fields(l)
			var keep []string
			for _, kv := range f {
				if k, _, _ := strings.Cut(kv, "="); k != "time" && k != "duration" && k != "id" && k != "remote" {
					keep = append(keep, kv)
				}
			}
			got = append(got, strings.Join(keep, " "))
		}
		return got
	}
	viaLog, direct := lines(false), lines(true)
	if len(direct) != 2 || strings.Join(viaLog, "\n") != strings.Join(direct, "\n") {
		t.Errorf("written directly:\n%s\nthrough slog:\n%s", strings.Join(direct, "\n"), strings.Join(viaLog, "\n"))
	}
}
