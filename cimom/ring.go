package cimom

import (
	"sort"
	"sync"
)

// ring keeps the latest intrinsic events for a CIMOM's subscriptions,
// decoded once by the feed reader. It is filled only while someone
// subscribes, and holds at most size events. A subscription reads it at
// its own pace by sequence number; one whose place the reader overwrote
// reads the store's feed itself until the ring holds its place again (see
// subscribe.go), so a slow subscription loses nothing and never slows the
// writers or the others.
type ring struct {
	size int

	mu       sync.Mutex
	buf      []entry
	first    uint64   // sequence number of the oldest entry held
	next     uint64   // sequence number of the next entry
	lost     position // every event after lost is held, from first on
	last     position // the newest entry's place (lost when none)
	complete int64    // the reader has added every event of the revisions up to this one
	seen     int64    // the revision the reader is in
	subs     int      // subscriptions reading
	sleepers int      // subscriptions waiting on wake
	unwoken  int      // events appended since the last wake
	wakeN    int      // wake the sleepers after this many appends, even inside a revision
	wake     chan struct{}
	closed   chan struct{}
	err      error
}

func (r *ring) init(size int) {
	r.size = size
	r.wakeN = max(1, size/16)
	r.wake = make(chan struct{})
	r.closed = make(chan struct{})
}

func (r *ring) wakeLocked() {
	r.unwoken = 0
	if r.sleepers > 0 {
		close(r.wake)
		r.wake = make(chan struct{})
		r.sleepers = 0
	}
}

// begin tells the ring that the reader starts revision rev (every earlier
// one is complete), and whether to decode it.
func (r *ring) begin(rev int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = rev
	if rev-1 > r.complete {
		r.complete = rev - 1
		r.wakeLocked()
	}
	return r.subs > 0
}

// completed tells the ring that revision rev is complete.
func (r *ring) completed(rev int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rev > r.complete {
		r.complete = rev
		r.wakeLocked()
	}
}

// append adds an event after the newest (the reader adds them in feed
// order; one at or before the newest, read again after an error, is
// dropped). The sleepers are woken when the revision completes, or
// every wakeN events inside a large one, not at every event: one wake
// per subscription and revision.
func (r *ring) append(e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := e.pos()
	if r.subs == 0 || !r.last.before(p) {
		return
	}
	if r.next-r.first == uint64(r.size) {
		old := &r.buf[r.first%uint64(r.size)]
		r.lost = old.pos()
		*old = entry{}
		r.first++
	}
	r.buf[r.next%uint64(r.size)] = e
	r.next++
	r.last = p
	if r.unwoken++; r.unwoken >= r.wakeN {
		r.wakeLocked()
	}
}

// activate counts a subscription in; the first one starts the ring after
// the revision the reader is in.
func (r *ring) activate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs++
	if r.subs > 1 {
		return
	}
	if r.buf == nil {
		r.buf = make([]entry, r.size)
	}
	r.restartLocked(r.seen)
}

// deactivate counts a subscription out; the last one empties the ring.
func (r *ring) deactivate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs--
	if r.subs == 0 {
		clear(r.buf)
		r.first = r.next
	}
}

// reset empties the ring after the reader lost its place in the feed: it
// holds the events after revision rev from now on.
func (r *ring) reset(rev int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen, r.complete = rev, rev
	clear(r.buf)
	r.restartLocked(rev)
	r.wakeLocked()
}

// restartLocked leaves a gap in the sequence numbers, so that every
// subscription reading the ring finds itself out of it.
func (r *ring) restartLocked(rev int64) {
	r.next++
	r.first = r.next
	r.lost = position{rev, revisionEnd}
	r.last = r.lost
}

// close ends every subscription with err.
func (r *ring) close(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
		close(r.closed)
	}
	r.sleepers = 1
	r.wakeLocked()
}

// seek returns the sequence number of the first event after p, if the
// ring holds every event after p.
func (r *ring) seek(p position) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil || p.before(r.lost) {
		return 0, false
	}
	n := int(r.next - r.first)
	i := sort.Search(n, func(i int) bool { return p.before(r.buf[(r.first+uint64(i))%uint64(r.size)].pos()) })
	return r.first + uint64(i), true
}

// read copies the events from seq on into dst. With none to copy it
// returns the channel that tells when there may be, and the revision up
// to which every event is in the ring. fell reports that seq is no longer
// held.
func (r *ring) read(seq uint64, dst []entry) (n int, fell bool, wake <-chan struct{}, complete int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, false, nil, 0, r.err
	}
	if seq < r.first {
		return 0, true, nil, 0, nil
	}
	for seq+uint64(n) < r.next && n < len(dst) {
		dst[n] = r.buf[(seq+uint64(n))%uint64(r.size)]
		n++
	}
	if n == 0 {
		r.sleepers++
		return 0, false, r.wake, r.complete, nil
	}
	return n, false, nil, r.complete, nil
}
