package cimom

import (
	"context"
	"iter"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// Extrinsic events are events that are no change of the repository:
// WMI's __TimerEvent (raised by the timer instructions of a namespace,
// timers.go) and __EventQueueOverflowEvent (raised when a permanent
// consumer's undelivered events are gone from the change feed). They are
// not in the change feed and carry no revision of their own: a
// subscription receives those raised while it runs, in its namespace,
// and no subscription from a revision replays them. Their Rev is the
// subscription's bookmark (see Event.Live), so that resuming from an
// extrinsic event's Rev misses no event of the feed.

// The extrinsic event classes and the timer instructions (WMI's system
// classes, in every namespace).
const (
	TimerEventClass         = "__TimerEvent"
	EventDroppedEventClass  = "__EventDroppedEvent"
	QueueOverflowEventClass = "__EventQueueOverflowEvent"
	TimerInstructionClass   = "__TimerInstruction"
	IntervalTimerClass      = "__IntervalTimerInstruction"
	AbsoluteTimerClass      = "__AbsoluteTimerInstruction"
)

// The properties wbemd adds to WMI's __EventQueueOverflowEvent: what it
// can say of the events it lost, which the change feed no longer holds.
const (
	// LostAfterProperty (sint64): every event of the consumer's filter up
	// to this revision was delivered.
	LostAfterProperty = "LostAfterRevision"
	// ResumedAfterProperty (sint64): delivery goes on with the events
	// after this revision; the events the filter selected in the
	// revisions after LostAfterRevision up to this one were not
	// delivered.
	ResumedAfterProperty = "ResumedAfterRevision"
)

// extrinsicClasses are the system classes of timer instructions and
// extrinsic events, as WMI declares them (parents first; __Event,
// __IndicationRelated and __EventConsumer come before them), with
// wbemd's two revisions on __EventQueueOverflowEvent.
func extrinsicClasses() []*cim.Object {
	prop, class := nullProp, systemClass
	units := cim.Qualifier{Name: "Units", Value: cim.Value{Type: cim.TypeString, V: "milliseconds"}}
	consumer := prop("IntendedConsumer", cim.TypeReference)
	consumer.RefClass = EventConsumerClass
	return []*cim.Object{
		class("__EventGenerator", "__IndicationRelated", true),
		class(TimerInstructionClass, "__EventGenerator", true,
			cim.Property{Name: "SkipIfPassed", Type: cim.TypeBoolean, Value: cim.Value{Type: cim.TypeBoolean, V: false}},
			prop("TimerId", cim.TypeString, keyQualifier())),
		class(IntervalTimerClass, TimerInstructionClass, false, prop("IntervalBetweenEvents", cim.TypeUint32, units)),
		class(AbsoluteTimerClass, TimerInstructionClass, false, prop("EventDateTime", cim.TypeDatetime)),
		class("__ExtrinsicEvent", "__Event", true),
		class("__SystemEvent", "__ExtrinsicEvent", true),
		class(EventDroppedEventClass, "__SystemEvent", false, prop("Event", cim.TypeObject), consumer),
		class(QueueOverflowEventClass, EventDroppedEventClass, false, prop("CurrentQueueSize", cim.TypeUint32),
			prop(LostAfterProperty, cim.TypeSint64), prop(ResumedAfterProperty, cim.TypeSint64)),
		class(TimerEventClass, "__Event", false, prop("NumFirings", cim.TypeUint32), prop("TimerId", cim.TypeString)),
	}
}

// onceEach keeps the first declaration of each class (a store
// transaction writes a key once).
func onceEach(classes []*cim.Object) []*cim.Object {
	seen := map[string]bool{}
	out := classes[:0]
	for _, c := range classes {
		if k := cim.Fold(c.Class); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// xkind is a kind of extrinsic event, as a bit of a subscription's set.
type xkind uint8

const (
	xTimer    xkind = 1 << iota // __TimerEvent
	xOverflow                   // __EventQueueOverflowEvent
)

// extrinsicKinds says which extrinsic events a query FROM class selects.
func extrinsicKinds(from *cim.Object) xkind {
	var k xkind
	if eventClass(TimerEventClass).IsA(from.Class) {
		k |= xTimer
	}
	if eventClass(QueueOverflowEventClass).IsA(from.Class) {
		k |= xOverflow
	}
	return k
}

// extrinsic says which extrinsic events a checked query selects: none
// for DMTF's classes, or when an ISA condition on the target bounds it to
// intrinsic events.
func (eq *eventQuery) extrinsic() xkind {
	if len(eq.isa) > 0 || eq.from.IsA("CIM_Indication") {
		return 0
	}
	return extrinsicKinds(eq.from)
}

// maxPending bounds the extrinsic events waiting for one subscription
// (timer events of one timer wait as one, with NumFirings).
const maxPending = 1024

// hub hands the extrinsic events raised to the subscriptions running.
// Raising never waits for a subscriber.
type hub struct {
	mu   sync.Mutex
	subs map[*xsub]struct{}
}

// xsub is one subscription's place at the hub.
type xsub struct {
	ns    string // folded namespace
	kinds xkind
	admin bool // receives __EventQueueOverflowEvent (administrators only, as WMI)
	wake  chan struct{}

	mu      sync.Mutex
	pending []xpending
}

// xpending is an event waiting for its subscription.
type xpending struct {
	ev      Event
	timer   string // a timer event's folded TimerId
	skip    bool   // its instruction's SkipIfPassed
	firings uint32
}

func (h *hub) add(ns string, kinds xkind, admin bool) *xsub {
	x := &xsub{ns: cim.Fold(ns), kinds: kinds, admin: admin, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*xsub]struct{}{}
	}
	h.subs[x] = struct{}{}
	h.mu.Unlock()
	return x
}

func (h *hub) remove(x *xsub) {
	h.mu.Lock()
	delete(h.subs, x)
	h.mu.Unlock()
}

// raise offers an extrinsic event to the subscriptions of its namespace
// that receive its kind. A timer event that finds the previous event of
// its timer still waiting adds to that event's NumFirings (WMI's
// coalescing), unless its instruction says SkipIfPassed.
func (h *hub) raise(kind xkind, ev Event, timer string, skip bool) {
	ns := cim.Fold(ev.Namespace)
	h.mu.Lock()
	defer h.mu.Unlock()
	for x := range h.subs {
		if x.ns != ns || x.kinds&kind == 0 || (kind == xOverflow && !x.admin) {
			continue
		}
		x.offer(xpending{ev: ev, timer: timer, skip: skip, firings: 1})
	}
}

// subscribers counts the subscriptions at the hub (for tests).
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (x *xsub) offer(p xpending) {
	x.mu.Lock()
	if p.timer != "" {
		for i := range x.pending {
			if x.pending[i].timer == p.timer {
				if !x.pending[i].skip {
					x.pending[i].firings++
				}
				x.mu.Unlock()
				return
			}
		}
	}
	if len(x.pending) >= maxPending {
		x.mu.Unlock()
		return
	}
	x.pending = append(x.pending, p)
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// take returns the waiting events, in the order raised.
func (x *xsub) take() []Event {
	x.mu.Lock()
	ps := x.pending
	x.pending = nil
	x.mu.Unlock()
	out := make([]Event, len(ps))
	for i, p := range ps {
		out[i] = p.ev
		if p.timer != "" {
			props := append([]cim.Property(nil), p.ev.Properties...)
			props = append(props, cim.Property{Name: "NumFirings", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: p.firings}})
			out[i].Properties = props
		}
	}
	return out
}

// RaiseQueueOverflow raises an __EventQueueOverflowEvent in namespace ns
// for the permanent consumer at consumerPath (a relative path), whose
// undelivered events the change feed no longer holds: every event up to
// revision lostAfter was delivered to it, and its delivery goes on after
// revision resumedAfter. Administrators' subscriptions to the event in ns
// receive it while they run (it is an extrinsic event: no revision
// replays it).
func (c *CIMOM) RaiseQueueOverflow(ns, consumerPath string, lostAfter, resumedAfter int64) {
	ref := cim.Null(cim.TypeReference)
	if consumerPath != "" {
		ref = cim.Value{Type: cim.TypeReference, V: consumerPath}
	}
	i64 := func(v int64) cim.Value { return cim.Value{Type: cim.TypeSint64, V: v} }
	ev := Event{Class: QueueOverflowEventClass, Namespace: ns, Time: c.opts.Now(), Live: true, Properties: []cim.Property{
		{Name: "Event", Type: cim.TypeObject, Value: cim.Null(cim.TypeObject)},
		{Name: "IntendedConsumer", Type: cim.TypeReference, RefClass: EventConsumerClass, Value: ref},
		{Name: "CurrentQueueSize", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32)},
		{Name: LostAfterProperty, Type: cim.TypeSint64, Value: i64(lostAfter)},
		{Name: ResumedAfterProperty, Type: cim.TypeSint64, Value: i64(resumedAfter)},
	}}
	c.xhub.raise(xOverflow, ev, "", false)
}

// matchExtrinsic reports whether an event query selects an extrinsic
// event: by its class, then its WHERE clause on the event's object.
func (eq *eventQuery) matchExtrinsic(ev *Event) bool {
	cls := eventClass(ev.Class)
	if cls == nil || !cls.IsA(eq.from.Class) {
		return false
	}
	return eq.q.Where == nil || wql.Match(eq.q.Where, ev.Object())
}

// extrinsicSource returns the events of a query that selects extrinsic
// events: those alone, or merged with the feed's (a query FROM __Event).
func (s *services) extrinsicSource(ctx context.Context, eq *eventQuery, xkinds xkind, opts NotificationOptions) (iter.Seq2[Event, error], error) {
	const op = "ExecNotificationQuery"
	if s.c.feed.local {
		return nil, fail(op, cim.Errorf(cim.ENotSupported, "a batch has no events: subscribe to the CIMOM it commits to"))
	}
	now, err := s.c.st.Rev(ctx)
	if err != nil {
		return nil, fail(op, err)
	}
	if opts.From < 0 || opts.From > now {
		return nil, fail(op, cim.Errorf(cim.EInvalidParameter, "revision %d is not one of the repository's (it is at revision %d)", opts.From, now).WithParam("From"))
	}
	from := opts.From
	if from == 0 {
		from = now
	}
	// The feed's events, when the query selects some: subscribed again at
	// each range, as Subscribe's iterator is, and checked now.
	subscribe := func(ctx context.Context) (iter.Seq2[Event, error], error) {
		if len(eq.deliv) == 0 {
			return nil, nil
		}
		f, err := s.c.Subscribe(ctx, SubscribeOptions{Namespace: s.ns, From: from, Principal: s.p, Match: eq.match, Classes: eq.isa, Progress: opts.Progress})
		if err != nil {
			return nil, err
		}
		return eq.renamed(f), nil
	}
	if _, err := subscribe(ctx); err != nil {
		return nil, err
	}
	return func(yield func(Event, error) bool) {
		fctx, stopFeed := context.WithCancel(ctx)
		defer stopFeed()
		feed, err := subscribe(fctx)
		if err != nil {
			yield(Event{}, err)
			return
		}
		x := s.c.xhub.add(s.ns, xkinds, s.p.IsAdmin())
		defer s.c.xhub.remove(x)
		if xkinds&xTimer != 0 {
			s.c.startTimers()
		}
		if err := s.extrinsicLoop(ctx, eq, x, feed, fctx, stopFeed, from, opts, yield); err != nil && err != errStopped {
			yield(Event{}, fail(op, err))
		}
	}, nil
}

// feedOut is an item of the feed's events, read on their own goroutine
// when they are merged with extrinsic events.
type feedOut struct {
	ev  Event
	err error
}

// extrinsicLoop delivers a subscription's extrinsic events, with the
// feed's if feed is set, until ctx ends or the consumer stops. The feed
// runs in fctx, which stopFeed ends (every wait of the feed's reader
// watches it). mark is the bookmark: every event of the feed up to it
// was delivered.
func (s *services) extrinsicLoop(ctx context.Context, eq *eventQuery, x *xsub, feed iter.Seq2[Event, error], fctx context.Context, stopFeed context.CancelFunc,
	mark int64, opts NotificationOptions, yield func(Event, error) bool) error {
	var items chan feedOut
	var idle <-chan time.Time
	var idleT *time.Timer
	if feed != nil {
		items = make(chan feedOut, 64)
		go func() {
			defer close(items)
			for ev, err := range feed {
				select {
				case items <- feedOut{ev, err}:
				case <-fctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		defer func() {
			stopFeed()
			for range items {
			}
		}()
	} else if opts.Progress > 0 {
		idleT = time.NewTimer(opts.Progress)
		defer idleT.Stop()
		idle = idleT.C
	}
	closed := s.c.feed.ring.closed
	for {
		select {
		case <-ctx.Done():
			return cim.Errorf(cim.ECallCancelled, "the subscription ended: %v", ctx.Err())
		case <-closed: // the CIMOM closed (the feed's events end on their own)
			if feed == nil {
				return s.c.feed.ring.failed()
			}
			closed = nil
		case it, ok := <-items:
			switch {
			case !ok:
				return errStopped
			case it.err != nil:
				yield(Event{}, it.err) // Subscribe's error names the operation
				return errStopped
			case it.ev.Progress:
				mark = max(mark, it.ev.Rev)
			default:
				mark = max(mark, it.ev.Rev-1) // the rest of its revision may follow
			}
			if !yield(it.ev, nil) {
				return errStopped
			}
		case <-idle:
			if err := s.progressReport(ctx, yield); err != nil {
				return err
			}
			idleT.Reset(opts.Progress)
		case <-x.wake:
			evs := x.take()
			if len(evs) == 0 {
				continue
			}
			if err := s.require(ctx, RightSubscribe); err != nil {
				return err
			}
			rev := mark
			if feed == nil {
				// No event of the feed is selected: the repository's
				// revision is a bookmark.
				var err error
				if rev, err = s.c.st.Rev(ctx); err != nil {
					return err
				}
			}
			for i := range evs {
				ev := &evs[i]
				if !eq.matchExtrinsic(ev) {
					continue
				}
				ev.Rev = rev
				if !yield(*ev, nil) {
					return errStopped
				}
			}
			if idleT != nil {
				idleT.Reset(opts.Progress)
			}
		}
	}
}
