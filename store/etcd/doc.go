// Package etcd is the distributed store engine: a store.Store over an etcd
// v3 cluster, so that several wbemd processes serve one repository and
// survive the loss of a node.
//
// # Keys and revisions
//
// Every key of the store lives under the deployment's root prefix, which
// the store URL names (etcd://host:port/wbemd keeps key k at "/wbemd/k").
// The root key itself ("/wbemd") is the engine's own: it marks a restore in
// progress. Two deployments on one cluster must use prefixes that do not
// nest.
//
// A store revision is etcd's revision: a transaction's revision is the
// header revision etcd returns for it, a key's ModRev its mod_revision, and
// the change feed is etcd's watch. Revisions are shared by everything on
// the cluster, so on a cluster other programs also write to, the
// revisions of one store's transactions increase but have gaps. A
// transaction that changes nothing (only deletes of absent keys) returns
// the current revision without making a new one, as etcd does.
//
// # Transactions
//
// Txn is one etcd transaction: each compare is a compare on mod_revision,
// or on create_revision = 0 for "absent", over a range for a range-absence
// compare; the ops are etcd puts and range deletes. etcd refuses a
// transaction that puts a key twice or puts a key a range delete of the
// same transaction covers, so Txn first reduces the ops to their effect
// (the last write of each key wins, as on every engine) and sends them in
// key order, which is also the order of their watch events.
//
// etcd bounds one transaction: --max-txn-ops (128 by default) and
// --max-request-bytes (1.5 MiB). wbemd writes more than that at once (a
// MOF compile of the DMTF schema is about 3,300 ops, 1,700 compares and
// 4.3 MB), so the engine requires a cluster configured for it and checks
// it at Open with probe transactions that cannot commit: by default
// --max-txn-ops=8192 and --max-request-bytes=8388608. The URL can state
// lower values for a cluster that cannot be changed; the engine's Limits
// follow them and larger operations fail before anything is sent. See
// DefaultMaxTxnOps.
//
// # Reads
//
// Get and Rev are linearizable reads. Get answers from a read cache that
// the engine's own watch of the prefix keeps current, once a shared read of
// the cluster's revision shows the cache has applied every write
// acknowledged before the Get (see cache.go; cache=0 in the URL turns it
// off). Range reads pages of RangePage keys,
// all at the revision of its first page, so a scan of a large prefix is one
// consistent snapshot without holding it all in memory. A compaction past
// that revision while the scan runs ends it with an error wrapping
// store.ErrCompacted.
//
// # Backup
//
// Backup writes a dump: every key of the store with its value and
// ModRev, as of one revision, in the format described at ReadDump. Restore
// loads a dump into an empty prefix; ReadDump reads one for any engine.
package etcd
