package wsman

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store/bolt"
)

// eventingSeeds are WS-Eventing requests as clients send them.
func eventingSeeds() []msg {
	const wse = ` xmlns:wse="` + nsWSE + `"`
	return []msg{
		{action: actSubscribe, uri: diskURI, body: `<wse:Subscribe` + wse + `><wse:Delivery Mode="` + deliveryPull + `"><wsman:Heartbeats>PT10S</wsman:Heartbeats></wse:Delivery><wse:Expires>PT5M</wse:Expires><wsman:Filter Dialect="` + dialectWQL + `">SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Sample_Disk'</wsman:Filter><wsman:SendBookmarks/><wsman:Bookmark>42.3</wsman:Bookmark></wse:Subscribe>`},
		{action: actSubscribe, uri: diskURI, body: `<wse:Subscribe` + wse + `><wse:Delivery Mode="` + deliveryPush + `"/><wsman:Filter>SELECT * FROM __InstanceDeletionEvent</wsman:Filter><wsman:Bookmark>` + bookmarkEarliest + `</wsman:Bookmark></wse:Subscribe>`},
		{action: actSubscribe, uri: diskURI, body: `<wse:Subscribe` + wse + `><wse:Delivery Mode="` + deliveryEvents + `"><wse:NotifyTo><wsa:Address>http://127.0.0.1:1/x</wsa:Address></wse:NotifyTo><wsman:MaxElements>5</wsman:MaxElements></wse:Delivery><wsman:Filter Dialect="` + dialectWQL + `">SELECT * FROM __InstanceDeletionEvent</wsman:Filter></wse:Subscribe>`},
		{action: actRenewSub, uri: diskURI, headers: `<wse:Identifier` + wse + `>uuid:1</wse:Identifier>`, body: `<wse:Renew` + wse + `><wse:Expires>PT1M</wse:Expires></wse:Renew>`},
		{action: actGetStatusSub, uri: diskURI, headers: `<wse:Identifier` + wse + `>uuid:1</wse:Identifier>`, body: `<wse:GetStatus` + wse + `/>`},
		{action: actUnsubscribe, uri: diskURI, headers: `<wse:Identifier` + wse + `>uuid:1</wse:Identifier>`, body: `<wse:Unsubscribe` + wse + `/>`},
	}
}

// TestDecodeEventing: the WS-Eventing requests decode into what they say,
// and malformed ones are faults.
func TestDecodeEventing(t *testing.T) {
	seeds := eventingSeeds()
	decode := func(m msg) *request {
		t.Helper()
		doc, _ := m.build()
		env, err := decodeEnvelope(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		return &request{env: env}
	}
	r, err := decodeSubscribe(decode(seeds[0]))
	if err != nil || r.heartbeats.Seconds() != 10 || r.life.Minutes() != 5 || !r.sendBookmarks || r.bookmark != (bookmark{rev: 42, n: 3}) || !strings.Contains(r.query, "ISA 'Sample_Disk'") {
		t.Errorf("subscribe: %+v %v", r, err)
	}
	if _, err := decodeSubscribe(decode(seeds[1])); !isFault(err, faultDeliveryMode) {
		t.Errorf("push mode: %v", err)
	}
	if r, err := decodeSubscribe(decode(seeds[2])); err != nil || r.mode != deliveryEvents || r.notifyTo != "http://127.0.0.1:1/x" || r.maxElements != 5 {
		t.Errorf("events mode: %+v %v", r, err)
	}
	if rr, err := decodeRenew(decode(seeds[3])); err != nil || rr.id != "uuid:1" || rr.life.Minutes() != 1 {
		t.Errorf("renew: %+v %v", rr, err)
	}
	for _, bad := range []string{"", "x", "0", "-3", "4.0", "4.x", "99999999999999999999"} {
		if _, err := parseBookmark(bad); !isFault(err, faultInvalidBookmark) {
			t.Errorf("bookmark %q: %v", bad, err)
		}
	}
}

func isFault(err error, k *faultKind) bool {
	var f *Fault
	return errors.As(err, &f) && f.kind == k
}

// FuzzDecodeEventing: any WS-Eventing request decodes or is a fault, and
// a bookmark that parses prints as itself.
func FuzzDecodeEventing(f *testing.F) {
	for _, m := range eventingSeeds() {
		doc, _ := m.build()
		f.Add(doc)
	}
	f.Add("42.7")
	f.Fuzz(func(t *testing.T, doc string) {
		if b, err := parseBookmark(doc); err == nil && !b.earliest {
			if again, err := parseBookmark(b.String()); err != nil || again != b {
				t.Fatalf("bookmark %q prints as %q, which reads as %+v %v", doc, b.String(), again, err)
			}
		}
		env, err := decodeEnvelope(strings.NewReader(doc))
		if err != nil {
			return
		}
		req := &request{env: env}
		for _, err := range []error{errOf(decodeSubscribe(req)), errOf(decodeRenew(req)), errOf(decodeIdentified(req))} {
			var fault *Fault
			if err != nil && !errors.As(err, &fault) {
				t.Fatalf("an error that is no fault: %v", err)
			}
		}
	})
}

func errOf[T any](_ T, err error) error { return err }

// TestEventingPastRetention: a Pull subscription whose events the change
// feed no longer holds ends with wsman:InvalidBookmark at its next Pull
// (never a silent gap), and a Subscribe from a bookmark older than the
// feed is refused with it, naming the earliest bookmark.
func TestEventingPastRetention(t *testing.T) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "test", EventRing: 16})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Connector: om, Host: "test", Events: om}
	stack := &httpstack.Stack{Auth: func(r *http.Request) (cimom.Principal, bool) {
		n, p, ok := r.BasicAuth()
		return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
	}}
	srv := httptest.NewServer(stack.Serve(h.Door(), h))
	t.Cleanup(func() { srv.Close(); h.Close(); om.Close(ctx); db.Close() })
	svc, err := om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	key := cim.Qualifier{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}
	if err := svc.PutClass(ctx, &cim.Object{Genus: cim.GenusClass, Class: "Item", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{key}}}}, 0, nil); err != nil {
		t.Fatal(err)
	}
	item := func(id string) {
		cls, _ := svc.GetObject(ctx, "Item", 0, nil)
		o, _ := cls.SpawnInstance()
		o.Put("Id", cim.Value{Type: cim.TypeString, V: id})
		if _, err := svc.PutInstance(ctx, o, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	uri := "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Item"
	subscribe := func(extra string) (int, string) {
		env, _ := msg{action: actSubscribe, uri: uri, body: `<wse:Subscribe xmlns:wse="` + nsWSE + `"><wse:Delivery Mode="` + deliveryPull + `"/><wsman:Filter Dialect="` + dialectWQL +
			`">SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'</wsman:Filter><wsman:SendBookmarks/>` + extra + `</wse:Subscribe>`}.build()
		return post(t, srv.URL, env)
	}
	code, body := subscribe("")
	m := regexp.MustCompile(`<wse:Identifier>([^<]+)<`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	item("first")
	pull := func() (int, string) {
		env, _ := msg{action: actPull, uri: uri, body: `<wsen:Pull><wsen:EnumerationContext>` + m[1] + `</wsen:EnumerationContext><wsen:MaxElements>1</wsen:MaxElements><wsen:MaxTime>PT2S</wsen:MaxTime></wsen:Pull>`}.build()
		return post(t, srv.URL, env)
	}
	if code, body := pull(); code != 200 || !strings.Contains(body, ">first<") {
		t.Fatalf("first pull: %d %s", code, body)
	}
	for i := range 600 { // past the ring of 16, the reader's channel of 64 and what a subscription reading the store holds (256)
		item(fmt.Sprint("more", i))
	}
	rev, _ := db.Rev(ctx)
	if err := db.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	var last string
	for range 200 {
		code, body := pull()
		last = body
		if code != 200 {
			if !strings.Contains(body, "InvalidBookmark") || !strings.Contains(body, "no longer holds") {
				t.Fatalf("the pull past retention: %d %s", code, body)
			}
			break
		}
	}
	if !strings.Contains(last, "InvalidBookmark") {
		t.Fatalf("every pull succeeded past retention; last: %s", last)
	}
	if code, body := subscribe("<wsman:Bookmark>2</wsman:Bookmark>"); code != 400 || !strings.Contains(body, "InvalidBookmark") || !strings.Contains(body, "earliest") {
		t.Errorf("a bookmark older than the feed: %d %s", code, body)
	}
}
