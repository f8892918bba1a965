package etcd

// The parts of the store contract the engine needs that the store package
// does not state yet: transaction limits and their errors, a read-only
// error, engine counters.

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/wbemd/wbemd/store"
)

// ErrInvalidTxn is wrapped by the error of a transaction that is not
// well-formed; nothing was written.
var ErrInvalidTxn = errors.New("store: invalid transaction")

// ErrTxnTooLarge is wrapped by the error of a transaction beyond the
// engine's Limits, or refused by the cluster for its size; nothing was
// written.
var ErrTxnTooLarge = errors.New("store: transaction too large")

// ErrReadOnly is wrapped by the error of a write the cluster refuses
// because its database reached its quota (--quota-backend-bytes, a NOSPACE
// alarm). Reads keep working; writes work again once an operator has
// compacted, defragmented and disarmed the alarm.
var ErrReadOnly = errors.New("store: read-only")

// Limits are the engine's limits on one transaction: a transaction within
// them is never refused by the cluster for its size. The zero value means
// none.
type Limits struct {
	MaxOps      int // ops, and separately compares
	MaxBytes    int // keys, range ends and values of the ops and compares
	MaxKeyBytes int
}

// Stats are the engine's counters since it was opened.
type Stats struct {
	Commits    uint64        // transactions the cluster committed
	Txns       uint64        // transactions sent, failed compares included
	CommitTime time.Duration // time spent in them
}

// checkTxn reports whether a transaction is well-formed and within l,
// naming the first op or compare at fault.
func checkTxn(l Limits, cmps []store.Compare, ops []store.Op) error {
	if l.MaxOps > 0 && len(ops) > l.MaxOps {
		return fmt.Errorf("%w: %d ops, limit %d", ErrTxnTooLarge, len(ops), l.MaxOps)
	}
	if l.MaxOps > 0 && len(cmps) > l.MaxOps {
		return fmt.Errorf("%w: %d compares, limit %d", ErrTxnTooLarge, len(cmps), l.MaxOps)
	}
	size := 0
	for i, c := range cmps {
		if len(c.Key) == 0 || c.ModRev < 0 {
			return fmt.Errorf("%w: compare %d: empty key or negative ModRev", ErrInvalidTxn, i)
		}
		if l.MaxKeyBytes > 0 && len(c.Key) > l.MaxKeyBytes {
			return fmt.Errorf("%w: compare %d: key of %d bytes, limit %d", ErrTxnTooLarge, i, len(c.Key), l.MaxKeyBytes)
		}
		size += len(c.Key)
	}
	for i, op := range ops {
		switch op.Kind {
		case store.OpPut, store.OpDelete:
			if len(op.Key) == 0 {
				return fmt.Errorf("%w: op %d: empty key", ErrInvalidTxn, i)
			}
		case store.OpDeleteRange:
			if op.End != nil && bytes.Compare(op.End, op.Key) <= 0 {
				return fmt.Errorf("%w: op %d: range end is not after its start", ErrInvalidTxn, i)
			}
		default:
			return fmt.Errorf("%w: op %d: unknown op kind %d", ErrInvalidTxn, i, op.Kind)
		}
		if l.MaxKeyBytes > 0 && (len(op.Key) > l.MaxKeyBytes || len(op.End) > l.MaxKeyBytes) {
			return fmt.Errorf("%w: op %d: key of more than %d bytes", ErrTxnTooLarge, i, l.MaxKeyBytes)
		}
		size += len(op.Key) + len(op.End) + len(op.Value)
	}
	if l.MaxBytes > 0 && size > l.MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTxnTooLarge, size, l.MaxBytes)
	}
	return nil
}
