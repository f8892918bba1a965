package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/provider/wire"
)

// Events is the event side of a provider registered with an
// __EventProviderRegistration: wbemd tells it which event queries are
// active (WMI's IWbemEventProviderQuerySink), and it raises events with
// Provider.Raise. Both callbacks run on the goroutine that reads the wire:
// they should return promptly (start a source in a goroutine of its own).
// Either may be nil.
type Events struct {
	// NewQuery is called when a subscription whose query the
	// registration's EventQueryList covers becomes active, with that
	// query. The provider may start the source of those events.
	NewQuery func(q *EventQuery)
	// CancelQuery is called when that subscription ends (or wbemd no
	// longer needs the query); the provider may stop the source when no
	// query needs it.
	CancelQuery func(q *EventQuery)
}

// EventQuery is an active event query of a subscription.
type EventQuery struct {
	ID        uint64 // wbemd's number for the query, unique in this host
	Provider  string // the provider it is for
	Namespace string // the namespace of the subscription
	// Text is the subscription's event query as WQL, and Query its parsed
	// form: Query.Class is the event class (__InstanceCreationEvent, an
	// extrinsic event class, ...), Query.Where the conditions (on
	// "TargetInstance.Prop", "TargetInstance" ISA a class, ...).
	Text  string
	Query *wire.Query
}

// CreationEvent returns an __InstanceCreationEvent of target, which
// names its class in "__CLASS", for Raise.
func CreationEvent(target Instance) Instance {
	return Instance{"__CLASS": "__InstanceCreationEvent", "TargetInstance": target}
}

// ModificationEvent returns an __InstanceModificationEvent of target, and
// of previous (nil when unknown), for Raise.
func ModificationEvent(target, previous Instance) Instance {
	ev := Instance{"__CLASS": "__InstanceModificationEvent", "TargetInstance": target}
	if previous != nil {
		ev["PreviousInstance"] = previous
	}
	return ev
}

// DeletionEvent returns an __InstanceDeletionEvent of target, for Raise.
func DeletionEvent(target Instance) Instance {
	return Instance{"__CLASS": "__InstanceDeletionEvent", "TargetInstance": target}
}

// ErrNotServing is the error of Raise for a provider that Serve does not
// serve (yet, or any more: the wire closed).
var ErrNotServing = errors.New("provider: Raise of a provider that is not being served")

// Raise sends an event to wbemd: an intrinsic instance event of a class
// the provider serves (CreationEvent, ModificationEvent, DeletionEvent)
// or an instance of its own subclass of __ExtrinsicEvent, naming its class
// in "__CLASS". ns is the namespace in which it is raised ("" for every
// namespace with an active query of the provider). The event is sent only
// while wbemd has an active query of the provider (in ns): otherwise no
// one subscribes to it, and Raise returns nil having sent nothing. wbemd
// checks the event against the class and the registration; one that does
// not fit is logged by wbemd and dropped. Raise is safe for concurrent use;
// it waits while the wire's queue is full.
func (p *Provider) Raise(ns string, event Instance) error {
	p.evMu.Lock()
	s := p.srv
	p.evMu.Unlock()
	if s == nil {
		return ErrNotServing
	}
	if !s.active(p.Name, ns) {
		return nil
	}
	body, err := encodeInstance(event)
	if err != nil {
		return fmt.Errorf("provider: the event does not encode as JSON: %w", err)
	}
	m, err := json.Marshal(&wire.Message{Type: wire.TypeEvent, Provider: p.Name, Namespace: ns, Event: body})
	if err != nil {
		return fmt.Errorf("provider: encode the event: %w", err)
	}
	return s.enqueue(m)
}

// Queries returns the provider's active event queries.
func (p *Provider) Queries() []*EventQuery {
	p.evMu.Lock()
	s := p.srv
	p.evMu.Unlock()
	if s == nil {
		return nil
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	var out []*EventQuery
	for _, q := range s.queries {
		if strings.EqualFold(q.Provider, p.Name) {
			out = append(out, q)
		}
	}
	return out
}

// eventState is a server's event side: the active queries, and whether
// the wire still takes frames.
type eventState struct {
	qmu     sync.Mutex
	queries map[uint64]*EventQuery

	outMu  sync.RWMutex
	closed bool // s.out is closed: nothing is put any more
}

// active reports whether provider has an active query in ns ("" for any
// namespace).
func (s *server) active(provider, ns string) bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, q := range s.queries {
		if strings.EqualFold(q.Provider, provider) && (ns == "" || strings.EqualFold(q.Namespace, ns)) {
			return true
		}
	}
	return false
}

// enqueue queues a frame unless the wire is closed.
func (s *server) enqueue(body []byte) error {
	s.outMu.RLock()
	defer s.outMu.RUnlock()
	if s.closed {
		return ErrNotServing
	}
	s.put(body)
	return nil
}

// newQuery records an active query and tells its provider.
func (s *server) newQuery(m *wire.Message) {
	p := s.byName[strings.ToLower(m.Provider)]
	if p == nil {
		return
	}
	q := &EventQuery{ID: m.ID, Provider: p.Name, Namespace: m.Namespace, Text: m.Text, Query: m.Query}
	s.qmu.Lock()
	if _, dup := s.queries[m.ID]; dup {
		s.qmu.Unlock()
		return
	}
	s.queries[m.ID] = q
	s.qmu.Unlock()
	if p.Events != nil && p.Events.NewQuery != nil {
		s.callback(p, func() { p.Events.NewQuery(q) })
	}
}

// cancelQuery forgets an active query and tells its provider.
func (s *server) cancelQuery(id uint64) {
	s.qmu.Lock()
	q := s.queries[id]
	delete(s.queries, id)
	s.qmu.Unlock()
	if q == nil {
		return
	}
	p := s.byName[strings.ToLower(q.Provider)]
	if p != nil && p.Events != nil && p.Events.CancelQuery != nil {
		s.callback(p, func() { p.Events.CancelQuery(q) })
	}
}

// callback runs an event callback, recovering its panic: a provider's
// mistake there must not end the host's other work.
func (s *server) callback(p *Provider, f func()) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("provider: event query callback panicked", "provider", p.Name, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	f()
}
