package wsman

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// TestEventingTimerEvents: a WS-Eventing Pull subscription to
// __TimerEvent receives the events of an __IntervalTimerInstruction
// written in its namespace, with TimerId and NumFirings, and its bookmark
// stays the subscription's place in the change feed (a timer event is
// not in it).
func TestEventingTimerEvents(t *testing.T) {
	ctx := context.Background()
	s := startEventing(t, filepath.Join(t.TempDir(), "r.db"))
	db, srv := s.db, s.srv
	svc, err := s.om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := db.Rev(ctx)
	uri := "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*"
	env, _ := msg{action: actSubscribe, uri: uri, body: `<wse:Subscribe xmlns:wse="` + nsWSE + `"><wse:Delivery Mode="` + deliveryPull + `"/><wsman:Filter Dialect="` + dialectWQL +
		`">SELECT * FROM __TimerEvent WHERE TimerId = 'w1'</wsman:Filter><wsman:SendBookmarks/></wse:Subscribe>`}.build()
	code, body := post(t, srv.URL, env)
	m := regexp.MustCompile(`<wse:Identifier>([^<]+)<`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("subscribe: %d %s", code, body)
	}
	cls, err := svc.GetObject(ctx, cimom.IntervalTimerClass, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w1", "w2"} {
		o, _ := cls.SpawnInstance()
		o.Put("TimerId", cim.Value{Type: cim.TypeString, V: id})
		o.Put("IntervalBetweenEvents", cim.Value{Type: cim.TypeUint32, V: uint32(50)})
		if _, err := svc.PutInstance(ctx, o, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		env, _ := msg{action: actPull, uri: uri, body: `<wsen:Pull><wsen:EnumerationContext>` + m[1] + `</wsen:EnumerationContext><wsen:MaxElements>1</wsen:MaxElements><wsen:MaxTime>PT20S</wsen:MaxTime></wsen:Pull>`}.build()
		code, body := post(t, srv.URL, env)
		if code != 200 || !strings.Contains(body, "__TimerEvent") || !strings.Contains(body, ">w1<") || strings.Contains(body, ">w2<") || !strings.Contains(body, "NumFirings>") {
			t.Fatalf("pull: %d %s", code, body)
		}
		b := regexp.MustCompile(`<wsman:Bookmark>([^<]+)<`).FindStringSubmatch(body)
		if b == nil || b[1] != (bookmark{rev: start}).String() {
			t.Errorf("bookmark %v, want the subscription's start %d: %s", b, start, body)
		}
	}
}
