package cimom

import (
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// Event is an event: a committed change of the repository as a
// subscription sees it (see Subscribe), a change a poll of a provider's
// class found, an aggregate of events (GROUP WITHIN), or a progress
// report.
//
// Events are built once from the change feed and shared by every
// subscription that receives them: treat Target and Previous as read-only
// (Clone them to change them).
type Event struct {
	// Class is the event class: __InstanceCreationEvent,
	// __InstanceModificationEvent, __InstanceDeletionEvent,
	// __ClassCreationEvent, __ClassModificationEvent, __ClassDeletionEvent,
	// __NamespaceCreationEvent, __NamespaceModificationEvent or
	// __NamespaceDeletionEvent; for an event query FROM DMTF's classes,
	// CIM_InstCreation, CIM_InstModification or CIM_InstDeletion; for GROUP
	// WITHIN, __AggregateEvent; the extrinsic events __TimerEvent and
	// __EventQueueOverflowEvent (extrinsic.go); empty in a progress report.
	Class string
	// Namespace is where the event is raised (the parent namespace for
	// namespace events); in a progress report, the subscription's.
	Namespace string
	// Target is TargetInstance, TargetClass or TargetNamespace
	// (SourceInstance for DMTF's classes).
	Target *cim.Object
	// Previous is PreviousInstance, PreviousClass or PreviousNamespace on
	// modification events.
	Previous *cim.Object
	// Time is TIME_CREATED: when wbemd read the change from the feed (or
	// found it by polling).
	Time time.Time
	// Rev is the store revision of the transaction that made the change.
	// Events arrive in revision order; the events of one revision arrive
	// together, in the order of the records the transaction wrote.
	//
	// An event found by polling a provider's class (WITHIN) is not in the
	// change feed: its Rev is the repository's revision when the poll ran,
	// and a subscription resumed from it starts a new snapshot. An
	// aggregate's Rev is the Rev of the last event it counts.
	//
	// In a progress report, Rev is a bookmark: every event of the
	// subscription with a revision up to Rev has been delivered, so that a
	// subscription from Rev misses nothing.
	Rev int64
	// Index is the event's place among the events of its revision, from 0
	// (over every namespace and class, before any filter): Rev and Index
	// name one event of the feed, so that a consumer can resume after an
	// event inside a revision. For polled events, the place in the poll.
	Index int
	// Progress marks a progress report: no change, only Rev (see
	// SubscribeOptions.Progress).
	Progress bool
	// Polled marks an event found by polling a provider's class (WITHIN):
	// not in the change feed, so Rev and Index do not name it in the feed
	// (a door gives it the resume point Rev alone).
	Polled bool
	// Live marks an extrinsic event wbemd raises, which is no change of
	// the repository (__TimerEvent, __EventQueueOverflowEvent; see
	// extrinsic.go): it is not in the change feed, so that no
	// subscription from a revision replays it (it is delivered live). Its
	// Rev is a bookmark, as a progress report's: every event of the
	// change feed the subscription selects, up to Rev, was delivered
	// before it (a door gives it the resume point Rev alone, and a durable
	// cursor does not move for it). Index is 0.
	Live bool
	// Properties are an extrinsic event's own properties (TimerId and
	// NumFirings of a __TimerEvent; Event, IntendedConsumer and the
	// revisions of an __EventQueueOverflowEvent), as Object gives them.
	Properties []cim.Property
	// NumberOfEvents is, in an __AggregateEvent, how many events the group
	// counts.
	NumberOfEvents int
	// Representative is, in an __AggregateEvent, one of the events of the
	// group (the first).
	Representative *Event
	// Provider names the event provider that raised the event
	// (__EventProviderRegistration): not a change of the repository, so
	// not in the change feed, and Live. Rev is the revision wbemd had
	// applied when it received the event; a subscription resumed from it
	// does not get the event again (provider events are delivered live
	// only).
	Provider string
	// Extrinsic is, for an extrinsic event (an instance of a subclass of
	// __ExtrinsicEvent that a provider raised), the event as raised; Class
	// is its class.
	Extrinsic *cim.Object
}

// RevisionProperty is the property wbemd adds to every event object
// (Event.Object): the event's store revision (Event.Rev), as a sint64.
// WMI's __Event has no such property; with it a consumer of any door can
// resume a subscription from the last event it handled.
const RevisionProperty = "Revision"

// fileTimeEpoch is 1601-01-01 in 100 ns units before the Unix epoch:
// TIME_CREATED counts from it, as Windows FILETIME does.
const fileTimeEpoch = 116444736000000000

// Object returns the event as an instance of its event class, as every
// door encodes it: TargetInstance (TargetClass, TargetNamespace;
// SourceInstance for DMTF's CIM_Inst* classes) and PreviousInstance
// (PreviousClass, PreviousNamespace) as embedded objects, TIME_CREATED
// (100 ns units since 1601, as WMI) or DMTF's IndicationTime, and the
// revision in RevisionProperty. An __AggregateEvent has NumberOfEvents
// and Representative (the representative event's object). A progress
// report has no object: Object returns nil.
//
// The embedded objects are the event's own (shared): treat the result as
// read-only.
func (e *Event) Object() *cim.Object {
	if e.Progress {
		return nil
	}
	if e.Extrinsic != nil {
		o := *e.Extrinsic
		o.Properties = append(make([]cim.Property, 0, len(o.Properties)+1), o.Properties...)
		for i := range o.Properties {
			if cim.EqualFold(o.Properties[i].Name, "TIME_CREATED") && o.Properties[i].Value.IsNull() {
				o.Properties[i].Value = cim.Value{Type: cim.TypeUint64, V: uint64(e.Time.UnixNano()/100 + fileTimeEpoch)}
			}
		}
		o.Properties = append(o.Properties, cim.Property{Name: RevisionProperty, Type: cim.TypeSint64, Value: cim.Value{Type: cim.TypeSint64, V: e.Rev}})
		return &o
	}
	o := &cim.Object{Genus: cim.GenusInstance, Class: e.Class, Namespace: e.Namespace, Derivation: eventDerivation(e.Class),
		Properties: make([]cim.Property, 0, 6)}
	if len(o.Derivation) > 0 {
		o.Superclass = o.Derivation[0]
	}
	add := func(name string, t cim.Type, v any) {
		val := cim.Null(t)
		if v != nil {
			val = cim.Value{Type: t, V: v}
		}
		o.Properties = append(o.Properties, cim.Property{Name: name, Type: t, Value: val})
	}
	obj := func(x *cim.Object) any {
		if x == nil {
			return nil
		}
		return x
	}
	switch f := eventFamilyOf(e.Class); f {
	case famDMTF:
		add("IndicationTime", cim.TypeDatetime, cim.DatetimeFromTime(e.Time))
		add("SourceInstance", cim.TypeObject, obj(e.Target))
		var path any
		if e.Target != nil {
			if v, ok := e.Target.SystemProperty("__PATH"); ok && !v.IsNull() {
				path = v.V
			}
		}
		add("SourceInstanceModelPath", cim.TypeString, path)
		if cim.EqualFold(e.Class, "CIM_InstModification") {
			add("PreviousInstance", cim.TypeObject, obj(e.Previous))
		}
	case famExtrinsic:
		add("SECURITY_DESCRIPTOR", cim.TypeUint8.ArrayOf(), nil)
		add("TIME_CREATED", cim.TypeUint64, uint64(e.Time.UnixNano()/100+fileTimeEpoch))
		o.Properties = append(o.Properties, e.Properties...)
	case famAggregate:
		add("NumberOfEvents", cim.TypeUint32, uint32(e.NumberOfEvents))
		var rep any
		if e.Representative != nil {
			rep = e.Representative.Object()
		}
		add("Representative", cim.TypeObject, rep)
	default:
		add("SECURITY_DESCRIPTOR", cim.TypeUint8.ArrayOf(), nil)
		add("TIME_CREATED", cim.TypeUint64, uint64(e.Time.UnixNano()/100+fileTimeEpoch))
		target, previous := "TargetInstance", "PreviousInstance"
		switch f {
		case famClass:
			target, previous = "TargetClass", "PreviousClass"
		case famNamespace:
			target, previous = "TargetNamespace", "PreviousNamespace"
		}
		add(target, cim.TypeObject, obj(e.Target))
		if modificationEvent(e.Class) {
			add(previous, cim.TypeObject, obj(e.Previous))
		}
	}
	add(RevisionProperty, cim.TypeSint64, e.Rev)
	return o
}

// ID is the event's resume point, as the doors give it: "REV.INDEX" for
// an event of the change feed, "REV" for a progress report, an event
// found by polling, an event a provider raised and an aggregate (which
// are not one event of the feed). ResumeAfter reads it back.
func (e *Event) ID() string { return string(e.AppendID(nil)) }

// AppendID appends the event's ID to b, for a door that writes many.
func (e *Event) AppendID(b []byte) []byte {
	b = strconv.AppendInt(b, e.Rev, 10)
	if e.Progress || e.Polled || e.Live || e.Representative != nil {
		return b
	}
	b = append(b, '.')
	return strconv.AppendInt(b, int64(e.Index), 10)
}

// ResumeAfter reads a resume point, an event's ID ("REV.INDEX") or a
// revision ("REV"), into the From of a subscription that starts after it
// and a test of the events that subscription delivers again (those of
// revision REV up to INDEX), which a door skips. It fails with
// WBEM_E_INVALID_PARAMETER for any other text.
func ResumeAfter(id string) (from int64, seen func(*Event) bool, err error) {
	none := func(*Event) bool { return false }
	revText, idxText, inside := strings.Cut(id, ".")
	rev, err := strconv.ParseInt(revText, 10, 64)
	if err != nil || rev < 0 {
		return 0, nil, cim.Errorf(cim.EInvalidParameter, "resume point %q: want a revision or an event id REV.INDEX", id).WithParam("from")
	}
	if !inside {
		return rev, none, nil
	}
	idx, err := strconv.Atoi(idxText)
	if err != nil || idx < 0 || rev < 1 {
		return 0, nil, cim.Errorf(cim.EInvalidParameter, "resume point %q: want a revision or an event id REV.INDEX", id).WithParam("from")
	}
	return rev - 1, func(e *Event) bool {
		return e.Rev == rev && e.Index <= idx && !e.Progress && !e.Polled && !e.Live && e.Representative == nil
	}, nil
}
