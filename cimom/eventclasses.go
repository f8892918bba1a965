package cimom

import (
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
)

// eventFamily is what an event class describes.
type eventFamily uint8

const (
	famOther     eventFamily = iota
	famInstance              // __InstanceOperationEvent and below
	famClass                 // __ClassOperationEvent and below
	famNamespace             // __NamespaceOperationEvent and below
	famDMTF                  // CIM_InstIndication and below
	famAggregate             // __AggregateEvent
	famExtrinsic             // __TimerEvent, __ExtrinsicEvent and below (extrinsic.go)
)

// eventClassDefs are the event classes an event query may name, with the
// classes they derive from, as wbemd defines them whatever a namespace
// holds: WMI's intrinsic events (also in every namespace's system
// classes), __AggregateEvent, and DMTF's lifecycle indications (a
// namespace with the DMTF schema declares their embedded objects as
// strings; queries use them as objects, as here).
func eventClassDefs() []*cim.Object {
	typed, ref := nullProp, refProp
	class := systemClass
	return []*cim.Object{
		class("__SystemClass", "", true),
		class("__IndicationRelated", "__SystemClass", true),
		class("__Event", "__IndicationRelated", true, typed("SECURITY_DESCRIPTOR", cim.TypeUint8.ArrayOf()), typed("TIME_CREATED", cim.TypeUint64)),
		class("__InstanceOperationEvent", "__Event", true, typed("TargetInstance", cim.TypeObject)),
		class("__InstanceCreationEvent", "__InstanceOperationEvent", false),
		class("__InstanceDeletionEvent", "__InstanceOperationEvent", false),
		class("__InstanceModificationEvent", "__InstanceOperationEvent", false, typed("PreviousInstance", cim.TypeObject)),
		class("__ClassOperationEvent", "__Event", true, typed("TargetClass", cim.TypeObject)),
		class("__ClassCreationEvent", "__ClassOperationEvent", false),
		class("__ClassDeletionEvent", "__ClassOperationEvent", false),
		class("__ClassModificationEvent", "__ClassOperationEvent", false, typed("PreviousClass", cim.TypeObject)),
		class("__NamespaceOperationEvent", "__Event", true, typed("TargetNamespace", cim.TypeObject)),
		class("__NamespaceCreationEvent", "__NamespaceOperationEvent", false),
		class("__NamespaceDeletionEvent", "__NamespaceOperationEvent", false),
		class("__NamespaceModificationEvent", "__NamespaceOperationEvent", false, typed("PreviousNamespace", cim.TypeObject)),
		class("__ExtrinsicEvent", "__Event", true),
		class("__SystemEvent", "__ExtrinsicEvent", true),
		class(EventDroppedEventClass, "__SystemEvent", false, typed("Event", cim.TypeObject), ref("IntendedConsumer", EventConsumerClass)),
		class(QueueOverflowEventClass, EventDroppedEventClass, false, typed("CurrentQueueSize", cim.TypeUint32),
			typed(LostAfterProperty, cim.TypeSint64), typed(ResumedAfterProperty, cim.TypeSint64)),
		class(TimerEventClass, "__Event", false, typed("TimerId", cim.TypeString), typed("NumFirings", cim.TypeUint32)),
		class("__AggregateEvent", "__IndicationRelated", false, typed("NumberOfEvents", cim.TypeUint32), typed("Representative", cim.TypeObject)),
		class("CIM_Indication", "", true, typed("IndicationIdentifier", cim.TypeString), typed("CorrelatedIndications", cim.TypeString.ArrayOf()),
			typed("IndicationTime", cim.TypeDatetime), typed("PerceivedSeverity", cim.TypeUint16), typed("OtherSeverity", cim.TypeString),
			typed("IndicationFilterName", cim.TypeString), typed("SequenceContext", cim.TypeString), typed("SequenceNumber", cim.TypeSint64)),
		class("CIM_InstIndication", "CIM_Indication", true, typed("SourceInstance", cim.TypeObject), typed("SourceInstanceModelPath", cim.TypeString),
			typed("SourceInstanceHost", cim.TypeString)),
		class("CIM_InstCreation", "CIM_InstIndication", false),
		class("CIM_InstDeletion", "CIM_InstIndication", false),
		class("CIM_InstModification", "CIM_InstIndication", false, typed("PreviousInstance", cim.TypeObject)),
	}
}

// eventClassTable holds the resolved event classes by folded name.
var eventClassTable = sync.OnceValue(func() map[string]*cim.Object {
	m := map[string]*cim.Object{}
	for _, local := range eventClassDefs() {
		var parent *cim.Object
		if local.Superclass != "" {
			parent = m[cim.Fold(local.Superclass)]
		}
		cls, err := cim.Derive(parent, local)
		if err != nil {
			panic("cimom: event class " + local.Class + ": " + err.Error())
		}
		m[cim.Fold(cls.Class)] = cls
		m[cls.Class] = cls
	}
	return m
})

// eventClass returns wbemd's definition of an event class (nil if it is
// not one of eventClassDefs). The name as defined is found without
// folding it.
func eventClass(name string) *cim.Object {
	t := eventClassTable()
	if c, ok := t[name]; ok {
		return c
	}
	return t[cim.Fold(name)]
}

// eventDerivation returns the ancestors of an event class.
func eventDerivation(name string) []string {
	if c := eventClass(name); c != nil {
		return c.Derivation
	}
	return nil
}

// eventFamilyOf says what an event class describes.
func eventFamilyOf(name string) eventFamily {
	c := eventClass(name)
	if c == nil {
		return famOther
	}
	switch {
	case c.IsA("CIM_InstIndication"):
		return famDMTF
	case c.IsA("__InstanceOperationEvent"):
		return famInstance
	case c.IsA("__ClassOperationEvent"):
		return famClass
	case c.IsA("__NamespaceOperationEvent"):
		return famNamespace
	case c.IsA("__AggregateEvent"):
		return famAggregate
	case c.IsA("__ExtrinsicEvent") || c.IsA(TimerEventClass):
		return famExtrinsic
	}
	return famOther
}

// modificationEvent reports whether an event class carries the previous
// state.
func modificationEvent(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), "modificationevent") || cim.EqualFold(name, "CIM_InstModification")
}

// feedEventClasses are the classes of the events the change feed raises.
var feedEventClasses = []string{
	"__InstanceCreationEvent", "__InstanceModificationEvent", "__InstanceDeletionEvent",
	"__ClassCreationEvent", "__ClassModificationEvent", "__ClassDeletionEvent",
	"__NamespaceCreationEvent", "__NamespaceModificationEvent", "__NamespaceDeletionEvent",
}

// dmtfNames are DMTF's names of WMI's instance events.
var dmtfNames = map[string]string{
	"__InstanceCreationEvent": "CIM_InstCreation", "__InstanceModificationEvent": "CIM_InstModification",
	"__InstanceDeletionEvent": "CIM_InstDeletion",
}
