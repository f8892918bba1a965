package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/wbemd/wbemd/store"
)

// commitLogged judges and applies a batch to the committer's tree, appends
// its changes to the log in one synced record, publishes the new overlay
// and answers.
func (d *DB) commitLogged(batch []*txnReq) {
	start := time.Now()
	results := make([]txnResult, len(batch))
	ov := d.ov
	tx, err := d.db.Begin(false)
	if err != nil {
		d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
		return
	}
	defer tx.Rollback()
	data := tx.Bucket(bucketData)
	var revs [][]store.Event
	grown := 0
	cur := ov.rev
	for i, req := range batch {
		if !d.holds(data, req.cmps) {
			results[i] = txnResult{err: store.ErrCompareFailed}
			continue
		}
		cur++
		evs, n, err := d.applyToTree(data, cur, req.ops)
		if err != nil {
			d.undo(ov)
			d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
			return
		}
		grown += n
		results[i] = txnResult{rev: cur}
		revs = append(revs, evs)
	}
	if cur > ov.rev {
		if err := d.wal.append(ov.rev+1, revs); err != nil {
			d.undo(ov)
			d.fail(batch, err)
			return
		}
		next := &overlay{tree: d.work.Clone(), events: append(ov.events, revs...), base: ov.base, rev: cur, bytes: ov.bytes + grown}
		d.ovMu.Lock()
		d.ov = next
		d.ovMu.Unlock()
		d.rev.Store(cur)
	}
	d.count(len(batch), start)
	for i, req := range batch {
		req.reply <- results[i]
	}
	d.publish(revs)
}

// undo resets the committer's tree to the published overlay's after a
// failed batch. It copies the tree (a failure is rare; a clone before
// every batch would cost every batch a copy of the nodes it writes).
func (d *DB) undo(ov *overlay) {
	d.work = newTree()
	ov.tree.Ascend(func(c change) bool {
		d.work.ReplaceOrInsert(c)
		return true
	})
}

// holds reports whether every compare holds in the state the committer
// sees: its tree over the B+tree.
func (d *DB) holds(data *bbolt.Bucket, cmps []store.Compare) bool {
	for _, c := range cmps {
		_, mod, _ := d.lookup(data, c.Key)
		if mod != c.ModRev {
			return false
		}
	}
	return true
}

// lookup returns key's value and ModRev in the committer's state. A value
// read from the B+tree is copied: it outlives the read transaction.
func (d *DB) lookup(data *bbolt.Bucket, key []byte) ([]byte, int64, bool) {
	if c, ok := d.work.Get(change{key: key}); ok {
		if c.deleted {
			return nil, 0, false
		}
		return c.value, c.rev, true
	}
	v := data.Get(key)
	if v == nil {
		return nil, 0, false
	}
	return append([]byte(nil), v[8:]...), readU64(v[:8]), true
}

// applyToTree performs one request's ops at revision rev on the
// committer's tree and returns its events and the bytes the tree grew by.
func (d *DB) applyToTree(data *bbolt.Bucket, rev int64, ops []store.Op) ([]store.Event, int, error) {
	evs := []store.Event{}
	grown := 0
	set := func(ev store.Event) {
		ev.Rev = rev
		evs = append(evs, ev)
		d.work.ReplaceOrInsert(change{key: ev.Key, value: ev.Value, rev: rev, deleted: ev.Type == store.EventDelete})
		grown += 64 + len(ev.Key) + len(ev.Value)
	}
	for _, op := range inKeyOrder(ops) {
		switch op.Kind {
		case store.OpPut:
			if len(op.Key) == 0 {
				return nil, 0, errors.New("empty key")
			}
			pv, _, _ := d.lookup(data, op.Key)
			set(store.Event{Type: store.EventPut, Key: op.Key, Value: op.Value, PrevValue: pv})
		case store.OpDelete:
			if pv, _, ok := d.lookup(data, op.Key); ok {
				set(store.Event{Type: store.EventDelete, Key: op.Key, PrevValue: pv})
			}
		case store.OpDeleteRange:
			keys, err := d.liveKeys(data, op.Key, op.End)
			if err != nil {
				return nil, 0, err
			}
			for _, k := range keys {
				pv, _, _ := d.lookup(data, k)
				set(store.Event{Type: store.EventDelete, Key: k, PrevValue: pv})
			}
		default:
			return nil, 0, fmt.Errorf("unknown op kind %d", op.Kind)
		}
	}
	return evs, grown, nil
}

// liveKeys returns the keys in [start, end) that the committer's state
// holds, in order.
func (d *DB) liveKeys(data *bbolt.Bucket, start, end []byte) ([][]byte, error) {
	var keys [][]byte
	err := merged((&overlay{tree: d.work}).between(start, end), data.Cursor(), start, end, func(kv store.KV) bool {
		keys = append(keys, append([]byte(nil), kv.Key...))
		return true
	})
	return keys, err
}

// commitDirect applies a large batch in one bbolt transaction of its own,
// after a checkpoint, and answers every request.
func (d *DB) commitDirect(batch []*txnReq) {
	start := time.Now()
	if err := d.checkpoint(); err != nil {
		d.fail(batch, err)
		return
	}
	results := make([]txnResult, len(batch))
	var events [][]store.Event
	rev := d.rev.Load()
	err := d.db.Update(func(tx *bbolt.Tx) error {
		events = events[:0]
		data, feed, meta := tx.Bucket(bucketData), tx.Bucket(bucketFeed), tx.Bucket(bucketMeta)
		feed.FillPercent = 1.0 // the feed only grows at its end: pack its pages full
		cur := rev
		for i, req := range batch {
			if !comparesHold(data, req.cmps) {
				results[i] = txnResult{err: store.ErrCompareFailed}
				continue
			}
			cur++
			evs, err := apply(data, feed, cur, req.ops, provenAbsent(req.cmps))
			if err != nil {
				return err
			}
			results[i] = txnResult{rev: cur}
			events = append(events, evs)
		}
		if cur == rev {
			return nil
		}
		if err := meta.Put(metaRev, u64(uint64(cur))); err != nil {
			return err
		}
		return d.compactFeed(feed, meta, cur, 2*len(batch))
	})
	d.count(len(batch), start)
	if err != nil {
		d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
		return
	}
	for _, r := range results {
		if r.rev > rev {
			rev = r.rev
		}
	}
	d.setEmptyOverlay(rev)
	d.rev.Store(rev)
	for i, req := range batch {
		req.reply <- results[i]
	}
	d.publish(events)
}

func comparesHold(data *bbolt.Bucket, cmps []store.Compare) bool {
	for _, c := range cmps {
		v := data.Get(c.Key)
		var mod int64
		if v != nil {
			mod = readU64(v[:8])
		}
		if mod != c.ModRev {
			return false
		}
	}
	return true
}

// provenAbsent returns the keys that the request's compares (which held)
// prove absent, so that apply need not look them up again; nil for small
// requests, where the lookups cost less than the set.
func provenAbsent(cmps []store.Compare) map[string]bool {
	if len(cmps) < 64 {
		return nil
	}
	m := make(map[string]bool, len(cmps))
	for _, c := range cmps {
		if c.ModRev == 0 {
			m[string(c.Key)] = true
		}
	}
	return m
}

// apply performs one request's ops at revision rev on the B+tree and
// records its events in the feed. absent holds keys known to be absent
// before the request.
func apply(data, feed *bbolt.Bucket, rev int64, ops []store.Op, absent map[string]bool) ([]store.Event, error) {
	var evs []store.Event
	fw := feedWriter{feed: feed, rev: rev}
	add := func(ev store.Event) error {
		ev.Rev = rev
		evs = append(evs, ev)
		return fw.add(ev)
	}
	for _, op := range inKeyOrder(ops) {
		switch op.Kind {
		case store.OpPut:
			if len(op.Key) == 0 {
				return nil, errors.New("empty key")
			}
			var pv []byte
			if absent[string(op.Key)] {
				delete(absent, string(op.Key)) // a later op on the key sees this put
			} else if prev := data.Get(op.Key); prev != nil {
				pv = append([]byte(nil), prev[8:]...)
			}
			if err := data.Put(op.Key, stamped(rev, op.Value)); err != nil {
				return nil, err
			}
			if err := add(store.Event{Type: store.EventPut, Key: op.Key, Value: op.Value, PrevValue: pv}); err != nil {
				return nil, err
			}
		case store.OpDelete:
			prev := data.Get(op.Key)
			if prev == nil {
				continue
			}
			pv := append([]byte(nil), prev[8:]...)
			if err := data.Delete(op.Key); err != nil {
				return nil, err
			}
			if err := add(store.Event{Type: store.EventDelete, Key: op.Key, PrevValue: pv}); err != nil {
				return nil, err
			}
		case store.OpDeleteRange:
			c := data.Cursor()
			for k, v := c.Seek(op.Key); k != nil && (op.End == nil || bytes.Compare(k, op.End) < 0); k, v = c.Seek(op.Key) {
				key := append([]byte(nil), k...)
				pv := append([]byte(nil), v[8:]...)
				if err := data.Delete(key); err != nil {
					return nil, err
				}
				if err := add(store.Event{Type: store.EventDelete, Key: key, PrevValue: pv}); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("unknown op kind %d", op.Kind)
		}
	}
	return evs, fw.flush()
}

// inKeyOrder returns ops sorted by key (stably: a later op on the same key
// still wins) unless a range delete makes order matter. bbolt inserts into
// in-memory node slices, so a large transaction of unsorted keys costs a
// slice shift per insert; in key order each insert is an append.
func inKeyOrder(ops []store.Op) []store.Op {
	sorted := true
	for i, op := range ops {
		if op.Kind == store.OpDeleteRange {
			return ops
		}
		if i > 0 && bytes.Compare(ops[i-1].Key, op.Key) > 0 {
			sorted = false
		}
	}
	if sorted {
		return ops
	}
	out := append([]store.Op(nil), ops...)
	sort.SliceStable(out, func(i, j int) bool { return bytes.Compare(out[i].Key, out[j].Key) < 0 })
	return out
}
