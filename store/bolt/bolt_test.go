package bolt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/storetest"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	return mustOpen(t, filepath.Join(t.TempDir(), "s.db"), Options{})
}

// mustOpen opens the store at path or ends the test.
func mustOpen(t *testing.T, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopenKeepsDataAndRevision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rev, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte("v"))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, _ := db.Rev(ctx); r != rev {
		t.Fatalf("Rev after reopen = %d, want %d", r, rev)
	}
	if kv, ok, _ := db.Get(ctx, []byte("k")); !ok || string(kv.Value) != "v" {
		t.Fatal("value lost on reopen")
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBackupOpensWithSameContents(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte{byte(i)}, bytes.Repeat([]byte{byte(i)}, 100))}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 0
	for kv, err := range b.Range(ctx, nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kv.Value, bytes.Repeat(kv.Key, 100)) {
			t.Fatalf("backup value of %x differs", kv.Key)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("backup holds %d keys, want 100", n)
	}
}

func TestWatchCompacted(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), Options{FeedRetention: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte{byte(i)})}); err != nil {
			t.Fatal(err)
		}
	}
	// The feed is compacted when the log's writes move into the B+tree,
	// which Check forces.
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, err := range db.Watch(ctx, nil, 1) {
		if err != store.ErrCompacted {
			t.Fatalf("Watch from a compacted revision: %v, want ErrCompacted", err)
		}
		break
	}
}

// TestNoteRidesToWatchers: a put's note reaches the watchers of the
// commit with its event, the last put's when a transaction puts a key
// twice; the same events replayed from the feed, or from the log after a
// restart, carry none.
func TestNoteRidesToWatchers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := make(chan store.Event, 16)
	go func() {
		for ev, err := range db.Watch(ctx, nil, 0) {
			if err != nil {
				return
			}
			live <- ev
		}
	}()
	if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("warm"), nil)}); err != nil {
		t.Fatal(err)
	}
	<-live // the watch has replayed the feed: what follows comes live
	note := func(key, value string, n any) store.Op {
		op := store.Put([]byte(key), []byte(value))
		op.Note = n
		return op
	}
	rev, err := db.Txn(ctx, nil, []store.Op{note("a", "1", "first"), note("b", "2", nil), note("a", "3", "last")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		key  string
		note any
	}{{"a", "last"}, {"b", nil}} {
		ev := <-live
		if string(ev.Key) != want.key || ev.Note != want.note {
			t.Errorf("live event of %s: note %v, want %v", ev.Key, ev.Note, want.note)
		}
	}
	replay := func(db *DB) {
		t.Helper()
		n := 0
		for ev, err := range db.Watch(ctx, nil, rev-1) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Note != nil {
				t.Errorf("replayed event of %s carries note %v", ev.Key, ev.Note)
			}
			if n++; ev.Last {
				break
			}
		}
		if n != 2 {
			t.Errorf("%d events replayed, want 2", n)
		}
	}
	replay(db)
	db.Close()
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	replay(db)
}

// TestFeedChunks: a transaction's events are packed into feed records of
// about feedChunk bytes; a watcher and Check read them all back, in order,
// across chunk boundaries and with values larger than a chunk.
func TestFeedChunks(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	var ops []store.Op
	want := map[string][]byte{}
	for i := 0; i < 500; i++ {
		k := []byte{'k', byte(i >> 8), byte(i)}
		v := bytes.Repeat([]byte{byte(i)}, 10+i%97)
		if i%50 == 7 {
			v = bytes.Repeat([]byte{'L'}, 3*feedChunk) // larger than a chunk
		}
		ops = append(ops, store.Put(k, v))
		want[string(k)] = v
	}
	rev, err := db.Txn(ctx, nil, ops)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite a few, so events carry previous values too.
	rev2, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte{'k', 0, 1}, []byte("new")), store.Delete([]byte{'k', 0, 2})})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	var last []byte
	for ev, err := range db.Watch(wctx, []byte("k"), 0) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Rev == rev {
			if !bytes.Equal(ev.Value, want[string(ev.Key)]) || ev.PrevValue != nil {
				t.Fatalf("event %d for %q: value of %d bytes, want %d", n, ev.Key, len(ev.Value), len(want[string(ev.Key)]))
			}
			if last != nil && bytes.Compare(last, ev.Key) >= 0 {
				t.Fatalf("events out of key order: %q after %q", ev.Key, last)
			}
			last = ev.Key
		}
		n++
		if ev.Rev == rev2 && ev.Type == store.EventDelete {
			if !bytes.Equal(ev.PrevValue, want["k\x00\x02"]) {
				t.Fatalf("delete event lost its previous value")
			}
			break
		}
	}
	if n != 502 {
		t.Fatalf("watched %d events, want 502", n)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestStatsCountGroupCommits: every request is counted once, and
// concurrent requests share commits.
func TestStatsCountGroupCommits(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	const writers, each = 16, 20
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte{byte(w), byte(i)}, []byte("v"))}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// A failed compare is a request too.
	if _, err := db.Txn(ctx, []store.Compare{{Key: []byte{0, 0}, ModRev: 0}}, []store.Op{store.Put([]byte("x"), nil)}); err != store.ErrCompareFailed {
		t.Fatalf("compare on a present key: %v", err)
	}
	st := db.Stats()
	if st.Txns != writers*each+1 || st.Commits == 0 || st.Commits > st.Txns || st.CommitTime <= 0 {
		t.Fatalf("stats %+v after %d requests", st, writers*each+1)
	}
	t.Logf("%d requests in %d commits", st.Txns, st.Commits)
}

// TestLoneWriterNeverWaits: a batch waits for concurrent writers only when
// some were seen; one writer's commits start at once.
func TestLoneWriterNeverWaits(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte{byte(i)}, []byte("v"))}); err != nil {
			t.Fatal(err)
		}
	}
	if st := db.Stats(); db.waits.Load() != 0 || st.Commits != 50 {
		t.Fatalf("one writer: %+v, %d waits", st, db.waits.Load())
	}
}

// TestFewWritersNeverWait: three concurrent writers are no crowd
// (crowdSize): their batches never wait on a timer for more, however they
// meet. TestCrowdWaits: sixteen are, and their batches wait for each
// other.
func TestFewWritersNeverWait(t *testing.T) {
	if got := concurrentWaits(t, 3, 40); got != 0 {
		t.Fatalf("three writers: %d batches waited", got)
	}
}

func TestCrowdWaits(t *testing.T) {
	if got := concurrentWaits(t, 16, 40); got == 0 {
		t.Fatal("sixteen writers: no batch waited")
	}
}

// concurrentWaits runs n writers of each transactions at once and returns
// how many batches waited on a timer for more requests.
func concurrentWaits(t *testing.T, n, each int) uint64 {
	t.Helper()
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := range each {
				if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte{byte(w), byte(i)}, []byte("v"))}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := db.Stats()
	t.Logf("%d writers: %d requests in %d commits, %d batches waited", n, st.Txns, st.Commits, db.waits.Load())
	return db.waits.Load()
}
