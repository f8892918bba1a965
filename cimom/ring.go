package cimom

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/wbemd/wbemd/cim"
)

// ring keeps the latest intrinsic events for a CIMOM's subscriptions,
// decoded once by the feed reader. It is filled only while someone
// subscribes, and holds at most size events. A subscription reads it at
// its own pace by sequence number; one whose place the reader overwrote
// reads the store's feed itself until the ring holds its place again (see
// subscribe.go), so a slow subscription loses nothing and never slows the
// writers or the others.
//
// Events that every subscription reading the ring has read are let go,
// but for the newest tail of them: an event holds its instances, trees
// of small objects the collector would mark again at every cycle while
// the ring kept them, so the ring holds what a subscription has still to
// read (up to size) and a short tail for subscriptions that start or come
// back, not size events always.
type ring struct {
	size int
	tail int // read events kept

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
	readers  []*ringReader
	unwoken  int // events appended since the last wake
	wakeN    int // wake the sleepers after this many appends, even inside a revision
	wake     chan struct{}
	closed   chan struct{}
	err      error

	// What the subscriptions want decoded: the feed reader decodes the
	// instance events of other classes not at all (see interest).
	wantAll     int            // subscriptions that want every instance event
	wantClasses map[string]int // subscriptions by folded class they want
	want        atomic.Pointer[interest]
	undecoded   atomic.Uint64 // instance events the reader did not decode: nobody wanted them
	noted       atomic.Uint64 // instance events the reader did not decode: their writer noted the instances
}

// interest is a snapshot of what a ring's subscriptions want: every
// instance event (all), or only those whose instance is of one of classes
// (folded names) or a subclass of one. Class and namespace events are
// always decoded. version changes with every new snapshot.
type interest struct {
	all     bool
	classes []string
	version uint64
}

// ringReader is one subscription's place in the ring: the sequence
// number of the next event it reads.
type ringReader struct{ seq uint64 }

func (r *ring) init(size int) {
	r.size = size
	r.tail = max(1, size/16)
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
		r.dropLocked()
	}
	r.buf[r.next%uint64(r.size)] = e
	r.next++
	r.last = p
	if r.unwoken++; r.unwoken >= r.wakeN {
		r.wakeLocked()
	}
}

// dropLocked lets the oldest event go.
func (r *ring) dropLocked() {
	old := &r.buf[r.first%uint64(r.size)]
	r.lost = old.pos()
	*old = entry{}
	r.first++
}

// releaseLocked lets go the events every reader has read, but the newest
// tail of them.
func (r *ring) releaseLocked() {
	low := r.next
	for _, rd := range r.readers {
		low = min(low, rd.seq)
	}
	for r.first+uint64(r.tail) < low {
		r.dropLocked()
	}
}

// activate counts a subscription in, one that wants the instance events
// of classes (folded names; none: every instance event). The first one
// starts the ring after the revision the reader is in. One that wants
// what no other wanted restarts it there too: the ring's events so far
// lack what the reader did not decode, so every subscription reads the
// store's feed up to that revision (as one that fell behind does) and
// the ring again after it.
func (r *ring) activate(classes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs++
	covered := r.subs > 1 && r.covers(classes)
	r.countInterest(classes, 1)
	if covered {
		return
	}
	if r.buf == nil {
		r.buf = make([]entry, r.size)
	}
	r.restartLocked(r.seen)
	r.wakeLocked()
}

// deactivate counts a subscription of activate(classes) out; the last one
// empties the ring.
func (r *ring) deactivate(classes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs--
	r.countInterest(classes, -1)
	if r.subs == 0 {
		clear(r.buf)
		r.first = r.next
	}
}

// covers reports whether the subscriptions counted in want every instance
// event a subscription of classes wants.
func (r *ring) covers(classes []string) bool {
	if r.wantAll > 0 {
		return true
	}
	if len(classes) == 0 {
		return false
	}
	for _, c := range classes {
		if r.wantClasses[c] == 0 {
			return false
		}
	}
	return true
}

// countInterest adds d subscriptions of classes to the interest and
// publishes the new snapshot.
func (r *ring) countInterest(classes []string, d int) {
	if len(classes) == 0 {
		r.wantAll += d
	} else {
		if r.wantClasses == nil {
			r.wantClasses = map[string]int{}
		}
		for _, c := range classes {
			if r.wantClasses[c] += d; r.wantClasses[c] <= 0 {
				delete(r.wantClasses, c)
			}
		}
	}
	in := &interest{all: r.wantAll > 0, version: 1}
	if old := r.want.Load(); old != nil {
		in.version = old.version + 1
	}
	if !in.all {
		for c := range r.wantClasses {
			in.classes = append(in.classes, c)
		}
	}
	r.want.Store(in)
}

// wantsNote reports whether a write of an instance of class cls should
// note the instance for the feed's reader (see instanceNote): whether a
// subscription wants every instance event, or those of cls or of one of
// its ancestors. (For one that wants a subclass of cls alone, the reader
// decodes.)
func (r *ring) wantsNote(cls *cim.Object) bool {
	in := r.want.Load()
	if in == nil || in.all {
		return in != nil
	}
	for _, c := range in.classes {
		if cim.EqualFold(c, cls.Class) || slices.ContainsFunc(cls.Derivation, func(a string) bool { return cim.EqualFold(c, a) }) {
			return true
		}
	}
	return false
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

// join places a reader at sequence number seq (one seek returned).
func (r *ring) join(seq uint64) *ringReader {
	r.mu.Lock()
	defer r.mu.Unlock()
	rd := &ringReader{seq: seq}
	r.readers = append(r.readers, rd)
	return rd
}

// leave takes a reader of join out.
func (r *ring) leave(rd *ringReader) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := slices.Index(r.readers, rd); i >= 0 {
		r.readers = slices.Delete(r.readers, i, i+1)
	}
}

// failed returns the error the ring was closed with (nil while open).
func (r *ring) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// read copies the reader's next events into dst and moves it past them.
// With none to copy it returns the channel that tells when there may be,
// and the revision up to which every event is in the ring. fell reports
// that the reader's place is no longer held.
func (r *ring) read(rd *ringReader, dst []entry) (n int, fell bool, wake <-chan struct{}, complete int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, false, nil, 0, r.err
	}
	if rd.seq < r.first {
		return 0, true, nil, 0, nil
	}
	for rd.seq+uint64(n) < r.next && n < len(dst) {
		dst[n] = r.buf[(rd.seq+uint64(n))%uint64(r.size)]
		n++
	}
	if n == 0 {
		r.sleepers++
		return 0, false, r.wake, r.complete, nil
	}
	rd.seq += uint64(n)
	r.releaseLocked()
	return n, false, nil, r.complete, nil
}
