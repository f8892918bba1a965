// Package bolt is wbemd's embedded store engine: one bbolt file (a B+tree
// with one writer and many MVCC readers) implementing store.Store.
//
// Layout: bucket "data" maps each key to an 8-byte big-endian ModRev
// followed by the value; bucket "meta" holds the current revision, the
// format version and the compaction point of the change feed; bucket
// "feed" maps (8-byte revision, 4-byte sequence) to a chunk of a
// transaction's encoded events, in order (see encodeChunk).
//
// Writes go through a single committer goroutine that takes every pending
// Txn request and judges each on its compares against the state left by the
// ones before it, giving each its own revision. The batch's changes are
// appended to a write-ahead log (the file's path with "-wal" added) in one
// record with one data sync: concurrent writers share that sync (group
// commit), and a Txn returns only after it. The changes then become
// visible to readers through an in-memory overlay of the keys written since
// the last checkpoint (see overlay). Every few thousand revisions, or
// megabytes, a checkpoint applies them to the B+tree in one bbolt commit
// and empties the log; Open replays whatever a crash left in the log.
// Large batches (bulk loads) skip the log: they go straight to the B+tree
// in a bbolt commit of their own, after a checkpoint.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/google/btree"

	"github.com/wbemd/wbemd/store"
)

var (
	bucketData = []byte("data")
	bucketMeta = []byte("meta")
	bucketFeed = []byte("feed")

	metaRev     = []byte("rev")
	metaVersion = []byte("version")
	metaCompact = []byte("compacted")
)

const formatVersion = 1

// Options configure a DB.
type Options struct {
	// NoSync skips the fsync of each commit. Unsafe: a crash can lose
	// acknowledged writes. For tests and throwaway bulk loads only.
	NoSync bool
	// FeedRetention is how many revisions of change feed are kept at
	// least (default 100,000); older ones are dropped at checkpoints, and
	// Watch from a dropped revision fails with store.ErrCompacted.
	FeedRetention int64
	// MaxBatch caps how many Txn requests share one commit (default 1,024).
	MaxBatch int
	// IdleCheckpoint is how long writes must pause before the logged ones
	// are moved into the B+tree without waiting for the log to fill
	// (default 100 ms; negative: never).
	IdleCheckpoint time.Duration
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
}

// DB is an open bbolt store. It implements store.Store.
type DB struct {
	db   *bbolt.DB
	opts Options
	log  *slog.Logger

	reqs   chan *txnReq
	done   chan struct{}
	closed atomic.Bool
	mu     sync.RWMutex // held for reading by callers in flight, for writing by Close
	wg     sync.WaitGroup

	subMu sync.Mutex
	subs  map[*subscriber]struct{}
	rev   atomic.Int64 // last committed revision

	wal  *wal
	work *btree.BTreeG[change] // the committer's own tree: the published overlay's, plus the batch in progress
	ovMu sync.RWMutex          // guards ov; held by readers while they pair it with a bbolt read transaction
	ov   *overlay              // the published overlay

	commits, txns, waits, commitNanos, checkpoints atomic.Uint64 // see Stats
}

// Stats are counters of the engine's group commit since Open.
type Stats struct {
	Commits     uint64        // group commits (each synced to disk: a log record, or for a large batch a bbolt commit)
	Txns        uint64        // Txn requests they carried, failed compares included
	Waits       uint64        // batches that waited for more concurrent writers (see committer)
	CommitTime  time.Duration // time spent in those commits, sync included
	Checkpoints uint64        // bbolt commits that moved logged writes into the B+tree
}

// Stats returns the group-commit counters: Txns/Commits is the mean number
// of requests that shared one commit.
func (d *DB) Stats() Stats {
	return Stats{Commits: d.commits.Load(), Txns: d.txns.Load(), Waits: d.waits.Load(), CommitTime: time.Duration(d.commitNanos.Load()), Checkpoints: d.checkpoints.Load()}
}

var _ store.Store = (*DB)(nil)

type txnReq struct {
	cmps       []store.Compare
	ops        []store.Op
	checkpoint bool // not a transaction: a request for a checkpoint (Backup, Check)
	reply      chan txnResult
}

type txnResult struct {
	rev int64
	err error
}

// Open opens (creating if needed) the store file at path. It does not read
// the data: opening costs the same whatever the store's size.
func Open(path string, opts Options) (*DB, error) {
	if opts.FeedRetention <= 0 {
		opts.FeedRetention = 100_000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.IdleCheckpoint == 0 {
		opts.IdleCheckpoint = defaultIdleCheckpoint
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      2 * time.Second,
		NoSync:       opts.NoSync,
		FreelistType: bbolt.FreelistMapType,
		// bbolt remaps the file when it grows, and a remap waits for open
		// read transactions (Range iterations). Reserving address space up
		// front (not memory) keeps writers from waiting behind readers
		// until the file outgrows it.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	d := &DB{db: bdb, opts: opts, log: opts.Logger, reqs: make(chan *txnReq, 4096), done: make(chan struct{}), subs: map[*subscriber]struct{}{}}
	err = bdb.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketData, bucketMeta, bucketFeed} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(metaVersion); v == nil {
			return meta.Put(metaVersion, u64(formatVersion))
		} else if len(v) != 8 || binary.BigEndian.Uint64(v) != formatVersion {
			return fmt.Errorf("unsupported store format version")
		}
		return nil
	})
	if err != nil {
		bdb.Close()
		return nil, fmt.Errorf("bolt: initialise %s: %w", path, err)
	}
	if err := d.recover(path + "-wal"); err != nil {
		bdb.Close()
		return nil, err
	}
	d.wg.Add(1)
	go d.committer()
	return d, nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func readU64(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// enter marks a call in flight; it fails once the store is closed.
func (d *DB) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	if d.closed.Load() {
		d.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (d *DB) leave() { d.mu.RUnlock() }

// Get returns a key's value and ModRev.
func (d *DB) Get(ctx context.Context, key []byte) (store.KV, bool, error) {
	if err := d.enter(ctx); err != nil {
		return store.KV{}, false, err
	}
	defer d.leave()
	d.ovMu.RLock()
	if c, ok := d.ov.tree.Get(change{key: key}); ok {
		d.ovMu.RUnlock()
		if c.deleted {
			return store.KV{}, false, nil
		}
		return store.KV{Key: key, Value: append([]byte(nil), c.value...), ModRev: c.rev}, true, nil
	}
	tx, err := d.db.Begin(false)
	d.ovMu.RUnlock()
	if err != nil {
		return store.KV{}, false, fmt.Errorf("bolt: read: %w", err)
	}
	defer tx.Rollback()
	v := tx.Bucket(bucketData).Get(key)
	if v == nil {
		return store.KV{}, false, nil
	}
	if len(v) < 8 {
		return store.KV{}, false, fmt.Errorf("bolt: corrupt value of key %q", key)
	}
	return store.KV{Key: key, Value: append([]byte(nil), v[8:]...), ModRev: readU64(v[:8])}, true, nil
}

// snapshot returns the published overlay and a bbolt read transaction
// begun while it was published: together, one consistent state. The
// caller rolls the transaction back.
func (d *DB) snapshot() (*overlay, *bbolt.Tx, error) {
	d.ovMu.RLock()
	defer d.ovMu.RUnlock()
	tx, err := d.db.Begin(false)
	if err != nil {
		return nil, nil, fmt.Errorf("bolt: read: %w", err)
	}
	return d.ov, tx, nil
}

// Range yields the keys in [start, end) from one read transaction.
func (d *DB) Range(ctx context.Context, start, end []byte) iter.Seq2[store.KV, error] {
	return func(yield func(store.KV, error) bool) {
		if err := d.enter(ctx); err != nil {
			yield(store.KV{}, err)
			return
		}
		defer d.leave()
		ov, tx, err := d.snapshot()
		if err != nil {
			yield(store.KV{}, err)
			return
		}
		defer tx.Rollback()
		n := 0
		var stop error
		err = merged(ov.between(start, end), tx.Bucket(bucketData).Cursor(), start, end, func(kv store.KV) bool {
			if n++; n&1023 == 0 {
				if stop = ctx.Err(); stop != nil {
					return false
				}
			}
			return yield(kv, nil)
		})
		if err == nil {
			err = stop
		}
		if err != nil {
			yield(store.KV{}, err)
		}
	}
}

// merged calls fn, in key order until it returns false, with each key in
// [start, end) (a nil end: to the end of the keyspace) of the state that
// changes (sorted, as overlay.between returns them) make of the B+tree's
// data bucket under c. The KV slices of bbolt's keys stay valid until its
// transaction ends. It fails on a value without its revision header.
func merged(changes []change, c *bbolt.Cursor, start, end []byte, fn func(store.KV) bool) error {
	var k, v []byte
	if start == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(start)
	}
	for {
		if k != nil && end != nil && bytes.Compare(k, end) >= 0 {
			k = nil
		}
		var kv store.KV
		switch {
		case k == nil && len(changes) == 0:
			return nil
		case len(changes) > 0 && (k == nil || bytes.Compare(changes[0].key, k) <= 0):
			ch := changes[0]
			changes = changes[1:]
			if k != nil && bytes.Equal(ch.key, k) {
				k, v = c.Next() // the change replaces the B+tree's value
			}
			if ch.deleted {
				continue
			}
			kv = store.KV{Key: ch.key, Value: ch.value, ModRev: ch.rev}
		default:
			if len(v) < 8 {
				return fmt.Errorf("bolt: corrupt value of key %q", k)
			}
			kv = store.KV{Key: k, Value: v[8:], ModRev: readU64(v[:8])}
			k, v = c.Next()
		}
		if !fn(kv) {
			return nil
		}
	}
}

// Rev returns the last committed revision.
func (d *DB) Rev(ctx context.Context) (int64, error) {
	if err := d.enter(ctx); err != nil {
		return 0, err
	}
	defer d.leave()
	return d.rev.Load(), nil
}

// Txn applies ops atomically if every compare holds. It returns when the
// commit is durable. If ctx ends while the request waits, Txn returns
// ctx.Err() and the transaction may or may not have been applied.
func (d *DB) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	if err := d.enter(ctx); err != nil {
		return 0, err
	}
	req := &txnReq{cmps: cmps, ops: ops, reply: make(chan txnResult, 1)}
	d.reqs <- req
	d.leave()
	select {
	case r := <-req.reply:
		return r.rev, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// committer gathers requests into batches and commits each batch once.
//
// A batch holds every request already queued. When writers run
// concurrently, a batch waits a little for the writers the last commit
// just answered: without the wait, a writer's next request arrives while
// the following commit is already running and waits for it to end, and
// with C writers each commit carries about C/2 requests (seen with 8
// connections over HTTP: 3.75 requests a commit). The wait ends as soon as
// the batch is as large as the largest of the last batches (so a lone
// writer never waits), or after half the last commit's time (at most
// maxGatherWait); see batchWindow.
func (d *DB) committer() {
	defer d.wg.Done()
	batch := make([]*txnReq, 0, d.opts.MaxBatch)
	var recent batchWindow
	var lastCommit time.Duration
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	for {
		var req *txnReq
		ok := true
		if d.ov.rev == d.ov.base || d.opts.IdleCheckpoint < 0 {
			req, ok = <-d.reqs
		} else {
			idle.Reset(d.opts.IdleCheckpoint)
			select {
			case req, ok = <-d.reqs:
				idle.Stop()
			case <-idle.C:
				if err := d.checkpoint(); err != nil {
					d.log.Error("store checkpoint failed", "err", err)
				}
				continue
			}
		}
		if !ok {
			return
		}
		batch = append(batch[:0], req)
		open := d.gather(&batch)
		if want := min(recent.max(), d.opts.MaxBatch); open && len(batch) < want && lastCommit > 0 {
			timer.Reset(min(lastCommit/2, maxGatherWait))
			d.waits.Add(1)
			for open && len(batch) < want {
				select {
				case r, ok := <-d.reqs:
					if open = ok; ok {
						batch = append(batch, r)
						open = d.gather(&batch)
					}
				case <-timer.C:
					want = 0
				}
			}
			timer.Stop()
		}
		start := time.Now()
		d.commit(batch)
		lastCommit = time.Since(start)
		recent.add(len(batch))
	}
}

// defaultIdleCheckpoint is how long the committer waits for a request
// before it checkpoints the overlay anyway: when writers pause, the logged
// writes move to the B+tree, which frees the overlay's memory (and the
// collector's work of scanning it, about 10% of the CPU of a server
// answering reads beside a 4,000-revision overlay) and shortens recovery.
const defaultIdleCheckpoint = 100 * time.Millisecond

// maxGatherWait bounds a batch's wait for concurrent writers, whatever the
// last commit took (a bulk load's commit can take seconds).
const maxGatherWait = 2 * time.Millisecond

// gather appends the requests already queued, up to MaxBatch, to batch. It
// reports false once the queue is closed.
func (d *DB) gather(batch *[]*txnReq) bool {
	for len(*batch) < d.opts.MaxBatch {
		select {
		case r, ok := <-d.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		default:
			return true
		}
	}
	return true
}

// batchWindow remembers the sizes of the last commits' batches: their
// maximum is how many writers were seen running at once.
type batchWindow struct {
	sizes [32]int
	next  int
}

func (w *batchWindow) add(n int) {
	w.sizes[w.next] = n
	w.next = (w.next + 1) % len(w.sizes)
}

func (w *batchWindow) max() int {
	m := 0
	for _, n := range w.sizes {
		m = max(m, n)
	}
	return m
}

// Thresholds of the write-ahead log: a checkpoint runs once the overlay
// holds this many revisions or about this many bytes, and a batch with at
// least directOps ops or directBytes bytes goes straight to the B+tree.
const (
	checkpointRevs  = 4096
	checkpointBytes = 8 << 20
	directOps       = 1024
	directBytes     = 1 << 20
)

// commit commits a batch, answers every request, then runs a checkpoint
// if the overlay has grown enough or a request asked for one.
func (d *DB) commit(batch []*txnReq) {
	txns := batch[:0:0]
	var want []*txnReq // checkpoint requests
	ops, size := 0, 0
	for _, req := range batch {
		if req.checkpoint {
			want = append(want, req)
			continue
		}
		txns = append(txns, req)
		ops += len(req.ops)
		for _, op := range req.ops {
			size += len(op.Key) + len(op.Value)
		}
	}
	if len(txns) > 0 && (ops >= directOps || size >= directBytes) {
		d.commitDirect(txns)
	} else if len(txns) > 0 {
		d.commitLogged(txns)
	}
	if len(want) > 0 || d.ov.rev-d.ov.base >= checkpointRevs || d.ov.bytes >= checkpointBytes {
		err := d.checkpoint()
		if err != nil {
			d.log.Error("store checkpoint failed", "err", err)
		}
		for _, req := range want {
			req.reply <- txnResult{err: err}
		}
	}
}

// fail answers every request of a batch with err.
func (d *DB) fail(batch []*txnReq, err error) {
	d.log.Error("store commit failed", "err", err, "batch", len(batch))
	for _, req := range batch {
		req.reply <- txnResult{err: err}
	}
}

// commitLogged judges and applies a batch to the committer's tree, appends
// its changes to the log in one synced record, publishes the new overlay
// and answers.
func (d *DB) commitLogged(batch []*txnReq) {
	start := time.Now()
	results := make([]txnResult, len(batch))
	ov := d.ov
	tx, err := d.db.Begin(false)
	if err != nil {
		d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
		return
	}
	defer tx.Rollback()
	data := tx.Bucket(bucketData)
	var revs [][]store.Event
	grown := 0
	cur := ov.rev
	for i, req := range batch {
		if !d.holds(data, req.cmps) {
			results[i] = txnResult{err: store.ErrCompareFailed}
			continue
		}
		cur++
		evs, n, err := d.applyToTree(data, cur, req.ops)
		if err != nil {
			d.undo(ov)
			d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
			return
		}
		grown += n
		results[i] = txnResult{rev: cur}
		revs = append(revs, evs)
	}
	if cur > ov.rev {
		if err := d.wal.append(ov.rev+1, revs); err != nil {
			d.undo(ov)
			d.fail(batch, err)
			return
		}
		next := &overlay{tree: d.work.Clone(), events: append(ov.events, revs...), base: ov.base, rev: cur, bytes: ov.bytes + grown}
		d.ovMu.Lock()
		d.ov = next
		d.ovMu.Unlock()
		d.rev.Store(cur)
	}
	d.count(len(batch), start)
	for i, req := range batch {
		req.reply <- results[i]
	}
	d.publish(revs)
}

// count adds a group commit of n requests that began at start to Stats;
// it is called before any answer, so that a caller's Stats include its own
// request.
func (d *DB) count(n int, start time.Time) {
	d.commits.Add(1)
	d.txns.Add(uint64(n))
	d.commitNanos.Add(uint64(time.Since(start)))
}

// undo resets the committer's tree to the published overlay's after a
// failed batch. It copies the tree (a failure is rare; a clone before
// every batch would cost every batch a copy of the nodes it writes).
func (d *DB) undo(ov *overlay) {
	d.work = newTree()
	ov.tree.Ascend(func(c change) bool {
		d.work.ReplaceOrInsert(c)
		return true
	})
}

// holds reports whether every compare holds in the state the committer
// sees: its tree over the B+tree.
func (d *DB) holds(data *bbolt.Bucket, cmps []store.Compare) bool {
	for _, c := range cmps {
		_, mod, _ := d.lookup(data, c.Key)
		if mod != c.ModRev {
			return false
		}
	}
	return true
}

// lookup returns key's value and ModRev in the committer's state. A value
// read from the B+tree is copied: it outlives the read transaction.
func (d *DB) lookup(data *bbolt.Bucket, key []byte) ([]byte, int64, bool) {
	if c, ok := d.work.Get(change{key: key}); ok {
		if c.deleted {
			return nil, 0, false
		}
		return c.value, c.rev, true
	}
	v := data.Get(key)
	if v == nil {
		return nil, 0, false
	}
	return append([]byte(nil), v[8:]...), readU64(v[:8]), true
}

// applyToTree performs one request's ops at revision rev on the
// committer's tree and returns its events and the bytes the tree grew by.
func (d *DB) applyToTree(data *bbolt.Bucket, rev int64, ops []store.Op) ([]store.Event, int, error) {
	evs := []store.Event{}
	grown := 0
	set := func(ev store.Event) {
		ev.Rev = rev
		evs = append(evs, ev)
		d.work.ReplaceOrInsert(change{key: ev.Key, value: ev.Value, rev: rev, deleted: ev.Type == store.EventDelete})
		grown += 64 + len(ev.Key) + len(ev.Value)
	}
	for _, op := range inKeyOrder(ops) {
		switch op.Kind {
		case store.OpPut:
			if len(op.Key) == 0 {
				return nil, 0, errors.New("empty key")
			}
			pv, _, _ := d.lookup(data, op.Key)
			set(store.Event{Type: store.EventPut, Key: op.Key, Value: op.Value, PrevValue: pv})
		case store.OpDelete:
			if pv, _, ok := d.lookup(data, op.Key); ok {
				set(store.Event{Type: store.EventDelete, Key: op.Key, PrevValue: pv})
			}
		case store.OpDeleteRange:
			keys, err := d.liveKeys(data, op.Key, op.End)
			if err != nil {
				return nil, 0, err
			}
			for _, k := range keys {
				pv, _, _ := d.lookup(data, k)
				set(store.Event{Type: store.EventDelete, Key: k, PrevValue: pv})
			}
		default:
			return nil, 0, fmt.Errorf("unknown op kind %d", op.Kind)
		}
	}
	return evs, grown, nil
}

// liveKeys returns the keys in [start, end) that the committer's state
// holds, in order.
func (d *DB) liveKeys(data *bbolt.Bucket, start, end []byte) ([][]byte, error) {
	var keys [][]byte
	err := merged((&overlay{tree: d.work}).between(start, end), data.Cursor(), start, end, func(kv store.KV) bool {
		keys = append(keys, append([]byte(nil), kv.Key...))
		return true
	})
	return keys, err
}

// checkpoint applies the overlay to the B+tree in one bbolt commit, then
// publishes an empty overlay and empties the log. On failure the log and
// the overlay still hold everything, and a later checkpoint retries.
func (d *DB) checkpoint() error {
	ov := d.ov
	if ov.rev == ov.base {
		return nil
	}
	revs := make([]logRev, len(ov.events))
	for i, evs := range ov.events {
		revs[i] = logRev{rev: ov.base + 1 + int64(i), events: evs}
	}
	if err := d.applyRevs(revs, false); err != nil {
		return fmt.Errorf("bolt: checkpoint: %w", err)
	}
	d.checkpoints.Add(1)
	d.setEmptyOverlay(ov.rev)
	d.wal.reset()
	return nil
}

// applyRevs writes consecutive revisions' events to the B+tree, feed
// included, in one bbolt commit, and moves the store's revision to the
// last (see applyEvents for fillPrev).
func (d *DB) applyRevs(revs []logRev, fillPrev bool) error {
	last := revs[len(revs)-1].rev
	return d.db.Update(func(tx *bbolt.Tx) error {
		data, feed, meta := tx.Bucket(bucketData), tx.Bucket(bucketFeed), tx.Bucket(bucketMeta)
		feed.FillPercent = 1.0 // the feed only grows at its end: pack its pages full
		for _, lr := range revs {
			if err := applyEvents(data, feed, lr.rev, lr.events, fillPrev); err != nil {
				return err
			}
		}
		if err := meta.Put(metaRev, u64(uint64(last))); err != nil {
			return err
		}
		return d.compactFeed(feed, meta, last, 2*len(revs))
	})
}

// setEmptyOverlay publishes an empty overlay over a B+tree at revision
// rev.
func (d *DB) setEmptyOverlay(rev int64) {
	d.work = newTree()
	next := &overlay{tree: d.work.Clone(), base: rev, rev: rev}
	d.ovMu.Lock()
	d.ov = next
	d.ovMu.Unlock()
}

// recover replays into the B+tree the revisions a crash left in the log
// at logPath, then starts an empty log and overlay.
func (d *DB) recover(logPath string) error {
	var rev int64
	_ = d.db.View(func(tx *bbolt.Tx) error {
		rev = readU64(tx.Bucket(bucketMeta).Get(metaRev))
		return nil
	})
	w, err := openWAL(logPath, !d.opts.NoSync)
	if err != nil {
		return err
	}
	revs, err := w.readAll(rev)
	if err != nil {
		w.close(false)
		return err
	}
	if len(revs) > 0 {
		last := revs[len(revs)-1].rev
		if err := d.applyRevs(revs, true); err != nil {
			w.close(false)
			return fmt.Errorf("bolt: replay log: %w", err)
		}
		d.log.Info("store log replayed", "revisions", len(revs), "from", rev+1, "to", last)
		rev = last
	}
	w.reset()
	d.wal = w
	d.rev.Store(rev)
	d.setEmptyOverlay(rev)
	return nil
}

// commitDirect applies a large batch in one bbolt transaction of its own,
// after a checkpoint, and answers every request.
func (d *DB) commitDirect(batch []*txnReq) {
	start := time.Now()
	if err := d.checkpoint(); err != nil {
		d.fail(batch, err)
		return
	}
	results := make([]txnResult, len(batch))
	var events [][]store.Event
	rev := d.rev.Load()
	err := d.db.Update(func(tx *bbolt.Tx) error {
		events = events[:0]
		data, feed, meta := tx.Bucket(bucketData), tx.Bucket(bucketFeed), tx.Bucket(bucketMeta)
		feed.FillPercent = 1.0 // the feed only grows at its end: pack its pages full
		cur := rev
		for i, req := range batch {
			if !comparesHold(data, req.cmps) {
				results[i] = txnResult{err: store.ErrCompareFailed}
				continue
			}
			cur++
			evs, err := apply(data, feed, cur, req.ops, provenAbsent(req.cmps))
			if err != nil {
				return err
			}
			results[i] = txnResult{rev: cur}
			events = append(events, evs)
		}
		if cur == rev {
			return nil
		}
		if err := meta.Put(metaRev, u64(uint64(cur))); err != nil {
			return err
		}
		return d.compactFeed(feed, meta, cur, 2*len(batch))
	})
	d.count(len(batch), start)
	if err != nil {
		d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
		return
	}
	for _, r := range results {
		if r.rev > rev {
			rev = r.rev
		}
	}
	d.setEmptyOverlay(rev)
	d.rev.Store(rev)
	for i, req := range batch {
		req.reply <- results[i]
	}
	d.publish(events)
}

func comparesHold(data *bbolt.Bucket, cmps []store.Compare) bool {
	for _, c := range cmps {
		v := data.Get(c.Key)
		var mod int64
		if v != nil {
			mod = readU64(v[:8])
		}
		if mod != c.ModRev {
			return false
		}
	}
	return true
}

// feedChunk is the size at which a feed record is closed: a transaction's
// events are packed into records of about this size, which fit in a page,
// rather than one record (and one B+tree insert) per event.
const feedChunk = 3000

// provenAbsent returns the keys that the request's compares (which held)
// prove absent, so that apply need not look them up again; nil for small
// requests, where the lookups cost less than the set.
func provenAbsent(cmps []store.Compare) map[string]bool {
	if len(cmps) < 64 {
		return nil
	}
	m := make(map[string]bool, len(cmps))
	for _, c := range cmps {
		if c.ModRev == 0 {
			m[string(c.Key)] = true
		}
	}
	return m
}

// feedWriter packs one revision's events into feed records of about
// feedChunk bytes.
type feedWriter struct {
	feed  *bbolt.Bucket
	rev   int64
	seq   uint32
	chunk []byte
}

func (w *feedWriter) add(ev store.Event) error {
	if w.chunk == nil {
		w.chunk = append(make([]byte, 0, feedChunk+512), chunkMarker)
	}
	w.chunk = appendEvent(w.chunk, ev)
	if len(w.chunk) >= feedChunk {
		return w.flush()
	}
	return nil
}

func (w *feedWriter) flush() error {
	if len(w.chunk) == 0 {
		return nil
	}
	fk := make([]byte, 12)
	binary.BigEndian.PutUint64(fk, uint64(w.rev))
	binary.BigEndian.PutUint32(fk[8:], w.seq)
	w.seq++
	err := w.feed.Put(fk, w.chunk)
	w.chunk = nil
	return err
}

// stamped returns value behind its 8-byte revision header, as the data
// bucket stores it.
func stamped(rev int64, value []byte) []byte {
	nv := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(nv, uint64(rev))
	copy(nv[8:], value)
	return nv
}

// applyEvents writes one revision's events (from the overlay, or replayed
// from the log) to the data bucket and the feed. With fillPrev, each
// event's PrevValue is read from the data bucket first (the log does not
// hold them).
func applyEvents(data, feed *bbolt.Bucket, rev int64, evs []store.Event, fillPrev bool) error {
	fw := feedWriter{feed: feed, rev: rev}
	for _, ev := range evs {
		if fillPrev {
			if prev := data.Get(ev.Key); prev != nil {
				ev.PrevValue = append([]byte(nil), prev[8:]...)
			}
		}
		var err error
		if ev.Type == store.EventDelete {
			err = data.Delete(ev.Key)
		} else {
			err = data.Put(ev.Key, stamped(rev, ev.Value))
		}
		if err == nil {
			err = fw.add(ev)
		}
		if err != nil {
			return err
		}
	}
	return fw.flush()
}

// apply performs one request's ops at revision rev on the B+tree and
// records its events in the feed. absent holds keys known to be absent
// before the request.
func apply(data, feed *bbolt.Bucket, rev int64, ops []store.Op, absent map[string]bool) ([]store.Event, error) {
	var evs []store.Event
	fw := feedWriter{feed: feed, rev: rev}
	add := func(ev store.Event) error {
		ev.Rev = rev
		evs = append(evs, ev)
		return fw.add(ev)
	}
	for _, op := range inKeyOrder(ops) {
		switch op.Kind {
		case store.OpPut:
			if len(op.Key) == 0 {
				return nil, errors.New("empty key")
			}
			var pv []byte
			if absent[string(op.Key)] {
				delete(absent, string(op.Key)) // a later op on the key sees this put
			} else if prev := data.Get(op.Key); prev != nil {
				pv = append([]byte(nil), prev[8:]...)
			}
			if err := data.Put(op.Key, stamped(rev, op.Value)); err != nil {
				return nil, err
			}
			if err := add(store.Event{Type: store.EventPut, Key: op.Key, Value: op.Value, PrevValue: pv}); err != nil {
				return nil, err
			}
		case store.OpDelete:
			prev := data.Get(op.Key)
			if prev == nil {
				continue
			}
			pv := append([]byte(nil), prev[8:]...)
			if err := data.Delete(op.Key); err != nil {
				return nil, err
			}
			if err := add(store.Event{Type: store.EventDelete, Key: op.Key, PrevValue: pv}); err != nil {
				return nil, err
			}
		case store.OpDeleteRange:
			c := data.Cursor()
			for k, v := c.Seek(op.Key); k != nil && (op.End == nil || bytes.Compare(k, op.End) < 0); k, v = c.Seek(op.Key) {
				key := append([]byte(nil), k...)
				pv := append([]byte(nil), v[8:]...)
				if err := data.Delete(key); err != nil {
					return nil, err
				}
				if err := add(store.Event{Type: store.EventDelete, Key: key, PrevValue: pv}); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("unknown op kind %d", op.Kind)
		}
	}
	return evs, fw.flush()
}

// inKeyOrder returns ops sorted by key (stably: a later op on the same key
// still wins) unless a range delete makes order matter. bbolt inserts into
// in-memory node slices, so a large transaction of unsorted keys costs a
// slice shift per insert; in key order each insert is an append.
func inKeyOrder(ops []store.Op) []store.Op {
	sorted := true
	for i, op := range ops {
		if op.Kind == store.OpDeleteRange {
			return ops
		}
		if i > 0 && bytes.Compare(ops[i-1].Key, op.Key) > 0 {
			sorted = false
		}
	}
	if sorted {
		return ops
	}
	out := append([]store.Op(nil), ops...)
	sort.SliceStable(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out
}

// compactFeed drops feed entries older than the retention window: at most
// max(4096, most) per commit, so that one commit never does unbounded work
// but the feed shrinks faster than a commit of `most` revisions grows it.
func (d *DB) compactFeed(feed, meta *bbolt.Bucket, cur int64, most int) error {
	limit := cur - d.opts.FeedRetention
	if limit <= 0 {
		return nil
	}
	c := feed.Cursor()
	var last int64
	for n := 0; n < max(4096, most); n++ {
		k, _ := c.First()
		if k == nil || readU64(k[:8]) > limit {
			break
		}
		last = readU64(k[:8])
		if err := c.Delete(); err != nil {
			return err
		}
	}
	if last > 0 {
		return meta.Put(metaCompact, u64(uint64(last)))
	}
	return nil
}

// chunkMarker starts a feed record holding a chunk of events: each is a
// uvarint length and an encoded event. (A record that starts with an event
// type instead holds that one event, as files written before chunks do.)
const chunkMarker = 0xC0

// appendEvent appends one event to a chunk.
func appendEvent(b []byte, ev store.Event) []byte {
	n := 3 + 3*binary.MaxVarintLen64 + len(ev.Key) + len(ev.Value) + len(ev.PrevValue)
	b = slices.Grow(b, n+binary.MaxVarintLen64)
	start := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen64)...) // room for the length
	body := len(b)
	b = encodeEvent(b, ev)
	size := binary.PutUvarint(b[start:], uint64(len(b)-body))
	return append(b[:start+size], b[body:]...)
}

func encodeEvent(b []byte, ev store.Event) []byte {
	b = append(b, byte(ev.Type))
	b = binary.AppendUvarint(b, uint64(len(ev.Key)))
	b = append(b, ev.Key...)
	b = binary.AppendUvarint(b, uint64(len(ev.Value)))
	b = append(b, ev.Value...)
	if ev.PrevValue == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(ev.PrevValue)))
		b = append(b, ev.PrevValue...)
	}
	return b
}

// decodeRecord returns the events of one feed record.
func decodeRecord(rev int64, v []byte) ([]store.Event, error) {
	if len(v) == 0 || v[0] != chunkMarker {
		ev, err := decodeEvent(rev, v)
		if err != nil {
			return nil, err
		}
		return []store.Event{ev}, nil
	}
	var out []store.Event
	for b := v[1:]; len(b) > 0; {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("bolt: corrupt feed chunk at revision %d", rev)
		}
		ev, err := decodeEvent(rev, b[k:k+int(n)])
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
		b = b[k+int(n):]
	}
	return out, nil
}

func decodeEvent(rev int64, b []byte) (store.Event, error) {
	bad := fmt.Errorf("bolt: corrupt feed entry at revision %d", rev)
	if len(b) < 1 {
		return store.Event{}, bad
	}
	ev := store.Event{Type: store.EventType(b[0]), Rev: rev}
	b = b[1:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		f := append([]byte(nil), b[k:k+int(n)]...)
		b = b[k+int(n):]
		return f, true
	}
	var ok bool
	if ev.Key, ok = field(); !ok {
		return store.Event{}, bad
	}
	if ev.Value, ok = field(); !ok {
		return store.Event{}, bad
	}
	if ev.Type == store.EventDelete {
		ev.Value = nil
	}
	if len(b) < 1 {
		return store.Event{}, bad
	}
	if b[0] == 1 {
		b = b[1:]
		if ev.PrevValue, ok = field(); !ok {
			return store.Event{}, bad
		}
	} else {
		b = b[1:]
	}
	if len(b) != 0 || (ev.Type != store.EventPut && ev.Type != store.EventDelete) {
		return store.Event{}, bad
	}
	return ev, nil
}

// Backup writes a consistent copy of the store file to w.
func (d *DB) Backup(ctx context.Context, w io.Writer) error {
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if err := d.awaitCheckpoint(ctx); err != nil {
		return err
	}
	return d.db.View(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}

// Close stops the committer after the requests already queued, ends every
// Watch and closes the file.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed.Swap(true) {
		d.mu.Unlock()
		return store.ErrClosed
	}
	close(d.reqs)
	d.mu.Unlock()
	d.wg.Wait()
	close(d.done)
	err := d.checkpoint()
	if cerr := d.wal.close(err == nil); err == nil {
		err = cerr
	}
	if cerr := d.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// awaitCheckpoint has the committer move every logged write into the
// B+tree, so that a reader of the bbolt file alone sees them all.
func (d *DB) awaitCheckpoint(ctx context.Context) error {
	req := &txnReq{checkpoint: true, reply: make(chan txnResult, 1)}
	d.reqs <- req
	select {
	case r := <-req.reply:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Check verifies the file: bbolt's own page checks, then that every value
// has its revision header, that no revision is newer than the store's, and
// that every feed entry decodes.
func (d *DB) Check(ctx context.Context) error {
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if err := d.awaitCheckpoint(ctx); err != nil {
		return err
	}
	return d.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bolt: %w", err)
		}
		cur := readU64(tx.Bucket(bucketMeta).Get(metaRev))
		err := tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			if len(v) < 8 {
				return fmt.Errorf("bolt: key %q has no revision header", k)
			}
			if r := readU64(v[:8]); r <= 0 || r > cur {
				return fmt.Errorf("bolt: key %q has revision %d outside 1..%d", k, r, cur)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFeed).ForEach(func(k, v []byte) error {
			if len(k) != 12 {
				return fmt.Errorf("bolt: malformed feed key %x", k)
			}
			_, err := decodeRecord(readU64(k[:8]), v)
			return err
		})
	})
}
