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
