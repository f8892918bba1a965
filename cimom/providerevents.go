package cimom

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/wql"
)

// Event providers: a provider registered with an
// __EventProviderRegistration raises events of its classes (intrinsic
// instance events) and of its own subclasses of __ExtrinsicEvent, which
// its EventQueryList names. A subscription whose query the registrations
// cover is fed by the providers (no WITHIN needed); wbemd tells each
// provider which queries are active (NewQuery, and cancel when the
// subscription ends), as WMI's IWbemEventProviderQuerySink. Provider
// events are not repository changes: they are delivered live, at most
// once, to the subscriptions active when wbemd receives them.

// The event provider classes.
const (
	eventProvRegClass   = "__EventProviderRegistration"
	extrinsicEventClass = "__ExtrinsicEvent"
	eventQueryListProp  = "EventQueryList"
)

// providerEventBuffer is how many provider events a subscription may
// have waiting. When it is full, the provider's next event waits up to
// providerEventWait for room (holding back the provider's host, whose
// wire then fills and whose Raise then waits); a subscriber still that
// far behind ends with WBEM_E_QUEUE_OVERFLOW.
const (
	providerEventBuffer = 1024
	providerEventWait   = time.Second
)

// EventRegistration is an __EventProviderRegistration: the event queries
// of the events the provider raises.
type EventRegistration struct {
	// EventQueryList as written.
	EventQueryList []string
	queries        []*wql.Select // parsed, in the order of EventQueryList
}

// HostedEventProvider is implemented by the HostedProviders of a host that
// runs event providers (internal/provhost's).
type HostedEventProvider interface {
	// ProvideEvents makes raise receive every event the provider sends for
	// its namespace, as sent (a JSON object in cimjson's flat form), until
	// stop is called. raise checks the event; its error says why the event
	// was dropped, for the host's log. raise must be called on one
	// goroutine at a time and does not wait for subscribers.
	ProvideEvents(raise func(event []byte) error) (stop func())
	// NewQuery tells the provider that a subscription with query q became
	// active, starting its host if need be (and again whenever its host
	// restarts while the query is active); cancel tells it that the
	// subscription ended.
	NewQuery(ctx context.Context, q *ProviderEventQuery) (cancel func(), err error)
}

// ProviderEventQuery is an active event query, as an event provider is
// told of it.
type ProviderEventQuery struct {
	Namespace string
	Query     *wql.Select // the subscription's query
	Text      string      // the query as WQL text
}

// parseEventRegistration reads an __EventProviderRegistration's
// EventQueryList and checks the shape of each query: WQL's event grammar,
// no GROUP, and either an intrinsic instance event class
// (__InstanceOperationEvent and below) with TargetInstance ISA naming the
// class, or another class (an extrinsic event class, which
// checkEventRegistration looks up in the namespace).
func parseEventRegistration(provider string, list []string) (*EventRegistration, error) {
	bad := func(format string, args ...any) (*EventRegistration, error) {
		return nil, invalidRegistration(provider, eventQueryListProp, format, args...)
	}
	if len(list) == 0 {
		return bad("%s.%s is empty: it lists the event queries of the events the provider raises", eventProvRegClass, eventQueryListProp)
	}
	er := &EventRegistration{EventQueryList: list}
	for i, text := range list {
		q, err := wql.ParseEvent(text)
		if err != nil {
			return bad("%s[%d] %q: %s", eventQueryListProp, i, text, cim.AsError(asQueryError(err)).Description)
		}
		if q.Group != nil {
			return bad("%s[%d] %q: GROUP WITHIN belongs to a subscription, not to a registration", eventQueryListProp, i, text)
		}
		if cim.EqualFold(q.From, extrinsicEventClass) {
			return bad("%s[%d] %q: name the provider's own subclass of __ExtrinsicEvent, not __ExtrinsicEvent itself", eventQueryListProp, i, text)
		}
		if ec := eventClass(q.From); ec != nil {
			if eventFamilyOf(ec.Class) != famInstance {
				return bad("%s[%d] %q: a provider raises instance events (__InstanceOperationEvent and below) and extrinsic events (subclasses of __ExtrinsicEvent), not %s", eventQueryListProp, i, text, ec.Class)
			}
			if len(wql.IsaConditions(q, "TargetInstance")) == 0 {
				return bad("%s[%d] %q: an instance event query of a registration names the provider's class with TargetInstance ISA 'Class' (without it, it would claim the events of every class)", eventQueryListProp, i, text)
			}
		}
		er.queries = append(er.queries, q)
	}
	return er, nil
}

// checkEventRegistration checks an __EventProviderRegistration written in
// s's namespace: its queries (parseEventRegistration), and that the
// classes they name exist (the ISA classes, and extrinsic event classes
// derived from __ExtrinsicEvent).
func (s *services) checkEventRegistration(ctx context.Context, inst *cim.Object) error {
	provider, _ := refersToProvider(inst)
	v, _ := inst.Get(eventQueryListProp)
	list, _ := v.V.([]string)
	er, err := parseEventRegistration(provider, list)
	if err != nil {
		return err
	}
	for i, q := range er.queries {
		names := []string{q.From}
		if eventClass(q.From) != nil {
			names = names[:0]
			for _, c := range wql.IsaConditions(q, "TargetInstance") {
				names = append(names, c.Class)
			}
		}
		for _, name := range names {
			ci, err := s.c.resolve(ctx, s.ns, name)
			if err != nil {
				return err
			}
			if ci == nil {
				return invalidRegistration(provider, eventQueryListProp, "%s[%d] %q: class %s does not exist in %s (declare the classes before the registration)", eventQueryListProp, i, er.EventQueryList[i], name, s.ns)
			}
			if eventClass(q.From) == nil && !ci.cls.IsA(extrinsicEventClass) {
				return invalidRegistration(provider, eventQueryListProp, "%s[%d] %q: %s is not an event class a provider raises: an extrinsic event class derives from __ExtrinsicEvent", eventQueryListProp, i, er.EventQueryList[i], ci.cls.Class)
			}
		}
	}
	return nil
}

// eventRegistrationOf reads an __EventProviderRegistration instance.
func eventRegistrationOf(provider string, inst *cim.Object) (*EventRegistration, error) {
	v, _ := inst.Get(eventQueryListProp)
	list, _ := v.V.([]string)
	return parseEventRegistration(provider, list)
}

// eventProvider is a registered event provider of a namespace.
type eventProvider struct {
	name string
	reg  *EventRegistration
}

// eventProviders returns the usable event providers registered in s's
// namespace.
func (s *services) eventProviders(ctx context.Context) ([]eventProvider, error) {
	var out []eventProvider
	for inst, err := range s.c.storedInstances(ctx, s.ns, eventProvRegClass) {
		if err != nil {
			return nil, err
		}
		name, err := refersToProvider(inst)
		if err != nil {
			continue
		}
		hp, ok := s.c.registeredProvider(ctx, s.ns, name).(*hostedProvider)
		if !ok || hp.reg.Event == nil || !hp.reg.Enabled {
			continue
		}
		out = append(out, eventProvider{name: hp.reg.Name, reg: hp.reg.Event})
	}
	return out, nil
}

// coverInstanceEvents returns the event providers that raise the instance
// events eq delivers for class target (a [Dynamic] class named by
// TargetInstance ISA): nil unless every event class eq delivers is covered
// by some registered query whose event class is it or an ancestor and
// whose TargetInstance ISA names target or an ancestor.
func (s *services) coverInstanceEvents(ctx context.Context, eq *eventQuery, target *cim.Object) ([]string, error) {
	eps, err := s.eventProviders(ctx)
	if err != nil || len(eps) == 0 {
		return nil, err
	}
	var names []string
	for leaf := range eq.deliv {
		covered := false
		for _, ep := range eps {
			for _, q := range ep.reg.queries {
				ec := eventClass(q.From)
				if ec == nil || !eventClass(leaf).IsA(ec.Class) || !isaAny(target, q) {
					continue
				}
				covered = true
				if !oneOf(names, ep.name) {
					names = append(names, ep.name)
				}
			}
		}
		if !covered {
			return nil, nil
		}
	}
	return names, nil
}

// isaAny reports whether cls is (or derives from) a class that one of a
// registered query's TargetInstance ISA conditions names.
func isaAny(cls *cim.Object, q *wql.Select) bool {
	for _, c := range wql.IsaConditions(q, "TargetInstance") {
		if cls.IsA(c.Class) {
			return true
		}
	}
	return false
}

// coverExtrinsicEvents returns the event providers whose registered
// extrinsic event classes overlap cls: cls or a subclass of it (a
// subscription to a superclass receives the events of each), or an
// ancestor of it.
func (s *services) coverExtrinsicEvents(ctx context.Context, cls *cim.Object) ([]string, error) {
	eps, err := s.eventProviders(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ep := range eps {
		for _, q := range ep.reg.queries {
			if eventClass(q.From) != nil {
				continue
			}
			rc, err := s.c.resolve(ctx, s.ns, q.From)
			if err != nil {
				return nil, err
			}
			if rc == nil || !(rc.cls.IsA(cls.Class) || cls.IsA(rc.cls.Class)) {
				continue
			}
			if !oneOf(names, ep.name) {
				names = append(names, ep.name)
			}
		}
	}
	return names, nil
}

// providerEvents is the CIMOM's table of the event providers that feed
// subscriptions, by namespace and provider.
type providerEvents struct {
	mu        sync.Mutex
	hubs      map[nameKey]*eventHub
	rebinding atomic.Bool // a rebindEventProviders waits to run
}

// eventHub is one event provider of one namespace while subscriptions
// need its events: it checks each event the provider raises once and
// hands it to every subscription.
type eventHub struct {
	c    *CIMOM
	ns   string // the namespace as named
	name string // the provider
	ep   HostedEventProvider
	stop func()

	mu   sync.Mutex
	subs map[*providerSub]struct{}
}

// providerSub is a subscription fed by event providers.
type providerSub struct {
	ch       chan Event
	overflow chan struct{} // closed when ch stayed full
	once     sync.Once
	gone     chan struct{} // closed when the subscription stops reading
}

// join adds sub to the hub of provider name in s's namespace, creating
// it (which makes the provider's events flow) if need be.
func (s *services) joinHub(ctx context.Context, name string, sub *providerSub) (*eventHub, error) {
	p := s.c.registeredProvider(ctx, s.ns, name)
	hp, ok := p.(*hostedProvider)
	if !ok {
		if f, ok := p.(*failedProvider); ok {
			return nil, f.err
		}
		return nil, cim.Errorf(cim.EProviderNotFound, "provider %s of %s is not a registered provider", name, s.ns)
	}
	if err := hp.admit(hp.reg.Event != nil, "raise events (no __EventProviderRegistration)"); err != nil {
		return nil, err
	}
	ep, ok := hp.hp.(HostedEventProvider)
	if !ok {
		return nil, cim.Errorf(cim.ENotSupported, "the provider host of this process does not run event providers")
	}
	pe := &s.c.provEvents
	k := cacheKey(s.ns, name)
	pe.mu.Lock()
	defer pe.mu.Unlock()
	h := pe.hubs[k]
	if h == nil {
		h = &eventHub{c: s.c, ns: s.ns, name: hp.reg.Name, ep: ep, subs: map[*providerSub]struct{}{}}
		h.stop = ep.ProvideEvents(h.raise)
		if pe.hubs == nil {
			pe.hubs = map[nameKey]*eventHub{}
		}
		pe.hubs[k] = h
	}
	h.mu.Lock()
	h.subs[sub] = struct{}{}
	h.mu.Unlock()
	return h, nil
}

// rebindEventProviders binds again, in the background, the event
// providers that feed subscriptions in folded namespace ns (every one for
// ""), after their registrations changed: the host learns the new
// registration, and starts again for the active queries if it had
// stopped (a provider enabled again after it was disabled for crashing).
//
// Changes in a row (a compile of many classes) are bound once: while a
// rebinding waits to run, another is not started.
func (c *CIMOM) rebindEventProviders(ns string) {
	pe := &c.provEvents
	pe.mu.Lock()
	some := false
	for k := range pe.hubs {
		some = some || ns == "" || k.ns == ns
	}
	pe.mu.Unlock()
	if !some || !pe.rebinding.CompareAndSwap(false, true) {
		return
	}
	go func() {
		pe.rebinding.Store(false) // a change from now on rebinds again
		pe.mu.Lock()
		hubs := make([]*eventHub, 0, len(pe.hubs))
		for _, h := range pe.hubs {
			hubs = append(hubs, h)
		}
		pe.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, h := range hubs {
			c.registeredProvider(ctx, h.ns, h.name)
		}
	}()
}

// leave takes sub out of the hub, and ends the hub when it was the last.
func (h *eventHub) leave(sub *providerSub) {
	pe := &h.c.provEvents
	pe.mu.Lock()
	defer pe.mu.Unlock()
	h.mu.Lock()
	delete(h.subs, sub)
	empty := len(h.subs) == 0
	h.mu.Unlock()
	if k := cacheKey(h.ns, h.name); empty && pe.hubs[k] == h {
		delete(pe.hubs, k)
		h.stop()
	}
}

// raise checks an event the provider sent and hands it to the
// subscriptions; the error says why an event was dropped.
func (h *eventHub) raise(raw []byte) error {
	ev, err := h.check(raw)
	if err != nil {
		return cim.Errorf(cim.EProviderFailure, "provider %s raised an event in %s that wbemd dropped: %s", h.name, h.ns, cim.AsError(err).Description)
	}
	h.mu.Lock()
	var full []*providerSub
	for sub := range h.subs {
		select {
		case sub.ch <- ev:
		default:
			full = append(full, sub)
		}
	}
	h.mu.Unlock()
	if len(full) == 0 {
		return nil
	}
	t := time.NewTimer(providerEventWait)
	defer t.Stop()
	for _, sub := range full {
		select {
		case sub.ch <- ev:
		case <-sub.gone:
		case <-sub.overflow:
		case <-t.C:
			sub.once.Do(func() { close(sub.overflow) })
		}
	}
	return nil
}

// check decodes an event a provider sent and checks it against the
// namespace's classes and the provider's registration.
func (h *eventHub) check(raw []byte) (Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hp, ok := h.c.registeredProvider(ctx, h.ns, h.name).(*hostedProvider)
	switch {
	case !ok || hp.reg.Event == nil:
		return Event{}, cim.Errorf(cim.EProviderNotFound, "the provider is no longer registered as an event provider")
	case !hp.reg.Enabled:
		return Event{}, cim.Errorf(cim.EProviderDisabled, "the provider is disabled (__Win32Provider.Enabled is FALSE)")
	}
	lookup := func(name string) (*cim.Object, error) {
		ci, err := h.c.resolve(ctx, h.ns, name)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", name, h.ns)
		}
		if ci.abstract {
			return nil, cim.Errorf(cim.EInvalidClass, "class %s is abstract", name)
		}
		return ci.cls, nil
	}
	ev, err := checkProviderEvent(raw, hp.reg.Event, lookup)
	if err != nil {
		return Event{}, err
	}
	// Live: no change of the repository, never replayed; its Rev (the
	// revision wbemd had applied) is a bookmark of a subscription that
	// selects no event of the feed.
	ev.Namespace, ev.Time, ev.Rev, ev.Provider, ev.Live = h.ns, h.c.opts.Now(), h.c.feed.applied.Load(), h.name, true
	for _, o := range []*cim.Object{ev.Target, ev.Previous, ev.Extrinsic} {
		if o != nil {
			o.Namespace, o.Server = h.ns, h.c.opts.Server
		}
	}
	return ev, nil
}

// checkProviderEvent decodes an event a provider sent, with the classes
// lookup gives (which refuses abstract classes), and checks it against
// the provider's registration: an instance event of a concrete class with
// a TargetInstance (and PreviousInstance) of a covered class and complete
// keys, or an instance of a covered extrinsic event class. It sets the
// event's Class, Target, Previous and Extrinsic.
func checkProviderEvent(raw []byte, reg *EventRegistration, lookup cimjson.ClassLookup) (Event, error) {
	o, err := cimjson.Decode(raw, "", lookup)
	if err != nil {
		return Event{}, err
	}
	if o.Genus != cim.GenusInstance {
		return Event{}, cim.Errorf(cim.EInvalidObject, "the event is a class, not an instance")
	}
	var ev Event
	queries := reg.queries
	switch {
	case o.IsA("__InstanceOperationEvent"):
		ec := eventClass(o.Class)
		if ec == nil || !oneOf(feedEventClasses[:3], ec.Class) {
			return Event{}, cim.Errorf(cim.EInvalidClass, "%s is not an instance event a provider raises (__InstanceCreationEvent, __InstanceModificationEvent or __InstanceDeletionEvent)", o.Class)
		}
		ev.Class = ec.Class
		objectOf := func(prop string) (*cim.Object, error) {
			v, _ := o.Get(prop)
			x, _ := v.V.(*cim.Object)
			if x != nil && x.Genus != cim.GenusInstance {
				return nil, cim.Errorf(cim.EInvalidObject, "%s is a class, not an instance", prop)
			}
			return x, nil
		}
		if ev.Target, err = objectOf("TargetInstance"); err != nil {
			return Event{}, err
		}
		if ev.Target == nil {
			return Event{}, cim.Errorf(cim.EInvalidObject, "%s has no TargetInstance", ec.Class)
		}
		if _, err := ev.Target.ObjectPath(); err != nil {
			return Event{}, cim.Errorf(cim.EInvalidObject, "TargetInstance (%s) has no complete keys: %s", ev.Target.Class, cim.AsError(err).Description)
		}
		if ec.Class == "__InstanceModificationEvent" {
			if ev.Previous, err = objectOf("PreviousInstance"); err != nil {
				return Event{}, err
			}
		}
		covered := func(x *cim.Object) bool {
			for _, q := range queries {
				if qc := eventClass(q.From); qc != nil && ec.IsA(qc.Class) && isaAny(x, q) {
					return true
				}
			}
			return false
		}
		for _, x := range []*cim.Object{ev.Target, ev.Previous} {
			if x == nil {
				continue
			}
			if !covered(x) {
				return Event{}, cim.Errorf(cim.EInvalidClass, "%s of %s: the provider's EventQueryList does not cover it", ec.Class, x.Class)
			}
		}
	case o.IsA(extrinsicEventClass):
		covered := false
		for _, q := range queries {
			covered = covered || eventClass(q.From) == nil && o.IsA(q.From)
		}
		if !covered {
			return Event{}, cim.Errorf(cim.EInvalidClass, "%s: the provider's EventQueryList does not cover it", o.Class)
		}
		ev.Class, ev.Extrinsic = o.Class, o
	default:
		return Event{}, cim.Errorf(cim.EInvalidClass, "%s is not an event class a provider raises: an __InstanceCreationEvent, __InstanceModificationEvent or __InstanceDeletionEvent, or a subclass of __ExtrinsicEvent", o.Class)
	}
	return ev, nil
}

// providedEvents is the stream of a subscription fed by event providers.
func (s *services) providedEvents(ctx context.Context, eq *eventQuery, opts NotificationOptions) iter.Seq2[Event, error] {
	return eventStream(func(yield func(Event, error) bool) error { return s.providedLoop(ctx, eq, opts, yield) })
}

// providedLoop runs a subscription fed by event providers until ctx
// ends, the consumer stops, or it falls too far behind.
func (s *services) providedLoop(ctx context.Context, eq *eventQuery, opts NotificationOptions, yield func(Event, error) bool) error {
	sub := &providerSub{ch: make(chan Event, providerEventBuffer), overflow: make(chan struct{}), gone: make(chan struct{})}
	defer close(sub.gone) // no event waits for it any more
	q := &ProviderEventQuery{Namespace: s.ns, Query: eq.q, Text: wql.Format(eq.q)}
	for _, name := range eq.provided {
		h, err := s.joinHub(ctx, name, sub)
		if err != nil {
			return err
		}
		defer h.leave(sub)
		cancel, err := h.ep.NewQuery(ctx, q)
		if err != nil {
			return err
		}
		defer cancel()
	}
	var idle <-chan time.Time
	var idleT *time.Timer
	if opts.Progress > 0 {
		idleT = time.NewTimer(opts.Progress)
		defer idleT.Stop()
		idle = idleT.C
	}
	allowed := func() error {
		if err := s.require(ctx, RightSubscribe); err != nil {
			return err
		}
		return s.require(ctx, RightEnable)
	}
	for {
		select {
		case <-ctx.Done():
			return cim.Errorf(cim.ECallCancelled, "the subscription ended: %v", ctx.Err())
		case <-sub.overflow:
			return cim.Errorf(cim.EQueueOverflow, "provider events came faster than the subscriber read them: %d waited for more than %v, and the next was dropped; subscribe again", providerEventBuffer, providerEventWait)
		case <-idle:
			if err := allowed(); err != nil {
				return err
			}
			if !yield(Event{Namespace: s.ns, Time: s.c.opts.Now(), Rev: s.c.feed.applied.Load(), Progress: true}, nil) {
				return errStopped
			}
			idleT.Reset(opts.Progress)
		case ev := <-sub.ch:
			if err := allowed(); err != nil {
				return err
			}
			if !eq.matchProvided(&ev) {
				continue
			}
			if !yield(ev, nil) {
				return errStopped
			}
			if idleT != nil {
				idleT.Reset(opts.Progress)
			}
		}
	}
}

// matchProvided reports whether the query selects an event a provider
// raised, and gives an instance event the class the query delivers.
func (eq *eventQuery) matchProvided(ev *Event) bool {
	if ev.Extrinsic == nil {
		if !eq.match(ev) {
			return false
		}
		ev.Class = eq.deliv[ev.Class].class
		return true
	}
	if !ev.Extrinsic.IsA(eq.from.Class) {
		return false
	}
	return eq.q.Where == nil || wql.Match(eq.q.Where, ev.Object())
}
