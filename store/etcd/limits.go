package etcd

import (
	"fmt"

	"github.com/wbemd/wbemd/store"
)

// What the engine asks of the cluster by default, and why: wbemd's largest
// atomic writes, measured on the DMTF CIM schema 2.49 (1,631 classes, 70
// qualifier declarations, 5.2 MB of MOF) with a short root prefix:
//
//	compile of the whole schema in one batch   3,332 ops  1,703 compares  4.3 MB
//	DeleteClass of CIM_ManagedElement          1,926 ops      1 compare   0.1 MB
//	first start (root, root/cimv2, root/default) 119 ops      1 compare   11 kB
//	a new namespace (its system classes)          39 ops      1 compare    4 kB
//
// 8,192 ops and 8 MiB leave room for a schema twice as large and stay under
// the 10 MiB etcd recommends as the largest request.
const (
	DefaultMaxTxnOps       = 8192
	DefaultMaxRequestBytes = 8 << 20
)

// The smallest limits the URL may state: etcd's own defaults. wbemd's first
// start writes 119 ops in one transaction.
const (
	MinTxnOps       = 128
	MinRequestBytes = 1536 << 10
)

// MaxKeyBytes is the longest key the engine takes: the embedded engine's
// limit, so that a repository moves between engines.
const MaxKeyBytes = 32 << 10

// Bytes an etcd request adds around what the limits count (keys, range
// ends, values), each op and compare also carrying the root prefix once or
// twice. Bounds of the protobuf framing, for keys under 2 MiB and a request
// under 256 MiB:
//
//	op       its place in the request (1 + 3), the op message (1 + 3),
//	         key (1 + 3), value or range end (1 + 4)               = 17
//	compare  its place (1 + 3), result and target (2 + 2), key (1 + 3),
//	         a revision (1 + 10), range end (2 + 3)                = 28
//
// and a reserve for the raft request etcd wraps a transaction in (its
// header holds an id and the user name) before it compares the size with
// --max-request-bytes.
const (
	opFraming      = 17
	compareFraming = 28
	raftReserve    = 512
)

// limitsFor returns the limits a cluster configured as cfg allows to a
// store whose keys are under a prefix of prefixLen bytes: the request size
// less the largest framing MaxOps ops and as many compares can add.
func limitsFor(cfg Config, prefixLen int) (store.Limits, error) {
	framing := cfg.MaxTxnOps * (opFraming + compareFraming + 4*prefixLen)
	bytes := cfg.MaxRequestBytes - raftReserve - len(cfg.User) - framing
	if bytes < cfg.MaxRequestBytes/2 {
		return store.Limits{}, fmt.Errorf("max-txn-ops=%d needs more than max-request-bytes=%d: the framing of that many ops takes %d bytes of each request; raise --max-request-bytes (and max-request-bytes=) or lower max-txn-ops=",
			cfg.MaxTxnOps, cfg.MaxRequestBytes, framing)
	}
	return store.Limits{MaxOps: cfg.MaxTxnOps, MaxBytes: bytes, MaxKeyBytes: MaxKeyBytes}, nil
}

// requestBudget is the largest encoded transaction request the engine
// sends: every one within Limits is smaller.
func requestBudget(cfg Config) int {
	return cfg.MaxRequestBytes - raftReserve - len(cfg.User)
}
