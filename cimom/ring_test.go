package cimom

import (
	"context"
	"strconv"
	"testing"

	"github.com/wbemd/wbemd/store/bolt"
)

// TestRingLetsReadEventsGo: of the events every subscription has read, the
// ring keeps only its tail (a sixteenth of its size); a subscription from
// a revision the ring let go reads those events from the store, in order.
func TestRingLetsReadEventsGo(t *testing.T) {
	r := repoOn(t, bolt.Options{NoSync: true}, Options{EventRing: 64})
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := storeRev(t, r.db)
	stream := func(ctx context.Context, from int64) <-chan Event {
		ch, err := subscribeWith(ctx, r.c, SubscribeOptions{Namespace: "root/cimv2", Principal: admin, From: from})
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	read := func(ch <-chan Event, n int) []Event {
		t.Helper()
		var got []Event
		for ev := range ch {
			if got = append(got, ev); len(got) == n {
				return got
			}
		}
		t.Fatalf("the subscription ended after %d events", len(got))
		return nil
	}
	const n = 40
	events := stream(ctx, start)
	for i := range n {
		r.put(r.inst("Item", "Id", "i"+strconv.Itoa(i), "Size", uint32(i)), FlagCreateOnly)
	}
	first := read(events, n)
	ring := &r.c.feed.ring
	ring.mu.Lock()
	held, tail := ring.next-ring.first, ring.tail
	ring.mu.Unlock()
	if held > uint64(tail) {
		t.Errorf("the ring holds %d events its subscription read; its tail is %d", held, tail)
	}
	actx, stop := context.WithCancel(ctx)
	defer stop()
	again := read(stream(actx, start), n)
	for i := range n {
		if again[i].Rev != first[i].Rev || again[i].Index != first[i].Index {
			t.Fatalf("event %d: %d.%d from the store, %d.%d from the ring", i, again[i].Rev, again[i].Index, first[i].Rev, first[i].Index)
		}
		if v, _ := again[i].Target.Get("Size"); v.V != uint32(i) {
			t.Fatalf("event %d: Size %v", i, v.V)
		}
	}
}
