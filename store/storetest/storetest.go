// Package storetest is the conformance suite every store.Store engine must
// pass: call Run from the engine's tests with a function that opens a fresh,
// empty store.
//
// The suite checks every error it gets, and the expected ones with
// errors.Is against the store package's sentinels. Parts of the contract
// that are optional (store.Compactor, store.Healther) are tested when the
// engine implements them.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
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
		{"Chunked", testChunked},
		{"ChunkedSeesLaterWrites", testChunkedSeesLaterWrites},
		{"Compares", testCompares},
		{"AbsentCompare", testAbsentCompare},
		{"AbsentCompareLargeTxn", testAbsentCompareLargeTxn},
		{"Revisions", testRevisions},
		{"DeleteRange", testDeleteRange},
		{"Watch", testWatch},
		{"WatchNetEffect", testWatchNetEffect},
		{"WatchProgress", testWatchProgress},
		{"Compact", testCompact},
		{"ConcurrentTxns", testConcurrent},
		{"InvalidTxns", testInvalidTxns},
		{"Limits", testLimits},
		{"BadTxnFailsAlone", testBadTxnFailsAlone},
		{"CancelledContext", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.fn(t, s)
		})
	}
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
}

func mustTxn(t *testing.T, s store.Store, cmps []store.Compare, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(context.Background(), cmps, ops)
	if err != nil {
		t.Fatalf("Txn: %v", err)
	}
	return rev
}

func mustGet(t *testing.T, s store.Store, key string) (store.KV, bool) {
	t.Helper()
	kv, found, err := s.Get(context.Background(), []byte(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv, found
}

func mustRev(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Rev(context.Background())
	if err != nil {
		t.Fatalf("Rev: %v", err)
	}
	return rev
}

// wantErr checks that err wraps want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

// collect returns key=value of every KV of seq, failing the test on an
// error.
func collect(t *testing.T, seq func(func(store.KV, error) bool)) []string {
	t.Helper()
	var out []string
	for kv, err := range seq {
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, string(kv.Key)+"="+string(kv.Value))
	}
	return out
}

func keys(t *testing.T, s store.Store, start, end []byte) []string {
	t.Helper()
	return collect(t, s.Range(context.Background(), start, end))
}

func testGetPutDelete(t *testing.T, s store.Store) {
	if _, found := mustGet(t, s, "k"); found {
		t.Fatal("Get of an absent key found it")
	}
	rev := mustTxn(t, s, nil, store.Put([]byte("k"), []byte("v1")))
	kv, found := mustGet(t, s, "k")
	if !found || string(kv.Key) != "k" || string(kv.Value) != "v1" || kv.ModRev != rev {
		t.Fatalf("Get = %+v %v, want v1 at rev %d", kv, found, rev)
	}
	mustTxn(t, s, nil, store.Put([]byte("k"), []byte{}))
	if kv, found := mustGet(t, s, "k"); !found || len(kv.Value) != 0 {
		t.Fatalf("empty value: found=%v value=%q", found, kv.Value)
	}
	mustTxn(t, s, nil, store.Delete([]byte("k")))
	if _, found := mustGet(t, s, "k"); found {
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
		if got := fmt.Sprint(keys(t, s, start, end)); got != c.want {
			t.Errorf("Range(%q, %q) = %s, want %s", c.start, c.end, got, c.want)
		}
	}
	// Early break releases the iteration.
	for _, err := range s.Range(context.Background(), nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	mustTxn(t, s, nil, store.Put([]byte("z"), nil))
}

func testRangeSnapshot(t *testing.T, s store.Store) {
	mustTxn(t, s, nil, store.Put([]byte("a"), []byte("1")), store.Put([]byte("b"), []byte("1")))
	var seen []string
	done := make(chan error, 1)
	for kv, err := range s.Range(context.Background(), nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, string(kv.Key)+"="+string(kv.Value))
		if len(seen) == 1 {
			go func() {
				_, err := s.Txn(context.Background(), nil, []store.Op{store.Put([]byte("b"), []byte("2")), store.Put([]byte("c"), []byte("2"))})
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a write blocked behind an open Range")
			}
		}
	}
	if got := fmt.Sprint(seen); got != "[a=1 b=1]" {
		t.Errorf("Range saw %s, want the snapshot [a=1 b=1]", got)
	}
}

// testChunked: Chunked yields what Range yields, whatever the chunk size,
// and stops when the loop does or the context ends.
func testChunked(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		k := fmt.Sprintf("k/%02d", i)
		mustTxn(t, s, nil, store.Put([]byte(k), []byte(strings.Repeat("v", i))))
	}
	mustTxn(t, s, nil, store.Put([]byte("k/05\x00"), []byte("just after k/05")), store.Put([]byte("l"), []byte("outside")))
	p := []byte("k/")
	want := fmt.Sprint(keys(t, s, p, store.PrefixEnd(p)))
	for _, n := range []int{-1, 0, 1, 2, 5, 6, 25, 26, 27, 100} {
		if got := fmt.Sprint(collect(t, store.Chunked(ctx, s, p, store.PrefixEnd(p), n))); got != want {
			t.Errorf("Chunked by %d = %s, want %s", n, got, want)
		}
	}
	if got, all := fmt.Sprint(collect(t, store.Chunked(ctx, s, nil, nil, 3))), fmt.Sprint(keys(t, s, nil, nil)); got != all {
		t.Errorf("Chunked of the whole keyspace = %s, want %s", got, all)
	}
	n := 0
	for _, err := range store.Chunked(ctx, s, nil, nil, 4) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 6 {
			break
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var got error
	for _, err := range store.Chunked(cctx, s, nil, nil, 2) {
		cancel()
		if err != nil {
			got = err
			break
		}
	}
	wantErr(t, "Chunked after its context ended", got, context.Canceled)
}

// testChunkedSeesLaterWrites: Chunked holds no snapshot between chunks:
// keys written or deleted ahead of it while it runs are seen as the chunk
// that reaches them finds them, and keys behind it are never yielded
// again.
func testChunkedSeesLaterWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := 0; i < 12; i++ {
		k := fmt.Sprintf("k%02d", i)
		mustTxn(t, s, nil, store.Put([]byte(k), []byte("old")))
	}
	var got []string
	for kv, err := range store.Chunked(ctx, s, nil, nil, 4) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(kv.Key)+"="+string(kv.Value))
		if len(got) == 2 {
			mustTxn(t, s, nil,
				store.Put([]byte("k00"), []byte("new")),    // behind: not yielded again
				store.Put([]byte("k02"), []byte("new")),    // in the chunk already read: old value
				store.Put([]byte("k09"), []byte("new")),    // ahead: new value
				store.Delete([]byte("k10")),                // ahead: gone
				store.Put([]byte("k05a"), []byte("added")), // ahead: appears
			)
		}
	}
	want := "[k00=old k01=old k02=old k03=old k04=old k05=old k05a=added k06=old k07=old k08=old k09=new k11=old]"
	if fmt.Sprint(got) != want {
		t.Errorf("Chunked with writes ahead of it = %v\nwant %s", got, want)
	}
}

func testCompares(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := []byte("k")
	rev := mustTxn(t, s, []store.Compare{{Key: k, ModRev: 0}}, store.Put(k, []byte("1")))
	_, err := s.Txn(ctx, []store.Compare{{Key: k, ModRev: 0}}, []store.Op{store.Put(k, []byte("2"))})
	wantErr(t, "create over an existing key", err, store.ErrCompareFailed)
	_, err = s.Txn(ctx, []store.Compare{{Key: k, ModRev: rev + 100}}, []store.Op{store.Put(k, []byte("3")), store.Put([]byte("other"), nil)})
	wantErr(t, "stale ModRev", err, store.ErrCompareFailed)
	if _, found := mustGet(t, s, "other"); found {
		t.Fatal("a failed Txn wrote one of its ops")
	}
	mustTxn(t, s, []store.Compare{{Key: k, ModRev: rev}}, store.Put(k, []byte("4")))
	if kv, _ := mustGet(t, s, "k"); string(kv.Value) != "4" {
		t.Fatalf("value %q, want 4", kv.Value)
	}
}

// testAbsentCompare: a range-absence compare holds exactly when no key
// exists in [start, end), and guards the ops of its transaction.
func testAbsentCompare(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustTxn(t, s, nil, store.Put([]byte("c/A"), nil), store.Put([]byte("c/A/sub/B"), nil), store.Put([]byte("c/C"), nil))
	cases := []struct {
		start, end string
		holds      bool
	}{
		{"c/A/sub/", "c/A/sub0", false}, // one key inside
		{"c/C/sub/", "c/C/sub0", true},  // none
		{"c/A", "c/A\x00", false},       // the start itself is inside
		{"c/B", "c/C", true},            // the end is outside
		{"", "c/A", true},               // from the first key
		{"", "c/A\x00", false},
		{"d", "e", true},
	}
	for _, c := range cases {
		var start []byte
		if c.start != "" {
			start = []byte(c.start)
		}
		rev, err := s.Txn(ctx, []store.Compare{store.Absent(start, []byte(c.end))}, []store.Op{store.Put([]byte("w"), []byte(c.start))})
		switch {
		case c.holds && err != nil:
			t.Errorf("Absent(%q, %q): %v, want it to hold", c.start, c.end, err)
		case c.holds:
			if kv, _ := mustGet(t, s, "w"); kv.ModRev != rev {
				t.Errorf("Absent(%q, %q) held but the put is not at rev %d: %+v", c.start, c.end, rev, kv)
			}
		default:
			wantErr(t, fmt.Sprintf("Absent(%q, %q)", c.start, c.end), err, store.ErrCompareFailed)
		}
	}
	// A leaf-only delete: the class goes only if it has no subclass, in
	// one transaction with the check.
	leaf := []store.Compare{store.AbsentPrefix([]byte("c/A/sub/"))}
	_, err := s.Txn(ctx, leaf, []store.Op{store.Delete([]byte("c/A"))})
	wantErr(t, "delete of a class with a subclass", err, store.ErrCompareFailed)
	if _, found := mustGet(t, s, "c/A"); !found {
		t.Fatal("a failed range compare let its delete through")
	}
	mustTxn(t, s, nil, store.Delete([]byte("c/A/sub/B")))
	mustTxn(t, s, leaf, store.Delete([]byte("c/A")))
	// A key deleted in the same store (overwritten, then deleted) counts
	// as absent; a key written by an earlier transaction counts at once.
	mustTxn(t, s, nil, store.Put([]byte("r/1"), []byte("x")))
	mustTxn(t, s, nil, store.Delete([]byte("r/1")))
	mustTxn(t, s, []store.Compare{store.AbsentPrefix([]byte("r/"))}, store.Put([]byte("r/2"), nil))
	_, err = s.Txn(ctx, []store.Compare{store.AbsentPrefix([]byte("r/"))}, []store.Op{store.Put([]byte("r/3"), nil)})
	wantErr(t, "range compare after a write into the range", err, store.ErrCompareFailed)
}

// testAbsentCompareLargeTxn: range compares hold the same in transactions
// large enough for an engine's bulk path.
func testAbsentCompareLargeTxn(t *testing.T, s store.Store) {
	ctx := context.Background()
	if l := s.Limits(); l.MaxOps > 0 && l.MaxOps < 2000 {
		t.Skipf("the engine allows %d ops", l.MaxOps)
	}
	bulk := func(prefix string) []store.Op {
		ops := make([]store.Op, 2000)
		for i := range ops {
			ops[i] = store.Put([]byte(fmt.Sprintf("%s%05d", prefix, i)), bytes.Repeat([]byte("v"), 100))
		}
		return ops
	}
	mustTxn(t, s, []store.Compare{store.AbsentPrefix([]byte("a/"))}, bulk("a/")...)
	_, err := s.Txn(ctx, []store.Compare{store.AbsentPrefix([]byte("a/"))}, bulk("b/"))
	wantErr(t, "bulk transaction whose range compare fails", err, store.ErrCompareFailed)
	if got := keys(t, s, []byte("b/"), []byte("b0")); len(got) != 0 {
		t.Fatalf("a failed bulk transaction wrote %d keys", len(got))
	}
	mustTxn(t, s, []store.Compare{store.AbsentPrefix([]byte("b/"))}, bulk("b/")...)
}

func testRevisions(t *testing.T, s store.Store) {
	r0 := mustRev(t, s)
	r1 := mustTxn(t, s, nil, store.Put([]byte("a"), nil), store.Put([]byte("b"), nil))
	r2 := mustTxn(t, s, nil, store.Put([]byte("a"), nil))
	if r1 != r0+1 || r2 != r1+1 {
		t.Fatalf("revisions %d, %d after %d: want one per Txn", r1, r2, r0)
	}
	if kv, _ := mustGet(t, s, "b"); kv.ModRev != r1 {
		t.Errorf("ModRev of b = %d, want %d", kv.ModRev, r1)
	}
	if r := mustRev(t, s); r != r2 {
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

// watcher reads a Watch in a goroutine.
type watcher struct {
	t    *testing.T
	evs  chan store.Event
	errs chan error
}

func watch(t *testing.T, ctx context.Context, s store.Store, prefix string, from int64, opts ...store.WatchOption) *watcher {
	w := &watcher{t: t, evs: make(chan store.Event, 100), errs: make(chan error, 1)}
	go func() {
		for ev, err := range s.Watch(ctx, []byte(prefix), from, opts...) {
			if err != nil {
				w.errs <- err
				return
			}
			w.evs <- ev
		}
	}()
	return w
}

func (w *watcher) next() store.Event {
	w.t.Helper()
	select {
	case ev := <-w.evs:
		return ev
	case err := <-w.errs:
		w.t.Fatalf("Watch: %v", err)
	case <-time.After(10 * time.Second):
		w.t.Fatal("Watch delivered nothing")
	}
	return store.Event{}
}

func (w *watcher) err() error {
	w.t.Helper()
	select {
	case err := <-w.errs:
		return err
	case ev := <-w.evs:
		w.t.Fatalf("Watch delivered %+v, want an error", ev)
	case <-time.After(10 * time.Second):
		w.t.Fatal("Watch did not end")
	}
	return nil
}

func testWatch(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r1 := mustTxn(t, s, nil, store.Put([]byte("w/a"), []byte("1")))
	mustTxn(t, s, nil, store.Put([]byte("other"), []byte("1")))
	w := watch(t, ctx, s, "w/", r1-1)
	if ev := w.next(); ev.Type != store.EventPut || string(ev.Key) != "w/a" || ev.Rev != r1 || ev.PrevValue != nil || !ev.Last {
		t.Fatalf("replayed event %+v", ev)
	}
	r3 := mustTxn(t, s, nil, store.Put([]byte("w/b"), []byte("3")), store.Put([]byte("w/a"), []byte("2")), store.Put([]byte("x"), nil))
	if ev := w.next(); string(ev.Key) != "w/a" || ev.Rev != r3 || string(ev.PrevValue) != "1" || string(ev.Value) != "2" || ev.Last {
		t.Fatalf("live event %+v, want w/a, not the last of its revision", ev)
	}
	if ev := w.next(); string(ev.Key) != "w/b" || ev.Rev != r3 || !ev.Last {
		t.Fatalf("second event of the txn %+v, want w/b, the last of its revision under the prefix", ev)
	}
	r4 := mustTxn(t, s, nil, store.DeletePrefix([]byte("w/")))
	for _, k := range []string{"w/a", "w/b"} {
		ev := w.next()
		if ev.Type != store.EventDelete || string(ev.Key) != k || ev.Rev != r4 || len(ev.PrevValue) == 0 || ev.Last != (k == "w/b") {
			t.Fatalf("delete event %+v, want %s", ev, k)
		}
	}
	cancel()
	wantErr(t, "Watch after cancel", w.err(), context.Canceled)

	// The same revisions replayed: the same events, Last included.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	w = watch(t, ctx, s, "w/", r1-1)
	for _, want := range []struct {
		key  string
		rev  int64
		last bool
	}{{"w/a", r1, true}, {"w/a", r3, false}, {"w/b", r3, true}, {"w/a", r4, false}, {"w/b", r4, true}} {
		if ev := w.next(); string(ev.Key) != want.key || ev.Rev != want.rev || ev.Last != want.last {
			t.Fatalf("replay: %+v, want %+v", ev, want)
		}
	}
}

// testWatchNetEffect: a transaction yields one event per key, for its net
// effect, in key order, whatever the order and overlap of its ops.
func testWatchNetEffect(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	from := mustTxn(t, s, nil, store.Put([]byte("n/b"), []byte("b0")), store.Put([]byte("n/d"), []byte("d0")),
		store.Put([]byte("n/e"), []byte{}), store.Put([]byte("n/f"), []byte("f0")))
	w := watch(t, ctx, s, "n/", from)
	steps := []struct {
		ops  []store.Op
		want string
	}{
		// A new key put, then deleted: nothing; an old one: its delete.
		{[]store.Op{store.Put([]byte("n/a"), []byte("a1")), store.Put([]byte("n/b"), []byte("b1")), store.Delete([]byte("n/a")), store.Delete([]byte("n/b"))},
			"del n/b prev=b0 last"},
		// Deleted, then put again: one put with the value before the
		// transaction; a key put twice: its last value. Out of order ops
		// come in key order.
		{[]store.Op{store.Put([]byte("n/g"), []byte("g1")), store.Delete([]byte("n/d")), store.Put([]byte("n/d"), []byte("d1")),
			store.Put([]byte("n/g"), []byte("g2")), store.Put([]byte("n/c"), []byte("c1"))},
			"put n/c=c1 prev=<nil>, put n/d=d1 prev=d0, put n/g=g2 prev=<nil> last"},
		// A range delete over keys the transaction also puts, before and
		// after it; an empty value is a value (its PrevValue is not nil).
		{[]store.Op{store.Put([]byte("n/c"), []byte("c2")), store.Put([]byte("n/h"), []byte("h1")), store.DeletePrefix([]byte("n/")),
			store.Put([]byte("n/e"), []byte("e1")), store.Put([]byte("n/a"), []byte("a2"))},
			"put n/a=a2 prev=<nil>, del n/c prev=c1, del n/d prev=d1, put n/e=e1 prev=, del n/f prev=f0, del n/g prev=g2 last"},
	}
	for i, st := range steps {
		rev := mustTxn(t, s, nil, st.ops...)
		var got []string
		for len(got) == 0 || !strings.HasSuffix(got[len(got)-1], "last") {
			ev := w.next()
			if ev.Rev != rev {
				t.Fatalf("step %d: an event of revision %d, want %d: %+v", i, ev.Rev, rev, ev)
			}
			got = append(got, formatEvent(ev))
		}
		if g := strings.Join(got, ", "); g != st.want {
			t.Errorf("step %d:\n got %s\nwant %s", i, g, st.want)
		}
	}
}

func formatEvent(ev store.Event) string {
	prev := "<nil>"
	if ev.PrevValue != nil {
		prev = string(ev.PrevValue)
	}
	s := fmt.Sprintf("del %s prev=%s", ev.Key, prev)
	if ev.Type == store.EventPut {
		s = fmt.Sprintf("put %s=%s prev=%s", ev.Key, ev.Value, prev)
	}
	if ev.Last {
		s += " last"
	}
	return s
}

// testWatchProgress: with WithProgress, a watch whose prefix sees no
// change learns that later revisions are complete; progress never goes
// back, and never passes an event it has not yielded.
func testWatchProgress(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	from := mustRev(t, s)
	w := watch(t, ctx, s, "p/", from, store.WithProgress(50*time.Millisecond))
	r1 := mustTxn(t, s, nil, store.Put([]byte("q"), []byte("1")))
	ev := w.next()
	if ev.Type != store.EventProgress || ev.Rev < r1 || !ev.Last || ev.Key != nil {
		t.Fatalf("%+v, want a progress notification of revision %d or later", ev, r1)
	}
	last := ev.Rev
	r2 := mustTxn(t, s, nil, store.Put([]byte("p/a"), []byte("1")), store.Put([]byte("q"), []byte("2")))
	r3 := mustTxn(t, s, nil, store.Put([]byte("q"), []byte("3")))
	for sawEvent := false; ; {
		ev := w.next()
		if ev.Rev <= last {
			t.Fatalf("%+v after revision %d: not past it", ev, last)
		}
		last = ev.Rev
		switch {
		case ev.Type == store.EventProgress && !sawEvent && ev.Rev >= r2:
			t.Fatalf("progress to revision %d before the event of revision %d", ev.Rev, r2)
		case ev.Type == store.EventPut:
			if string(ev.Key) != "p/a" || ev.Rev != r2 || !ev.Last {
				t.Fatalf("%+v, want p/a at revision %d, Last", ev, r2)
			}
			sawEvent = true
		}
		if ev.Type == store.EventProgress && ev.Rev >= r3 {
			break
		}
	}
	// Without the option, no notification.
	plain := watch(t, ctx, s, "p/", r3)
	mustTxn(t, s, nil, store.Put([]byte("q"), []byte("4")))
	r4 := mustTxn(t, s, nil, store.Put([]byte("p/b"), []byte("1")))
	if ev := plain.next(); ev.Type != store.EventPut || ev.Rev != r4 {
		t.Fatalf("%+v, want the put of revision %d and no progress notification", ev, r4)
	}
}

// testCompact: after a compaction, Watch from before it fails with
// ErrCompacted and Watch from it still replays what follows.
func testCompact(t *testing.T, s store.Store) {
	c, ok := s.(store.Compactor)
	if !ok {
		t.Skip("the engine does not implement store.Compactor")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var revs []int64
	for i := 0; i < 5; i++ {
		revs = append(revs, mustTxn(t, s, nil, store.Put([]byte("k"), []byte{byte('0' + i)})))
	}
	if err := c.Compact(ctx, revs[2]); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	wantErr(t, "Watch from a compacted revision", watch(t, ctx, s, "", revs[0]).err(), store.ErrCompacted)
	wantErr(t, "Watch from the revision before the compaction's", watch(t, ctx, s, "", revs[2]-1).err(), store.ErrCompacted)
	w := watch(t, ctx, s, "", revs[2])
	if ev := w.next(); ev.Rev != revs[3] || string(ev.Value) != "3" {
		t.Fatalf("Watch from the compaction point: %+v, want revision %d", ev, revs[3])
	}
	if err := c.Compact(ctx, revs[4]+10); err == nil {
		t.Error("Compact to a future revision succeeded")
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

// invalidTxns are transactions CheckTxn refuses as ill-formed.
var invalidTxns = []struct {
	name string
	cmps []store.Compare
	ops  []store.Op
}{
	{"unknown op kind", nil, []store.Op{{Kind: 99, Key: []byte("k")}}},
	{"zero op kind", nil, []store.Op{{Key: []byte("k")}}},
	{"put of an empty key", nil, []store.Op{store.Put(nil, []byte("v"))}},
	{"delete of an empty key", nil, []store.Op{store.Delete([]byte{})}},
	{"range delete ending before its start", nil, []store.Op{store.DeleteRange([]byte("b"), []byte("a"))}},
	{"range delete ending at its start", nil, []store.Op{store.DeleteRange([]byte("b"), []byte("b"))}},
	{"compare of an empty key", []store.Compare{{}}, []store.Op{store.Put([]byte("k"), nil)}},
	{"negative ModRev", []store.Compare{{Key: []byte("k"), ModRev: -1}}, []store.Op{store.Put([]byte("k"), nil)}},
	{"range compare ending at its start", []store.Compare{store.Absent([]byte("a"), []byte("a"))}, nil},
	{"range compare with a ModRev", []store.Compare{{Key: []byte("a"), End: []byte("b"), ModRev: 1}}, nil},
	{"valid ops, then a bad one", nil, []store.Op{store.Put([]byte("a"), nil), store.Put(nil, nil)}},
}

// testInvalidTxns: an ill-formed transaction fails with ErrInvalidTxn and
// writes nothing.
func testInvalidTxns(t *testing.T, s store.Store) {
	ctx := context.Background()
	r0 := mustRev(t, s)
	for _, c := range invalidTxns {
		_, err := s.Txn(ctx, c.cmps, c.ops)
		wantErr(t, c.name, err, store.ErrInvalidTxn)
	}
	if r := mustRev(t, s); r != r0 {
		t.Errorf("invalid transactions moved the revision from %d to %d", r0, r)
	}
	if got := keys(t, s, nil, nil); len(got) != 0 {
		t.Errorf("invalid transactions wrote %v", got)
	}
}

// testLimits: a transaction beyond the engine's stated limits fails with
// ErrTxnTooLarge and writes nothing; one at the limit of ops commits. The
// ops and bytes limits are tried when they are small enough to build.
func testLimits(t *testing.T, s store.Store) {
	ctx := context.Background()
	l := s.Limits()
	if l.MaxOps < 0 || l.MaxBytes < 0 || l.MaxKeyBytes < 0 {
		t.Fatalf("negative limits %+v", l)
	}
	r0 := mustRev(t, s)
	if l.MaxKeyBytes > 0 {
		long := bytes.Repeat([]byte("k"), l.MaxKeyBytes+1)
		_, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("a"), nil), store.Put(long, nil)})
		wantErr(t, "a key past MaxKeyBytes", err, store.ErrTxnTooLarge)
		_, err = s.Txn(ctx, []store.Compare{{Key: long}}, []store.Op{store.Put([]byte("a"), nil)})
		wantErr(t, "a compared key past MaxKeyBytes", err, store.ErrTxnTooLarge)
		mustTxn(t, s, nil, store.Put(long[:l.MaxKeyBytes], []byte("longest")))
		r0++
	}
	if l.MaxOps > 0 && l.MaxOps <= 100_000 {
		ops := make([]store.Op, l.MaxOps+1)
		cmps := make([]store.Compare, l.MaxOps+1)
		for i := range ops {
			ops[i] = store.Put([]byte(fmt.Sprintf("op/%06d", i)), nil)
			cmps[i] = store.Compare{Key: ops[i].Key}
		}
		_, err := s.Txn(ctx, nil, ops)
		wantErr(t, "MaxOps+1 ops", err, store.ErrTxnTooLarge)
		_, err = s.Txn(ctx, cmps, ops[:1])
		wantErr(t, "MaxOps+1 compares", err, store.ErrTxnTooLarge)
		mustTxn(t, s, cmps[:l.MaxOps], ops[:l.MaxOps]...)
		r0++
	}
	if l.MaxBytes > 0 && l.MaxBytes <= 16<<20 {
		_, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("big"), make([]byte, l.MaxBytes))})
		wantErr(t, "a transaction past MaxBytes", err, store.ErrTxnTooLarge)
	}
	if r := mustRev(t, s); r != r0 {
		t.Errorf("transactions past the limits moved the revision to %d, want %d", r, r0)
	}
	if _, found := mustGet(t, s, "a"); found {
		t.Error("a transaction past the limits wrote one of its ops")
	}
}

// testBadTxnFailsAlone: ill-formed and oversized transactions sent among
// concurrent valid ones fail alone; every valid one commits.
func testBadTxnFailsAlone(t *testing.T, s store.Store) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	stop := make(chan struct{})
	bad := make(chan error, 1)
	go func() {
		defer close(bad)
		l := s.Limits()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := invalidTxns[i%len(invalidTxns)]
			want := store.ErrInvalidTxn
			if l.MaxKeyBytes > 0 && i%3 == 0 {
				c.cmps, c.ops, want = nil, []store.Op{store.Put(make([]byte, l.MaxKeyBytes+1), nil)}, store.ErrTxnTooLarge
			}
			if _, err := s.Txn(context.Background(), c.cmps, c.ops); !errors.Is(err, want) {
				bad <- fmt.Errorf("%s: %v, want %v", c.name, err, want)
				return
			}
		}
	}()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := []byte(fmt.Sprintf("ok/%02d/%03d", w, i))
				if _, err := s.Txn(context.Background(), []store.Compare{{Key: k}}, []store.Op{store.Put(k, k)}); err != nil {
					t.Errorf("a valid transaction beside invalid ones: %v", err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	if err := <-bad; err != nil {
		t.Fatal(err)
	}
	if n := len(keys(t, s, []byte("ok/"), []byte("ok0"))); n != writers*each {
		t.Fatalf("%d keys written, want %d", n, writers*each)
	}
}

func testCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Get(ctx, []byte("a"))
	wantErr(t, "Get", err, context.Canceled)
	_, err = s.Txn(ctx, nil, []store.Op{store.Put([]byte("a"), nil)})
	wantErr(t, "Txn", err, context.Canceled)
	for _, err := range s.Range(ctx, nil, nil) {
		wantErr(t, "Range", err, context.Canceled)
		break
	}
	for _, err := range s.Watch(ctx, nil, 0) {
		wantErr(t, "Watch", err, context.Canceled)
		break
	}
	wantErr(t, "Backup", s.Backup(ctx, io.Discard), context.Canceled)
	if _, found := mustGet(t, s, "a"); found {
		t.Error("a Txn with a cancelled context was applied")
	}
}

// testClosed: every call on a closed store fails with ErrClosed.
func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	if h, ok := s.(store.Healther); ok {
		if err := h.Health(); err != nil {
			t.Errorf("Health of an open store: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Get(ctx, []byte("a"))
	wantErr(t, "Get after Close", err, store.ErrClosed)
	_, err = s.Txn(ctx, nil, []store.Op{store.Put([]byte("a"), nil)})
	wantErr(t, "Txn after Close", err, store.ErrClosed)
	_, err = s.Rev(ctx)
	wantErr(t, "Rev after Close", err, store.ErrClosed)
	n := 0
	for _, err := range s.Range(ctx, nil, nil) {
		wantErr(t, "Range after Close", err, store.ErrClosed)
		if n++; n > 1 {
			t.Fatal("Range after Close yielded more than its error")
		}
	}
	if n == 0 {
		t.Error("Range after Close yielded nothing")
	}
	n = 0
	for _, err := range s.Watch(ctx, nil, 0) {
		wantErr(t, "Watch after Close", err, store.ErrClosed)
		if n++; n > 1 {
			t.Fatal("Watch after Close yielded more than its error")
		}
	}
	if n == 0 {
		t.Error("Watch after Close yielded nothing")
	}
	wantErr(t, "Backup after Close", s.Backup(ctx, io.Discard), store.ErrClosed)
	wantErr(t, "a second Close", s.Close(), store.ErrClosed)
	if h, ok := s.(store.Healther); ok {
		wantErr(t, "Health after Close", h.Health(), store.ErrClosed)
	}
}
