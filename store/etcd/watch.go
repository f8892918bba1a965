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
// compaction resumes instead of failing. With store.WithProgress the
// watch also yields them (those that move past what it yielded): at the
// cluster's interval, whatever the interval asked. (The engine does not
// request progress itself: etcd before 3.4.25 and 3.5.8 answers a progress
// request out of order, with a revision whose events may not have been
// sent yet.)
//
// A revision's events come in one watch response (etcd cuts its
// responses between revisions), so the last event of a revision in a
// response is its Last.
//
// Each etcd watch starts one revision before the first one wanted and
// passes over that revision's events: etcd accepts a watch from the
// revision it compacted to, but the previous values of that revision's
// events may be gone, so a store Watch from an earlier revision than the
// compaction's fails, as the contract says.
func (s *Store) Watch(ctx context.Context, prefix []byte, from int64, opts ...store.WatchOption) iter.Seq2[store.Event, error] {
	o := store.NewWatchOptions(opts...)
	return func(yield func(store.Event, error) bool) {
		if err := s.usable(ctx); err != nil {
			yield(store.Event{}, err)
			return
		}
		key := s.key(prefix)
		end := store.PrefixEnd(key) // never nil: key starts with the prefix, which ends in "/"
		w := &watchState{next: max(from+1, 1), sent: from, progress: o.Progress > 0, pause: minPause}
		for {
			err := s.watchOnce(ctx, key, end, w, yield)
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
			s.log.Warn("etcd watch interrupted; resuming", "prefix", string(key), "from", w.next, "after", w.pause)
			select {
			case <-ctx.Done():
				yield(store.Event{}, ctx.Err())
				return
			case <-time.After(w.pause):
			}
			w.pause = min(2*w.pause, maxPause)
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

// watchState is a Watch's place across the etcd watches it runs.
type watchState struct {
	next     int64         // the revision to watch from: every one before it was yielded
	sent     int64         // the revision of the last event or notification yielded
	progress bool          // yield progress notifications
	pause    time.Duration // before the next watch, if this one is interrupted
}

// watchOnce runs one etcd watch from w.next, advancing it past what it
// delivers. It returns nil when the watch ended for a reason another watch
// may not meet, errStop when yield returned false, or the error that ends
// the stream.
func (s *Store) watchOnce(ctx context.Context, key, end []byte, w *watchState, yield func(store.Event, error) bool) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	first := w.next
	ch := s.cli.Watch(wctx, string(key), clientv3.WithRange(string(end)), clientv3.WithRev(max(first-1, 1)),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	for resp := range ch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("etcd watch from revision %d: %w (the cluster holds revisions from %d on)", w.next-1, store.ErrCompacted, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			if isTransient(err) {
				return nil
			}
			return s.mapErr(ctx, "watch", err)
		}
		for i, ev := range resp.Events {
			if ev.Kv.ModRevision < first {
				continue // the revision before the first wanted
			}
			e := s.event(ev)
			e.Last = i == len(resp.Events)-1 || resp.Events[i+1].Kv.ModRevision != e.Rev
			w.next, w.sent = e.Rev+1, e.Rev
			if !yield(e, nil) {
				return errStop
			}
		}
		if rev := resp.Header.Revision; resp.IsProgressNotify() && rev >= w.next {
			w.next = rev + 1
			if w.progress && rev > w.sent {
				w.sent = rev
				if !yield(store.Event{Type: store.EventProgress, Rev: rev, Last: true}, nil) {
					return errStop
				}
			}
		}
		w.pause = minPause
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
