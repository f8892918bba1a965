package etcd

import (
	"bytes"
	"context"
	"iter"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/wbemd/wbemd/store"
)

// RangePage is the number of keys Range reads from the cluster at a time.
const RangePage = 256

// Get returns the key's value and ModRev (a linearizable read): from the
// read cache when it has applied the cluster's current revision, else
// from the cluster (see cache.go).
func (s *Store) Get(ctx context.Context, key []byte) (store.KV, bool, error) {
	if err := s.usable(ctx); err != nil {
		return store.KV{}, false, err
	}
	// A key the cache does not hold is read from the cluster at once: the
	// revision read would only add a round trip.
	if s.cache != nil && s.cache.holds(key) {
		rev, err := s.currentRev(ctx)
		if err != nil {
			return store.KV{}, false, s.mapErr(ctx, "get", err)
		}
		if e, ok := s.cache.get(key, rev); ok {
			s.cache.hits.Add(1)
			if !e.present {
				return store.KV{}, false, nil
			}
			return store.KV{Key: key, Value: append([]byte{}, e.value...), ModRev: e.rev}, true, nil
		}
		s.cache.misses.Add(1)
	}
	resp, err := s.kv.Range(ctx, &pb.RangeRequest{Key: s.key(key)})
	if err != nil {
		return store.KV{}, false, s.mapErr(ctx, "get", err)
	}
	if len(resp.Kvs) == 0 {
		if s.cache != nil {
			s.cache.fill(key, cacheEntry{rev: resp.Header.Revision}, resp.Header.Revision)
		}
		return store.KV{}, false, nil
	}
	kv := resp.Kvs[0]
	if s.cache != nil {
		s.cache.fill(key, cacheEntry{value: nonNil(kv.Value), rev: kv.ModRevision, present: true}, resp.Header.Revision)
	}
	return store.KV{Key: s.storeKey(kv.Key), Value: append([]byte{}, kv.Value...), ModRev: kv.ModRevision}, true, nil
}

// Rev returns the cluster's current revision: that of a linearizable
// read sent after the call began, shared with the Gets and Revs waiting
// for one (currentRev), so that it is at least the revision of every
// write acknowledged before the call, on any node. Within a
// store.Session it is the revision the session learned: at least the
// cluster's when the session began.
//
// With reads=session (Config.SessionReads) Rev and Get take no barrier:
// Rev is the newest revision this node knows (its read cache's watch, its
// own writes), and a Get sees every write this node acknowledged before it
// began and, on other nodes, what the watch has brought (a few
// milliseconds behind them); a node's reads never go back in time. After
// a write whose outcome is unknown the next read takes a barrier.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	rev, err := s.currentRev(ctx)
	if err != nil && ctx.Err() != nil {
		return 0, s.mapErr(ctx, "rev", err) // the barrier's error is mapped already
	}
	return rev, err
}

// readRev reads the cluster's current revision: a linearizable read of
// the root key, which holds nothing.
func (s *Store) readRev(ctx context.Context) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	resp, err := s.kv.Range(ctx, &pb.RangeRequest{Key: s.root, CountOnly: true})
	if err != nil {
		return 0, s.mapErr(ctx, "rev", err)
	}
	return resp.Header.Revision, nil
}

// Range yields the keys in [start, end) in key order, RangePage keys at a
// time, every page at the revision of the first: one consistent snapshot.
func (s *Store) Range(ctx context.Context, start, end []byte) iter.Seq2[store.KV, error] {
	return func(yield func(store.KV, error) bool) {
		s.scan(ctx, start, end, 0, func(kv store.KV) bool { return yield(kv, nil) },
			func(err error) { yield(store.KV{}, err) })
	}
}

// scan calls fn for each key in [start, end) as of revision rev (0: the
// current one) until fn returns false, and fail once on an error.
func (s *Store) scan(ctx context.Context, start, end []byte, rev int64, fn func(kv store.KV) bool, fail func(error)) {
	if err := s.usable(ctx); err != nil {
		fail(err)
		return
	}
	from, to := s.key(start), s.end(end)
	if bytes.Compare(from, to) >= 0 {
		return
	}
	for {
		resp, err := s.kv.Range(ctx, &pb.RangeRequest{Key: from, RangeEnd: to, Limit: RangePage, Revision: rev})
		if err == nil && s.closed.Load() {
			err = store.ErrClosed
		}
		if err != nil {
			fail(s.mapErr(ctx, "range", err))
			return
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if !fn(store.KV{Key: s.storeKey(kv.Key), Value: nonNil(kv.Value), ModRev: kv.ModRevision}) {
				return
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return
		}
		last := resp.Kvs[len(resp.Kvs)-1].Key
		from = append(append(make([]byte, 0, len(last)+1), last...), 0)
	}
}

// nonNil returns b, or an empty slice for nil: etcd does not tell an empty
// value from a missing one, and a stored key's value is never nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
