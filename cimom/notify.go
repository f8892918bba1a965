package cimom

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// NotificationOptions are the options of ExecNotificationQuery.
type NotificationOptions struct {
	// From is the store revision after which events are delivered, as
	// SubscribeOptions.From: 0 for the events of later writes; a revision
	// the change feed no longer holds ends the stream with
	// WBEM_E_QUEUE_OVERFLOW.
	From int64
	// Progress, when positive, is how long the stream may go without an
	// event before it delivers a progress report (Event.Progress) whose
	// Rev is a bookmark, as SubscribeOptions.Progress.
	Progress time.Duration
}

// MinWithin is the shortest WITHIN a query may give (polling interval):
// a shorter one is WBEMESS_E_REGISTRATION_TOO_PRECISE, as WMI answers a
// registration that would poll too often.
const MinWithin = time.Second

// eventQuery is a checked event query.
type eventQuery struct {
	q     *wql.Select
	from  *cim.Object          // the FROM class (wbemd's definition)
	deliv map[string]delivered // by the feed's event class (as the feed names it); absent: not selected
	isa   []string             // classes the target must be (top-level ISA conditions on it)
	rest  wql.Expr             // the WHERE clause without those conditions (nil: nothing more)
	light bool                 // the WHERE clause names only the target and previous objects
	poll  *classInfo           // the provider's class polled at WITHIN, nil for the feed
	// provided names the event providers that raise the query's events
	// (__EventProviderRegistration): neither the feed nor polling.
	provided []string
	within   time.Duration
	group    time.Duration
}

// ValidateEventQuery checks an event query as ExecNotificationQuery does,
// without subscribing: for filters created as data (__EventFilter,
// CIM_IndicationFilter) before anything subscribes through them.
func (s *services) ValidateEventQuery(ctx context.Context, language, query string) error {
	return s.call("ValidateEventQuery", func() error {
		_, err := s.compileEventQuery(ctx, language, query)
		return err
	})
}

// ExecNotificationQuery subscribes to the events an event query selects
// (language "WQL" or "DMTF:CQL"; any other is WBEM_E_INVALID_QUERY_TYPE). See
// Services.ExecNotificationQuery.
func (s *services) ExecNotificationQuery(ctx context.Context, language, query string, opts NotificationOptions) (iter.Seq2[Event, error], error) {
	const op = "ExecNotificationQuery"
	if err := s.c.enter(); err != nil {
		return nil, fail(op, err)
	}
	defer s.c.leave()
	eq, err := s.compileEventQuery(ctx, language, query)
	if err != nil {
		return nil, fail(op, err)
	}
	source := func(ctx context.Context) (iter.Seq2[Event, error], error) {
		if eq.provided != nil {
			return s.providedEvents(ctx, eq, opts), nil
		}
		if eq.poll != nil {
			return s.pollEvents(ctx, eq, opts), nil
		}
		if xk := eq.extrinsic(); xk != 0 {
			return s.extrinsicSource(ctx, eq, xk, opts)
		}
		feed, err := s.c.Subscribe(ctx, SubscribeOptions{Namespace: s.ns, From: opts.From, Principal: s.p, Match: eq.match, Classes: eq.isa, Progress: opts.Progress})
		if err != nil {
			return nil, err // Subscribe's error names the operation
		}
		return eq.renamed(feed), nil
	}
	src, err := source(ctx)
	if err != nil {
		return nil, err
	}
	if eq.q.Group != nil {
		src = eq.aggregate(ctx, source)
	}
	return src, nil
}

// compileEventQuery parses and checks an event query against the
// namespace and the caller's rights.
func (s *services) compileEventQuery(ctx context.Context, language, query string) (*eventQuery, error) {
	// WQL's event grammar, or DMTF CQL (DSP0202), the language of DMTF
	// indication filters, in the subset wql.ParseCQL reads into the same
	// tree (SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA X).
	parse := wql.ParseEvent
	switch strings.ToUpper(strings.TrimSpace(language)) {
	case "WQL":
	case "DMTF:CQL", "CIM:CQL", "CQL":
		parse = wql.ParseCQL
	default:
		return nil, cim.Errorf(cim.EInvalidQueryType, "query language %q: event queries are WQL or DMTF:CQL", language).WithParam("strQueryLanguage")
	}
	if err := s.require(ctx, RightSubscribe); err != nil {
		return nil, err
	}
	q, err := parse(query)
	if err != nil {
		return nil, asQueryError(err)
	}
	eq := &eventQuery{q: q, deliv: map[string]delivered{}}
	eq.from = eventClass(q.From)
	if eq.from == nil {
		ci, err := s.c.resolve(ctx, s.ns, q.From)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			return nil, queryError(q.FromAt, cim.EInvalidClass, "class %s does not exist in %s", q.From, s.ns)
		}
		if err := wql.CheckEvent(q, ci.cls); err != nil {
			return nil, asQueryError(err)
		}
		if ci.cls.IsA(extrinsicEventClass) {
			names, err := s.coverExtrinsicEvents(ctx, ci.cls)
			if err != nil {
				return nil, err
			}
			if len(names) > 0 {
				eq.from, eq.provided = ci.cls, names
				if err := s.checkProvided(ctx, q, eq); err != nil {
					return nil, err
				}
				return eq, nil
			}
		}
		return nil, queryError(q.FromAt, cim.EInvalidClass, "no event provider raises events of class %s (no __EventProviderRegistration of %s covers it): wbemd raises the intrinsic events (__InstanceOperationEvent, __ClassOperationEvent, __NamespaceOperationEvent and their subclasses) and DMTF's CIM_InstCreation, CIM_InstModification and CIM_InstDeletion", ci.cls.Class, s.ns)
	}
	if err := wql.CheckEvent(q, eq.from); err != nil {
		return nil, asQueryError(err)
	}
	for _, leaf := range feedEventClasses {
		name := leaf
		if eq.from.IsA("CIM_Indication") {
			if name = dmtfNames[leaf]; name == "" {
				continue
			}
		}
		if eventClass(name).IsA(eq.from.Class) {
			eq.deliv[leaf] = newDelivered(eventClass(name))
		}
	}
	if len(eq.deliv) == 0 && extrinsicKinds(eq.from) == 0 {
		return nil, queryError(q.FromAt, cim.EInvalidClass, "no event provider raises events of class %s", eq.from.Class)
	}
	if q.Within != 0 {
		if q.Within < MinWithin.Seconds() {
			return nil, queryError(q.At, cim.EssRegistrationTooPrecise, "WITHIN %g is below wbemd's minimum polling interval of %g s", q.Within, MinWithin.Seconds())
		}
		eq.within = seconds(q.Within)
	}
	if q.Group != nil {
		eq.group = seconds(q.Group.Within)
	}
	conds := wql.IsaConditions(q, "TargetInstance", "SourceInstance")
	for _, c := range conds {
		eq.isa = append(eq.isa, c.Class)
	}
	// match tests the ISA conditions on the target first: what it
	// evaluates is the rest of the conjunction.
	var rest []wql.Expr
	for _, c := range conjuncts(q.Where) {
		if isa, ok := c.(*wql.Isa); !ok || !slices.Contains(conds, isa) {
			rest = append(rest, c)
		}
	}
	eq.rest = wql.And(rest...)
	eq.light = q.Where != nil && onlyTargets(q.Where)
	if eq.rest != nil {
		for name, d := range eq.deliv {
			if r, ok := wql.Rebase(eq.rest, d.target); ok {
				d.onTarget = r
				eq.deliv[name] = d
			}
		}
	}
	// The classes an instance query is bounded to: a provider's class is
	// polled (and needs WITHIN); the repository's come from the feed.
	fam := eventFamilyOf(eq.from.Class)
	if fam == famInstance || fam == famDMTF {
		for _, isa := range wql.IsaConditions(q, "TargetInstance", "SourceInstance", "PreviousInstance") {
			ci, err := s.c.resolve(ctx, s.ns, isa.Class)
			if err != nil {
				return nil, err
			}
			if ci == nil {
				return nil, queryError(isa.At, cim.EInvalidClass, "class %s (after ISA) does not exist in %s", isa.Class, s.ns)
			}
			if !ci.dynamic || eq.poll != nil || eq.provided != nil {
				continue
			}
			names, err := s.coverInstanceEvents(ctx, eq, ci.cls)
			if err != nil {
				return nil, err
			}
			if len(names) > 0 {
				eq.provided = names // the providers raise them: no polling, WITHIN or not
				if err := s.require(ctx, RightEnable); err != nil {
					return nil, err
				}
				continue
			}
			if eq.within == 0 {
				return nil, queryError(isa.At, cim.EssRegistrationTooPrecise, "%s is served by a provider: its events are found by polling, and the query needs WITHIN seconds (at least %g)", ci.cls.Class, MinWithin.Seconds())
			}
			eq.poll = ci
		}
	}
	return eq, nil
}

// checkProvided finishes the check of an extrinsic event query fed by
// event providers: WITHIN and GROUP WITHIN as for any event query, and
// the read right (WBEM_ENABLE) on the namespace besides the right to
// subscribe.
func (s *services) checkProvided(ctx context.Context, q *wql.Select, eq *eventQuery) error {
	if q.Within != 0 && q.Within < MinWithin.Seconds() {
		return queryError(q.At, cim.EssRegistrationTooPrecise, "WITHIN %g is below wbemd's minimum polling interval of %g s", q.Within, MinWithin.Seconds())
	}
	if q.Group != nil {
		eq.group = seconds(q.Group.Within)
	}
	return s.require(ctx, RightEnable)
}

// seconds converts WQL seconds to a duration.
func seconds(f float64) time.Duration { return time.Duration(math.Round(f * float64(time.Second))) }

// queryError is an event query's error at a position.
func queryError(at wql.Pos, st cim.Status, format string, args ...any) error {
	return (&wql.Error{Pos: at, Status: st, Msg: fmt.Sprintf(format, args...)}).CIMError()
}

// asQueryError turns a wql error into a *cim.Error with the position.
func asQueryError(err error) error {
	switch e := err.(type) {
	case *wql.Error:
		return e.CIMError()
	case wql.ErrorList:
		return e.CIMError()
	}
	return err
}

// match reports whether the query selects an event of the feed. The
// target's class is tested first, without building the event object.
func (eq *eventQuery) match(ev *Event) bool {
	name, ok := eq.deliv[ev.Class]
	if !ok {
		return false
	}
	for _, c := range eq.isa {
		if ev.Target == nil || !ev.Target.IsA(c) {
			return false
		}
	}
	if eq.rest == nil {
		return true
	}
	if name.onTarget != nil && ev.Target != nil {
		return wql.Match(name.onTarget, ev.Target) // the clause names members of the target alone
	}
	if eq.light {
		// The object of the event's target and previous state only: from
		// a pool, with no allocation per event.
		o := matchObjects.Get().(*cim.Object)
		o.Class, o.Derivation = name.class, name.derivation
		o.Properties = append(o.Properties[:0], cim.Property{Name: name.target, Type: cim.TypeObject, Value: objectValue(ev.Target)})
		if name.previous != "" {
			o.Properties = append(o.Properties, cim.Property{Name: name.previous, Type: cim.TypeObject, Value: objectValue(ev.Previous)})
		}
		ok := wql.Match(eq.rest, o)
		clear(o.Properties)
		matchObjects.Put(o)
		return ok
	}
	e := *ev
	e.Class = name.class
	return wql.Match(eq.rest, e.Object())
}

// matchObjects are the objects match evaluates light queries on.
var matchObjects = sync.Pool{New: func() any {
	return &cim.Object{Genus: cim.GenusInstance, Properties: make([]cim.Property, 0, 2)}
}}

// objectValue is an embedded object value (NULL for nil).
func objectValue(o *cim.Object) cim.Value {
	if o == nil {
		return cim.Null(cim.TypeObject)
	}
	return cim.Value{Type: cim.TypeObject, V: o}
}

// delivered is an event class a query delivers, with what match needs of
// it.
type delivered struct {
	class            string
	derivation       []string
	target, previous string // the names of its embedded objects ("" when none)
	// onTarget is the query's rest on the target itself (wql.Rebase), when
	// it names members of the target alone.
	onTarget wql.Expr
}

func newDelivered(cls *cim.Object) delivered {
	d := delivered{class: cls.Class, derivation: cls.Derivation}
	for _, p := range cls.Properties {
		if p.Type != cim.TypeObject {
			continue
		}
		if strings.HasPrefix(p.Name, "Previous") {
			d.previous = p.Name
		} else {
			d.target = p.Name
		}
	}
	return d
}

// onlyTargets reports whether every property an expression names is a
// member of (or is) an event's target or previous object.
func onlyTargets(e wql.Expr) bool {
	named := func(p *wql.Prop) bool {
		switch strings.ToLower(p.Path[0]) {
		case "targetinstance", "sourceinstance", "previousinstance", "targetclass", "previousclass", "targetnamespace", "previousnamespace":
			return true
		}
		return false
	}
	switch e := e.(type) {
	case *wql.Binary:
		return onlyTargets(e.L) && onlyTargets(e.R)
	case *wql.Not:
		return onlyTargets(e.X)
	case *wql.Compare:
		return named(e.Prop)
	case *wql.IsNull:
		return named(e.Prop)
	case *wql.Isa:
		return named(e.Prop)
	}
	return false
}

// renamed gives the feed's events the class the query delivers (DMTF's
// names for a query FROM CIM_InstIndication's classes).
func (eq *eventQuery) renamed(src iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for ev, err := range src {
			if err == nil && !ev.Progress {
				ev.Class = eq.deliv[ev.Class].class
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}
