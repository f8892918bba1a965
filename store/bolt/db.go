package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
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
