package cimom

import (
	"time"

	"github.com/wbemd/wbemd/cim"
)

// Event is an intrinsic event: a committed change of the repository as a
// subscription sees it (see Subscribe), or a progress report.
//
// Events are built once from the change feed and shared by every
// subscription that receives them: treat Target and Previous as read-only
// (Clone them to change them).
type Event struct {
	// Class is the event class: __InstanceCreationEvent,
	// __InstanceModificationEvent, __InstanceDeletionEvent,
	// __ClassCreationEvent, __ClassModificationEvent, __ClassDeletionEvent,
	// __NamespaceCreationEvent, __NamespaceModificationEvent or
	// __NamespaceDeletionEvent; empty in a progress report.
	Class string
	// Namespace is where the event is raised (the parent namespace for
	// namespace events); in a progress report, the subscription's.
	Namespace string
	// Target is TargetInstance, TargetClass or TargetNamespace.
	Target *cim.Object
	// Previous is PreviousInstance, PreviousClass or PreviousNamespace on
	// modification events.
	Previous *cim.Object
	// Time is TIME_CREATED: when wbemd read the change from the feed.
	Time time.Time
	// Rev is the store revision of the transaction that made the change.
	// Events arrive in revision order; the events of one revision arrive
	// together, in the order of the records the transaction wrote.
	//
	// In a progress report, Rev is a bookmark: every event of the
	// subscription with a revision up to Rev has been delivered, so that a
	// subscription from Rev misses nothing.
	Rev int64
	// Progress marks a progress report: no change, only Rev (see
	// SubscribeOptions.Progress).
	Progress bool
}
