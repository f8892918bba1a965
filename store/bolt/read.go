package bolt

import (
	"bytes"
	"context"
	"fmt"
	"iter"

	bbolt "go.etcd.io/bbolt"

	"github.com/google/btree"

	"github.com/wbemd/wbemd/store"
)

// Get returns a key's value and ModRev.
func (d *DB) Get(ctx context.Context, key []byte) (store.KV, bool, error) {
	if err := d.enter(ctx); err != nil {
		return store.KV{}, false, err
	}
	defer d.leave()
	d.ovMu.RLock()
	if c, ok := d.ov.tree.Get(change{key: key}); ok {
		d.ovMu.RUnlock()
		if c.deleted {
			return store.KV{}, false, nil
		}
		return store.KV{Key: key, Value: append([]byte(nil), c.value...), ModRev: c.rev}, true, nil
	}
	tx, err := d.db.Begin(false)
	d.ovMu.RUnlock()
	if err != nil {
		return store.KV{}, false, fmt.Errorf("bolt: read: %w", err)
	}
	defer tx.Rollback()
	v := tx.Bucket(bucketData).Get(key)
	if v == nil {
		return store.KV{}, false, nil
	}
	val, rev, err := unstamp(key, v)
	if err != nil {
		return store.KV{}, false, err
	}
	return store.KV{Key: key, Value: append([]byte(nil), val...), ModRev: rev}, true, nil
}

// snapshot returns the published overlay and a bbolt read transaction
// begun while it was published: together, one consistent state. The
// caller rolls the transaction back.
func (d *DB) snapshot() (*overlay, *bbolt.Tx, error) {
	d.ovMu.RLock()
	defer d.ovMu.RUnlock()
	tx, err := d.db.Begin(false)
	if err != nil {
		return nil, nil, fmt.Errorf("bolt: read: %w", err)
	}
	return d.ov, tx, nil
}

// Range yields the keys in [start, end) from one read transaction.
func (d *DB) Range(ctx context.Context, start, end []byte) iter.Seq2[store.KV, error] {
	return func(yield func(store.KV, error) bool) {
		if err := d.enter(ctx); err != nil {
			yield(store.KV{}, err)
			return
		}
		defer d.leave()
		ov, tx, err := d.snapshot()
		if err != nil {
			yield(store.KV{}, err)
			return
		}
		defer tx.Rollback()
		n := 0
		var stop error
		err = merged(ov.tree, tx.Bucket(bucketData).Cursor(), start, end, func(kv store.KV) bool {
			if n++; n&1023 == 0 {
				if stop = ctx.Err(); stop != nil {
					return false
				}
			}
			return yield(kv, nil)
		})
		if err == nil {
			err = stop
		}
		if err != nil {
			yield(store.KV{}, err)
		}
	}
}

// merged calls fn, in key order until it returns false, with each key in
// [start, end) (a nil end: to the end of the keyspace) of the state that
// the changes of tree make of the B+tree's data bucket under c. The KV
// slices of bbolt's keys stay valid until its transaction ends. It fails
// on a value without its revision header.
func merged(tree *btree.BTreeG[change], c *bbolt.Cursor, start, end []byte, fn func(store.KV) bool) error {
	changes := newChangeCursor(tree, start, end)
	var k, v []byte
	if start == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(start)
	}
	for {
		if k != nil && end != nil && bytes.Compare(k, end) >= 0 {
			k = nil
		}
		ch, more := changes.peek()
		var kv store.KV
		switch {
		case k == nil && !more:
			return nil
		case more && (k == nil || bytes.Compare(ch.key, k) <= 0):
			changes.next()
			if k != nil && bytes.Equal(ch.key, k) {
				k, v = c.Next() // the change replaces the B+tree's value
			}
			if ch.deleted {
				continue
			}
			kv = store.KV{Key: ch.key, Value: ch.value, ModRev: ch.rev}
		default:
			val, rev, err := unstamp(k, v)
			if err != nil {
				return err
			}
			kv = store.KV{Key: k, Value: val, ModRev: rev}
			k, v = c.Next()
		}
		if !fn(kv) {
			return nil
		}
	}
}

// Rev returns the last committed revision.
func (d *DB) Rev(ctx context.Context) (int64, error) {
	if err := d.enter(ctx); err != nil {
		return 0, err
	}
	defer d.leave()
	return d.rev.Load(), nil
}
