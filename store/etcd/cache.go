package etcd

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/store"
)

// The read cache: Get answers from memory what the cluster's watch has
// told this process, and stays linearizable (with reads=session, it
// answers without the barrier below; see knownRev).
//
// A watch on the store's prefix (the change feed) fills the cache with
// every value written after Open and keeps each cached key current; a Get
// that missed fills it with what it read. The cache knows the revision up
// to which it has applied the watch (applied). A Get first learns the
// cluster's current revision with a linearizable read (the read barrier),
// and answers from the cache only if the cache has applied that revision:
// then every write acknowledged before the Get began, on any node, is in
// the cache. Otherwise, and for a key the cache does not hold, it reads
// the key from the cluster, as without the cache. Concurrent Gets share
// one barrier: a barrier read that was sent after a Get began serves it,
// so under load one round trip serves many Gets.
//
// A Get's fill is kept only if the revision it read at is not older than
// what the watch has applied (so a later event for the key is still to
// come), and an event replaces a cached key only if it is newer than the
// cached value: the cache never goes back in time.
//
// The cache holds at most CacheBytes of keys and values; past that it
// drops entries at random. While its watch is down (a member lost, a
// compaction it fell behind) it is empty and Gets go to the cluster.

// CacheBytes bounds the read cache's keys and values.
const CacheBytes = 32 << 20

// cacheEntry is a key's value as of rev: its ModRev if present, the
// revision it was read at if absent.
type cacheEntry struct {
	value   []byte
	rev     int64
	present bool
}

// readCache is the watch-fed cache of Get.
type readCache struct {
	mu      sync.RWMutex
	entries map[string]cacheEntry
	bytes   int
	applied int64 // the watch has applied every revision up to this one; 0: no watch

	cancel context.CancelFunc
	done   chan struct{}

	hits, misses atomic.Int64
}

// startCache starts the watch that fills s's read cache.
func (s *Store) startCache(ctx context.Context) error {
	rev, err := s.Rev(ctx)
	if err != nil {
		return err
	}
	c := &readCache{entries: map[string]cacheEntry{}, applied: rev, done: make(chan struct{})}
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	s.cache = c
	go s.followCache(wctx, rev)
	return nil
}

// stopCache stops the cache's watch and waits for it.
func (s *Store) stopCache() {
	if c := s.cache; c != nil {
		c.cancel()
		<-c.done
	}
}

// followCache applies the watch to the cache from revision from; when the
// watch fails it empties the cache and starts again from the current
// revision.
func (s *Store) followCache(ctx context.Context, from int64) {
	c := s.cache
	defer close(c.done)
	pause := minPause
	for {
		for ev, err := range s.Watch(ctx, nil, from, store.WithProgress(time.Second)) {
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
					s.log.Warn("etcd read cache: watch failed; reads go to the cluster until it is back", "err", err)
				}
				break
			}
			c.apply(ev)
			pause = minPause
		}
		c.reset()
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
		rev, err := s.Rev(ctx)
		if err != nil {
			continue
		}
		c.mu.Lock()
		c.applied = rev
		c.mu.Unlock()
		from = rev
	}
}

// reset empties the cache and marks it behind every revision.
func (c *readCache) reset() {
	c.mu.Lock()
	clear(c.entries)
	c.bytes, c.applied = 0, 0
	c.mu.Unlock()
}

// apply applies one watch event.
func (c *readCache) apply(ev store.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.Type != store.EventProgress {
		k := string(ev.Key)
		if old, ok := c.entries[k]; !ok || ev.Rev > old.rev {
			if ev.Type == store.EventDelete {
				c.set(k, cacheEntry{rev: ev.Rev})
			} else {
				c.set(k, cacheEntry{value: ev.Value, rev: ev.Rev, present: true})
			}
		}
	}
	if ev.Last && ev.Rev > c.applied {
		c.applied = ev.Rev
	}
}

// set stores an entry under c.mu, dropping entries at random past
// CacheBytes.
func (c *readCache) set(k string, e cacheEntry) {
	if old, ok := c.entries[k]; ok {
		c.bytes -= len(k) + len(old.value)
	}
	c.entries[k] = e
	c.bytes += len(k) + len(e.value)
	if c.bytes <= CacheBytes {
		return
	}
	for victim, ve := range c.entries {
		if victim != k {
			delete(c.entries, victim)
			c.bytes -= len(victim) + len(ve.value)
		}
		if c.bytes <= CacheBytes*9/10 {
			break
		}
	}
}

// holds reports whether the cache has an entry for k.
func (c *readCache) holds(k []byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.entries[string(k)]
	return ok
}

// appliedRev returns the revision the watch has applied (0: no watch).
func (c *readCache) appliedRev() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.applied
}

// get returns the cached state of k if the cache has applied revision rev.
func (c *readCache) get(k []byte, rev int64) (e cacheEntry, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.applied == 0 || c.applied < rev {
		return e, false
	}
	e, ok = c.entries[string(k)]
	return e, ok
}

// fill keeps what a Get read at revision rev, if no event the watch has
// already applied could be newer.
func (c *readCache) fill(k []byte, e cacheEntry, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.applied == 0 || rev < c.applied {
		return
	}
	if _, ok := c.entries[string(k)]; !ok {
		c.set(string(k), e)
	}
}

// barrier is one linearizable read of the cluster's revision, shared by
// the Gets that began before it was sent.
type barrier struct {
	done chan struct{}
	rev  int64
	err  error
}

// maxBarriers is how many barrier reads may be in flight at once: a Get
// that arrives while they are all out waits for the next one, which
// gathers every Get arriving meanwhile. One: on a loaded three-member
// cluster every barrier costs the members a quorum round, and one at a
// time served 37% more GetInstances through CIM-XML than two
// (BENCHMARKS.md, issue 19); a Get waits at most two round trips.
const maxBarriers = 1

// barriers runs the barrier reads.
type barriers struct {
	mu      sync.Mutex
	running int
	next    *barrier     // not sent yet
	sent    atomic.Int64 // barrier reads sent
}

// currentRev returns a revision at least the cluster's at the call, or at
// the beginning of ctx's session (store.Session): one barrier serves every
// read of a session. With reads=session it is the newest revision this
// node knows of (knownRev), with no barrier.
func (s *Store) currentRev(ctx context.Context) (int64, error) {
	sess := store.SessionOf(ctx)
	if sess != nil {
		if rev := sess.Rev(); rev > 0 {
			return rev, nil
		}
	}
	rev, ok := s.knownRev()
	if !ok {
		var err error
		if rev, err = s.barrier(ctx); err != nil {
			return 0, err
		}
		s.unsure.Store(false)
		s.learn(rev)
	}
	if sess != nil {
		sess.Observe(rev)
	}
	return rev, nil
}

// knownRev returns, with reads=session, the newest revision this node
// knows of: what the read cache's watch has applied, or this node's last
// write if the watch has not applied it yet (a Get then reads the
// cluster). Not ok without reads=session, while the watch is down, and
// after a write whose outcome is unknown: a barrier is needed.
func (s *Store) knownRev() (int64, bool) {
	if !s.cfg.SessionReads || s.cache == nil || s.unsure.Load() {
		return 0, false
	}
	applied := s.cache.appliedRev()
	if applied == 0 {
		return 0, false
	}
	return max(applied, s.written.Load()), true
}

// learn records, for reads=session, a revision this node wrote or read:
// its later reads are served at it or after.
func (s *Store) learn(rev int64) {
	for {
		old := s.written.Load()
		if rev <= old || s.written.CompareAndSwap(old, rev) {
			return
		}
	}
}

// barrier returns the revision of a barrier read sent after the call.
func (s *Store) barrier(ctx context.Context) (int64, error) {
	bs := &s.barriers
	bs.mu.Lock()
	b := bs.next
	if b == nil {
		b = &barrier{done: make(chan struct{})}
		bs.next = b
	}
	if bs.running < maxBarriers {
		bs.running++
		bs.next = nil
		go s.runBarrier(b)
	}
	bs.mu.Unlock()
	select {
	case <-b.done:
		return b.rev, b.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// runBarrier reads the revision for b, then sends the barrier that
// gathered meanwhile, if any.
func (s *Store) runBarrier(b *barrier) {
	for b != nil {
		ctx, cancel := context.WithTimeout(s.cli.Ctx(), s.cfg.DialTimeout+5*time.Second)
		s.barriers.sent.Add(1)
		b.rev, b.err = s.readRev(ctx)
		cancel()
		close(b.done)
		bs := &s.barriers
		bs.mu.Lock()
		b, bs.next = bs.next, nil
		if b == nil {
			bs.running--
		}
		bs.mu.Unlock()
	}
}
