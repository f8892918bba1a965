package wsman

import (
	"errors"
	"strings"
	"testing"
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
