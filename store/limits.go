package store

import (
	"bytes"
	"fmt"
)

// Limits are an engine's limits on one transaction. A zero field means no
// limit. Callers that build large transactions (bulk loads, a MOF compile
// in one batch) check them with CheckTxn before writing, and split or
// refuse what does not fit.
//
// The embedded engine (store/bolt) allows far more than a distributed one:
// an etcd cluster accepts by default 128 ops (and 128 compares) and a
// request of 1.5 MiB.
type Limits struct {
	// MaxOps is the most ops in one transaction, and separately the most
	// compares.
	MaxOps int
	// MaxBytes is the most bytes of one transaction: the keys, range ends
	// and values of its ops and the keys and range ends of its compares.
	MaxBytes int
	// MaxKeyBytes is the longest key (or range end).
	MaxKeyBytes int
}

// CheckTxn reports whether a transaction is well-formed and within l. It
// returns nil, an error wrapping ErrInvalidTxn, or one wrapping
// ErrTxnTooLarge, naming the first op or compare at fault (numbered from
// 0). Engines call it before a transaction joins a commit, so that a bad
// one fails alone.
//
// Well-formed means: every op is OpPut, OpDelete or OpDeleteRange; a put
// or delete has a non-empty key; a range delete's end, when not nil, is
// greater than its start (a nil start is the first key, a nil end the end
// of the keyspace); a compare of one key has a non-empty key and a ModRev
// of at least 0; a range-absence compare (End set) has an end greater than
// its start and a ModRev of 0.
func CheckTxn(l Limits, cmps []Compare, ops []Op) error {
	if l.MaxOps > 0 && len(ops) > l.MaxOps {
		return fmt.Errorf("%w: %d ops, limit %d", ErrTxnTooLarge, len(ops), l.MaxOps)
	}
	if l.MaxOps > 0 && len(cmps) > l.MaxOps {
		return fmt.Errorf("%w: %d compares, limit %d", ErrTxnTooLarge, len(cmps), l.MaxOps)
	}
	size := 0
	for i, c := range cmps {
		if why := checkCompare(c); why != "" {
			return fmt.Errorf("%w: compare %d: %s", ErrInvalidTxn, i, why)
		}
		if why := checkKeys(l, c.Key, c.End); why != "" {
			return fmt.Errorf("%w: compare %d: %s", ErrTxnTooLarge, i, why)
		}
		size += len(c.Key) + len(c.End)
	}
	for i, op := range ops {
		if why := checkOp(op); why != "" {
			return fmt.Errorf("%w: op %d: %s", ErrInvalidTxn, i, why)
		}
		if why := checkKeys(l, op.Key, op.End); why != "" {
			return fmt.Errorf("%w: op %d: %s", ErrTxnTooLarge, i, why)
		}
		size += len(op.Key) + len(op.End) + len(op.Value)
	}
	if l.MaxBytes > 0 && size > l.MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTxnTooLarge, size, l.MaxBytes)
	}
	return nil
}

func checkCompare(c Compare) string {
	switch {
	case c.End != nil && bytes.Compare(c.End, c.Key) <= 0:
		return fmt.Sprintf("range end %s is not after its start %s", quoteKey(c.End), quoteKey(c.Key))
	case c.End != nil && c.ModRev != 0:
		return fmt.Sprintf("a range compare needs ModRev 0 (absence), not %d", c.ModRev)
	case c.End == nil && len(c.Key) == 0:
		return "empty key"
	case c.ModRev < 0:
		return fmt.Sprintf("negative ModRev %d", c.ModRev)
	}
	return ""
}

func checkOp(op Op) string {
	switch op.Kind {
	case OpPut, OpDelete:
		if len(op.Key) == 0 {
			return "empty key"
		}
		if op.End != nil {
			return "a range end on a put or delete"
		}
	case OpDeleteRange:
		if op.End != nil && bytes.Compare(op.End, op.Key) <= 0 {
			return fmt.Sprintf("range end %s is not after its start %s", quoteKey(op.End), quoteKey(op.Key))
		}
	default:
		return fmt.Sprintf("unknown op kind %d", op.Kind)
	}
	return ""
}

func checkKeys(l Limits, keys ...[]byte) string {
	for _, k := range keys {
		if l.MaxKeyBytes > 0 && len(k) > l.MaxKeyBytes {
			return fmt.Sprintf("key of %d bytes, limit %d", len(k), l.MaxKeyBytes)
		}
	}
	return ""
}

// quoteKey quotes a key for an error message, shortened past 64 bytes.
func quoteKey(k []byte) string {
	if len(k) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", k[:64], len(k))
	}
	return fmt.Sprintf("%q", k)
}
