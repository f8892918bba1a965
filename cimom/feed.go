package cimom

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// The change feed drives a CIMOM. One reader per CIMOM follows the store's
// feed from the revision current at Open; it is the only way the caches
// (resolved classes, qualifier declarations, namespace security
// descriptors and names, provider registrations) learn of a write, whether
// this process made it or another one sharing the store, and the only
// source of intrinsic events (see subscribe.go).
//
// The store marks the last event of each revision (store.Event.Last) and
// sends progress notifications for revisions without events, so the
// reader knows a revision is complete as soon as it has read it. A write
// of a record kind a cache depends on (classes, subclass index, qualifier
// declarations, namespace records, provider registrations) returns only
// after this CIMOM's reader has applied it (read-your-writes); other
// instance writes do not wait, since no cache holds instances.
//
// A cache load that read the store before an invalidation must not insert
// what it read after it: each cache has a generation, raised by every
// invalidation, that a load reads before it reads the store and that must
// not have moved when it inserts.

// feed is a CIMOM's view of the change feed: the revision its caches have
// applied, the reader that advances it, and the ring of recent events.
type feed struct {
	c     *CIMOM
	local bool // a batch view: its overlay applies each write itself; no reader

	applied atomic.Int64 // every revision up to this one has been applied to the caches
	nwait   atomic.Int32 // callers waiting in wait

	mu   sync.Mutex
	wake chan struct{} // closed (and replaced) when applied moves while someone waits
	err  error         // why the reader stopped for good

	cancel context.CancelFunc
	done   chan struct{} // closed when the reader has returned
	stop   sync.Once

	ring ring
}

// start runs the reader from revision from.
func (f *feed) start(from int64) {
	f.applied.Store(from)
	f.ring.seen = from
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go f.run(ctx, from)
}

// close stops the reader, waits for it, and ends every subscription.
func (f *feed) close() {
	f.stop.Do(func() {
		if f.cancel != nil {
			f.cancel()
			<-f.done
		}
		f.fail(&cim.Error{Status: cim.EShuttingDown, Description: "wbemd is shutting down", Provider: providerSelf})
	})
}

// fail records why the reader stopped and releases everyone waiting on it.
func (f *feed) fail(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	if f.wake != nil {
		close(f.wake)
		f.wake = nil
	}
	f.mu.Unlock()
	f.ring.close(err)
}

// feedRetryWait is how long the reader waits before it follows the feed
// again after an error other than compaction or a closed store.
const feedRetryWait = 100 * time.Millisecond

func (f *feed) run(ctx context.Context, from int64) {
	defer close(f.done)
	for {
		err := f.follow(ctx, from)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrClosed):
			f.fail(err)
			return
		case errors.Is(err, store.ErrCompacted):
			// The reader fell further behind than the feed reaches: what
			// it missed is unknown, so every cache starts over, and the
			// ring too (its subscriptions catch up from the store, or
			// learn that they cannot).
			rev, rerr := f.c.st.Rev(ctx)
			if rerr != nil {
				err = rerr
				break
			}
			f.c.log.Warn("the change feed no longer holds the revisions after the last one applied; caches emptied", "applied", f.applied.Load(), "now", rev)
			f.c.forgetAll(rev)
			f.ring.reset(rev)
			f.advance(rev)
			from = rev
			continue
		}
		f.c.log.Error("reading the change feed", "err", err, "applied", f.applied.Load())
		select {
		case <-ctx.Done():
			return
		case <-time.After(feedRetryWait):
		}
		from = f.applied.Load()
	}
}

// follow applies the feed after revision from until it fails.
func (f *feed) follow(ctx context.Context, from int64) error {
	return walkFeed(ctx, f.c.st, from, &feedReader{f: f, dec: revDecoder{c: f.c, ctx: ctx, out: f.ring.append, filter: &f.ring}})
}

// feedReader is the CIMOM's reader of the feed.
type feedReader struct {
	f   *feed
	dec revDecoder
}

func (h *feedReader) begin(rev int64) { h.dec.begin(rev, h.f.ring.begin(rev)) }

func (h *feedReader) event(ev store.Event) {
	h.f.c.invalidate(ev)
	h.dec.add(ev)
}

func (h *feedReader) complete(rev int64) {
	h.f.advance(rev) // first: writers waiting for rev need the caches only
	h.dec.flush()
	h.f.ring.completed(rev)
}

// revisionHandler is told what walkFeed reads.
type revisionHandler interface {
	begin(rev int64)      // the first event of revision rev follows
	event(ev store.Event) // an event of the current revision
	complete(rev int64)   // every revision up to rev is complete
}

// feedProgress is the interval of the progress notifications the feed's
// readers ask the store for: they complete revisions without events (a
// transaction that changed nothing, or, on a shared etcd cluster, another
// deployment's). The embedded engine sends them at once; etcd at the
// cluster's --experimental-watch-progress-notify-interval.
const feedProgress = 100 * time.Millisecond

// walkFeed reads the store's feed after revision from, revision by
// revision, until it fails or ctx ends.
func walkFeed(ctx context.Context, st store.Store, from int64, h revisionHandler) error {
	cur, done := from, from
	for ev, err := range st.Watch(ctx, nil, from, store.WithProgress(feedProgress)) {
		if err != nil {
			return err
		}
		if ev.Type != store.EventProgress {
			if ev.Rev > cur {
				if ev.Rev-1 > done {
					h.complete(ev.Rev - 1) // revisions without events
					done = ev.Rev - 1
				}
				cur = ev.Rev
				h.begin(cur)
			}
			h.event(ev)
		}
		if ev.Last && ev.Rev > done {
			h.complete(ev.Rev)
			done = ev.Rev
		}
	}
	return ctx.Err()
}

// advance records that every revision up to rev is applied.
func (f *feed) advance(rev int64) {
	if rev <= f.applied.Load() {
		return
	}
	f.applied.Store(rev)
	if f.nwait.Load() > 0 {
		f.mu.Lock()
		if f.wake != nil {
			close(f.wake)
			f.wake = nil
		}
		f.mu.Unlock()
	}
}

// applyLocal applies a batch view's own write at revision rev: the
// overlay of a batch has no feed, and nothing else writes it.
func (f *feed) applyLocal(rev int64, evs []store.Event) {
	for _, ev := range evs {
		f.c.invalidate(ev)
	}
	f.advance(rev)
}

// wait returns once every revision up to rev is applied (or ctx ends, or
// the reader stopped).
func (f *feed) wait(ctx context.Context, rev int64) error {
	for f.applied.Load() < rev {
		f.mu.Lock()
		f.nwait.Add(1)
		if f.applied.Load() >= rev {
			f.nwait.Add(-1)
			f.mu.Unlock()
			return nil
		}
		if f.err != nil {
			err := f.err
			f.nwait.Add(-1)
			f.mu.Unlock()
			return err
		}
		if f.wake == nil {
			f.wake = make(chan struct{})
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
			f.nwait.Add(-1)
		case <-ctx.Done():
			f.nwait.Add(-1)
			return ctx.Err()
		}
	}
	return nil
}

// WaitRevision returns once this CIMOM's caches reflect every write up to
// store revision rev, made through any CIMOM on the same store: after it,
// no call answers from what a cache held before rev. It returns as soon as
// the feed reader has applied the last event of rev (or learnt from the
// store that rev had none under the repository). It fails if ctx ends or
// the CIMOM closes.
func (c *CIMOM) WaitRevision(ctx context.Context, rev int64) error {
	return fail("WaitRevision", c.feed.wait(ctx, rev))
}

// AppliedRevision returns the revision up to which this CIMOM's caches
// reflect every write (see WaitRevision).
func (c *CIMOM) AppliedRevision() int64 { return c.feed.applied.Load() }

// cached reports whether a key belongs to a record kind that a cache
// depends on: a class, the subclass index, a qualifier declaration, a
// namespace record or a provider registration instance.
func cached(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	switch k[0] {
	case 'c', 'n', 'q', 's':
		return true
	case 'i':
		_, ok := registrationKey(k)
		return ok
	}
	return false
}

// touchesCache reports whether ops write a record a cache depends on.
func touchesCache(ops []store.Op) bool {
	for _, op := range ops {
		if cached(op.Key) {
			return true
		}
	}
	return false
}

// commit applies ops if every compare holds and returns the revision. A
// write that touches what a cache depends on returns once this CIMOM's
// feed has applied it; as with the store's Txn, if ctx ends meanwhile the
// write may or may not have been applied.
func (c *CIMOM) commit(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	rev, err := txn(ctx, c.st, cmps, ops)
	if err != nil || !touchesCache(ops) {
		return rev, err
	}
	return rev, c.feed.wait(ctx, rev)
}

// sync brings the caches up to date with every write committed before
// the call. A batch's view applies its writes as it makes them: it has
// nothing to wait for.
func (c *CIMOM) sync(ctx context.Context) error {
	if c.feed.local {
		return nil
	}
	rev, err := c.st.Rev(ctx)
	if err != nil {
		return err
	}
	return c.feed.wait(ctx, rev)
}

// invalidate drops what the caches hold about the record one feed event
// changed. It needs only the key (and, for a class, whether it existed).
func (c *CIMOM) invalidate(ev store.Event) {
	if len(ev.Key) == 0 {
		return
	}
	switch ev.Key[0] {
	case 'c':
		if _, parts, ok := keyParts(ev.Key, 2); ok {
			c.forgetRegistrations(parts[0], 0) // they were read against the classes
		}
		if ev.Type == store.EventPut && ev.PrevValue == nil {
			return // a new class: the cache holds found classes, never absences
		}
		c.schema.clear() // the class, and every class derived from it
	case 'q':
		if _, parts, ok := keyParts(ev.Key, 2); ok {
			c.quals.drop(parts[0])
		}
	case 'n':
		c.forgetSDs()
		if _, parts, ok := keyParts(ev.Key, 1); ok {
			c.forgetRegistrations(parts[0], 0)
		}
	case 'i':
		if ns, ok := registrationKey(ev.Key); ok {
			c.forgetRegistrations(ns, ev.Rev)
		}
	}
}

// forgetAll empties every cache after the reader lost its place in the
// feed; rev is where it starts again.
func (c *CIMOM) forgetAll(rev int64) {
	c.schema.clear()
	c.forgetSDs()
	c.quals.clear()
	c.forgetRegistrations("", rev)
}
