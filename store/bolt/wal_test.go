package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store"
)

// model is what a store should hold: key → value and ModRev.
type model map[string]store.KV

func (m model) apply(rev int64, ops []store.Op) {
	for _, op := range ops {
		switch op.Kind {
		case store.OpPut:
			m[string(op.Key)] = store.KV{Key: op.Key, Value: op.Value, ModRev: rev}
		case store.OpDelete:
			delete(m, string(op.Key))
		case store.OpDeleteRange:
			for k := range m {
				if k >= string(op.Key) && (op.End == nil || k < string(op.End)) {
					delete(m, k)
				}
			}
		}
	}
}

// checkAgainst compares every read path of db with m: Get of every key
// (and of absent ones), Range of the whole keyspace and of sub-ranges.
func checkAgainst(t *testing.T, db *DB, m model, keyspace int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < keyspace; i++ {
		k := fmt.Sprintf("k%03d", i)
		kv, found, err := db.Get(ctx, []byte(k))
		want, ok := m[k]
		if err != nil || found != ok || (ok && (!bytes.Equal(kv.Value, want.Value) || kv.ModRev != want.ModRev)) {
			t.Fatalf("Get(%s) = %q rev %d found %v err %v; want %q rev %d found %v", k, kv.Value, kv.ModRev, found, err, want.Value, want.ModRev, ok)
		}
	}
	for _, r := range [][2][]byte{{nil, nil}, {[]byte("k010"), []byte("k020")}, {[]byte("k05"), nil}, {nil, []byte("k003")}} {
		var got []string
		for kv, err := range db.Range(ctx, r[0], r[1]) {
			if err != nil {
				t.Fatal(err)
			}
			want := m[string(kv.Key)]
			if !bytes.Equal(kv.Value, want.Value) || kv.ModRev != want.ModRev {
				t.Fatalf("Range %q..%q: %s = %q rev %d, want %q rev %d", r[0], r[1], kv.Key, kv.Value, kv.ModRev, want.Value, want.ModRev)
			}
			got = append(got, string(kv.Key))
		}
		var want []string
		for k := range m {
			if (r[0] == nil || k >= string(r[0])) && (r[1] == nil || k < string(r[1])) {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Range %q..%q = %v, want %v", r[0], r[1], got, want)
		}
	}
}

// feedState replays the whole change feed (as Watch reads it first)
// onto an empty model.
func feedState(t *testing.T, db *DB) (model, []store.Event) {
	t.Helper()
	evs, _, err := db.readFeed(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	for _, ev := range evs {
		if ev.Type == store.EventPut {
			m[string(ev.Key)] = store.KV{Key: ev.Key, Value: ev.Value, ModRev: ev.Rev}
		} else {
			delete(m, string(ev.Key))
		}
	}
	return m, evs
}

// TestLogModel runs random transactions (puts, deletes, range deletes,
// guarded by compares that hold or fail, now and then one large enough to
// skip the log) with checkpoints at random points, and compares every
// read path with a model after each step, then the change feed, then the
// store reopened.
func TestLogModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, path, Options{})
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	const keyspace = 80
	m := model{}
	key := func() []byte { return []byte(fmt.Sprintf("k%03d", r.IntN(keyspace))) }
	for step := 0; step < 400; step++ {
		var ops []store.Op
		var cmps []store.Compare
		switch n := r.IntN(100); {
		case n < 3: // large: straight to the B+tree
			for i := 0; i < directOps; i++ {
				ops = append(ops, store.Put(key(), []byte(fmt.Sprintf("big%d.%d", step, i))))
			}
		case n < 8:
			a, b := key(), key()
			if bytes.Compare(a, b) > 0 {
				a, b = b, a
			}
			ops = append(ops, store.DeleteRange(a, b), store.Put(a, []byte(fmt.Sprintf("after-range%d", step))))
		default:
			for i := r.IntN(4); i >= 0; i-- {
				if r.IntN(4) == 0 {
					ops = append(ops, store.Delete(key()))
				} else {
					ops = append(ops, store.Put(key(), []byte(fmt.Sprintf("v%d.%d", step, i))))
				}
			}
		}
		if r.IntN(3) == 0 {
			k := key()
			mod := m[string(k)].ModRev
			if r.IntN(2) == 0 {
				mod++ // a compare that fails
			}
			cmps = append(cmps, store.Compare{Key: k, ModRev: mod})
		}
		holds := true
		for _, c := range cmps {
			holds = holds && m[string(c.Key)].ModRev == c.ModRev
		}
		rev, err := db.Txn(ctx, cmps, ops)
		switch {
		case holds && err != nil:
			t.Fatalf("step %d: %v", step, err)
		case !holds && err != store.ErrCompareFailed:
			t.Fatalf("step %d: compare should have failed, got %v", step, err)
		case holds:
			m.apply(rev, inKeyOrder(ops))
		}
		if r.IntN(25) == 0 {
			if err := db.Check(ctx); err != nil { // a checkpoint
				t.Fatal(err)
			}
		}
		checkAgainst(t, db, m, keyspace)
	}
	if st := db.Stats(); st.Checkpoints < 10 {
		t.Fatalf("only %d checkpoints: the test did not mix the overlay with the B+tree", st.Checkpoints)
	}
	fm, _ := feedState(t, db)
	if len(fm) != len(m) {
		t.Fatalf("the feed replays to %d keys, the store holds %d", len(fm), len(m))
	}
	for k, kv := range m {
		if got := fm[k]; !bytes.Equal(got.Value, kv.Value) || got.ModRev != kv.ModRev {
			t.Fatalf("feed replay: %s = %q rev %d, want %q rev %d", k, got.Value, got.ModRev, kv.Value, kv.ModRev)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path, Options{})
	defer db.Close()
	checkAgainst(t, db, m, keyspace)
}

// crashCopy copies a running store's files, as a crash would leave them:
// the B+tree as of the last checkpoint and the log after it.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestLogReplay: writes acknowledged but not yet checkpointed survive a
// crash. The copy reopens with every key, revision and feed event
// (PrevValue included) of the original; an unfinished last record (cut
// short, or followed by garbage) loses only that record.
func TestLogReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, path, Options{IdleCheckpoint: -1}) // the copies need the log
	defer db.Close()
	ctx := context.Background()
	m := model{}
	txn := func(ops ...store.Op) {
		t.Helper()
		rev, err := db.Txn(ctx, nil, ops)
		if err != nil {
			t.Fatal(err)
		}
		m.apply(rev, inKeyOrder(ops))
	}
	for i := 0; i < 30; i++ {
		txn(store.Put([]byte(fmt.Sprintf("k%03d", i)), []byte(fmt.Sprintf("v%d", i))))
	}
	if err := db.Check(ctx); err != nil { // the first 30 go to the B+tree
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		txn(store.Put([]byte(fmt.Sprintf("k%03d", i*2)), []byte(fmt.Sprintf("w%d", i))), store.Delete([]byte(fmt.Sprintf("k%03d", i*3))))
	}
	txn(store.DeleteRange([]byte("k040"), []byte("k050")))
	txn(store.Delete([]byte("absent"))) // a revision with no events
	_, origFeed := feedState(t, db)
	rev, _ := db.Rev(ctx)

	t.Run("whole log", func(t *testing.T) {
		c := mustOpen(t, crashCopy(t, path), Options{})
		defer c.Close()
		if got, _ := c.Rev(ctx); got != rev {
			t.Fatalf("replayed store is at revision %d, want %d", got, rev)
		}
		checkAgainst(t, c, m, 60)
		_, feed := feedState(t, c)
		if len(feed) != len(origFeed) {
			t.Fatalf("replayed feed has %d events, want %d", len(feed), len(origFeed))
		}
		for i := range feed {
			a, b := feed[i], origFeed[i]
			if a.Type != b.Type || a.Rev != b.Rev || !bytes.Equal(a.Key, b.Key) || !bytes.Equal(a.Value, b.Value) || !bytes.Equal(a.PrevValue, b.PrevValue) {
				t.Fatalf("feed event %d: %+v, want %+v", i, a, b)
			}
		}
	})

	t.Run("garbage after the last record", func(t *testing.T) {
		p := crashCopy(t, path)
		f, _ := os.OpenFile(p+"-wal", os.O_WRONLY, 0)
		f.WriteAt([]byte{0, 0, 1, 0, 9, 9, 9, 9, 1, 2, 3}, db.wal.size)
		f.Close()
		c := mustOpen(t, p, Options{})
		defer c.Close()
		checkAgainst(t, c, m, 60)
	})

	t.Run("last record cut short", func(t *testing.T) {
		p := crashCopy(t, path)
		if err := os.Truncate(p+"-wal", db.wal.size-3); err != nil {
			t.Fatal(err)
		}
		c := mustOpen(t, p, Options{})
		defer c.Close()
		if got, _ := c.Rev(ctx); got != rev-1 {
			t.Fatalf("store is at revision %d, want %d (the cut record lost)", got, rev-1)
		}
		// The lost revision deleted an absent key: the contents are the same.
		checkAgainst(t, c, m, 60)
	})
}

// TestCheckpointsBoundTheLog: a steady stream of small writes is moved to
// the B+tree every checkpointRevs revisions, so the log and the overlay
// stay bounded.
func TestCheckpointsBoundTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, path, Options{NoSync: true, IdleCheckpoint: -1})
	ctx := context.Background()
	for i := 0; i < 2*checkpointRevs+10; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte(fmt.Sprintf("k%06d", i)), []byte("v"))}); err != nil {
			t.Fatal(err)
		}
	}
	if st := db.Stats(); st.Checkpoints != 2 {
		t.Fatalf("%d checkpoints for %d revisions, want 2", st.Checkpoints, 2*checkpointRevs+10)
	}
	if db.wal.size > 10*100 || db.wal.alloc > logGrowth {
		t.Fatalf("log holds %d bytes (file %d) after the checkpoint, want the last 10 records only", db.wal.size, db.wal.alloc)
	}
	db.Close()
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("log after a clean close: %v, %v; want an empty file", fi, err)
	}
}

// FuzzLogRecord: any bytes decode as a record or as the end of the log,
// never a panic; a record decodes to what was appended, and replay of a
// log whose tail is cut or corrupted stops at the damage.
func FuzzLogRecord(f *testing.F) {
	f.Add([]byte("k1"), []byte("v1"), []byte{}, uint8(0))
	f.Add([]byte("k\x00\xff"), []byte{}, []byte("garbage"), uint8(7))
	f.Fuzz(func(t *testing.T, key, value, tail []byte, cut uint8) {
		if _, _, err := decodeLogRecord(tail); err == nil && len(tail) < 8 {
			t.Fatalf("%d bytes decoded as a record", len(tail))
		}
		if len(key) == 0 {
			return
		}
		w, err := openWAL(filepath.Join(t.TempDir(), "l"), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.close(false)
		revs := [][]store.Event{
			{{Type: store.EventPut, Rev: 5, Key: key, Value: value}},
			{},
			{{Type: store.EventDelete, Rev: 7, Key: key}},
		}
		if err := w.append(5, revs); err != nil {
			t.Fatal(err)
		}
		good := w.size
		w.f.WriteAt(tail, good)
		got, _, err := w.readAll(4)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 3 || got[0].rev != 5 || got[2].rev != 7 || len(got[1].events) != 0 ||
			!bytes.Equal(got[0].events[0].Key, key) || !bytes.Equal(got[0].events[0].Value, value) ||
			got[2].events[0].Type != store.EventDelete {
			t.Fatalf("read back %+v", got)
		}
		if len(got) > 3 && got[3].rev != 8 {
			t.Fatalf("replay went on at revision %d after 7", got[3].rev)
		}
		// The same record again (as a log not emptied would hold): not
		// replayed twice.
		w.size = good
		w.append(5, revs)
		if got, _, _ := w.readAll(4); len(got) != 3 {
			t.Fatalf("a repeated record: %d revisions replayed, want 3", len(got))
		}
		// Cut the record: nothing of it is replayed.
		w.f.Truncate(good - 1 - int64(cut)%good)
		if got, _, _ := w.readAll(4); len(got) != 0 {
			t.Fatalf("a cut record replayed %d revisions", len(got))
		}
	})
}

// TestLogOverwritesOldRecords: after a checkpoint the log is written from
// its start again, over the old records; a crash copy replays the new
// records only, and the old ones after them are not taken for new ones.
func TestLogOverwritesOldRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, path, Options{IdleCheckpoint: -1}) // the copy needs the log
	defer db.Close()
	ctx := context.Background()
	m := model{}
	put := func(k, v string) {
		t.Helper()
		rev, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte(k), []byte(v))})
		if err != nil {
			t.Fatal(err)
		}
		m.apply(rev, []store.Op{store.Put([]byte(k), []byte(v))})
	}
	for i := 0; i < 200; i++ {
		put(fmt.Sprintf("k%03d", i%60), fmt.Sprintf("old%d", i))
	}
	old := db.wal.size
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		put(fmt.Sprintf("k%03d", i), fmt.Sprintf("new%d", i))
	}
	if db.wal.size >= old {
		t.Fatalf("the new records (%d bytes) do not leave old ones (%d bytes) behind them", db.wal.size, old)
	}
	c := mustOpen(t, crashCopy(t, path), Options{})
	defer c.Close()
	if got, want := mustRev(t, c), mustRev(t, db); got != want {
		t.Fatalf("replayed to revision %d, want %d", got, want)
	}
	checkAgainst(t, c, m, 60)
}

func mustRev(t *testing.T, s store.Store) int64 {
	t.Helper()
	rev, err := s.Rev(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestIdleCheckpoint: once writers pause, the logged writes move to the
// B+tree without any request for it.
func TestIdleCheckpoint(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	m := model{}
	for i := 0; i < 10; i++ {
		op := store.Put([]byte(fmt.Sprintf("k%03d", i)), []byte("v"))
		rev, err := db.Txn(ctx, nil, []store.Op{op})
		if err != nil {
			t.Fatal(err)
		}
		m.apply(rev, []store.Op{op})
	}
	for deadline := time.Now().Add(10 * time.Second); db.Stats().Checkpoints == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint 10 s after the last write")
		}
	}
	db.ovMu.RLock()
	ov := db.ov
	db.ovMu.RUnlock()
	if ov.rev != ov.base || ov.tree.Len() != 0 || ov.base != 10 {
		t.Fatalf("after the idle checkpoint the overlay holds revisions %d..%d, %d keys", ov.base+1, ov.rev, ov.tree.Len())
	}
	checkAgainst(t, db, m, 10)
}

// FuzzStoreOps runs the input as transactions against one store shared
// by every input (each under a key prefix of its own, so that the log,
// the overlay and the B+tree hold other inputs' keys beside its own) and
// checks Range against a model after each, and Get at the end. The input is read
// two bytes at a time: an op (put, delete, range delete, compare that
// holds, compare that fails, checkpoint, range-absence compare) and a key
// (one of 16).
func FuzzStoreOps(f *testing.F) {
	var (
		db *DB
		n  int
	)
	dir := f.TempDir()
	f.Cleanup(func() {
		if db != nil {
			db.Close()
		}
	})
	f.Add([]byte{0, 1, 0, 2, 2, 0, 5, 0, 1, 2})
	f.Add([]byte{0, 3, 0, 4, 5, 0, 2, 3, 0, 9, 3, 9, 4, 9, 1, 9})
	f.Add([]byte{0, 4, 6, 1, 6, 5, 5, 0, 6, 4, 1, 4, 6, 3, 6, 14})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if db == nil {
			var err error
			if db, err = Open(filepath.Join(dir, "s.db"), Options{NoSync: true, IdleCheckpoint: -1}); err != nil {
				t.Fatal(err)
			}
		}
		n++
		ctx := context.Background()
		prefix := fmt.Sprintf("in%07d/", n)
		key := func(b byte) []byte { return []byte(fmt.Sprintf("%sk%02d", prefix, b%16)) }
		m := model{}
		for i := 0; i+1 < len(prog) && i < 64; i += 2 {
			k := key(prog[i+1])
			var ops []store.Op
			var cmps []store.Compare
			switch prog[i] % 7 {
			case 0:
				ops = []store.Op{store.Put(k, []byte(fmt.Sprintf("v%d", i)))}
			case 1:
				ops = []store.Op{store.Delete(k)}
			case 2:
				ops = []store.Op{store.DeleteRange(k, key(prog[i+1]+3)), store.Put(key(prog[i+1]+1), []byte("r"))}
			case 3, 4:
				mod := m[string(k)].ModRev
				if prog[i]%7 == 4 {
					mod += 7
				}
				cmps = []store.Compare{{Key: k, ModRev: mod}}
				ops = []store.Op{store.Put(key(prog[i+1]+5), []byte(fmt.Sprintf("c%d", i)))}
			case 5:
				if err := db.awaitCheckpoint(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			case 6:
				end := key(prog[i+1] + 3)
				if bytes.Compare(k, end) >= 0 {
					end = store.PrefixEnd([]byte(prefix))
				}
				cmps = []store.Compare{store.Absent(k, end)}
				ops = []store.Op{store.Put(key(prog[i+1]+5), []byte(fmt.Sprintf("a%d", i)))}
			}
			if prog[i]%7 == 2 && bytes.Compare(ops[0].Key, ops[0].End) >= 0 {
				ops = ops[1:] // an empty range
			}
			holds := true
			for _, c := range cmps {
				if c.End == nil {
					holds = holds && m[string(c.Key)].ModRev == c.ModRev
					continue
				}
				for k := range m {
					if k >= string(c.Key) && k < string(c.End) {
						holds = false
					}
				}
			}
			rev, err := db.Txn(ctx, cmps, ops)
			if holds != (err == nil) || (err != nil && !errors.Is(err, store.ErrCompareFailed)) {
				t.Fatalf("op %d: compare holds %v, Txn: %v", i/2, holds, err)
			}
			if err == nil {
				m.apply(rev, inKeyOrder(ops))
			}
			var got, wantKeys []string
			for kv, err := range db.Range(ctx, []byte(prefix), store.PrefixEnd([]byte(prefix))) {
				if err != nil {
					t.Fatal(err)
				}
				if want := m[string(kv.Key)]; !bytes.Equal(kv.Value, want.Value) || kv.ModRev != want.ModRev {
					t.Fatalf("op %d: Range gives %s = %q rev %d, want %q rev %d", i/2, kv.Key, kv.Value, kv.ModRev, want.Value, want.ModRev)
				}
				got = append(got, string(kv.Key))
			}
			for k := range m {
				wantKeys = append(wantKeys, k)
			}
			slices.Sort(wantKeys)
			if !slices.Equal(got, wantKeys) {
				t.Fatalf("op %d: Range = %v, want %v", i/2, got, wantKeys)
			}
		}
		for j := byte(0); j < 16; j++ {
			kv, found, err := db.Get(ctx, key(j))
			want, ok := m[string(key(j))]
			if err != nil || found != ok || (ok && (!bytes.Equal(kv.Value, want.Value) || kv.ModRev != want.ModRev)) {
				t.Fatalf("Get(%s) = %q rev %d found %v, want %q rev %d found %v", key(j), kv.Value, kv.ModRev, found, want.Value, want.ModRev, ok)
			}
		}
	})
}
