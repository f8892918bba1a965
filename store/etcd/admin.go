package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wbemd/wbemd/store"
)

// counters count the engine's transactions.
type counters struct {
	txns, commits atomic.Uint64
	nanos         atomic.Int64
}

func (c *counters) txn(ok bool, d time.Duration) {
	c.txns.Add(1)
	if ok {
		c.commits.Add(1)
	}
	c.nanos.Add(int64(d))
}

// Stats returns the engine's counters: every etcd transaction is one
// commit of the cluster.
func (s *Store) Stats() store.Stats {
	return store.Stats{Commits: s.stats.commits.Load(), Txns: s.stats.txns.Load(), CommitTime: time.Duration(s.stats.nanos.Load())}
}

// Health returns nil while the store takes writes: store.ErrClosed after
// Close, or the error of the last write if the cluster refused it for
// lack of space (wrapping store.ErrReadOnly), until a write succeeds.
func (s *Store) Health() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if p := s.noSpace.Load(); p != nil {
		return *p
	}
	return nil
}

// Compact drops the cluster's history up to revision rev: a Watch from an
// earlier revision then fails with store.ErrCompacted. etcd compacts the
// whole cluster, not one prefix: on a cluster other programs share, their
// history goes too.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if _, err := s.cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		return s.mapErr(ctx, fmt.Sprintf("compact to revision %d", rev), err)
	}
	return nil
}

// Check verifies the cluster while it serves: no alarm is raised (NOSPACE,
// CORRUPT), and every endpoint of the URL holds the same history, by
// etcd's hash of each member's keys and values at one revision.
func (s *Store) Check(ctx context.Context) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	alarms, err := s.cli.AlarmList(ctx)
	if err != nil {
		return s.mapErr(ctx, "check: alarms", err)
	}
	if len(alarms.Alarms) > 0 {
		var names []string
		for _, a := range alarms.Alarms {
			names = append(names, fmt.Sprintf("%v on member %x", a.Alarm, a.MemberID))
		}
		return fmt.Errorf("etcd check: alarms raised: %s", strings.Join(names, ", "))
	}
	rev, err := s.Rev(ctx)
	if err != nil {
		return fmt.Errorf("etcd check: %w", err)
	}
	var first string
	var want uint32
	for _, ep := range s.cfg.Endpoints {
		h, err := s.hashKV(ctx, ep, rev)
		if err != nil {
			return s.mapErr(ctx, "check: hash of "+ep, err)
		}
		if first == "" {
			first, want = ep, h
		} else if h != want {
			return fmt.Errorf("etcd check: members differ at revision %d: %s hashes to %08x, %s to %08x", rev, first, want, ep, h)
		}
	}
	return nil
}

// hashKV returns a member's hash at rev, waiting a little for a member that
// has not applied rev yet.
func (s *Store) hashKV(ctx context.Context, ep string, rev int64) (uint32, error) {
	for i := 0; ; i++ {
		resp, err := s.cli.HashKV(ctx, ep, rev)
		if err == nil {
			return resp.Hash, nil
		}
		if !errors.Is(rpctypes.Error(err), rpctypes.ErrFutureRev) || i == 20 {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
