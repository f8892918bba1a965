package store

import (
	"context"
	"time"
)

// Optional interfaces: an engine implements those that make sense for it,
// and callers test for them with a type assertion.

// Healther is implemented by engines that can stop writing while still
// serving reads (see ErrReadOnly). A daemon's health check reports it.
type Healther interface {
	// Health returns nil while the store accepts writes; otherwise the
	// error every write gets (wrapping ErrReadOnly and its cause, or
	// ErrClosed).
	Health() error
}

// Statser is implemented by engines that count their work, for metrics.
type Statser interface {
	// Stats returns the engine's counters since it was opened.
	Stats() Stats
}

// Stats are engine-neutral counters. A field an engine does not have stays
// zero.
type Stats struct {
	// Bytes is the size of the engine's storage (for the embedded engine,
	// its files on disk; for a distributed one, its database size).
	Bytes int64
	// Commits counts the engine's commits to durable storage; several
	// transactions may share one (group commit).
	Commits uint64
	// Txns counts the transactions those commits carried, failed compares
	// included: Txns/Commits is the mean number that shared one commit.
	Txns uint64
	// CommitTime is the time spent in those commits, disk syncs included.
	CommitTime time.Duration
	// Checkpoints counts the engine's checkpoints (for the embedded engine,
	// the B+tree commits that move logged writes into its file).
	Checkpoints uint64
}

// Checker is implemented by engines that can verify their own storage
// (pages, headers, the change feed) while serving.
type Checker interface {
	// Check returns nil if the storage is sound, or an error naming the
	// first fault found.
	Check(ctx context.Context) error
}

// Compactor is implemented by engines whose change feed can be compacted
// on demand (engines also compact on their own schedule).
type Compactor interface {
	// Compact drops the change feed up to revision rev, which must not be
	// newer than the store's: Watch from an earlier revision then fails
	// with ErrCompacted.
	Compact(ctx context.Context, rev int64) error
}
