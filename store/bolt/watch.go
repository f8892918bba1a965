package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"iter"

	"github.com/wbemd/wbemd/store"
)

// subscriber is one Watch. The committer hands it each group commit's
// events without ever blocking: when its buffer is full it is marked
// lagged instead, and the watcher catches up from the feed bucket, which
// holds every committed event.
type subscriber struct {
	ch     chan committed
	lagged chan struct{} // has one token when commits were dropped
}

// committed is what one group commit hands the watchers: the events of
// revisions last-len(revs)+1 to last, one slice per revision, each as the
// store contract states them (see netEvents). The slices are shared by
// every watcher: read-only.
type committed struct {
	last int64
	revs [][]store.Event
}

// publish hands a group commit's events (one slice per revision, as the
// ops made them) to every watcher. The committer calls it after it stored
// the commit's last revision in d.rev.
func (d *DB) publish(revs [][]store.Event) {
	if len(revs) == 0 {
		return
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	if len(d.subs) == 0 {
		return
	}
	c := committed{last: d.rev.Load(), revs: make([][]store.Event, len(revs))}
	for i, evs := range revs {
		c.revs[i] = netEvents(evs)
	}
	for s := range d.subs {
		select {
		case s.ch <- c:
		default:
			select {
			case s.lagged <- struct{}{}:
			default:
			}
		}
	}
}

// Watch streams the events after revision from whose keys start with
// prefix: first the ones the feed holds, then new commits as they happen,
// until ctx ends or the store closes. With store.WithProgress it yields a
// progress notification as soon as a commit (or the feed it replayed)
// leaves it at a revision with no event under the prefix.
func (d *DB) Watch(ctx context.Context, prefix []byte, from int64, opts ...store.WatchOption) iter.Seq2[store.Event, error] {
	o := store.NewWatchOptions(opts...)
	return func(yield func(store.Event, error) bool) {
		if err := d.enter(ctx); err != nil {
			yield(store.Event{}, err)
			return
		}
		s := &subscriber{ch: make(chan committed, 256), lagged: make(chan struct{}, 1)}
		d.subMu.Lock()
		d.subs[s] = struct{}{}
		d.subMu.Unlock()
		d.leave()
		defer func() {
			d.subMu.Lock()
			delete(d.subs, s)
			d.subMu.Unlock()
		}()

		w := &watchCursor{yield: yield, prefix: prefix, done: from, sent: from, progress: o.Progress > 0}
		replay := func() bool {
			evs, snap, err := d.readFeed(prefix, w.done)
			if err != nil {
				yield(store.Event{}, err)
				return false
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return false
				}
				w.done, w.sent = ev.Rev, ev.Rev
			}
			return w.reached(snap) // revisions of the snapshot with no matching key
		}
		if !replay() {
			return
		}
		for {
			select {
			case <-ctx.Done():
				yield(store.Event{}, ctx.Err())
				return
			case <-d.done:
				yield(store.Event{}, store.ErrClosed)
				return
			case <-s.lagged:
				if !replay() {
					return
				}
			case c := <-s.ch:
				if !w.commit(c) {
					return
				}
			}
		}
	}
}

// watchCursor is a Watch's place in the feed.
type watchCursor struct {
	yield    func(store.Event, error) bool
	prefix   []byte
	done     int64 // every event up to this revision has been yielded
	sent     int64 // the revision of the last event or notification yielded
	progress bool  // yield progress notifications
}

// commit yields the events of a group commit that the watch has not
// yielded yet.
func (w *watchCursor) commit(c committed) bool {
	first := c.last - int64(len(c.revs)) + 1
	for i, evs := range c.revs {
		rev := first + int64(i)
		if rev <= w.done {
			continue // replayed from the feed already
		}
		any, ok := under(evs, w.prefix, func(ev store.Event) bool { return w.yield(ev, nil) })
		if !ok {
			return false
		}
		w.done = rev
		if any {
			w.sent = rev
		}
	}
	return w.reached(c.last)
}

// reached records that every event up to revision rev has been yielded,
// and yields a progress notification if the watch asked for them and
// yielded nothing of the revisions since the last one.
func (w *watchCursor) reached(rev int64) bool {
	w.done = max(w.done, rev)
	if !w.progress || w.done <= w.sent {
		return true
	}
	w.sent = w.done
	return w.yield(store.Event{Type: store.EventProgress, Rev: w.done, Last: true}, nil)
}

// under calls f with each event of one revision whose key starts with
// prefix, the last of them marked Last, until f returns false. It reports
// whether there was one, and false if f stopped it.
func under(evs []store.Event, prefix []byte, f func(store.Event) bool) (any, ok bool) {
	n := len(evs) - 1
	for n >= 0 && !bytes.HasPrefix(evs[n].Key, prefix) {
		n--
	}
	for i := 0; i <= n; i++ {
		if ev := evs[i]; bytes.HasPrefix(ev.Key, prefix) {
			ev.Last = i == n
			if !f(ev) {
				return true, false
			}
		}
	}
	return n >= 0, true
}

// readFeed returns the committed events after revision from whose keys
// start with prefix (the feed bucket's, then the overlay's), as Watch
// yields them, and the revision of the snapshot they were read from;
// store.ErrCompacted if the feed no longer reaches back to from+1.
func (d *DB) readFeed(prefix []byte, from int64) ([]store.Event, int64, error) {
	ov, tx, err := d.snapshot()
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	meta := tx.Bucket(bucketMeta)
	compacted, err := metaU64(meta, metaCompact)
	if err != nil {
		return nil, 0, err
	}
	if from < compacted {
		return nil, 0, store.ErrCompacted
	}
	var raw []store.Event
	c := tx.Bucket(bucketFeed).Cursor()
	seek := make([]byte, 8)
	binary.BigEndian.PutUint64(seek, uint64(from+1))
	for k, v := c.Seek(seek); k != nil; k, v = c.Next() {
		rev, err := feedRev(k)
		if err != nil {
			return nil, 0, err
		}
		evs, err := decodeRecord(rev, v)
		if err != nil {
			return nil, 0, err
		}
		for _, ev := range evs {
			if bytes.HasPrefix(ev.Key, prefix) {
				raw = append(raw, ev)
			}
		}
	}
	raw = append(raw, ov.eventsAfter(prefix, from)...)
	out := make([]store.Event, 0, len(raw))
	for len(raw) > 0 {
		n := 1
		for n < len(raw) && raw[n].Rev == raw[0].Rev {
			n++
		}
		under(netEvents(raw[:n]), nil, func(ev store.Event) bool {
			out = append(out, ev)
			return true
		})
		raw = raw[n:]
	}
	return out, ov.rev, nil
}
