// Package store defines the small key-value interface under wbemd's
// repository: point reads, ordered range scans, atomic multi-key
// transactions guarded by compares, and a change feed with revisions.
//
// The store knows bytes, not CIM. Engines (store/bolt, embedded on disk;
// store/etcd, distributed) implement Store and pass the shared conformance
// suite in store/storetest.
//
// Every key carries the revision of the transaction that last wrote it
// (ModRev). Revisions are positive, strictly increasing, and assigned one per
// committed transaction. A transaction whose compares all hold applies all of
// its ops at one new revision and is durable when Txn returns; otherwise it
// applies nothing.
//
// A transaction is checked before it is judged: an ill-formed one fails
// with ErrInvalidTxn, one beyond the engine's Limits with ErrTxnTooLarge,
// and neither writes anything nor affects other transactions. An engine
// that can no longer write safely (a failed disk sync) fails every later
// write with ErrReadOnly and keeps serving reads; see Healther.
package store

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// ErrCompareFailed is returned by Txn when a compare did not hold; nothing
// was written.
var ErrCompareFailed = errors.New("store: compare failed")

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store: closed")

// ErrCompacted is returned by Watch when the requested revision is older
// than the oldest revision the change feed still holds.
var ErrCompacted = errors.New("store: revision compacted")

// ErrInvalidTxn is wrapped by the error of a transaction that is not
// well-formed (see CheckTxn); nothing was written.
var ErrInvalidTxn = errors.New("store: invalid transaction")

// ErrTxnTooLarge is wrapped by the error of a transaction beyond the
// engine's Limits (see CheckTxn); nothing was written.
var ErrTxnTooLarge = errors.New("store: transaction too large")

// ErrReadOnly is wrapped by the error of every write to an engine that
// stopped writing because it could no longer be sure of what is on disk
// (a failed write or sync of its log, a failed commit). The error also
// wraps that cause. Reads keep working; reopening the store (which
// recovers from what is on disk) clears it.
var ErrReadOnly = errors.New("store: read-only")

// ErrNoSpace is wrapped by the error of a write refused because the disk
// (or the user's quota) is full: nothing was written, and the same write
// may succeed once space is freed. The error also wraps the file system's
// error, which names files: log it, do not show it to clients.
var ErrNoSpace = errors.New("store: out of disk space")

// KV is a stored key with its value and the revision that last wrote it.
type KV struct {
	Key    []byte
	Value  []byte
	ModRev int64
}

// OpKind says what an Op does.
type OpKind uint8

// The op kinds.
const (
	OpPut         OpKind = iota + 1 // set Key to Value
	OpDelete                        // delete Key (no-op if absent)
	OpDeleteRange                   // delete every key in [Key, End)
)

// Op is one write of a transaction.
type Op struct {
	Kind  OpKind
	Key   []byte
	End   []byte // OpDeleteRange only
	Value []byte // OpPut only
	// Note, on a put, rides with the put's event to the watchers of this
	// process (Event.Note) and is never stored: a writer hands its
	// readers what it already built of Value (wbemd: the instance it
	// encoded), so that they need not decode Value. An engine may drop
	// it (etcd does), and an event read back from the log or the feed has
	// none. The watchers share it: read-only.
	Note any
}

// Put returns an op that sets key to value.
func Put(key, value []byte) Op { return Op{Kind: OpPut, Key: key, Value: value} }

// Delete returns an op that deletes key.
func Delete(key []byte) Op { return Op{Kind: OpDelete, Key: key} }

// DeleteRange returns an op that deletes every key in [start, end).
func DeleteRange(start, end []byte) Op { return Op{Kind: OpDeleteRange, Key: start, End: end} }

// DeletePrefix returns an op that deletes every key that starts with prefix.
func DeletePrefix(prefix []byte) Op { return DeleteRange(prefix, PrefixEnd(prefix)) }

// Compare is a transaction guard. With a nil End, the current ModRev of
// Key must equal ModRev (0 means the key must be absent). With End set, it
// is a range-absence guard: no key may exist in [Key, End) (End must be
// greater than Key, and ModRev must be 0); build one with Absent.
type Compare struct {
	Key    []byte
	End    []byte // a range-absence guard's end, exclusive; nil for a single key
	ModRev int64
}

// Absent returns a compare that holds when no key exists in [start, end):
// for instance, that a class has no subclass when a delete commits. A nil
// or empty start means from the first key; end must be greater than start.
func Absent(start, end []byte) Compare { return Compare{Key: start, End: end} }

// AbsentPrefix returns a compare that holds when no key starts with
// prefix. prefix must not be empty or all 0xff bytes.
func AbsentPrefix(prefix []byte) Compare { return Absent(prefix, PrefixEnd(prefix)) }

// EventType says what happened to a key.
type EventType uint8

// The event types.
const (
	EventPut EventType = iota + 1
	EventDelete
	// EventProgress is a progress notification (see WithProgress): no key
	// changed; every event of the watch up to revision Rev has been
	// yielded.
	EventProgress
)

// Event is one key change in the change feed, or a progress notification.
//
// A transaction produces at most one event per key, for the net effect of
// its ops on that key (a key put then deleted by one transaction yields a
// delete if it existed before, and nothing if it did not; a key deleted
// then put yields a put whose PrevValue is the value before the
// transaction), all with the transaction's revision, in ascending key
// order. A transaction that changes nothing yields no event (an engine
// may or may not give it a revision).
//
// Watch yields the events of a revision together, and marks the last one
// it yields (the last under the watched prefix) with Last: when a
// consumer reads an event with Last set, it has every event of that
// revision and of the revisions before it.
type Event struct {
	Type      EventType
	Rev       int64
	Key       []byte
	Value     []byte // the new value (EventPut)
	PrevValue []byte // the value before the change; nil if the key was absent
	// Last marks the last event of revision Rev that the watch yields.
	// A progress notification has Last set too: it ends no revision's
	// events but completes every revision up to Rev.
	Last bool
	// Note is the Note of the op that put Value, when the engine carried
	// it (see Op.Note): read-only.
	Note any
}

// WatchOptions are the options of one Watch; set them with WatchOption
// functions such as WithProgress.
type WatchOptions struct {
	// Progress, when positive, asks for progress notifications while
	// the watch is idle (see WithProgress).
	Progress time.Duration
}

// WatchOption sets an option of a Watch.
type WatchOption func(*WatchOptions)

// WithProgress asks Watch for progress notifications: events of type
// EventProgress with only Rev (and Last) set, saying that every event
// under the watched prefix with a revision up to Rev has been yielded.
// A notification's Rev is greater than the revision of every event and
// notification yielded before it; it covers revisions with no event
// under the prefix, so that a consumer learns that they are complete
// without waiting for a later event.
//
// An engine yields one when the store's revision has moved past the last
// one the watch yielded and the watch has had nothing else to yield for
// about interval; it may yield them sooner (the embedded engine yields
// one as soon as a commit leaves the watch behind) or later (the etcd
// engine yields those of the cluster, see its documentation).
func WithProgress(interval time.Duration) WatchOption {
	return func(o *WatchOptions) { o.Progress = interval }
}

// NewWatchOptions returns the options opts set, for engines.
func NewWatchOptions(opts ...WatchOption) WatchOptions {
	var o WatchOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Store is a transactional, ordered key-value store with a change feed.
// All methods are safe for concurrent use.
type Store interface {
	// Get returns the key's value and ModRev; found is false if it is absent.
	Get(ctx context.Context, key []byte) (kv KV, found bool, err error)

	// Range yields, in ascending key order, every key in [start, end) as of
	// one consistent snapshot; a nil end means "to the end of the keyspace".
	// The KV slices are valid only until the next iteration step. Range
	// holds its snapshot until the loop ends, so callers must not hold an
	// iteration open indefinitely.
	Range(ctx context.Context, start, end []byte) iter.Seq2[KV, error]

	// Txn applies ops atomically if every compare holds, and returns the
	// new revision. The store may keep ops' keys and values (for the change
	// feed): callers must not modify them after the call. It returns
	// ErrCompareFailed (and writes nothing) if a compare does not hold, an
	// error wrapping ErrInvalidTxn or ErrTxnTooLarge if CheckTxn fails
	// against Limits, and one wrapping ErrReadOnly once the engine stopped
	// writing. When Txn returns nil the write is durable. Concurrent Txn
	// calls may share one disk sync (group commit); one failing transaction
	// never fails the others.
	Txn(ctx context.Context, cmps []Compare, ops []Op) (rev int64, err error)

	// Limits returns the engine's limits on one transaction.
	Limits() Limits

	// Rev returns the revision of the last committed transaction.
	Rev(ctx context.Context) (int64, error)

	// Watch streams the events of every transaction after revision from
	// (from itself excluded) whose keys start with prefix, in revision
	// order, each revision's events together and the last of them marked
	// Last, then follows new ones as they commit, until ctx is done (it
	// then yields ctx.Err()). It fails with ErrCompacted if the feed no
	// longer holds revision from+1. With WithProgress it also yields
	// progress notifications.
	Watch(ctx context.Context, prefix []byte, from int64, opts ...WatchOption) iter.Seq2[Event, error]

	// Backup writes a consistent snapshot of the whole store to w while the
	// store keeps serving. The snapshot opens as a store of the same engine.
	Backup(ctx context.Context, w io.Writer) error

	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, for use as a Range end; nil if there is none.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
