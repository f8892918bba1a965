package etcd

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wbemd/wbemd/store"
)

// Watch streams the events of every transaction after revision from whose
// keys start with prefix, then follows new ones, until ctx ends: an etcd
// watch from revision from+1 with the previous values and progress
// notifications. A watch the cluster ends (a member lost its leader or
// stopped) is started again from the revision after the last event or
// progress notification it delivered, so a consumer sees nothing of it. A
// revision the cluster compacted away ends the stream with an error
// wrapping store.ErrCompacted.
//
// Progress notifications (the members' --experimental-watch-progress-
// notify-interval) keep that resume revision current while no key of the
// prefix changes, so a quiet watch that is started again after a
// compaction resumes instead of failing.
func (s *Store) Watch(ctx context.Context, prefix []byte, from int64) iter.Seq2[store.Event, error] {
	return func(yield func(store.Event, error) bool) {
		if err := s.usable(ctx); err != nil {
			yield(store.Event{}, err)
			return
		}
		key := s.key(prefix)
		end := store.PrefixEnd(key) // never nil: key starts with the prefix, which ends in "/"
		next := max(from+1, 1)
		pause := minPause
		for {
			err := s.watchOnce(ctx, key, end, &next, &pause, yield)
			if err == errStop {
				return
			}
			if uerr := s.usable(ctx); uerr != nil {
				yield(store.Event{}, uerr)
				return
			}
			if err != nil {
				yield(store.Event{}, err)
				return
			}
			s.log.Warn("etcd watch interrupted; resuming", "prefix", string(key), "from", next, "after", pause)
			select {
			case <-ctx.Done():
				yield(store.Event{}, ctx.Err())
				return
			case <-time.After(pause):
			}
			pause = min(2*pause, maxPause)
		}
	}
}

// The pauses before a watch is started again.
const (
	minPause = 50 * time.Millisecond
	maxPause = 2 * time.Second
)

// errStop says the consumer stopped the iteration.
var errStop = errors.New("stopped")

// watchOnce runs one etcd watch from *next, advancing it past what it
// delivers. It returns nil when the watch ended for a reason another watch
// may not meet, errStop when yield returned false, or the error that ends
// the stream.
func (s *Store) watchOnce(ctx context.Context, key, end []byte, next *int64, pause *time.Duration, yield func(store.Event, error) bool) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := s.cli.Watch(wctx, string(key), clientv3.WithRange(string(end)), clientv3.WithRev(*next),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	for resp := range ch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("etcd watch from revision %d: %w (the cluster holds revisions from %d on)", *next-1, store.ErrCompacted, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			if isTransient(err) {
				return nil
			}
			return s.mapErr(ctx, "watch", err)
		}
		for _, ev := range resp.Events {
			*next = ev.Kv.ModRevision + 1
			if !yield(s.event(ev), nil) {
				return errStop
			}
		}
		if resp.IsProgressNotify() {
			*next = max(*next, resp.Header.Revision+1)
		}
		*pause = minPause
	}
	return nil
}

// event turns an etcd event into the store's.
func (s *Store) event(ev *clientv3.Event) store.Event {
	e := store.Event{Type: store.EventPut, Rev: ev.Kv.ModRevision, Key: s.storeKey(ev.Kv.Key)}
	if ev.Type == clientv3.EventTypeDelete {
		e.Type = store.EventDelete
	} else {
		e.Value = nonNil(ev.Kv.Value)
	}
	if ev.PrevKv != nil {
		e.PrevValue = nonNil(ev.PrevKv.Value)
	}
	return e
}
