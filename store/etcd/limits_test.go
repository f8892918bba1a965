package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
)

// worstCase returns the transaction with the most framing Limits allow:
// MaxOps range deletes and MaxOps compares of a ModRev of 9 bytes, whose
// keys add up to MaxBytes. The compares fail (the keys are absent): the
// cluster answers ErrCompareFailed exactly when it takes the size.
func worstCase(l store.Limits) ([]store.Compare, []store.Op) {
	slots := 3 * l.MaxOps // a compare's key, a range's start and end
	per := l.MaxBytes / slots
	extra := l.MaxBytes - per*slots
	key := func(i int, tag string) []byte {
		n := per
		if i == 0 && tag == "c" {
			n += extra
		}
		k := []byte(fmt.Sprintf("%s%07d/", tag, i))
		return append(k, bytes.Repeat([]byte("x"), n-len(k))...)
	}
	cmps := make([]store.Compare, l.MaxOps)
	ops := make([]store.Op, l.MaxOps)
	for i := range ops {
		cmps[i] = store.Compare{Key: key(i, "c"), ModRev: 1 << 62}
		start := key(i, "r")
		end := append(key(i, "r")[:len(start)-1], 'y') // disjoint ranges: etcd gets each as sent
		ops[i] = store.DeleteRange(start, end)
	}
	return cmps, ops
}

func txnBytes(cmps []store.Compare, ops []store.Op) int {
	n := 0
	for _, c := range cmps {
		n += len(c.Key)
	}
	for _, op := range ops {
		n += len(op.Key) + len(op.End) + len(op.Value)
	}
	return n
}

// TestLimitsAreHonest: on a cluster started with exactly the flags the URL
// states, the largest transaction the engine's Limits allow commits, and
// one op or one byte more fails before anything is sent.
func TestLimitsAreHonest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ops, bytes int
	}{
		{"etcd's defaults", MinTxnOps, MinRequestBytes},
		{"the engine's defaults", DefaultMaxTxnOps, DefaultMaxRequestBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := etcdtest.Start(t, etcdtest.Options{MaxTxnOps: tc.ops, MaxRequestBytes: tc.bytes})
			s := mustOpen(t, c.URL("p", fmt.Sprintf("max-txn-ops=%d&max-request-bytes=%d", tc.ops, tc.bytes)))
			ctx := context.Background()
			l := s.Limits()
			if l.MaxOps != tc.ops || l.MaxBytes <= tc.bytes/2 || l.MaxBytes >= tc.bytes {
				t.Fatalf("limits %+v for --max-txn-ops=%d --max-request-bytes=%d", l, tc.ops, tc.bytes)
			}
			cmps, ops := worstCase(l)
			if n := txnBytes(cmps, ops); n != l.MaxBytes {
				t.Fatalf("worst case of %d bytes, want %d", n, l.MaxBytes)
			}
			r0, _ := s.Rev(ctx)
			if _, err := s.Txn(ctx, cmps, ops); !errors.Is(err, store.ErrCompareFailed) {
				t.Fatalf("the largest transaction within %+v: %v, want ErrCompareFailed", l, err)
			}
			_, err := s.Txn(ctx, cmps, append(ops, store.Put([]byte("one-more"), nil)))
			if !errors.Is(err, store.ErrTxnTooLarge) {
				t.Errorf("MaxOps+1 ops: %v", err)
			}
			ops[0].End = append(ops[0].End, 'x')
			_, err = s.Txn(ctx, cmps, ops)
			if !errors.Is(err, store.ErrTxnTooLarge) {
				t.Errorf("MaxBytes+1 bytes: %v", err)
			}
			_, err = s.Txn(ctx, nil, []store.Op{store.Put([]byte("a"), nil), store.Put(bytes.Repeat([]byte("k"), MaxKeyBytes+1), nil)})
			if !errors.Is(err, store.ErrTxnTooLarge) {
				t.Errorf("a key past MaxKeyBytes: %v", err)
			}
			if r, _ := s.Rev(ctx); r != r0 {
				t.Errorf("refused transactions moved the revision from %d to %d", r0, r)
			}
			if _, found, _ := s.Get(ctx, []byte("one-more")); found {
				t.Error("a refused transaction wrote one of its ops")
			}
		})
	}
}

// TestOpenChecksClusterLimits: a cluster started with etcd's default
// limits is refused with the flag to raise, unless the URL states them.
func TestOpenChecksClusterLimits(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{})
	ctx := context.Background()
	_, err := Open(ctx, c.URL("p", ""), Options{})
	if !errors.Is(err, store.ErrTxnTooLarge) || !strings.Contains(err.Error(), "--max-txn-ops=8192") {
		t.Errorf("open of a default etcd: %v, want a refusal naming --max-txn-ops=8192", err)
	}
	_, err = Open(ctx, c.URL("p", "max-txn-ops=128"), Options{})
	if !errors.Is(err, store.ErrTxnTooLarge) || !strings.Contains(err.Error(), "--max-request-bytes=8388608") {
		t.Errorf("open of a default etcd with max-txn-ops=128: %v, want a refusal naming --max-request-bytes=8388608", err)
	}
	_, err = Open(ctx, c.URL("p", "max-txn-ops=129&max-request-bytes=1572864"), Options{})
	if err == nil || !strings.Contains(err.Error(), "--max-txn-ops=129") {
		t.Errorf("open of a default etcd claiming 129 ops: %v", err)
	}
	s := mustOpen(t, c.URL("p", "max-txn-ops=128&max-request-bytes=1572864"))
	if rev, err := s.Rev(ctx); err != nil || rev != 1 {
		t.Errorf("the probes wrote something: revision %d, %v", rev, err)
	}
}

// TestNoCluster: an unreachable cluster fails Open within the dial timeout
// with a message naming the endpoints.
func TestNoCluster(t *testing.T) {
	_, err := Open(context.Background(), "etcd://127.0.0.1:1/p?dial-timeout=300ms", Options{})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "no member answered") {
		t.Fatalf("open of nothing: %v", err)
	}
}
