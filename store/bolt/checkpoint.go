package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/wbemd/wbemd/store"
)

// checkpoint applies the overlay to the B+tree in one bbolt commit, then
// publishes an empty overlay and empties the log. A failure makes the
// engine read-only (see stop): the log and the overlay still hold
// everything, and the next Open replays the log.
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
		if isNoSpace(err) { // rolled back: the log and the overlay still hold everything
			d.deferCheckpoint(err)
			return noSpace("checkpoint", err)
		}
		return d.stop(fmt.Errorf("bolt: checkpoint: %w", err))
	}
	d.cpWait, d.cpRetry = 0, time.Time{}
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
	return d.update(func(tx *bbolt.Tx) error {
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

// update runs fn in a bbolt write transaction and commits it. An error of
// fn rolls the transaction back and is returned as it is. A failed commit
// is returned wrapped in errCommit: after one, what the file holds is not
// known (see stop).
func (d *DB) update(fn func(*bbolt.Tx) error) error {
	tx, err := d.db.Begin(true)
	if err != nil {
		return fmt.Errorf("bolt: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := d.failPoint(FailCommit); err != nil {
		tx.Rollback()
		return &errCommit{err}
	}
	if err := tx.Commit(); err != nil {
		return &errCommit{err}
	}
	return nil
}

// errCommit marks the error of a failed bbolt commit.
type errCommit struct{ err error }

func (e *errCommit) Error() string { return e.err.Error() }
func (e *errCommit) Unwrap() error { return e.err }

// failed wraps an error of update with what was being done; after a
// failed commit it also makes the engine read-only, unless the commit
// found no space (nospace.go).
func (d *DB) failed(what string, err error) error {
	if isNoSpace(err) { // rolled back before its meta page: the B+tree is as it was
		return noSpace(what, err)
	}
	err = fmt.Errorf("bolt: %s: %w", what, err)
	var fc *errCommit
	if errors.As(err, &fc) {
		return d.stop(err)
	}
	return err
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
	err := d.db.View(func(tx *bbolt.Tx) error {
		var err error
		rev, err = metaU64(tx.Bucket(bucketMeta), metaRev)
		return err
	})
	if err != nil {
		return fmt.Errorf("bolt: read the store's revision: %w", err)
	}
	w, err := openWAL(logPath, !d.opts.NoSync, d.failPoint)
	if err != nil {
		return err
	}
	revs, end, err := w.readAll(rev)
	if err != nil {
		w.close(false)
		return err
	}
	if len(revs) > 0 {
		last := revs[len(revs)-1].rev
		if err := d.applyRevs(revs, true); isNoSpace(err) {
			// A full disk: the log's revisions are served from the
			// overlay, and written to the B+tree by a checkpoint once
			// there is room (nospace.go).
			if err := d.loadOverlay(rev, revs); err != nil {
				w.close(false)
				return fmt.Errorf("bolt: replay log: %w", err)
			}
			w.size = end
			d.wal = w
			d.rev.Store(last)
			d.deferCheckpoint(err)
			d.log.Warn("store log replayed into memory: the disk is full", "revisions", len(revs), "from", rev+1, "to", last)
			return nil
		} else if err != nil {
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

// loadOverlay publishes, over a B+tree at revision base, an overlay
// holding the log's revisions revs (which follow base), each event with
// its previous value as the B+tree and the revisions before it give it.
func (d *DB) loadOverlay(base int64, revs []logRev) error {
	tx, err := d.db.Begin(false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	data := tx.Bucket(bucketData)
	d.work = newTree()
	events := make([][]store.Event, 0, len(revs))
	size := 0
	for _, lr := range revs {
		evs := make([]store.Event, 0, len(lr.events))
		for _, ev := range lr.events {
			pv, _, _, err := d.lookup(data, ev.Key)
			if err != nil {
				return err
			}
			ev.Rev, ev.PrevValue = lr.rev, pv
			d.work.ReplaceOrInsert(change{key: ev.Key, value: ev.Value, rev: lr.rev, deleted: ev.Type == store.EventDelete})
			size += 64 + len(ev.Key) + len(ev.Value)
			evs = append(evs, ev)
		}
		events = append(events, evs)
	}
	next := &overlay{tree: d.work.Clone(), events: events, base: base, rev: revs[len(revs)-1].rev, bytes: size}
	d.ovMu.Lock()
	d.ov = next
	d.ovMu.Unlock()
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
				pv, _, err := unstamp(ev.Key, prev)
				if err != nil {
					return err
				}
				ev.PrevValue = append([]byte(nil), pv...)
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
	return dropFeed(feed, meta, limit, max(4096, most))
}

// dropFeed deletes up to most (all if most <= 0) of the feed's oldest
// entries of revisions up to limit, and records the last one deleted as
// the compaction point.
func dropFeed(feed, meta *bbolt.Bucket, limit int64, most int) error {
	c := feed.Cursor()
	var last int64
	for n := 0; most <= 0 || n < most; n++ {
		k, _ := c.First()
		if k == nil {
			break
		}
		rev, err := feedRev(k)
		if err != nil {
			return err
		}
		if rev > limit {
			break
		}
		last = rev
		if err := c.Delete(); err != nil {
			return err
		}
	}
	if last > 0 {
		return meta.Put(metaCompact, u64(uint64(last)))
	}
	return nil
}

// Compact drops the change feed up to revision rev (which must not be
// newer than the store's): a Watch from an earlier revision then fails
// with store.ErrCompacted. The engine also compacts on its own, keeping
// the last Options.FeedRetention revisions.
func (d *DB) Compact(ctx context.Context, rev int64) error {
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if cur := d.rev.Load(); rev > cur {
		return fmt.Errorf("bolt: compact to revision %d: the store is at %d", rev, cur)
	}
	if rev <= 0 {
		return nil
	}
	return d.await(ctx, &txnReq{checkpoint: true, compact: rev, reply: make(chan txnResult, 1)})
}

// compactTo drops the feed up to rev (after a checkpoint: the feed bucket
// holds every revision), in one bbolt commit.
func (d *DB) compactTo(rev int64) error {
	err := d.update(func(tx *bbolt.Tx) error {
		feed, meta := tx.Bucket(bucketFeed), tx.Bucket(bucketMeta)
		if err := dropFeed(feed, meta, rev, 0); err != nil {
			return err
		}
		if done, err := metaU64(meta, metaCompact); err != nil || done >= rev {
			return err
		}
		return meta.Put(metaCompact, u64(uint64(rev)))
	})
	if err != nil {
		return d.failed("compact", err)
	}
	return nil
}
