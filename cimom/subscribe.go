package cimom

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// SubscribeOptions say which intrinsic events a subscription receives.
type SubscribeOptions struct {
	// Namespace is the namespace whose events the subscription receives:
	// where an event is raised (namespace events are raised in the
	// parent of the namespace they describe).
	Namespace string
	// Deep adds the events of every namespace below Namespace that the
	// principal may read.
	Deep bool
	// From is the store revision after which events are delivered: a
	// bookmark from a progress report, or the Rev of the last event a
	// consumer handled (less one to receive that revision's events
	// again). 0 means the current revision: the events of later writes.
	// A revision the change feed no longer holds fails the subscription
	// with WBEM_E_QUEUE_OVERFLOW (see Subscribe).
	From int64
	// Principal is the subscriber. It needs WBEM_RIGHT_SUBSCRIBE on
	// Namespace, for as long as the subscription lasts, and receives the
	// events of another namespace only while it holds WBEM_ENABLE there.
	Principal Principal
	// Match, if set, selects the events to deliver (an event query
	// compiles to it). It must not keep or change the event.
	Match func(*Event) bool
	// Classes, if set, says that Match selects no instance event whose
	// instance is not of one of these classes (or of a subclass of one):
	// the change feed's reader then need not decode the instances of
	// other classes for this subscription. Class and namespace events are
	// not concerned.
	Classes []string
	// Progress, when positive, is how long the subscription may go without
	// delivering anything: after each such interval it delivers a progress
	// report (Event.Progress) whose Rev is a bookmark, for heartbeats.
	Progress time.Duration
}

// Subscribe checks a subscription and returns its events: those of the
// writes after revision opts.From, in revision order, until ctx ends or
// the loop stops. Nothing is lost to a subscription that reads slowly or
// not at all for a while: it reads from the CIMOM's ring of recent events,
// and, when it fell out of the ring, from the store's change feed, which
// holds the latest revisions (bolt.Options.FeedRetention).
//
// The iterator ends with an error (a *cim.Error) and no more events:
// WBEM_E_QUEUE_OVERFLOW when the feed no longer holds the revisions the
// subscription needs, with the oldest revision it still holds in the
// description (read the state again, then subscribe from its revision);
// WBEM_E_ACCESS_DENIED when the principal loses WBEM_RIGHT_SUBSCRIBE (at
// the next event or progress report);
// WBEM_E_INVALID_NAMESPACE when the namespace is deleted;
// WBEM_E_SHUTTING_DOWN when the CIMOM closes; WBEM_E_CALL_CANCELLED when
// ctx ends. Each range over the iterator starts again from opts.From.
func (c *CIMOM) Subscribe(ctx context.Context, opts SubscribeOptions) (iter.Seq2[Event, error], error) {
	const op = "ExecNotificationQuery"
	if err := c.enter(); err != nil {
		return nil, fail(op, err)
	}
	defer c.leave()
	s, err := c.newSubscription(ctx, opts)
	if err != nil {
		return nil, fail(op, err)
	}
	return eventStream(func(yield func(Event, error) bool) error { return s.run(ctx, yield) }), nil
}

// eventStream is the iterator of a subscription's loop: the loop's events,
// then its error, if it did not end because the consumer stopped.
func eventStream(loop func(yield func(Event, error) bool) error) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if err := loop(yield); err != nil && err != errStopped {
			yield(Event{}, fail("ExecNotificationQuery", err))
		}
	}
}

// subscription is a checked Subscribe call.
type subscription struct {
	c       *CIMOM
	opts    SubscribeOptions
	svc     *services // the subscription's namespace
	ns      string    // its folded name
	from    int64
	classes []string           // opts.Classes, folded
	readers map[string]*reader // other namespaces whose events it receives, by folded name
	// allowed is 1 + the generation of the security descriptors (sdGen)
	// under which the principal last held WBEM_RIGHT_SUBSCRIBE: 0 for
	// never checked.
	allowed uint64
}

// reader is a namespace below a deep subscription's: whether the
// principal may read its events, decided under a generation of the
// security descriptors (1 + sdGen; 0 for undecided).
type reader struct {
	svc     *services
	gen     uint64
	allowed bool
}

func (c *CIMOM) newSubscription(ctx context.Context, opts SubscribeOptions) (*subscription, error) {
	if c.feed.local {
		return nil, cim.Errorf(cim.ENotSupported, "a batch has no events: subscribe to the CIMOM it commits to")
	}
	svc, err := c.connect(ctx, opts.Namespace, opts.Principal)
	if err != nil {
		return nil, err
	}
	if err := svc.require(ctx, RightSubscribe); err != nil {
		return nil, err
	}
	now, err := c.st.Rev(ctx)
	if err != nil {
		return nil, err
	}
	from := opts.From
	switch {
	case from < 0 || from > now:
		return nil, cim.Errorf(cim.EInvalidParameter, "revision %d is not one of the repository's (it is at revision %d)", from, now).WithParam("From")
	case from == 0:
		from = now
	}
	var classes []string
	for _, name := range opts.Classes {
		classes = append(classes, cim.Fold(name))
	}
	return &subscription{c: c, opts: opts, svc: svc, ns: cim.Fold(svc.ns), from: from, classes: classes, readers: map[string]*reader{}}, nil
}

// errStopped ends a subscription whose consumer stopped the loop.
var errStopped = errors.New("cimom: subscription loop stopped")

// cursor is a running subscription: its place in the feed and its
// consumer.
type cursor struct {
	s     *subscription
	yield func(Event, error) bool
	pos   position // every event up to here has been delivered or passed over
	idle  *time.Timer
}

func (s *subscription) run(ctx context.Context, yield func(Event, error) bool) error {
	r := &s.c.feed.ring
	r.activate(s.classes)
	defer r.deactivate(s.classes)
	cur := &cursor{s: s, yield: yield, pos: position{s.from, revisionEnd}}
	if s.opts.Progress > 0 {
		cur.idle = time.NewTimer(s.opts.Progress)
		defer cur.idle.Stop()
	}
	for {
		var err error
		if seq, ok := r.seek(cur.pos); ok {
			err = cur.fromRing(ctx, seq)
		} else {
			err = cur.fromStore(ctx)
		}
		if err != nil {
			return err
		}
	}
}

// idleC is the progress timer's channel (nil without progress reports).
func (cur *cursor) idleC() <-chan time.Time {
	if cur.idle == nil {
		return nil
	}
	return cur.idle.C
}

// reached records that every event up to revision rev has been delivered.
func (cur *cursor) reached(rev int64) {
	if rev > cur.pos.done() {
		cur.pos = position{rev, revisionEnd}
	}
}

// progress delivers a progress report, if the principal may still
// subscribe.
func (cur *cursor) progress(ctx context.Context) error {
	if err := cur.s.svc.require(ctx, RightSubscribe); err != nil {
		return err
	}
	if !cur.yield(Event{Namespace: cur.s.svc.ns, Time: cur.s.c.opts.Now(), Rev: cur.pos.done(), Progress: true}, nil) {
		return errStopped
	}
	cur.idle.Reset(cur.s.opts.Progress)
	return nil
}

// progressDue delivers a progress report if one is due, without waiting.
func (cur *cursor) progressDue(ctx context.Context) error {
	select {
	case <-cur.idleC():
		return cur.progress(ctx)
	default:
		return nil
	}
}

// deliver hands an event to the consumer if the subscription wants it.
func (cur *cursor) deliver(ctx context.Context, e *entry) error {
	if !cur.pos.before(e.pos()) {
		return nil // delivered already
	}
	cur.pos = e.pos()
	ok, err := cur.s.wants(ctx, e)
	if err != nil || !ok {
		return err
	}
	if !cur.yield(e.ev, nil) {
		return errStopped
	}
	if cur.idle != nil {
		cur.idle.Reset(cur.s.opts.Progress)
	}
	return nil
}

// fromRing delivers from the ring, from sequence number seq, until the
// subscription falls out of it (nil) or ends (an error).
func (cur *cursor) fromRing(ctx context.Context, seq uint64) error {
	r := &cur.s.c.feed.ring
	rd := r.join(seq)
	defer r.leave(rd)
	buf := make([]entry, 256)
	for {
		n, fell, wake, complete, err := r.read(rd, buf)
		switch {
		case err != nil:
			return err
		case fell:
			return nil
		case n > 0:
			for i := range buf[:n] {
				if err := cur.deliver(ctx, &buf[i]); err != nil {
					return err
				}
				buf[i] = entry{}
			}
			if err := cur.progressDue(ctx); err != nil {
				return err
			}
			continue
		}
		cur.reached(complete) // caught up: the ring has every event up to complete
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-cur.idleC():
			if err := cur.progress(ctx); err != nil {
				return err
			}
		}
	}
}

// feedItem is what a subscription's own feed reader sends it: an event, a
// revision known complete, or the error that ended the reading.
type feedItem struct {
	e        entry
	complete int64
	err      error
}

// fromStore delivers from the store's feed, read by a goroutine of the
// subscription's own, until the ring holds the subscription's place again
// (nil) or the subscription ends (an error).
func (cur *cursor) fromStore(ctx context.Context) error {
	c, r := cur.s.c, &cur.s.c.feed.ring
	rctx, cancel := context.WithCancel(ctx)
	items := make(chan feedItem, 256)
	go c.catchUp(rctx, cur.pos.done(), items)
	defer func() {
		cancel()
		for range items {
		}
	}()
	var it feedItem // one variable for every item: deliver takes its address
	for {
		var ok bool
		select {
		case it, ok = <-items:
			switch {
			case !ok:
				return ctx.Err()
			case errors.Is(it.err, store.ErrCompacted):
				return c.compactedError(ctx, cur.pos.done())
			case it.err != nil:
				return it.err
			case it.complete > 0:
				cur.reached(it.complete)
			default:
				if err := cur.deliver(ctx, &it.e); err != nil {
					return err
				}
			}
			if err := cur.progressDue(ctx); err != nil {
				return err
			}
			if _, ok := r.seek(cur.pos); ok {
				return nil // back to the ring as soon as it holds the place: reading the store costs a decoding of its own
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-r.closed:
			return r.failed()
		case <-cur.idleC():
			if err := cur.progress(ctx); err != nil {
				return err
			}
		}
	}
}

// catchUp reads the store's feed after revision from for one
// subscription, decoding as the CIMOM's reader does, and sends what it
// reads to out until ctx ends or the reading fails.
func (c *CIMOM) catchUp(ctx context.Context, from int64, out chan<- feedItem) {
	defer close(out)
	send := func(it feedItem) {
		select {
		case out <- it:
		case <-ctx.Done():
		}
	}
	h := &catchUpReader{send: send, dec: revDecoder{c: c, ctx: ctx, out: func(e entry) { send(feedItem{e: e}) }}}
	if err := walkFeed(ctx, c.st, from, h); err != nil && ctx.Err() == nil {
		send(feedItem{err: err})
	}
}

// catchUpReader is a subscription's own reader of the feed.
type catchUpReader struct {
	send func(feedItem)
	dec  revDecoder
}

func (h *catchUpReader) begin(rev int64)      { h.dec.begin(rev, true) }
func (h *catchUpReader) event(ev store.Event) { h.dec.add(ev) }
func (h *catchUpReader) complete(rev int64)   { h.dec.flush(); h.send(feedItem{complete: rev}) }

// wants reports whether the subscription receives an event: raised in its
// namespace (or below it, when deep, where the principal may read), and
// selected by Match. It fails when the principal lost the right to
// subscribe.
func (s *subscription) wants(ctx context.Context, e *entry) (bool, error) {
	if e.ns != s.ns && !(s.opts.Deep && strings.HasPrefix(e.ns, s.ns) && len(e.ns) > len(s.ns) && e.ns[len(s.ns)] == '/') {
		return false, nil
	}
	// The rights are decided once per generation of the security
	// descriptors, not at every event: the feed reader raises the
	// generation at every change of a namespace record, before it adds
	// the events of later revisions to the ring, so an event after a
	// revoke is never judged by a decision made before it.
	gen := s.c.sdGen.Load() + 1
	if s.allowed != gen {
		if err := s.svc.require(ctx, RightSubscribe); err != nil {
			return false, err
		}
		s.allowed = gen
	}
	if e.ns != s.ns {
		r := s.readers[e.ns]
		if r == nil {
			r = &reader{svc: &services{c: s.c, ns: e.ev.Namespace, p: s.opts.Principal}}
			s.readers[e.ns] = r
		}
		if r.gen != gen {
			err := r.svc.require(ctx, RightEnable)
			switch cim.StatusOf(err) {
			case cim.SNoError:
				r.allowed = true
			case cim.EAccessDenied, cim.EInvalidNamespace:
				r.allowed = false // a namespace it may not read, or one gone since
			default:
				return false, err
			}
			r.gen = gen
		}
		if !r.allowed {
			return false, nil
		}
	}
	if s.opts.Match != nil {
		return s.opts.Match(&e.ev), nil // e is the subscription's own copy: no copy per event
	}
	return true, nil
}

// probeWait bounds one probe of the feed in oldestHeld.
const probeWait = 2 * time.Second

// compactedError is the error of a subscription that needs the events
// after revision from, which the feed no longer holds.
func (c *CIMOM) compactedError(ctx context.Context, from int64) error {
	e := &cim.Error{Status: cim.EQueueOverflow, Err: store.ErrCompacted}
	if oldest, err := c.oldestHeld(ctx, from); err == nil {
		e.Err = &CompactedError{Oldest: oldest}
		e.Description = fmt.Sprintf("the change feed no longer holds revision %d: the oldest revision it holds is %d; read the current state and subscribe again from its revision", from+1, oldest)
	} else {
		e.Description = fmt.Sprintf("the change feed no longer holds revision %d; read the current state and subscribe again from its revision", from+1)
	}
	return e
}

// CompactedError is the cause of a subscription's WBEM_E_QUEUE_OVERFLOW
// (errors.As finds it in the *cim.Error): the change feed no longer holds
// the revisions it needs. It matches store.ErrCompacted with errors.Is.
type CompactedError struct {
	// Oldest is the oldest revision the feed still holds: a subscription
	// from Oldest-1 starts there.
	Oldest int64
}

// Error says which revision the feed holds first.
func (e *CompactedError) Error() string {
	return fmt.Sprintf("the change feed holds revisions from %d", e.Oldest)
}

// Unwrap returns store.ErrCompacted.
func (e *CompactedError) Unwrap() error { return store.ErrCompacted }

// oldestHeld finds the oldest revision the feed still holds, knowing that
// it no longer holds revision from+1: the first revision after the
// smallest start the store's Watch accepts.
func (c *CIMOM) oldestHeld(ctx context.Context, from int64) (int64, error) {
	now, err := c.st.Rev(ctx)
	if err != nil {
		return 0, err
	}
	lo, hi := from, now // Watch fails from lo; from hi (nothing to replay) it cannot
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		held, err := c.feedHolds(ctx, mid)
		if err != nil {
			return 0, err
		}
		if held {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi + 1, nil
}

// feedHolds reports whether the store's Watch accepts revision from.
func (c *CIMOM) feedHolds(ctx context.Context, from int64) (bool, error) {
	pctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	for _, err := range c.st.Watch(pctx, nil, from) {
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, store.ErrCompacted):
			return false, nil
		case pctx.Err() != nil && ctx.Err() == nil:
			return true, nil // nothing to replay within the wait: nothing compacted either
		default:
			return false, err
		}
	}
	return true, nil
}
