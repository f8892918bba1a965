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
package store

import (
	"context"
	"errors"
	"io"
	"iter"
)

// ErrCompareFailed is returned by Txn when a compare did not hold; nothing
// was written.
var ErrCompareFailed = errors.New("store: compare failed")

// ErrClosed is returned by calls on a closed store.
var ErrClosed = errors.New("store: closed")

// ErrCompacted is returned by Watch when the requested revision is older
// than the oldest revision the change feed still holds.
var ErrCompacted = errors.New("store: revision compacted")

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
}

// Put returns an op that sets key to value.
func Put(key, value []byte) Op { return Op{Kind: OpPut, Key: key, Value: value} }

// Delete returns an op that deletes key.
func Delete(key []byte) Op { return Op{Kind: OpDelete, Key: key} }

// DeleteRange returns an op that deletes every key in [start, end).
func DeleteRange(start, end []byte) Op { return Op{Kind: OpDeleteRange, Key: start, End: end} }

// DeletePrefix returns an op that deletes every key that starts with prefix.
func DeletePrefix(prefix []byte) Op { return DeleteRange(prefix, PrefixEnd(prefix)) }

// Compare is a transaction guard: the key's current ModRev must equal
// ModRev (0 means the key must be absent).
type Compare struct {
	Key    []byte
	ModRev int64
}

// EventType says what happened to a key.
type EventType uint8

// The event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one key change in the change feed. A transaction produces one
// event per key it changed, all with the transaction's revision, in key
// order within the transaction.
type Event struct {
	Type      EventType
	Rev       int64
	Key       []byte
	Value     []byte // the new value (EventPut)
	PrevValue []byte // the value before the change; nil if the key was absent
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
	// feed): callers must not modify them after the call. It returns ErrCompareFailed (and writes nothing) if a
	// compare does not hold. When Txn returns nil the write is durable.
	// Concurrent Txn calls may share one disk sync (group commit).
	Txn(ctx context.Context, cmps []Compare, ops []Op) (rev int64, err error)

	// Rev returns the revision of the last committed transaction.
	Rev(ctx context.Context) (int64, error)

	// Watch streams the events of every transaction after revision from
	// (from itself excluded) whose keys start with prefix, then follows new
	// ones as they commit, until ctx is done. It fails with ErrCompacted if
	// the feed no longer holds revision from+1.
	Watch(ctx context.Context, prefix []byte, from int64) iter.Seq2[Event, error]

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
