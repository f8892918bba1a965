// Package bolt is wbemd's embedded store engine: one bbolt file (a B+tree
// with one writer and many MVCC readers) implementing store.Store.
//
// Layout: bucket "data" maps each key to an 8-byte big-endian ModRev
// followed by the value; bucket "meta" holds the current revision, the
// format version and the compaction point of the change feed; bucket
// "feed" maps (8-byte revision, 4-byte sequence) to a chunk of a
// transaction's encoded events, in order (see appendEvent). Nothing read
// back is trusted: a value too short for its header, a damaged counter or
// feed key is an error naming it, never a panic.
//
// Writes go through a single committer goroutine that takes every pending
// Txn request and judges each on its compares against the state left by the
// ones before it, giving each its own revision. A transaction is checked
// (store.CheckTxn) before it joins the queue, and one that fails while its
// batch is applied fails alone: the batch is judged again without it. The
// batch's changes are appended to a write-ahead log (the file's path with
// "-wal" added) in one record with one data sync: concurrent writers share
// that sync (group commit), and a Txn returns only after it. The changes
// then become visible to readers through an in-memory overlay of the keys
// written since the last checkpoint (see overlay). Every few thousand
// revisions, or megabytes, and when writes pause, a checkpoint applies
// them to the B+tree in one bbolt commit and empties the log; Open replays
// whatever a crash left in the log. Large batches (bulk loads) skip the
// log: they go straight to the B+tree in a bbolt commit of their own,
// after a checkpoint.
//
// The engine is fail-stop: when a log write or sync, or a bbolt commit,
// fails, what the disk holds is no longer known (after a failed fdatasync
// the kernel may have dropped the pages it could not write), so the engine
// stops writing. Every later write fails with an error wrapping
// store.ErrReadOnly and the cause, Health reports it, reads go on, and
// reopening the store recovers from what is on disk.
//
// The files, one concept each: db.go (options, open, close, health,
// stats), read.go (Get, Range), commit.go (Txn and the group committer),
// apply.go (applying a batch through the log or straight to the B+tree),
// overlay.go (the writes not yet in the B+tree), wal.go (the log),
// checkpoint.go (checkpoints, recovery, compaction), feed.go (the feed's
// encoding; the committer records one event per op, and netEvents reduces
// a revision's to one per key, as the store contract states them), watch.go
// (Watch, its Last marks and progress notifications), check.go (Backup,
// Check).
package bolt
