package cimom

import (
	"context"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store/bolt"
)

// TestSubscribeClasses: while every subscription names the classes it
// wants, the feed's reader does not decode the instance events of other
// classes (those of a subclass of the key class are decoded); a later
// subscription that wants everything, from a revision before those
// writes, still gets every event, in order, and the first one loses
// nothing across the ring's restart.
func TestSubscribeClasses(t *testing.T) {
	r := repoOn(t, bolt.Options{NoSync: true}, Options{EventRing: 512})
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := func(from int64, classes ...string) <-chan Event {
		opts := SubscribeOptions{Namespace: "root/cimv2", Principal: admin, From: from, Classes: classes}
		if len(classes) > 0 {
			opts.Match = func(e *Event) bool { return e.Target != nil && e.Target.IsA(classes[0]) }
		}
		seq, err := r.c.Subscribe(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan Event, 1024)
		r.c.feed.ring.mu.Lock()
		subs := r.c.feed.ring.subs
		r.c.feed.ring.mu.Unlock()
		go func() {
			defer close(ch)
			for ev, err := range seq {
				if err != nil {
					return
				}
				ch <- ev
			}
		}()
		for { // until it reads
			r.c.feed.ring.mu.Lock()
			now := r.c.feed.ring.subs
			r.c.feed.ring.mu.Unlock()
			if now > subs {
				return ch
			}
			time.Sleep(time.Millisecond)
		}
	}
	concrete := sub(0, "Concrete")
	start := storeRev(t, r.db)
	skipped := r.c.feed.ring.undecoded.Load()
	const n = 50
	for i := range n {
		r.put(r.inst("Counter", "N", uint32(i)), FlagCreateOnly)
	}
	r.put(r.inst("Concrete", "Id", "c1"), FlagCreateOnly)
	if ev := nextEvent(t, concrete); ev.Class != "__InstanceCreationEvent" || ev.Target.Class != "Concrete" {
		t.Fatalf("first event: %s of %v", ev.Class, ev.Target)
	}
	if got := r.c.feed.ring.undecoded.Load() - skipped; got != n {
		t.Errorf("%d instance events not decoded, want the %d of Counter", got, n)
	}

	all := sub(start)
	for i := range n + 1 {
		ev := nextEvent(t, all)
		want, key := "Counter", "N"
		if i == n {
			want, key = "Concrete", "Id"
		}
		v, _ := ev.Target.Get(key)
		if ev.Class != "__InstanceCreationEvent" || ev.Target.Class != want || i < n && v.V != uint32(i) {
			t.Fatalf("event %d: %s of %s %v, want the creation of %s %d", i, ev.Class, ev.Target.Class, v.V, want, i)
		}
	}
	skipped = r.c.feed.ring.undecoded.Load()
	r.put(r.inst("Counter", "N", uint32(n)), FlagCreateOnly)
	r.put(r.inst("Concrete", "Id", "c2"), FlagCreateOnly)
	for _, want := range []string{"Counter", "Concrete"} {
		if ev := nextEvent(t, all); ev.Target.Class != want {
			t.Fatalf("after the first events: %s of %s, want %s", ev.Class, ev.Target.Class, want)
		}
	}
	if ev := nextEvent(t, concrete); ev.Target.Class != "Concrete" {
		t.Fatalf("second event: %s of %s", ev.Class, ev.Target.Class)
	} else if id, _ := ev.Target.Get("Id"); id.V != "c2" {
		t.Fatalf("second event: %v, want c2 (none lost, none twice)", id.V)
	}
	if got := r.c.feed.ring.undecoded.Load() - skipped; got != 0 {
		t.Errorf("%d instance events not decoded while a subscription wants every one", got)
	}
}
