package bolt

import (
	"encoding/binary"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/wbemd/wbemd/store"
)

// checkpoint applies the overlay to the B+tree in one bbolt commit, then
// publishes an empty overlay and empties the log. On failure the log and
// the overlay still hold everything, and a later checkpoint retries.
func (d *DB) checkpoint() error {
	ov := d.ov
	if ov.rev == ov.base {
		return nil
	}
	revs := make([]logRev, len(ov.events))
	for i, evs := range ov.events {
		revs[i] = logRev{rev: ov.base + 1 + int64(i), events: evs}
	}
	if err := d.applyRevs(revs, false); err != nil {
		return fmt.Errorf("bolt: checkpoint: %w", err)
	}
	d.checkpoints.Add(1)
	d.setEmptyOverlay(ov.rev)
	d.wal.reset()
	return nil
}

// applyRevs writes consecutive revisions' events to the B+tree, feed
// included, in one bbolt commit, and moves the store's revision to the
// last (see applyEvents for fillPrev).
func (d *DB) applyRevs(revs []logRev, fillPrev bool) error {
	last := revs[len(revs)-1].rev
	return d.db.Update(func(tx *bbolt.Tx) error {
		data, feed, meta := tx.Bucket(bucketData), tx.Bucket(bucketFeed), tx.Bucket(bucketMeta)
		feed.FillPercent = 1.0 // the feed only grows at its end: pack its pages full
		for _, lr := range revs {
			if err := applyEvents(data, feed, lr.rev, lr.events, fillPrev); err != nil {
				return err
			}
		}
		if err := meta.Put(metaRev, u64(uint64(last))); err != nil {
			return err
		}
		return d.compactFeed(feed, meta, last, 2*len(revs))
	})
}

// setEmptyOverlay publishes an empty overlay over a B+tree at revision
// rev.
func (d *DB) setEmptyOverlay(rev int64) {
	d.work = newTree()
	next := &overlay{tree: d.work.Clone(), base: rev, rev: rev}
	d.ovMu.Lock()
	d.ov = next
	d.ovMu.Unlock()
}

// recover replays into the B+tree the revisions a crash left in the log
// at logPath, then starts an empty log and overlay.
func (d *DB) recover(logPath string) error {
	var rev int64
	_ = d.db.View(func(tx *bbolt.Tx) error {
		rev = readU64(tx.Bucket(bucketMeta).Get(metaRev))
		return nil
	})
	w, err := openWAL(logPath, !d.opts.NoSync)
	if err != nil {
		return err
	}
	revs, err := w.readAll(rev)
	if err != nil {
		w.close(false)
		return err
	}
	if len(revs) > 0 {
		last := revs[len(revs)-1].rev
		if err := d.applyRevs(revs, true); err != nil {
			w.close(false)
			return fmt.Errorf("bolt: replay log: %w", err)
		}
		d.log.Info("store log replayed", "revisions", len(revs), "from", rev+1, "to", last)
		rev = last
	}
	w.reset()
	d.wal = w
	d.rev.Store(rev)
	d.setEmptyOverlay(rev)
	return nil
}

// stamped returns value behind its 8-byte revision header, as the data
// bucket stores it.
func stamped(rev int64, value []byte) []byte {
	nv := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(nv, uint64(rev))
	copy(nv[8:], value)
	return nv
}

// applyEvents writes one revision's events (from the overlay, or replayed
// from the log) to the data bucket and the feed. With fillPrev, each
// event's PrevValue is read from the data bucket first (the log does not
// hold them).
func applyEvents(data, feed *bbolt.Bucket, rev int64, evs []store.Event, fillPrev bool) error {
	fw := feedWriter{feed: feed, rev: rev}
	for _, ev := range evs {
		if fillPrev {
			if prev := data.Get(ev.Key); prev != nil {
				ev.PrevValue = append([]byte(nil), prev[8:]...)
			}
		}
		var err error
		if ev.Type == store.EventDelete {
			err = data.Delete(ev.Key)
		} else {
			err = data.Put(ev.Key, stamped(rev, ev.Value))
		}
		if err == nil {
			err = fw.add(ev)
		}
		if err != nil {
			return err
		}
	}
	return fw.flush()
}

// compactFeed drops feed entries older than the retention window: at most
// max(4096, most) per commit, so that one commit never does unbounded work
// but the feed shrinks faster than a commit of `most` revisions grows it.
func (d *DB) compactFeed(feed, meta *bbolt.Bucket, cur int64, most int) error {
	limit := cur - d.opts.FeedRetention
	if limit <= 0 {
		return nil
	}
	c := feed.Cursor()
	var last int64
	for n := 0; n < max(4096, most); n++ {
		k, _ := c.First()
		if k == nil || readU64(k[:8]) > limit {
			break
		}
		last = readU64(k[:8])
		if err := c.Delete(); err != nil {
			return err
		}
	}
	if last > 0 {
		return meta.Put(metaCompact, u64(uint64(last)))
	}
	return nil
}
