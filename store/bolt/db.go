package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

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
	// FailPoint is for tests that simulate a failing disk: when set, it is
	// called before each write of a log record (with FailLogWrite), each
	// growth of the log file (FailLogGrow), each data sync of the log
	// (FailLogSync) and each commit of the B+tree (FailCommit), and an
	// error it returns becomes that operation's error.
	FailPoint func(point string) error
}

// The operations Options.FailPoint can fail.
const (
	FailLogWrite = "log write"
	FailLogGrow  = "log grow"
	FailLogSync  = "log sync"
	FailCommit   = "commit"
)

// The engine's limits on one transaction (see store.Limits). A transaction
// is built in memory before its commit, and a large one goes to the B+tree
// in one bbolt commit: these bound its memory, far above what wbemd
// writes at once (a MOF compile of the whole DMTF schema, 5 MB of MOF and
// about 1,600 classes, is one transaction).
const (
	MaxTxnOps   = 1 << 20
	MaxTxnBytes = 256 << 20
	MaxKeyBytes = bbolt.MaxKeySize
)

// lockWait is how long Open waits for the file lock another process (or
// another DB of this one) holds before it fails with ErrInUse.
const lockWait = 500 * time.Millisecond

// ErrInUse is wrapped by Open's error when the store file is open
// elsewhere: bbolt allows one writer process per file.
var ErrInUse = errors.New("store file in use by another process")

// DB is an open bbolt store. It implements store.Store.
type DB struct {
	db   *bbolt.DB
	path string
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

	readOnly atomic.Pointer[error] // set once a write failed in a way that leaves the disk's state unknown

	// The committer's: the back-off of a checkpoint that found no space
	// (nospace.go), and when a refused write was last logged.
	cpWait        time.Duration
	cpRetry       time.Time
	noSpaceLogged time.Time
}

// Stats are the engine's counters; see DB.Stats.
type Stats = store.Stats

// Stats returns the engine's counters since Open: Bytes is the size of the
// B+tree file and its log; Commits counts group commits (each synced to
// disk: a log record, or for a large batch a bbolt commit), Txns the
// requests they carried (failed compares included), Checkpoints the bbolt
// commits that moved logged writes into the B+tree.
func (d *DB) Stats() store.Stats {
	var size int64
	for _, p := range []string{d.path, d.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	return store.Stats{Bytes: size, Commits: d.commits.Load(), Txns: d.txns.Load(), CommitTime: time.Duration(d.commitNanos.Load()), Checkpoints: d.checkpoints.Load()}
}

// Limits returns the engine's limits: MaxTxnOps, MaxTxnBytes, MaxKeyBytes.
func (d *DB) Limits() store.Limits {
	return store.Limits{MaxOps: MaxTxnOps, MaxBytes: MaxTxnBytes, MaxKeyBytes: MaxKeyBytes}
}

// Health returns nil while the store accepts writes; once a log write or
// sync, or a B+tree commit, failed, the error every write gets (wrapping
// store.ErrReadOnly and the cause) until the store is reopened;
// store.ErrClosed after Close.
func (d *DB) Health() error {
	if d.closed.Load() {
		return store.ErrClosed
	}
	if err := d.readOnly.Load(); err != nil {
		return *err
	}
	return nil
}

// stop makes the engine read-only after a failure that leaves the disk's
// state unknown (after a failed fdatasync the kernel may have dropped the
// unwritten pages, so a later sync that succeeds proves nothing). It
// returns the error every later write gets. Reads go on: the published
// state is unchanged.
func (d *DB) stop(cause error) error {
	err := fmt.Errorf("%w: %w", store.ErrReadOnly, cause)
	if d.readOnly.CompareAndSwap(nil, &err) {
		d.log.Error("store is read-only until reopened", "err", err)
	}
	return *d.readOnly.Load()
}

// failPoint returns the error Options.FailPoint gives point, if any.
func (d *DB) failPoint(point string) error {
	if d.opts.FailPoint == nil {
		return nil
	}
	return d.opts.FailPoint(point)
}

var (
	_ store.Store     = (*DB)(nil)
	_ store.Healther  = (*DB)(nil)
	_ store.Statser   = (*DB)(nil)
	_ store.Checker   = (*DB)(nil)
	_ store.Compactor = (*DB)(nil)
)

// Open opens (creating if needed) the store file at path. It does not read
// the data: opening costs the same whatever the store's size. If another
// process has the file open, Open fails within half a second with an
// error wrapping ErrInUse.
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
		Timeout:      lockWait,
		NoSync:       opts.NoSync,
		FreelistType: bbolt.FreelistMapType,
		// bbolt remaps the file when it grows, and a remap waits for open
		// read transactions (Range iterations). Reserving address space up
		// front (not memory) keeps writers from waiting behind readers
		// until the file outgrows it.
		InitialMmapSize: 1 << 30,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: %w (its lock is held: is a wbemd or wbem command using this repository?)", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	d := &DB{db: bdb, path: path, opts: opts, log: opts.Logger, reqs: make(chan *txnReq, 4096), done: make(chan struct{}), subs: map[*subscriber]struct{}{}}
	// A store that has its buckets is opened without a write, so that a
	// full disk does not keep it from opening (nospace.go).
	ready := false
	err = bdb.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || tx.Bucket(bucketData) == nil || tx.Bucket(bucketFeed) == nil || meta.Get(metaVersion) == nil {
			return nil
		}
		if v := meta.Get(metaVersion); len(v) != 8 || binary.BigEndian.Uint64(v) != formatVersion {
			return fmt.Errorf("unsupported store format version")
		}
		ready = true
		return nil
	})
	if err == nil && !ready {
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
	}
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

// metaU64 reads a counter of the meta bucket: 0 when absent, an error
// naming it when it is not 8 bytes.
func metaU64(meta *bbolt.Bucket, name []byte) (int64, error) {
	v := meta.Get(name)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("bolt: corrupt meta entry %q: %d bytes, want 8", name, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// unstamp splits a value of the data bucket into the value and its
// revision header; a value too short to hold the header is an error
// naming the key, never a panic.
func unstamp(key, v []byte) ([]byte, int64, error) {
	if len(v) < 8 {
		return nil, 0, fmt.Errorf("bolt: corrupt value of key %q: %d bytes, shorter than its revision header", key, len(v))
	}
	return v[8:], int64(binary.BigEndian.Uint64(v[:8])), nil
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
// Watch and closes the file. A read-only store (see Health) writes nothing
// more: its log stays for the next Open to replay.
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
	if d.readOnly.Load() != nil {
		// Write nothing more: the next Open recovers from the disk.
		err := d.wal.close(false)
		if cerr := d.db.Close(); err == nil {
			err = cerr
		}
		return err
	}
	err := d.checkpoint()
	if cerr := d.wal.close(err == nil); err == nil {
		err = cerr
	}
	if cerr := d.db.Close(); err == nil {
		err = cerr
	}
	return err
}
