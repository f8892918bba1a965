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
// and answers. A request that fails to apply (a corrupt value read) fails
// alone: the batch is judged again without it. A failed log write or sync
// fails the batch and makes the engine read-only.
func (d *DB) commitLogged(batch []*txnReq) {
	start := time.Now()
	n := len(batch)
	ov := d.ov
	tx, err := d.db.Begin(false)
	if err != nil {
		d.fail(batch, fmt.Errorf("bolt: commit: %w", err))
		return
	}
	defer tx.Rollback()
	data := tx.Bucket(bucketData)
	var j judged
	for {
		var bad *reqFailed
		if j, bad = d.judge(data, ov, batch); bad == nil {
			break
		}
		d.undo(ov)
		batch = d.drop(batch, bad)
	}
	if j.rev > ov.rev {
		if err := d.wal.append(ov.rev+1, j.revs); err != nil {
			d.undo(ov)
			if errors.Is(err, store.ErrNoSpace) { // nothing acknowledged, nothing lost: the engine goes on
				d.logNoSpace(err, len(batch))
				answer(batch, err)
				return
			}
			answer(batch, d.stop(err))
			return
		}
		next := &overlay{tree: d.work.Clone(), events: append(ov.events, withoutNotes(j.revs)...), base: ov.base, rev: j.rev, bytes: ov.bytes + j.grown}
		d.ovMu.Lock()
		d.ov = next
		d.ovMu.Unlock()
		d.rev.Store(j.rev)
	}
	d.count(n, start)
	for i, req := range batch {
		req.reply <- j.results[i]
	}
	d.publish(j.revs)
}

// judged is a batch applied to the committer's tree.
type judged struct {
	results []txnResult     // per request
	revs    [][]store.Event // per revision given
	grown   int             // bytes the tree grew by
	rev     int64           // the last revision given
}

// judge applies each request of a batch whose compares hold to the
// committer's tree, from the published overlay ov on. It stops at the
// first request that fails to apply, leaving the tree half-written (see
// undo).
func (d *DB) judge(data *bbolt.Bucket, ov *overlay, batch []*txnReq) (judged, *reqFailed) {
	j := judged{results: make([]txnResult, len(batch)), rev: ov.rev}
	for i, req := range batch {
		ok, err := d.holds(data, req.cmps)
		if err != nil {
			return j, &reqFailed{i, err}
		}
		if !ok {
			j.results[i] = txnResult{err: store.ErrCompareFailed}
			continue
		}
		evs, n, err := d.applyToTree(data, j.rev+1, req.ops)
		if err != nil {
			return j, &reqFailed{i, err}
		}
		j.rev++
		j.grown += n
		j.results[i] = txnResult{rev: j.rev}
		j.revs = append(j.revs, evs)
	}
	return j, nil
}

// reqFailed is the failure of one request of a batch to apply.
type reqFailed struct {
	i   int
	err error
}

func (e *reqFailed) Error() string { return e.err.Error() }

// drop answers the failed request and returns the batch without it.
func (d *DB) drop(batch []*txnReq, bad *reqFailed) []*txnReq {
	d.log.Error("store transaction failed", "err", bad.err)
	batch[bad.i].reply <- txnResult{err: bad.err}
	return append(batch[:bad.i:bad.i], batch[bad.i+1:]...)
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
func (d *DB) holds(data *bbolt.Bucket, cmps []store.Compare) (bool, error) {
	for _, c := range cmps {
		if c.End != nil {
			found := false
			err := merged(d.work, data.Cursor(), c.Key, c.End, func(store.KV) bool {
				found = true
				return false
			})
			if err != nil || found {
				return false, err
			}
			continue
		}
		_, mod, _, err := d.lookup(data, c.Key)
		if err != nil || mod != c.ModRev {
			return false, err
		}
	}
	return true, nil
}

// lookup returns key's value and ModRev in the committer's state. A value
// read from the B+tree is copied: it outlives the read transaction. The
// value of a key found is never nil (an event's PrevValue says by nil that
// the key was absent).
func (d *DB) lookup(data *bbolt.Bucket, key []byte) ([]byte, int64, bool, error) {
	if c, ok := d.work.Get(change{key: key}); ok {
		if c.deleted {
			return nil, 0, false, nil
		}
		if c.value == nil {
			return []byte{}, c.rev, true, nil
		}
		return c.value, c.rev, true, nil
	}
	v := data.Get(key)
	if v == nil {
		return nil, 0, false, nil
	}
	val, rev, err := unstamp(key, v)
	if err != nil {
		return nil, 0, false, err
	}
	return append([]byte{}, val...), rev, true, nil
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
			pv, _, _, err := d.lookup(data, op.Key)
			if err != nil {
				return nil, 0, err
			}
			set(store.Event{Type: store.EventPut, Key: op.Key, Value: op.Value, PrevValue: pv, Note: op.Note})
		case store.OpDelete:
			pv, _, ok, err := d.lookup(data, op.Key)
			if err != nil {
				return nil, 0, err
			}
			if ok {
				set(store.Event{Type: store.EventDelete, Key: op.Key, PrevValue: pv})
			}
		case store.OpDeleteRange:
			keys, err := d.liveKeys(data, op.Key, op.End)
			if err != nil {
				return nil, 0, err
			}
			for _, k := range keys {
				pv, _, _, err := d.lookup(data, k)
				if err != nil {
					return nil, 0, err
				}
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
	err := merged(d.work, data.Cursor(), start, end, func(kv store.KV) bool {
		keys = append(keys, append([]byte(nil), kv.Key...))
		return true
	})
	return keys, err
}

// commitDirect applies a large batch in one bbolt transaction of its own,
// after a checkpoint, and answers every request. A request that fails to
// apply fails alone: the transaction is rolled back and made again without
// it. A failed commit fails the batch and makes the engine read-only.
func (d *DB) commitDirect(batch []*txnReq) {
	start := time.Now()
	n := len(batch)
	if err := d.checkpoint(); err != nil {
		d.fail(batch, err)
		return
	}
	var j judged
	for {
		var err error
		j, err = d.applyDirect(batch)
		var bad *reqFailed
		if errors.As(err, &bad) {
			if batch = d.drop(batch, bad); len(batch) > 0 {
				continue
			}
		} else if err != nil {
			d.fail(batch, d.failed("commit", err))
		}
		d.count(n, start)
		if err != nil {
			return
		}
		break
	}
	d.setEmptyOverlay(j.rev)
	d.rev.Store(j.rev)
	for i, req := range batch {
		req.reply <- j.results[i]
	}
	d.publish(j.revs)
}

// applyDirect judges and applies a batch to the B+tree in one bbolt
// commit. A request that fails to apply rolls it back: the error is a
// *reqFailed.
func (d *DB) applyDirect(batch []*txnReq) (judged, error) {
	var j judged
	rev := d.rev.Load()
	err := d.update(func(tx *bbolt.Tx) error {
		j = judged{results: make([]txnResult, len(batch)), rev: rev}
		data, feed, meta := tx.Bucket(bucketData), tx.Bucket(bucketFeed), tx.Bucket(bucketMeta)
		feed.FillPercent = 1.0 // the feed only grows at its end: pack its pages full
		for i, req := range batch {
			ok, err := comparesHold(data, req.cmps)
			if err != nil {
				return &reqFailed{i, err}
			}
			if !ok {
				j.results[i] = txnResult{err: store.ErrCompareFailed}
				continue
			}
			evs, err := apply(data, feed, j.rev+1, req.ops, provenAbsent(req.cmps))
			if err != nil {
				return &reqFailed{i, err}
			}
			j.rev++
			j.results[i] = txnResult{rev: j.rev}
			j.revs = append(j.revs, evs)
		}
		if j.rev == rev {
			return nil
		}
		if err := meta.Put(metaRev, u64(uint64(j.rev))); err != nil {
			return err
		}
		return d.compactFeed(feed, meta, j.rev, 2*len(batch))
	})
	return j, err
}

// comparesHold reports whether every compare holds in the B+tree.
func comparesHold(data *bbolt.Bucket, cmps []store.Compare) (bool, error) {
	for _, c := range cmps {
		if c.End != nil {
			if k, _ := data.Cursor().Seek(c.Key); k != nil && bytes.Compare(k, c.End) < 0 {
				return false, nil
			}
			continue
		}
		var mod int64
		if v := data.Get(c.Key); v != nil {
			var err error
			if _, mod, err = unstamp(c.Key, v); err != nil {
				return false, err
			}
		}
		if mod != c.ModRev {
			return false, nil
		}
	}
	return true, nil
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
			var pv []byte
			if absent[string(op.Key)] {
				delete(absent, string(op.Key)) // a later op on the key sees this put
			} else if prev := data.Get(op.Key); prev != nil {
				val, _, err := unstamp(op.Key, prev)
				if err != nil {
					return nil, err
				}
				pv = append([]byte{}, val...)
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
			val, _, err := unstamp(op.Key, prev)
			if err != nil {
				return nil, err
			}
			pv := append([]byte{}, val...)
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
				val, _, err := unstamp(key, v)
				if err != nil {
					return nil, err
				}
				pv := append([]byte{}, val...)
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
