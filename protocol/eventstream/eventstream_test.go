package eventstream

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store/bolt"
)

// serve runs the door over a repository on disk, behind the HTTP stack,
// for the administrator root.
func serve(t *testing.T) (*cimom.CIMOM, cimom.Services, *httptest.Server) {
	om, svc, srv, _ := serveHandler(t)
	return om, svc, srv
}

// serveHandler is serve, with the door's handler.
func serveHandler(t *testing.T) (*cimom.CIMOM, cimom.Services, *httptest.Server, *Handler) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "repo.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(context.Background(), db, cimom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := New(om, Options{})
	stack := &httpstack.Stack{Auth: func(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }}
	srv := httptest.NewServer(stack.Serve(h.Door(), h))
	t.Cleanup(func() {
		h.Close()
		srv.Close()
		om.Close(context.Background())
		db.Close()
	})
	svc, err := om.Connect(context.Background(), "root/cimv2", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	cls := &cim.Object{Genus: cim.GenusClass, Class: "Item", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}},
		{Name: "Size", Type: cim.TypeUint32}}}
	if err := svc.PutClass(context.Background(), cls, 0, nil); err != nil {
		t.Fatal(err)
	}
	return om, svc, srv, h
}

func put(t *testing.T, svc cimom.Services, id string, size uint32) {
	t.Helper()
	cls, _ := svc.GetObject(context.Background(), "Item", 0, nil)
	o, _ := cls.SpawnInstance()
	o.Put("Id", cim.Value{Type: cim.TypeString, V: id})
	o.Put("Size", cim.Value{Type: cim.TypeUint32, V: size})
	if _, err := svc.PutInstance(context.Background(), o, 0, nil); err != nil {
		t.Fatal(err)
	}
}

// message is one SSE message.
type message struct{ id, event, data string }

// read opens the stream and returns its messages on a channel.
func read(t *testing.T, srv *httptest.Server, v url.Values, header http.Header) (*http.Response, <-chan message) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+Path+"?"+v.Encode(), nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan message, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var m message
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				out <- m
				m = message{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.data = line[6:]
			}
		}
	}()
	return resp, out
}

func next(t *testing.T, ch <-chan message, progress bool) message {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("the stream ended")
			}
			if (m.event == "progress") == progress {
				return m
			}
		case <-timeout:
			t.Fatal("no message within 20 s")
		}
	}
}

// TestStreamResume: events carry "rev.index" ids and the cimjson event
// object; Last-Event-ID resumes after that event, inside its revision
// (a bulk write of three instances is one revision); heartbeats carry
// bookmarks.
func TestStreamResume(t *testing.T) {
	om, svc, srv := serve(t)
	ctx := context.Background()
	q := url.Values{"namespace": {"root/cimv2"}, "query": {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'"}, "heartbeat": {"0.2"}}
	resp, ch := read(t, srv, q, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	bookmark := next(t, ch, true)
	var items []*cim.Object
	cls, _ := svc.GetObject(ctx, "Item", 0, nil)
	for _, id := range []string{"a", "b", "c"} {
		o, _ := cls.SpawnInstance()
		o.Put("Id", cim.Value{Type: cim.TypeString, V: id})
		items = append(items, o)
	}
	if _, err := om.PutInstances(ctx, "root/cimv2", cimom.Principal{Name: "root"}, items, 0); err != nil {
		t.Fatal(err)
	}
	var got []message
	for range 3 {
		got = append(got, next(t, ch, false))
	}
	rev, _, _ := strings.Cut(got[0].id, ".")
	if got[0].id != rev+".0" || got[1].id != rev+".1" || got[2].id != rev+".2" || got[0].event != "__InstanceCreationEvent" {
		t.Fatalf("ids %+v", got)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(got[1].data), &obj); err != nil {
		t.Fatal(err)
	}
	if target, _ := obj["TargetInstance"].(map[string]any); target["Id"] != "b" || fmt.Sprint(obj["Revision"]) != rev {
		t.Fatalf("event object %v", obj)
	}
	_, again := read(t, srv, q, http.Header{"Last-Event-ID": {got[0].id}})
	if m := next(t, again, false); m.id != got[1].id {
		t.Fatalf("after %s: %s", got[0].id, m.id)
	}
	_, fromBookmark := read(t, srv, url.Values{"namespace": q["namespace"], "query": q["query"], "from": {bookmark.id}}, nil)
	if m := next(t, fromBookmark, false); m.id != got[0].id {
		t.Fatalf("from the bookmark %s: %s", bookmark.id, m.id)
	}
}

// TestStreamsShareEncodings: streams that deliver one event encode it
// once: three streams of two queries get the same messages for each
// creation, and the door encoded each event about once.
func TestStreamsShareEncodings(t *testing.T) {
	_, svc, srv, h := serveHandler(t)
	query := func(q string) url.Values {
		return url.Values{"namespace": {"root/cimv2"}, "query": {q}, "heartbeat": {"0.2"}}
	}
	var streams []<-chan message
	for _, q := range []string{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'",
		"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'",
		"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance.Size >= 0"} {
		_, ch := read(t, srv, query(q), nil)
		next(t, ch, true) // the stream is on
		streams = append(streams, ch)
	}
	before := h.encoded.made.Load()
	const n = 20
	for i := range n {
		put(t, svc, fmt.Sprintf("i%d", i), uint32(i))
	}
	for i := range n {
		first := next(t, streams[0], false)
		for _, ch := range streams[1:] {
			if m := next(t, ch, false); m != first {
				t.Fatalf("event %d: %+v and %+v", i, first, m)
			}
		}
		if !strings.Contains(first.data, fmt.Sprintf(`"Size":%d`, i)) {
			t.Fatalf("event %d: %s", i, first.data)
		}
	}
	// Two streams that miss the same event at once both encode it: at
	// least a third of the encodings are spared, where none is without
	// the sharing (3n).
	if made := h.encoded.made.Load() - before; made < n || made >= 2*n {
		t.Errorf("%d events encoded for %d events on 3 streams", made, n)
	}
}

// TestStreamAggregate: GROUP WITHIN ... BY ... HAVING delivers
// __AggregateEvent with NumberOfEvents and Representative, id the
// revision alone.
func TestStreamAggregate(t *testing.T) {
	_, svc, srv := serve(t)
	q := url.Values{"query": {"SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Item' GROUP WITHIN 1 BY TargetInstance.Id HAVING NumberOfEvents >= 2"}, "heartbeat": {"0.2"}}
	_, ch := read(t, srv, q, nil)
	next(t, ch, true)
	put(t, svc, "x", 1)
	put(t, svc, "y", 1)
	put(t, svc, "x", 2)
	put(t, svc, "x", 3)
	m := next(t, ch, false)
	var obj struct {
		NumberOfEvents int
		Representative struct{ TargetInstance struct{ Id string } }
	}
	if err := json.Unmarshal([]byte(m.data), &obj); err != nil {
		t.Fatal(err)
	}
	if m.event != "__AggregateEvent" || obj.NumberOfEvents != 3 || obj.Representative.TargetInstance.Id != "x" || strings.Contains(m.id, ".") {
		t.Fatalf("aggregate %+v: %s", m, m.data)
	}
}

// TestStreamRefusals: a bad query is HTTP 400 with the JSON error and
// position; validate=1 is 204; POST is refused.
func TestStreamRefusals(t *testing.T) {
	_, _, srv := serve(t)
	get := func(v url.Values) (*http.Response, map[string]any) {
		resp, err := srv.Client().Get(srv.URL + Path + "?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, body := get(url.Values{"query": {"SELECT * FROM Item"}})
	pos, _ := body["position"].(map[string]any)
	if resp.StatusCode != 400 || body["name"] != "WBEM_E_NOT_EVENT_CLASS" || pos["line"] != 1.0 || pos["column"] != 15.0 || body["status"] != float64(0x80041059) {
		t.Errorf("not an event class: %d %v", resp.StatusCode, body)
	}
	if resp, body := get(url.Values{"query": {"SELECT * FROM __InstanceCreationEvent"}, "namespace": {"root/nope"}}); resp.StatusCode != 404 || body["name"] != "WBEM_E_INVALID_NAMESPACE" {
		t.Errorf("unknown namespace: %d %v", resp.StatusCode, body)
	}
	if resp, body := get(url.Values{"query": {"SELECT * FROM __InstanceCreationEvent"}, "from": {"x.1"}}); resp.StatusCode != 400 || body["name"] != "WBEM_E_INVALID_PARAMETER" {
		t.Errorf("bad from: %d %v", resp.StatusCode, body)
	}
	if resp, _ := get(url.Values{"query": {"SELECT * FROM __InstanceCreationEvent"}, "validate": {"1"}}); resp.StatusCode != 204 {
		t.Errorf("validate: %d", resp.StatusCode)
	}
	resp, err := srv.Client().Post(srv.URL+Path, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

// BenchmarkStreamReplay measures the stream's replay of 100,000 events
// of one bulk write over HTTP, read to the end by the client: events/s.
func BenchmarkStreamReplay(b *testing.B) {
	const n = 100_000
	db, err := bolt.Open(filepath.Join(b.TempDir(), "repo.db"), bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	om, err := cimom.Open(context.Background(), db, cimom.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer om.Close(context.Background())
	h := New(om, Options{})
	defer h.Close()
	stack := &httpstack.Stack{Auth: func(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }}
	srv := httptest.NewServer(stack.Serve(h.Door(), h))
	defer srv.Close()
	ctx := context.Background()
	svc, _ := om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "root"})
	cls := &cim.Object{Genus: cim.GenusClass, Class: "Item", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}},
		{Name: "Size", Type: cim.TypeUint32}, {Name: "Note", Type: cim.TypeString}}}
	if err := svc.PutClass(ctx, cls, 0, nil); err != nil {
		b.Fatal(err)
	}
	from, _ := db.Rev(ctx)
	cls, _ = svc.GetObject(ctx, "Item", 0, nil)
	var items []*cim.Object
	for i := range n {
		o, _ := cls.SpawnInstance()
		o.Put("Id", cim.Value{Type: cim.TypeString, V: fmt.Sprint("i", i)})
		o.Put("Size", cim.Value{Type: cim.TypeUint32, V: uint32(i)})
		o.Put("Note", cim.Value{Type: cim.TypeString, V: "an item"})
		items = append(items, o)
	}
	if _, err := om.PutInstances(ctx, "root/cimv2", cimom.Principal{Name: "root"}, items, 0); err != nil {
		b.Fatal(err)
	}
	q := url.Values{"query": {"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'"}, "from": {fmt.Sprint(from)}}
	b.ResetTimer()
	for range b.N {
		resp, err := srv.Client().Get(srv.URL + Path + "?" + q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReaderSize(resp.Body, 64<<10)
		got := 0
		for got < n {
			line, err := br.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			if len(line) > 4 && string(line[:4]) == "id: " {
				got++
			}
		}
		resp.Body.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
