// Package storetest is the conformance suite every store.Store engine must
// pass: call Run from the engine's tests with a function that opens a fresh,
// empty store.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store"
)

// Opener returns a new, empty store for one subtest.
type Opener func(t *testing.T) store.Store

// Run runs the whole conformance suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"Range", testRange},
		{"RangeSnapshot", testRangeSnapshot},
		{"Compares", testCompares},
		{"Revisions", testRevisions},
		{"DeleteRange", testDeleteRange},
		{"Watch", testWatch},
		{"ConcurrentTxns", testConcurrent},
		{"CancelledContext", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
	t.Run("Closed", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Get(context.Background(), []byte("a")); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Get after Close: %v, want ErrClosed", err)
		}
		if _, err := s.Txn(context.Background(), nil, []store.Op{store.Put([]byte("a"), nil)}); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Txn after Close: %v, want ErrClosed", err)
		}
	})
}

func mustTxn(t *testing.T, s store.Store, cmps []store.Compare, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(context.Background(), cmps, ops)
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}
	return rev
}

func keys(t *testing.T, s store.Store, start, end []byte) []string {
	t.Helper()
	var out []string
	for kv, err := range s.Range(context.Background(), start, end) {
		if err != nil {
			t.Fatalf("Range: %v", err)
		}
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return out
}

func testGetPutDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, found, err := s.Get(ctx, []byte("k")); err != nil || found {
		t.Fatalf("Get of absent key: found=%v err=%v", found, err)
	}
	rev := mustTxn(t, s, nil, store.Put([]byte("k"), []byte("v1")))
	kv, found, err := s.Get(ctx, []byte("k"))
	if err != nil || !found || string(kv.Value) != "v1" || kv.ModRev != rev {
		t.Fatalf("Get = %+v %v %v, want v1 at rev %d", kv, found, err, rev)
	}
	mustTxn(t, s, nil, store.Put([]byte("k"), []byte{}))
	kv, found, _ = s.Get(ctx, []byte("k"))
	if !found || len(kv.Value) != 0 {
		t.Fatalf("empty value: found=%v value=%q", found, kv.Value)
	}
	mustTxn(t, s, nil, store.Delete([]byte("k")))
	if _, found, _ := s.Get(ctx, []byte("k")); found {
		t.Fatal("key still present after Delete")
	}
	mustTxn(t, s, nil, store.Delete([]byte("absent"))) // deleting an absent key is not an error
}

func testRange(t *testing.T, s store.Store) {
	for _, k := range []string{"b", "a", "c/1", "c/2", "c/3", "d"} {
		mustTxn(t, s, nil, store.Put([]byte(k), []byte(k)))
	}
	cases := []struct {
		start, end string
		want       string
	}{
		{"", "", "[a=a b=b c/1=c/1 c/2=c/2 c/3=c/3 d=d]"},
		{"b", "c/3", "[b=b c/1=c/1 c/2=c/2]"},
		{"c/", string(store.PrefixEnd([]byte("c/"))), "[c/1=c/1 c/2=c/2 c/3=c/3]"},
		{"e", "", "[]"},
		{"c/2", "c/2", "[]"},
	}
	for _, c := range cases {
		var start, end []byte
		if c.start != "" {
			start = []byte(c.start)
		}
		if c.end != "" {
			end = []byte(c.end)
		}
		got := fmt.Sprint(keys(t, s, start, end))
		if got == "[]" && c.want == "[]" {
			continue
		}
		if got != c.want {
			t.Errorf("Range(%q, %q) = %s, want %s", c.start, c.end, got, c.want)
		}
	}
	// Early break releases the iteration.
	for range s.Range(context.Background(), nil, nil) {
		break
	}
	mustTxn(t, s, nil, store.Put([]byte("z"), nil))
}

func testRangeSnapshot(t *testing.T, s store.Store) {
	mustTxn(t, s, nil, store.Put([]byte("a"), []byte("1")), store.Put([]byte("b"), []byte("1")))
	var seen []string
	done := make(chan struct{})
	for kv, err := range s.Range(context.Background(), nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, string(kv.Key)+"="+string(kv.Value))
		if len(seen) == 1 {
			go func() {
				defer close(done)
				if _, err := s.Txn(context.Background(), nil, []store.Op{store.Put([]byte("b"), []byte("2")), store.Put([]byte("c"), []byte("2"))}); err != nil {
					t.Error(err)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("a write blocked behind an open Range")
			}
		}
	}
	if got := fmt.Sprint(seen); got != "[a=1 b=1]" {
		t.Errorf("Range saw %s, want the snapshot [a=1 b=1]", got)
	}
}

func testCompares(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := []byte("k")
	rev := mustTxn(t, s, []store.Compare{{Key: k, ModRev: 0}}, store.Put(k, []byte("1")))
	if _, err := s.Txn(ctx, []store.Compare{{Key: k, ModRev: 0}}, []store.Op{store.Put(k, []byte("2"))}); !errors.Is(err, store.ErrCompareFailed) {
		t.Fatalf("create over existing key: %v, want ErrCompareFailed", err)
	}
	if _, err := s.Txn(ctx, []store.Compare{{Key: k, ModRev: rev + 100}}, []store.Op{store.Put(k, []byte("3")), store.Put([]byte("other"), nil)}); !errors.Is(err, store.ErrCompareFailed) {
		t.Fatalf("stale ModRev: %v, want ErrCompareFailed", err)
	}
	if _, found, _ := s.Get(ctx, []byte("other")); found {
		t.Fatal("a failed Txn wrote one of its ops")
	}
	mustTxn(t, s, []store.Compare{{Key: k, ModRev: rev}}, store.Put(k, []byte("4")))
	kv, _, _ := s.Get(ctx, k)
	if string(kv.Value) != "4" {
		t.Fatalf("value %q, want 4", kv.Value)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	ctx := context.Background()
	r0, err := s.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r1 := mustTxn(t, s, nil, store.Put([]byte("a"), nil), store.Put([]byte("b"), nil))
	r2 := mustTxn(t, s, nil, store.Put([]byte("a"), nil))
	if r1 != r0+1 || r2 != r1+1 {
		t.Fatalf("revisions %d, %d after %d: want one per Txn", r1, r2, r0)
	}
	if kv, _, _ := s.Get(ctx, []byte("b")); kv.ModRev != r1 {
		t.Errorf("ModRev of b = %d, want %d", kv.ModRev, r1)
	}
	if r, _ := s.Rev(ctx); r != r2 {
		t.Errorf("Rev = %d, want %d", r, r2)
	}
}

func testDeleteRange(t *testing.T, s store.Store) {
	for _, k := range []string{"p/1", "p/2", "p/3", "q"} {
		mustTxn(t, s, nil, store.Put([]byte(k), []byte("x")))
	}
	mustTxn(t, s, nil, store.DeletePrefix([]byte("p/")))
	if got := fmt.Sprint(keys(t, s, nil, nil)); got != "[q=x]" {
		t.Errorf("after DeletePrefix: %s", got)
	}
}

func testWatch(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r1 := mustTxn(t, s, nil, store.Put([]byte("w/a"), []byte("1")))
	mustTxn(t, s, nil, store.Put([]byte("other"), []byte("1")))
	evs := make(chan store.Event, 100)
	errs := make(chan error, 1)
	go func() {
		for ev, err := range s.Watch(ctx, []byte("w/"), r1-1) {
			if err != nil {
				errs <- err
				return
			}
			evs <- ev
		}
	}()
	next := func() store.Event {
		t.Helper()
		select {
		case ev := <-evs:
			return ev
		case err := <-errs:
			t.Fatalf("Watch: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("Watch delivered nothing")
		}
		return store.Event{}
	}
	if ev := next(); ev.Type != store.EventPut || string(ev.Key) != "w/a" || ev.Rev != r1 || ev.PrevValue != nil {
		t.Fatalf("replayed event %+v", ev)
	}
	r3 := mustTxn(t, s, nil, store.Put([]byte("w/a"), []byte("2")), store.Put([]byte("w/b"), []byte("3")))
	if ev := next(); string(ev.Key) != "w/a" || ev.Rev != r3 || string(ev.PrevValue) != "1" || string(ev.Value) != "2" {
		t.Fatalf("live event %+v", ev)
	}
	if ev := next(); string(ev.Key) != "w/b" || ev.Rev != r3 {
		t.Fatalf("second event of the txn %+v", ev)
	}
	r4 := mustTxn(t, s, nil, store.DeletePrefix([]byte("w/")))
	for _, k := range []string{"w/a", "w/b"} {
		ev := next()
		if ev.Type != store.EventDelete || string(ev.Key) != k || ev.Rev != r4 || len(ev.PrevValue) == 0 {
			t.Fatalf("delete event %+v, want %s", ev, k)
		}
	}
	cancel()
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not end on cancel")
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	const writers, each = 16, 20
	var wg sync.WaitGroup
	revs := make(chan int64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := []byte(fmt.Sprintf("c/%02d/%03d", w, i))
				rev, err := s.Txn(context.Background(), []store.Compare{{Key: k}}, []store.Op{store.Put(k, k)})
				if err != nil {
					t.Error(err)
					return
				}
				revs <- rev
			}
		}(w)
	}
	wg.Wait()
	close(revs)
	seen := map[int64]bool{}
	for r := range revs {
		if seen[r] {
			t.Fatalf("revision %d given to two transactions", r)
		}
		seen[r] = true
	}
	n := 0
	for kv, err := range s.Range(context.Background(), []byte("c/"), store.PrefixEnd([]byte("c/"))) {
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kv.Key, kv.Value) {
			t.Fatalf("key %q holds %q", kv.Key, kv.Value)
		}
		n++
	}
	if n != writers*each {
		t.Fatalf("%d keys, want %d", n, writers*each)
	}
}

func testCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Get(ctx, []byte("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("a"), nil)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Txn: %v", err)
	}
}
