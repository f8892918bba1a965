package cimom

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"slices"
	"sort"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// Batch runs fn against a view of the repository in which fn's own writes
// are visible to fn alone, then commits all of them in one store
// transaction, or none: if fn returns an error, or the repository changed
// under a key the batch read, nothing is written. It is how a MOF compile
// is atomic. The view is a CIMOM of its own: every Services call through it
// applies the same rules as on c, because the same code runs.
//
// Isolation is optimistic: each key the batch read is checked at commit
// (WBEM_E_TRANSACTION_CONFLICT if another writer changed it meanwhile);
// keys another writer added to a range the batch scanned are not. The
// batch's events come from the change feed after the commit, all in its
// one revision. Instances of dynamic (provider) classes
// cannot be written in a batch: a provider's writes cannot be rolled back,
// so the view has no providers.
func (c *CIMOM) Batch(ctx context.Context, fn func(view *CIMOM) error) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	ov := &overlay{base: c.st, writes: map[string]*pendingKV{}, reads: map[string]int64{}}
	view := newCIMOM(ov, c.opts)
	view.feed.local = true
	ov.applied = view.feed.applyLocal
	if err := fn(view); err != nil {
		return err
	}
	cmps, ops := ov.commitSet()
	if len(ops) == 0 {
		return nil
	}
	if _, err := c.commit(ctx, cmps, ops); err != nil {
		if errors.Is(err, store.ErrCompareFailed) {
			return cim.Errorf(cim.ETransactionConflict, "the repository changed during the batch; nothing was written")
		}
		return err
	}
	return nil
}

// overlay is a store.Store that buffers writes in memory over a base store
// and remembers the revision of every base key it read. It has no change
// feed: it tells its view each write itself (applied), so that the view's
// caches follow its writes.
type overlay struct {
	base    store.Store
	applied func(rev int64, evs []store.Event)

	mu     sync.Mutex
	writes map[string]*pendingKV
	sorted []string         // keys of writes in order; nil when stale
	reads  map[string]int64 // base keys read -> ModRev seen (0: absent)
	rev    int64            // revisions handed out by the overlay
}

type pendingKV struct {
	value   []byte
	deleted bool
	modRev  int64
}

var errNotInBatch = errors.New("cimom: not available inside a batch")

func (o *overlay) noteRead(key []byte, rev int64) {
	if _, ok := o.reads[string(key)]; !ok {
		o.reads[string(key)] = rev
	}
}

func (o *overlay) Get(ctx context.Context, key []byte) (store.KV, bool, error) {
	o.mu.Lock()
	if w, ok := o.writes[string(key)]; ok {
		o.mu.Unlock()
		if w.deleted {
			return store.KV{}, false, nil
		}
		return store.KV{Key: key, Value: w.value, ModRev: w.modRev}, true, nil
	}
	o.mu.Unlock()
	kv, found, err := o.base.Get(ctx, key)
	if err != nil {
		return kv, found, err
	}
	o.mu.Lock()
	o.noteRead(key, kv.ModRev)
	o.mu.Unlock()
	return kv, found, nil
}

// pendingIn returns the buffered keys in [start, end) with their values.
func (o *overlay) pendingIn(start, end []byte) ([]string, []*pendingKV) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sorted == nil {
		o.sorted = make([]string, 0, len(o.writes))
		for k := range o.writes {
			o.sorted = append(o.sorted, k)
		}
		sort.Strings(o.sorted)
	}
	i := sort.SearchStrings(o.sorted, string(start))
	j := len(o.sorted)
	if end != nil {
		j = sort.SearchStrings(o.sorted, string(end))
	}
	keys := slices.Clone(o.sorted[i:max(i, j)])
	vals := make([]*pendingKV, len(keys))
	for n, k := range keys {
		vals[n] = o.writes[k]
	}
	return keys, vals
}

func (o *overlay) Range(ctx context.Context, start, end []byte) iter.Seq2[store.KV, error] {
	return func(yield func(store.KV, error) bool) {
		keys, vals := o.pendingIn(start, end)
		n := 0
		// emit yields the buffered keys before limit (all of them for nil).
		emit := func(limit []byte) bool {
			for ; n < len(keys) && (limit == nil || keys[n] < string(limit)); n++ {
				if vals[n].deleted {
					continue
				}
				if !yield(store.KV{Key: []byte(keys[n]), Value: vals[n].value, ModRev: vals[n].modRev}, nil) {
					return false
				}
			}
			return true
		}
		for kv, err := range o.base.Range(ctx, start, end) {
			if err != nil {
				yield(kv, err)
				return
			}
			if !emit(kv.Key) {
				return
			}
			if n < len(keys) && keys[n] == string(kv.Key) {
				continue // shadowed by a buffered write, emitted next round
			}
			o.mu.Lock()
			o.noteRead(kv.Key, kv.ModRev)
			o.mu.Unlock()
			if !yield(kv, nil) {
				return
			}
		}
		emit(nil)
	}
}

func (o *overlay) current(ctx context.Context, key []byte) (int64, error) {
	kv, found, err := o.Get(ctx, key)
	if err != nil || !found {
		return 0, err
	}
	return kv.ModRev, nil
}

func (o *overlay) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	for _, c := range cmps {
		rev, err := o.current(ctx, c.Key)
		if err != nil {
			return 0, err
		}
		if rev != c.ModRev {
			return 0, store.ErrCompareFailed
		}
	}
	// Resolve range deletes to keys, and note the writes the view's caches
	// depend on (with whether a class existed), before taking the lock.
	var deletes [][]byte
	var evs []store.Event
	note := func(ev store.Event) {
		if cached(ev.Key) {
			evs = append(evs, ev)
		}
	}
	for _, op := range ops {
		switch op.Kind {
		case store.OpDeleteRange:
			for kv, err := range o.Range(ctx, op.Key, op.End) {
				if err != nil {
					return 0, err
				}
				deletes = append(deletes, bytes.Clone(kv.Key))
				note(store.Event{Type: store.EventDelete, Key: deletes[len(deletes)-1]})
			}
		case store.OpDelete:
			note(store.Event{Type: store.EventDelete, Key: op.Key})
		case store.OpPut:
			ev := store.Event{Type: store.EventPut, Key: op.Key}
			if len(op.Key) > 0 && op.Key[0] == 'c' {
				if rev, err := o.current(ctx, op.Key); err != nil {
					return 0, err
				} else if rev != 0 {
					ev.PrevValue = []byte{} // it existed
				}
			}
			note(ev)
		}
	}
	base, err := o.base.Rev(ctx)
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	o.rev++
	rev := base + o.rev
	for _, op := range ops {
		switch {
		case op.Kind == store.OpPut:
			o.writes[string(op.Key)] = &pendingKV{value: op.Value, modRev: rev}
		case op.Kind == store.OpDelete:
			o.writes[string(op.Key)] = &pendingKV{deleted: true, modRev: rev}
		}
	}
	for _, k := range deletes {
		o.writes[string(k)] = &pendingKV{deleted: true, modRev: rev}
	}
	o.sorted = nil
	o.mu.Unlock()
	if o.applied != nil {
		o.applied(rev, evs)
	}
	return rev, nil
}

// commitSet returns the guards (every base key read, at the revision seen)
// and the writes (in key order) that apply the batch to the base store.
func (o *overlay) commitSet() ([]store.Compare, []store.Op) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cmps := make([]store.Compare, 0, len(o.reads))
	for k, rev := range o.reads {
		cmps = append(cmps, store.Compare{Key: []byte(k), ModRev: rev})
	}
	keys := make([]string, 0, len(o.writes))
	for k, w := range o.writes {
		if w.deleted {
			if rev, read := o.reads[k]; read && rev == 0 {
				continue // never existed in the base store
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ops := make([]store.Op, 0, len(keys))
	for _, k := range keys {
		if w := o.writes[k]; !w.deleted {
			ops = append(ops, store.Put([]byte(k), w.value))
		} else {
			ops = append(ops, store.Delete([]byte(k)))
		}
	}
	return cmps, ops
}

func (o *overlay) Rev(ctx context.Context) (int64, error) {
	base, err := o.base.Rev(ctx)
	o.mu.Lock()
	defer o.mu.Unlock()
	return base + o.rev, err
}

func (o *overlay) Watch(ctx context.Context, prefix []byte, from int64, _ ...store.WatchOption) iter.Seq2[store.Event, error] {
	return func(yield func(store.Event, error) bool) { yield(store.Event{}, errNotInBatch) }
}

func (o *overlay) Backup(ctx context.Context, w io.Writer) error { return errNotInBatch }

func (o *overlay) Close() error { return nil }
