package cimom

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// Event is an intrinsic event raised after a repository write committed.
type Event struct {
	// Class is the event class: __InstanceCreationEvent,
	// __InstanceModificationEvent, __InstanceDeletionEvent,
	// __ClassCreationEvent, __ClassModificationEvent, __ClassDeletionEvent,
	// __NamespaceCreationEvent, __NamespaceModificationEvent or
	// __NamespaceDeletionEvent.
	Class string
	// Namespace is where the event is raised (the parent namespace for
	// namespace events).
	Namespace string
	// Target is TargetInstance, TargetClass or TargetNamespace.
	Target *cim.Object
	// Previous is PreviousInstance, PreviousClass or PreviousNamespace on
	// modification events.
	Previous *cim.Object
	// Time is TIME_CREATED.
	Time time.Time
	// Dropped counts the events this subscriber lost before this one
	// because it did not keep up.
	Dropped uint64
}

// eventHub fans events out to in-process subscribers. Publishing never
// blocks a writer: a subscriber whose buffer is full loses the event, and
// the count of lost events rides on the next one it receives.
type eventHub struct {
	mu   sync.Mutex
	subs map[*subscription]struct{}
	held *[]Event // inside a batch: events wait here for the commit
	// heldFor is the hub of the CIMOM a batch commits to: the batch
	// builds events only while someone listens there.
	heldFor *eventHub
}

type subscription struct {
	ns      string
	deep    bool
	p       Principal
	ch      chan Event
	dropped atomic.Uint64
	closed  bool
}

func (h *eventHub) init() { h.subs = map[*subscription]struct{}{} }

// listening reports whether an event published now would reach anyone.
func (h *eventHub) listening() bool {
	h.mu.Lock()
	mine := len(h.subs) > 0
	h.mu.Unlock()
	return mine || (h.held != nil && h.heldFor != nil && h.heldFor.listening())
}

// subscriberBuffer is how many events a subscriber may fall behind by.
const subscriberBuffer = 4096

// Subscribe delivers the intrinsic events raised in namespace (and, with
// deep, in its descendants) until ctx ends. p needs WBEM_RIGHT_SUBSCRIBE on
// the namespace (administrators have it; see the default security).
func (c *CIMOM) Subscribe(ctx context.Context, namespace string, p Principal, deep bool) (<-chan Event, error) {
	s, err := c.connect(ctx, namespace, p)
	if err != nil {
		return nil, fail("ExecNotificationQuery", err)
	}
	if err := s.require(ctx, RightSubscribe); err != nil {
		return nil, fail("ExecNotificationQuery", err)
	}
	sub := &subscription{ns: cim.Fold(s.ns), deep: deep, p: p, ch: make(chan Event, subscriberBuffer)}
	c.events.mu.Lock()
	c.events.subs[sub] = struct{}{}
	c.events.mu.Unlock()
	go func() {
		<-ctx.Done()
		c.events.remove(sub)
	}()
	return sub.ch, nil
}

func (h *eventHub) remove(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !sub.closed {
		sub.closed = true
		delete(h.subs, sub)
		close(sub.ch)
	}
}

func (h *eventHub) closeAll() {
	h.mu.Lock()
	subs := h.subs
	h.subs = map[*subscription]struct{}{}
	h.mu.Unlock()
	for sub := range subs {
		h.mu.Lock()
		if !sub.closed {
			sub.closed = true
			close(sub.ch)
		}
		h.mu.Unlock()
	}
}

// publish delivers events, in order, to every subscriber whose namespace
// matches. It is called after the commit that caused them.
func (h *eventHub) publish(evs ...Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held != nil {
		*h.held = append(*h.held, evs...)
		return
	}
	for _, ev := range evs {
		ns := cim.Fold(ev.Namespace)
		for sub := range h.subs {
			if sub.ns != ns && !(sub.deep && len(ns) > len(sub.ns) && ns[:len(sub.ns)] == sub.ns && ns[len(sub.ns)] == '/') {
				continue
			}
			e := ev
			e.Dropped = sub.dropped.Load()
			select {
			case sub.ch <- e:
				sub.dropped.Store(0)
			default:
				sub.dropped.Add(1)
			}
		}
	}
}

func (c *CIMOM) newEvent(class, ns string, target, previous *cim.Object) Event {
	return Event{Class: class, Namespace: ns, Target: target, Previous: previous, Time: c.opts.Now()}
}
