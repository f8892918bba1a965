package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/wbemd/wbemd/store"
)

// Txn applies ops atomically if every compare holds, in one etcd
// transaction, and returns its revision. A transaction beyond Limits fails
// with an error wrapping store.ErrTxnTooLarge before anything is sent; an
// ill-formed one with store.ErrInvalidTxn.
//
// An error other than those, ErrCompareFailed, ErrClosed and ErrReadOnly
// leaves the outcome unknown: the cluster may have committed
// the transaction before the answer was lost (a member or the network
// failed). Callers that must know read the keys back.
func (s *Store) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckTxn(s.limits, cmps, ops); err != nil {
		return 0, err
	}
	req := &pb.TxnRequest{Compare: s.compares(cmps), Success: s.requestOps(ops)}
	if n := len(req.Success); n > s.cfg.MaxTxnOps {
		return 0, fmt.Errorf("%w: %d ops become %d etcd ops (a range delete split around the keys the transaction also puts), limit %d", store.ErrTxnTooLarge, len(ops), n, s.cfg.MaxTxnOps)
	}
	if size, budget := req.Size(), requestBudget(s.cfg); size > budget {
		return 0, fmt.Errorf("%w: an etcd request of %d bytes, limit %d", store.ErrTxnTooLarge, size, budget)
	}
	return s.rawTxn(ctx, "txn", req.Compare, req.Success)
}

// compares turns the store's compares into etcd's: a ModRev is compared
// with mod_revision, absence with create_revision = 0; a range-absence
// compare is create_revision = 0 over the range, which etcd holds when no
// key of the range exists.
func (s *Store) compares(cmps []store.Compare) []*pb.Compare {
	out := make([]*pb.Compare, 0, len(cmps))
	for _, c := range cmps {
		pc := &pb.Compare{Key: s.key(c.Key), Result: pb.Compare_EQUAL}
		if c.End != nil {
			pc.RangeEnd = s.key(c.End)
		}
		if c.ModRev == 0 {
			pc.Target, pc.TargetUnion = pb.Compare_CREATE, &pb.Compare_CreateRevision{CreateRevision: 0}
		} else {
			pc.Target, pc.TargetUnion = pb.Compare_MOD, &pb.Compare_ModRevision{ModRevision: c.ModRev}
		}
		out = append(out, pc)
	}
	return out
}

// span is a range of store keys [start, end); a nil end is the end of the
// keyspace.
type span struct{ start, end []byte }

// requestOps reduces ops to their effect and returns them as etcd ops in
// key order: one put per key written last by a put, and disjoint range
// deletes of what the transaction deletes, split around those puts. etcd
// refuses a transaction that puts a key twice or puts a key inside one of
// its own range deletes; the order makes the watch events of the
// transaction come in key order.
func (s *Store) requestOps(ops []store.Op) []*pb.RequestOp {
	puts := map[string][]byte{}
	var dels []span
	for _, op := range ops {
		switch op.Kind {
		case store.OpPut:
			puts[string(op.Key)] = op.Value
		case store.OpDelete:
			delete(puts, string(op.Key))
			dels = append(dels, span{op.Key, pointEnd(op.Key)})
		case store.OpDeleteRange:
			for k := range puts {
				if inSpan(span{op.Key, op.End}, []byte(k)) {
					delete(puts, k)
				}
			}
			dels = append(dels, span{op.Key, op.End})
		}
	}
	putKeys := make([]string, 0, len(puts))
	for k := range puts {
		putKeys = append(putKeys, k)
	}
	slices.Sort(putKeys)
	dels = splitAround(mergeSpans(dels), putKeys)

	out := make([]*pb.RequestOp, 0, len(putKeys)+len(dels))
	i := 0
	for _, d := range dels {
		for ; i < len(putKeys) && putKeys[i] < string(d.start); i++ {
			out = append(out, s.putOp(putKeys[i], puts[putKeys[i]]))
		}
		dr := &pb.DeleteRangeRequest{Key: s.key(d.start)}
		if !bytes.Equal(d.end, pointEnd(d.start)) {
			dr.RangeEnd = s.end(d.end)
		}
		out = append(out, &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: dr}})
	}
	for ; i < len(putKeys); i++ {
		out = append(out, s.putOp(putKeys[i], puts[putKeys[i]]))
	}
	return out
}

func (s *Store) putOp(k string, v []byte) *pb.RequestOp {
	return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: s.key([]byte(k)), Value: v}}}
}

// pointEnd is the end of the span holding only k.
func pointEnd(k []byte) []byte { return append(append(make([]byte, 0, len(k)+1), k...), 0) }

func inSpan(sp span, k []byte) bool {
	return bytes.Compare(k, sp.start) >= 0 && (sp.end == nil || bytes.Compare(k, sp.end) < 0)
}

// mergeSpans returns the union of spans as disjoint spans in key order.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return bytes.Compare(a.start, b.start) })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && (out[n-1].end == nil || bytes.Compare(sp.start, out[n-1].end) <= 0) {
			if last := &out[n-1]; last.end != nil && (sp.end == nil || bytes.Compare(sp.end, last.end) > 0) {
				last.end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// splitAround removes the sorted keys from disjoint sorted spans, splitting
// a span that holds one.
func splitAround(spans []span, keys []string) []span {
	var out []span
	i := 0
	for _, sp := range spans {
		for ; i < len(keys) && keys[i] < string(sp.start); i++ {
		}
		for ; i < len(keys) && inSpan(sp, []byte(keys[i])); i++ {
			k := []byte(keys[i])
			if bytes.Compare(sp.start, k) < 0 {
				out = append(out, span{sp.start, k})
			}
			sp.start = pointEnd(k)
		}
		if sp.end == nil || bytes.Compare(sp.start, sp.end) < 0 {
			out = append(out, sp)
		}
	}
	return out
}

// rawTxn sends one etcd transaction as given and returns its revision, or
// store.ErrCompareFailed.
func (s *Store) rawTxn(ctx context.Context, what string, cmps []*pb.Compare, ops []*pb.RequestOp) (int64, error) {
	start := time.Now()
	resp, err := s.kv.Txn(ctx, &pb.TxnRequest{Compare: cmps, Success: ops})
	s.stats.txn(err == nil, time.Since(start))
	if sess := store.SessionOf(ctx); sess != nil {
		// The session's later reads must see this write, or what made
		// its compare fail: they are served at its revision or after.
		if err != nil {
			sess.Forget() // applied or not: unknown
		} else {
			sess.Observe(resp.Header.Revision)
		}
	}
	if err != nil {
		s.unsure.Store(true)
		err = s.mapErr(ctx, what, err)
		if errors.Is(err, store.ErrReadOnly) {
			s.noSpace.Store(&err)
		}
		return 0, err
	}
	s.noSpace.Store(nil)
	s.learn(resp.Header.Revision)
	if !resp.Succeeded {
		return 0, store.ErrCompareFailed
	}
	return resp.Header.Revision, nil
}
