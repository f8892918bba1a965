package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"iter"

	"github.com/wbemd/wbemd/store"
)

// subscriber is one Watch. The committer hands it each committed
// transaction's events without ever blocking: when its buffer is full it
// is marked lagged instead, and the watcher catches up from the feed
// bucket, which holds every committed event.
type subscriber struct {
	ch     chan []store.Event
	lagged chan struct{} // has one token when events were dropped
}

func (d *DB) publish(batches [][]store.Event) {
	if len(batches) == 0 {
		return
	}
	d.subMu.Lock()
	defer d.subMu.Unlock()
	for s := range d.subs {
		for _, evs := range batches {
			select {
			case s.ch <- evs:
			default:
				select {
				case s.lagged <- struct{}{}:
				default:
				}
			}
		}
	}
}

// Watch streams the events after revision from whose keys start with
// prefix: first the ones the feed holds, then new commits as they happen,
// until ctx ends or the store closes.
func (d *DB) Watch(ctx context.Context, prefix []byte, from int64) iter.Seq2[store.Event, error] {
	return func(yield func(store.Event, error) bool) {
		if err := d.enter(ctx); err != nil {
			yield(store.Event{}, err)
			return
		}
		s := &subscriber{ch: make(chan []store.Event, 256), lagged: make(chan struct{}, 1)}
		d.subMu.Lock()
		d.subs[s] = struct{}{}
		d.subMu.Unlock()
		d.leave()
		defer func() {
			d.subMu.Lock()
			delete(d.subs, s)
			d.subMu.Unlock()
		}()

		last := from
		replay := func() bool {
			evs, snap, err := d.readFeed(prefix, last)
			if err != nil {
				yield(store.Event{}, err)
				return false
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return false
				}
				last = ev.Rev
			}
			if snap > last {
				last = snap // revisions of the snapshot with no matching key
			}
			return true
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
			case evs := <-s.ch:
				for _, ev := range evs {
					if ev.Rev <= last || !bytes.HasPrefix(ev.Key, prefix) {
						continue
					}
					if !yield(ev, nil) {
						return
					}
				}
				if n := len(evs); n > 0 && evs[n-1].Rev > last {
					last = evs[n-1].Rev
				}
			}
		}
	}
}

// readFeed returns the committed events after revision from whose keys
// start with prefix (the feed bucket's, then the overlay's), and the
// revision of the snapshot they were read from; store.ErrCompacted if the
// feed no longer reaches back to from+1.
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
	var out []store.Event
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
				out = append(out, ev)
			}
		}
	}
	return append(out, ov.eventsAfter(prefix, from)...), ov.rev, nil
}
