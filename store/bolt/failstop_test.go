package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/wbemd/wbemd/store"
)

var errInjected = errors.New("injected disk fault")

// faultAt returns a FailPoint that fails point while armed.
func faultAt(point string, armed *atomic.Bool) func(string) error {
	return func(p string) error {
		if p == point && armed.Load() {
			return errInjected
		}
		return nil
	}
}

// pairTxn writes two keys with one value in one transaction: after any
// crash or failure both are present or neither is.
func pairTxn(ctx context.Context, s store.Store, w, i int) error {
	v := []byte(fmt.Sprintf("%d/%d", w, i))
	_, err := s.Txn(ctx, nil, []store.Op{
		store.Put([]byte(fmt.Sprintf("p/%02d/%04d/a", w, i)), v),
		store.Put([]byte(fmt.Sprintf("p/%02d/%04d/b", w, i)), v),
	})
	return err
}

// checkPairs checks, after a reopen, that every acknowledged pair is
// there and every other one is whole or absent; it returns how many
// unacknowledged pairs were found applied.
func checkPairs(t *testing.T, db *DB, writers, each int, acked map[[2]int]bool) int {
	t.Helper()
	ctx := context.Background()
	applied := 0
	for w := 0; w < writers; w++ {
		for i := 0; i < each; i++ {
			a, fa, err := db.Get(ctx, []byte(fmt.Sprintf("p/%02d/%04d/a", w, i)))
			if err != nil {
				t.Fatal(err)
			}
			b, fb, err := db.Get(ctx, []byte(fmt.Sprintf("p/%02d/%04d/b", w, i)))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case fa != fb || (fa && (string(a.Value) != string(b.Value) || a.ModRev != b.ModRev)):
				t.Fatalf("transaction %d/%d is torn: a=%v %q b=%v %q", w, i, fa, a.Value, fb, b.Value)
			case acked[[2]int{w, i}] && !fa:
				t.Fatalf("acknowledged transaction %d/%d lost", w, i)
			case !acked[[2]int{w, i}] && fa:
				applied++
			}
		}
	}
	return applied
}

// TestFailedLogMakesReadOnly: when a log write, a log sync or a B+tree
// commit fails, the writes of that commit fail, the engine turns
// read-only with a precise error (every later write gets it, Health
// reports it) and keeps serving reads; after a reopen without the fault,
// every acknowledged write is there and no transaction is torn.
func TestFailedLogMakesReadOnly(t *testing.T) {
	for _, point := range []string{FailLogWrite, FailLogSync, FailCommit} {
		t.Run(point, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			var armed atomic.Bool
			db := mustOpen(t, path, Options{FailPoint: faultAt(point, &armed), IdleCheckpoint: -1})
			ctx := context.Background()
			const writers, each = 8, 400
			var mu sync.Mutex
			acked := map[[2]int]bool{}
			var failures []error
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if w == 0 && i == 40 {
							armed.Store(true)
							if point == FailCommit {
								// Commits of the B+tree happen at checkpoints:
								// ask for one.
								if err := db.Check(ctx); !errors.Is(err, store.ErrReadOnly) {
									t.Errorf("Check with a failing commit: %v, want ErrReadOnly", err)
								}
							}
						}
						err := pairTxn(ctx, db, w, i)
						mu.Lock()
						if err == nil {
							acked[[2]int{w, i}] = true
						} else {
							failures = append(failures, err)
						}
						mu.Unlock()
					}
				}(w)
			}
			wg.Wait()
			if len(failures) == 0 {
				t.Fatal("no write failed")
			}
			for _, err := range failures {
				if !errors.Is(err, store.ErrReadOnly) || !errors.Is(err, errInjected) {
					t.Fatalf("a failed write: %v, want ErrReadOnly wrapping the fault", err)
				}
			}
			health := db.Health()
			if !errors.Is(health, store.ErrReadOnly) || !errors.Is(health, errInjected) || !strings.HasPrefix(health.Error(), "store: read-only: bolt: ") {
				t.Fatalf("Health = %v, want the read-only error and its cause", health)
			}
			t.Logf("Health: %v (%d writes acknowledged, %d failed)", health, len(acked), len(failures))
			armed.Store(false) // the disk is fine again: the engine still writes nothing
			if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("later"), nil)}); !errors.Is(err, store.ErrReadOnly) {
				t.Fatalf("a write after the failure: %v, want ErrReadOnly", err)
			}
			if err := db.Backup(ctx, new(strings.Builder)); !errors.Is(err, store.ErrReadOnly) {
				t.Fatalf("Backup of a read-only store: %v, want ErrReadOnly", err)
			}
			// Reads still work, and see every acknowledged write.
			n := 0
			for _, err := range db.Range(ctx, []byte("p/"), []byte("p0")) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n < 2*len(acked) {
				t.Fatalf("a read-only store shows %d keys, want at least %d", n, 2*len(acked))
			}
			if err := db.Close(); err != nil {
				t.Fatalf("Close of a read-only store: %v", err)
			}

			db = mustOpen(t, path, Options{})
			defer db.Close()
			if err := db.Health(); err != nil {
				t.Fatalf("Health after reopening: %v", err)
			}
			applied := checkPairs(t, db, writers, each, acked)
			t.Logf("after reopening: %d acknowledged writes present, %d unacknowledged applied whole", len(acked), applied)
			if point == FailLogWrite && applied != 0 {
				t.Errorf("%d writes whose log record was never written were applied", applied)
			}
			if err := db.Check(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("later"), nil)}); err != nil {
				t.Fatalf("a write after reopening: %v", err)
			}
		})
	}
}

// TestFailedDirectCommitMakesReadOnly: a large transaction (committed to
// the B+tree without the log) whose commit fails is not applied, and the
// engine turns read-only.
func TestFailedDirectCommitMakesReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	var armed atomic.Bool
	db := mustOpen(t, path, Options{FailPoint: faultAt(FailCommit, &armed)})
	ctx := context.Background()
	before, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("before"), []byte("1"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil { // the log is now empty: the next commit is the bulk one
		t.Fatal(err)
	}
	ops := make([]store.Op, 2*directOps)
	for i := range ops {
		ops[i] = store.Put([]byte(fmt.Sprintf("bulk/%05d", i)), []byte("v"))
	}
	armed.Store(true)
	if _, err := db.Txn(ctx, nil, ops); !errors.Is(err, store.ErrReadOnly) || !errors.Is(err, errInjected) {
		t.Fatalf("bulk write with a failing commit: %v, want ErrReadOnly wrapping the fault", err)
	}
	if !errors.Is(db.Health(), store.ErrReadOnly) {
		t.Fatalf("Health = %v", db.Health())
	}
	if kv, found, err := db.Get(ctx, []byte("before")); err != nil || !found || kv.ModRev != before {
		t.Fatalf("read of a read-only store: %+v %v %v", kv, found, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path, Options{})
	defer db.Close()
	for _, err := range db.Range(ctx, []byte("bulk/"), []byte("bulk0")) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatal("the failed bulk write was applied")
	}
	if r, err := db.Rev(ctx); err != nil || r != before {
		t.Fatalf("Rev after reopening = %d, %v; want %d", r, err, before)
	}
}

// corrupt stores a value without its revision header under key, as a
// damaged file would hold it.
func corrupt(t *testing.T, db *DB, key string) {
	t.Helper()
	err := db.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketData).Put([]byte(key), []byte{1, 2, 3}) })
	if err != nil {
		t.Fatal(err)
	}
}

// wantCorrupt checks that err reports the corrupt value of key.
func wantCorrupt(t *testing.T, what string, err error, key string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("corrupt value of key %q", key)) {
		t.Errorf("%s: %v, want an error naming the corrupt key %q", what, err, key)
	}
}

// TestCorruptValueIsAnError: a stored value too short for its header is
// an error naming its key on every path that reads it, never a panic.
func TestCorruptValueIsAnError(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	corrupt(t, db, "bad")
	_, _, err := db.Get(ctx, []byte("bad"))
	wantCorrupt(t, "Get", err, "bad")
	for _, err = range db.Range(ctx, nil, nil) {
		if err != nil {
			break
		}
	}
	wantCorrupt(t, "Range", err, "bad")
	for name, txn := range map[string]struct {
		cmps []store.Compare
		ops  []store.Op
	}{
		"compare":       {cmps: []store.Compare{{Key: []byte("bad"), ModRev: 1}}},
		"put":           {ops: []store.Op{store.Put([]byte("bad"), []byte("v"))}},
		"delete":        {ops: []store.Op{store.Delete([]byte("bad"))}},
		"range delete":  {ops: []store.Op{store.DeleteRange([]byte("b"), []byte("c"))}},
		"range compare": {cmps: []store.Compare{store.Absent([]byte("b"), []byte("c"))}},
	} {
		_, err := db.Txn(ctx, txn.cmps, txn.ops)
		wantCorrupt(t, name, err, "bad")
	}
	wantCorrupt(t, "Check", db.Check(ctx), "bad")
	if err := db.Health(); err != nil {
		t.Fatalf("a corrupt value made the engine read-only: %v", err)
	}
}

// gate blocks the committer in its next log write until opened, so that
// a test can queue requests that then form one batch.
type gate struct {
	armed   atomic.Bool
	blocked chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{blocked: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) failPoint(point string) error {
	if (point == FailLogWrite || point == FailCommit) && g.armed.CompareAndSwap(true, false) {
		close(g.blocked)
		<-g.open
	}
	return nil
}

// queued waits until n requests wait in the committer's queue.
func queued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(db.reqs) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(db.reqs), n)
		}
	}
}

// TestBadRequestFailsAloneInGroup: a request that fails while its group
// commit is applied (here, by reading a corrupt value) fails alone: every
// other request of the same group commits, through the log and through
// the direct path alike.
func TestBadRequestFailsAloneInGroup(t *testing.T) {
	for _, opsEach := range []int{1, directOps / 4} {
		t.Run(fmt.Sprintf("%d ops each", opsEach), func(t *testing.T) {
			g := newGate()
			db := mustOpen(t, filepath.Join(t.TempDir(), "s.db"), Options{FailPoint: g.failPoint})
			defer db.Close()
			ctx := context.Background()
			corrupt(t, db, "bad")
			g.armed.Store(true)
			first := make(chan error, 1)
			go func() {
				_, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("first"), nil)})
				first <- err
			}()
			<-g.blocked
			const n = 9
			errs := make([]chan error, n)
			for i := range errs {
				errs[i] = make(chan error, 1)
				ops := make([]store.Op, opsEach)
				for j := range ops {
					ops[j] = store.Put([]byte(fmt.Sprintf("g/%d/%04d", i, j)), []byte("v"))
				}
				if i == n/2 {
					ops[0] = store.Put([]byte("bad"), []byte("overwrite")) // reads the corrupt previous value
				}
				go func() {
					_, err := db.Txn(ctx, nil, ops)
					errs[i] <- err
				}()
			}
			queued(t, db, n)
			commits := db.Stats().Commits
			close(g.open)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			for i, ch := range errs {
				err := <-ch
				if i == n/2 {
					wantCorrupt(t, "the bad request", err, "bad")
				} else if err != nil {
					t.Errorf("request %d of the group failed with the bad one: %v", i, err)
				}
			}
			if got := db.Stats().Commits - commits; got != 2 {
				t.Fatalf("%d commits after the gate, want 2 (the first request's, then the group's)", got)
			}
			if kv, _, err := db.Get(ctx, []byte("g/0/0000")); err != nil || kv.ModRev == 0 {
				t.Fatalf("a good request's write is missing: %+v %v", kv, err)
			}
		})
	}
}

// TestTxnEnqueueWatchesContext: with the committer's queue full, Txn
// returns when its context ends instead of blocking.
func TestTxnEnqueueWatchesContext(t *testing.T) {
	g := newGate()
	db := mustOpen(t, filepath.Join(t.TempDir(), "s.db"), Options{FailPoint: g.failPoint})
	defer db.Close()
	g.armed.Store(true)
	first := make(chan error, 1)
	go func() {
		_, err := db.Txn(context.Background(), nil, []store.Op{store.Put([]byte("first"), nil)})
		first <- err
	}()
	<-g.blocked
	var replies []chan txnResult
	for len(db.reqs) < cap(db.reqs) {
		r := make(chan txnResult, 1)
		db.reqs <- &txnReq{ops: []store.Op{store.Put([]byte(fmt.Sprintf("q%05d", len(replies))), nil)}, reply: r}
		replies = append(replies, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("late"), nil)})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Txn on a full queue: %v, want its context's error", err)
		}
	case <-time.After(10 * time.Second):
		close(g.open) // let the committer drain the queue, so that the store closes
		t.Fatal("Txn blocked on a full queue past its context")
	}
	close(g.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for _, r := range replies {
		if res := <-r; res.err != nil {
			t.Fatal(res.err)
		}
	}
	if _, found, err := db.Get(context.Background(), []byte("late")); err != nil || found {
		t.Fatalf("the abandoned request was applied: %v %v", found, err)
	}
}

// TestOpenInUse: a store file open elsewhere fails a second Open quickly
// with ErrInUse.
func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, path, Options{})
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: %v, want ErrInUse naming the file", err)
	}
	t.Log(err)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, path, Options{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptRevisionFailsOpen: a damaged store revision is an error
// naming it at Open, not a store silently reset to revision 0.
func TestCorruptRevisionFailsOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, path, Options{})
	if _, err := db.Txn(context.Background(), nil, []store.Op{store.Put([]byte("k"), nil)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(metaRev, []byte{0, 1}) }); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), `corrupt meta entry "rev"`) {
		t.Fatalf("Open of a store with a damaged revision: %v", err)
	}
}
