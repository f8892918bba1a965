package wsman

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store/bolt"
)

// eventingServer is one life of wbemd's WS-Man door on a repository file.
type eventingServer struct {
	db  *bolt.DB
	om  *cimom.CIMOM
	h   *Handler
	srv *httptest.Server
}

// startEventing opens the repository at path and serves WS-Man with
// durable subscriptions, restoring those it holds.
func startEventing(t *testing.T, path string) *eventingServer {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s := &eventingServer{db: db, om: om, h: &Handler{Connector: om, Host: "test", Events: om, Subscriptions: om}}
	if err := s.h.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	stack := &httpstack.Stack{Auth: func(r *http.Request) (cimom.Principal, bool) {
		n, p, ok := r.BasicAuth()
		return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
	}}
	s.srv = httptest.NewServer(stack.Serve(s.h.Door(), s.h))
	t.Cleanup(s.stop)
	return s
}

// stop stops the server as wbemd stops (again is harmless).
func (s *eventingServer) stop() {
	if s.db == nil {
		return
	}
	s.srv.Close()
	s.h.Close()
	s.om.Close(context.Background())
	s.db.Close()
	s.db = nil
}

// item creates an Item (its class made on first use).
func (s *eventingServer) item(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	svc, err := s.om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := svc.GetObject(ctx, "Item", 0, nil)
	if cim.StatusOf(err) == cim.ENotFound || cim.StatusOf(err) == cim.EInvalidClass {
		key := cim.Qualifier{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}
		if err := svc.PutClass(ctx, &cim.Object{Genus: cim.GenusClass, Class: "Item", Properties: []cim.Property{
			{Name: "Id", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{key}}}}, 0, nil); err != nil {
			t.Fatal(err)
		}
		cls, err = svc.GetObject(ctx, "Item", 0, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	o, _ := cls.SpawnInstance()
	o.Put("Id", cim.Value{Type: cim.TypeString, V: id})
	if _, err := svc.PutInstance(ctx, o, 0, nil); err != nil {
		t.Fatal(err)
	}
}

const itemURI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Item"

var (
	idRE   = regexp.MustCompile(`<wse:Identifier>([^<]+)<`)
	itemRE = regexp.MustCompile(`<e1:Id>([^<]+)</e1:Id>`)
)

// subscribe makes a subscription to Item creations with the delivery
// and extra elements given, and returns its identifier.
func (s *eventingServer) subscribe(t *testing.T, delivery, extra string) string {
	t.Helper()
	env, _ := msg{action: actSubscribe, uri: itemURI, body: `<wse:Subscribe xmlns:wse="` + nsWSE + `">` + delivery + `<wsman:Filter Dialect="` + dialectWQL +
		`">SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'</wsman:Filter><wsman:SendBookmarks/>` + extra + `</wse:Subscribe>`}.build()
	code, body := post(t, s.srv.URL, env)
	m := idRE.FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	return m[1]
}

// pull pulls up to max events of subscription id and returns the Ids of
// their items, or the fault's body.
func (s *eventingServer) pull(t *testing.T, id string, max int) ([]string, string) {
	t.Helper()
	env, _ := msg{action: actPull, uri: itemURI, body: fmt.Sprintf(`<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext><wsen:MaxElements>%d</wsen:MaxElements><wsen:MaxTime>PT1S</wsen:MaxTime></wsen:Pull>`, id, max)}.build()
	code, body := post(t, s.srv.URL, env)
	if code != 200 {
		return nil, body
	}
	var ids []string
	for _, m := range itemRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids, ""
}

// TestEventingRestart: WS-Eventing subscriptions survive a restart of
// wbemd. A Pull subscriber pulls with its EnumerationContext of before
// the restart and receives, in order, the events it had not acknowledged
// (those of its last PullResponse, and the writes made while wbemd was
// down); a push subscription's receiver gets the writes made while wbemd
// was down, without a SubscriptionEnd at the stop; a subscription that
// expired while wbemd was down is deleted, as is one unsubscribed;
// another node sharing the store reopens none of them.
func TestEventingRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	s := startEventing(t, path)
	s.item(t, "before") // makes the class; no subscription sees it

	var mu sync.Mutex
	var pushed []string
	var actions []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range itemRE.FindAllStringSubmatch(string(b), -1) {
			pushed = append(pushed, m[1])
		}
		if m := regexp.MustCompile(`<wsa:Action[^>]*>([^<]+)<`).FindStringSubmatch(string(b)); m != nil {
			actions = append(actions, m[1])
		}
	}))
	defer recv.Close()
	received := func(want []string) []string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			got := slices.Clone(pushed)
			mu.Unlock()
			if len(got) >= len(want) || time.Now().After(deadline) {
				return got
			}
		}
	}

	pullID := s.subscribe(t, `<wse:Delivery Mode="`+deliveryPull+`"/><wse:Expires>PT5M</wse:Expires>`, "")
	pushID := s.subscribe(t, `<wse:Delivery Mode="`+deliveryPush+`"><wse:NotifyTo><wsa:Address>`+recv.URL+`/push</wsa:Address></wse:NotifyTo></wse:Delivery><wse:EndTo><wsa:Address>`+recv.URL+`/end</wsa:Address></wse:EndTo><wse:Expires>PT5M</wse:Expires>`, "")
	shortID := s.subscribe(t, `<wse:Delivery Mode="`+deliveryPull+`"/><wse:Expires>PT1S</wse:Expires>`, "")
	goneID := s.subscribe(t, `<wse:Delivery Mode="`+deliveryPull+`"/><wse:Expires>PT5M</wse:Expires>`, "")
	env, _ := msg{action: actUnsubscribe, uri: itemURI, headers: `<wse:Identifier xmlns:wse="` + nsWSE + `">` + goneID + `</wse:Identifier>`, body: `<wse:Unsubscribe xmlns:wse="` + nsWSE + `"/>`}.build()
	if code, body := post(t, s.srv.URL, env); code != 200 {
		t.Fatalf("unsubscribe: %d %s", code, body)
	}
	for _, id := range []string{"a", "b", "c"} {
		s.item(t, id)
	}
	if got, fault := s.pull(t, pullID, 2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first pull: %v %s", got, fault)
	}
	if got, fault := s.pull(t, pullID, 2); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("second pull: %v %s", got, fault)
	}
	if got := received([]string{"a", "b", "c"}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("pushed before the restart: %v", got)
	}
	time.Sleep(2 * saveEvery) // the cursors written
	s.stop()
	time.Sleep(1200 * time.Millisecond) // the short subscription expires while wbemd is down

	// Writes while the WS-Man door is down: the repository alone.
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(context.Background(), db, cimom.Options{Server: "test"})
	if err != nil {
		t.Fatal(err)
	}
	(&eventingServer{db: db, om: om}).item(t, "d")
	(&eventingServer{db: db, om: om}).item(t, "e")
	om.Close(context.Background())
	db.Close()

	s = startEventing(t, path)
	var got []string
	for range 10 {
		ids, fault := s.pull(t, pullID, 10)
		if fault != "" && !strings.Contains(fault, "TimedOut") {
			t.Fatalf("a pull after the restart: %s", fault)
		}
		if got = append(got, ids...); len(got) >= 3 {
			break
		}
	}
	// c was in the last PullResponse, which no Pull acknowledged.
	if !slices.Equal(got, []string{"c", "d", "e"}) {
		t.Errorf("pulled after the restart: %v, want [c d e]", got)
	}
	if got := received([]string{"a", "b", "c", "d", "e"}); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("pushed across the restart: %v", got)
	}
	mu.Lock()
	if slices.ContainsFunc(actions, func(a string) bool { return strings.HasSuffix(a, "SubscriptionEnd") }) {
		t.Errorf("a SubscriptionEnd was sent at the stop of a kept subscription: %v", actions)
	}
	mu.Unlock()
	for _, id := range []string{shortID, goneID} {
		if _, fault := s.pull(t, id, 1); !strings.Contains(fault, "InvalidEnumerationContext") {
			t.Errorf("a pull of %s (expired or unsubscribed before the restart): %s", id, fault)
		}
	}
	// Another node on the same store reopens none of them, and deletes
	// none.
	other := &Handler{Connector: s.om, Host: "test", Events: s.om, Subscriptions: s.om, Node: "other"}
	if err := other.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := other.enums.Len(); n != 0 {
		t.Errorf("another node reopened %d subscriptions", n)
	}
	other.Close()
	subs, err := s.om.EventingSubscriptions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, sub := range subs {
		kept = append(kept, sub.ID)
	}
	slices.Sort(kept)
	want := []string{pullID, pushID}
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("stored subscriptions %v, want %v", kept, want)
	}
}

// FuzzDecodeSpec: a stored subscription's spec, read back from the
// store, is checked as its Subscribe was: any bytes give a spec that a
// Subscribe could have made, or an error, never a panic.
func FuzzDecodeSpec(f *testing.F) {
	for _, sp := range []spec{
		{URI: itemURI, Namespace: "root/cimv2", SOAP: nsSOAP12, Language: "WQL", Query: "SELECT * FROM __InstanceCreationEvent", Mode: deliveryPull, MaxElements: 32, Life: time.Minute},
		{URI: uriWMI + "root/cimv2/Item", Namespace: "root/cimv2", SOAP: nsSOAP11, Locale: "en-US", Language: "DMTF:CQL", Query: "SELECT * FROM CIM_InstCreation", Mode: deliveryEvents,
			NotifyTo: "http://127.0.0.1:1/x", EndTo: "https://h/end", MaxElements: 5, Heartbeats: time.Second, SendBookmarks: true, Life: time.Hour},
	} {
		b, _ := json.Marshal(sp)
		f.Add(b)
	}
	f.Add([]byte(`{"uri":"","mode":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sp, res, err := decodeSpec(b)
		if err != nil {
			return
		}
		if res == nil || sp.Life <= 0 || (sp.Mode == deliveryPull) != (sp.NotifyTo == "") {
			t.Fatalf("accepted %q: %+v %+v", b, sp, res)
		}
		again, _ := json.Marshal(sp)
		if sp2, _, err := decodeSpec(again); err != nil || *sp2 != *sp {
			t.Fatalf("%q: decoded %+v, again %+v %v", b, sp, sp2, err)
		}
	})
}
