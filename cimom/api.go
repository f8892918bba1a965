// Package cimom is wbemd's object manager: namespaces, classes and
// instances kept in a store.Store, with every WMI rule in one place —
// operation flags, put extensions in contexts, keys and qualifiers,
// abstract and singleton classes, localization, the provider chain,
// namespace security, semisynchronous calls, extended status and intrinsic
// events. Protocol front doors decode a request, call a Services method and
// encode the answer; they never re-check a rule.
package cimom

import (
	"context"
	"iter"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// Flags are WMI's lFlags values. Each operation accepts its own set and
// answers WBEM_E_INVALID_PARAMETER for any other bit.
type Flags uint32

// The flags. Some share a value in different operations, as in WMI.
const (
	FlagCreateOrUpdate       Flags = 0x0     // PutInstance, PutClass: create or overwrite
	FlagUpdateOnly           Flags = 0x1     // PutInstance, PutClass: must exist
	FlagCreateOnly           Flags = 0x2     // PutInstance, PutClass: must not exist
	FlagReturnImmediately    Flags = 0x10    // semisynchronous call
	FlagUpdateSafeMode       Flags = 0x20    // PutClass: allow compatible changes under subclasses
	FlagForwardOnly          Flags = 0x20    // enumerations: no Reset or Clone
	FlagUpdateForceMode      Flags = 0x40    // PutClass: force the change (deletes a static class's instances)
	FlagSendStatus           Flags = 0x80    // asynchronous calls only: invalid here
	FlagShallow              Flags = 0x1     // enumerations: the class only / immediate subclasses
	FlagDeep                 Flags = 0x0     // enumerations: with subclasses (the default)
	FlagPrototype            Flags = 0x2     // ExecQuery: return the result's shape
	FlagEnsureLocatable      Flags = 0x100   // queries: fill __PATH
	FlagDirectRead           Flags = 0x200   // ignore providers of parent and derived classes
	FlagOwnerUpdate          Flags = 0x10000 // PutClass: a push provider updating its own class
	FlagUseAmendedQualifiers Flags = 0x20000 // localized objects (see package doc)
	FlagUpdateCompatible     Flags = 0x0     // PutClass: the default update mode
	FlagBidirectional        Flags = 0x0     // enumerations: Reset and Clone allowed
	FlagReturnWbemComplete   Flags = 0x0
	FlagStrongValidation     Flags = 0x100000 // accepted and ignored, as MS-WMI says
	flagsCallOnly                  = FlagReturnImmediately
)

// WBEM timeouts for CallResult and Enumerator waits.
const (
	Infinite time.Duration = -1 // WBEM_INFINITE: wait until done
	NoWait   time.Duration = 0  // WBEM_NO_WAIT: poll
)

// Principal is who is calling. The administrator is "root" or any member of
// the group "Administrators". Remote is set for calls that came over the
// network: they also need the namespace's REMOTE_ENABLE right.
type Principal struct {
	Name   string
	Groups []string
	Remote bool
}

// IsAdmin reports whether p is an administrator.
func (p Principal) IsAdmin() bool {
	if p.Name == "root" {
		return true
	}
	for _, g := range p.Groups {
		if cim.EqualFold(g, GroupAdministrators) {
			return true
		}
	}
	return false
}

// Services is a connection to one namespace, as WMI's IWbemServices. The
// in-process core and the network client implement it alike, so code
// written against it runs local or remote unchanged.
//
// The single-result operations come in two forms. The plain form
// (GetObject, PutInstance, ...) is the call with ppCallResult NULL: it
// completes before returning, and FlagReturnImmediately is invalid there.
// The ...Call form is the call with a call result: parameter errors are
// returned at once; otherwise the outcome is in the CallResult, which with
// FlagReturnImmediately is returned while the work still runs.
//
// Every failure is a *cim.Error carrying the fields of __ExtendedStatus.
type Services interface {
	// Namespace returns the namespace this connection is bound to ("root/cimv2").
	Namespace() string
	// OpenNamespace connects to a child namespace (a relative name) or, with
	// a leading "/", an absolute one.
	OpenNamespace(ctx context.Context, ns string, flags Flags, wctx *Context) (Services, error)

	// GetObject returns a class (path "Class"), an instance (path
	// "Class.Key=..." or "Class=@"), or, for "", an empty class to build a
	// new class from.
	GetObject(ctx context.Context, path string, flags Flags, wctx *Context) (*cim.Object, error)
	// PutClass creates or updates a class.
	PutClass(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) error
	// DeleteClass deletes a class with its subclasses and all their instances.
	DeleteClass(ctx context.Context, class string, flags Flags, wctx *Context) error
	// CreateClassEnum enumerates the subclasses of superclass ("" for all
	// classes); FlagShallow gives only immediate subclasses (top-level
	// classes for "").
	CreateClassEnum(ctx context.Context, superclass string, flags Flags, wctx *Context) (Enumerator, error)
	// PutInstance creates or updates an instance and returns its relative
	// path. It does not keep inst, unless ctx hands it over (HandOver).
	PutInstance(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (string, error)
	// DeleteInstance deletes the instance at path.
	DeleteInstance(ctx context.Context, path string, flags Flags, wctx *Context) error
	// CreateInstanceEnum enumerates the instances of class and, unless
	// FlagShallow, of its subclasses.
	CreateInstanceEnum(ctx context.Context, class string, flags Flags, wctx *Context) (Enumerator, error)

	// ExecQuery runs a WQL query (language "WQL"): a data query, a schema
	// query (FROM meta_class), ASSOCIATORS OF or REFERENCES OF. Flags:
	// FlagForwardOnly, FlagReturnImmediately, FlagPrototype (the result's
	// shape as a class), FlagEnsureLocatable, FlagUseAmendedQualifiers.
	ExecQuery(ctx context.Context, language, query string, flags Flags, wctx *Context) (Enumerator, error)
	// Associators answers ASSOCIATORS OF (q.References false) or
	// REFERENCES OF, given as parsed WQL: the protocols build q from their
	// operation's parameters. Flags as ExecQuery's.
	Associators(ctx context.Context, q *wql.Assoc, flags Flags, wctx *Context) (Enumerator, error)
	// ExecNotificationQuery subscribes to the events an event query
	// selects (language "WQL", else WBEM_E_INVALID_QUERY_TYPE), WMI's
	// grammar: SELECT * FROM EventClass [WITHIN s] [WHERE cond]
	// [GROUP WITHIN s [BY props] [HAVING NumberOfEvents op n]]. The event
	// classes are the intrinsic ones (__InstanceCreationEvent ... and their
	// parents, __Class*Event, __Namespace*Event) and DMTF's
	// CIM_InstCreation, CIM_InstModification, CIM_InstDeletion (with
	// SourceInstance). Repository classes raise their events from the
	// change feed, in revision order, resumable from opts.From; a class
	// served by a provider (TargetInstance ISA 'Provided') is polled every
	// WITHIN seconds, which the query must then give, unless an event
	// provider's __EventProviderRegistration covers the query: then the
	// provider raises the events (live only, not resumable), as it raises
	// its own subclasses of __ExtrinsicEvent. Errors, before any
	// event: WBEM_E_INVALID_QUERY with the position, WBEM_E_NOT_EVENT_CLASS,
	// WBEM_E_MISSING_GROUP_WITHIN, WBEM_E_INVALID_CLASS (an unknown class,
	// or one no provider raises events of), WBEMESS_E_REGISTRATION_TOO_PRECISE
	// (WITHIN below MinWithin, or missing over a provider's class),
	// WBEM_E_ACCESS_DENIED (WBEM_RIGHT_SUBSCRIBE is needed). The stream
	// ends as Subscribe's does (WBEM_E_QUEUE_OVERFLOW past the feed's
	// retention, WBEM_E_CALL_CANCELLED when ctx ends, ...).
	ExecNotificationQuery(ctx context.Context, language, query string, opts NotificationOptions) (iter.Seq2[Event, error], error)
	// ValidateEventQuery checks an event query as ExecNotificationQuery
	// would, with the same errors, without subscribing.
	ValidateEventQuery(ctx context.Context, language, query string) error
	// ExplainQuery says how ExecQuery would answer a query: a key lookup,
	// an index range scan, or a scan.
	ExplainQuery(ctx context.Context, query string, wctx *Context) (string, error)

	// ExecMethod calls method on the object at path: a class path for a
	// [Static] method, an instance path otherwise. in holds the
	// in-parameters as properties (nil for none); the answer, of class
	// __PARAMETERS, holds ReturnValue and the out-parameters.
	ExecMethod(ctx context.Context, path, method string, in *cim.Object, flags Flags, wctx *Context) (*cim.Object, error)
	// ExecMethodCall is ExecMethod with a call result; its result object
	// is the out-parameters.
	ExecMethodCall(ctx context.Context, path, method string, in *cim.Object, flags Flags, wctx *Context) (*CallResult, error)

	// GetObjectCall is GetObject with a call result.
	GetObjectCall(ctx context.Context, path string, flags Flags, wctx *Context) (*CallResult, error)
	// PutClassCall is PutClass with a call result.
	PutClassCall(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) (*CallResult, error)
	// DeleteClassCall is DeleteClass with a call result.
	DeleteClassCall(ctx context.Context, class string, flags Flags, wctx *Context) (*CallResult, error)
	// PutInstanceCall is PutInstance with a call result; its result string
	// is the instance's path.
	PutInstanceCall(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (*CallResult, error)
	// DeleteInstanceCall is DeleteInstance with a call result.
	DeleteInstanceCall(ctx context.Context, path string, flags Flags, wctx *Context) (*CallResult, error)

	// GetQualifier returns the declaration of a qualifier (CIM-XML's
	// GetQualifier; WMI has no counterpart).
	GetQualifier(ctx context.Context, name string) (*cim.QualifierDecl, error)
	// PutQualifier creates or replaces a qualifier declaration
	// (FlagCreateOnly, FlagUpdateOnly). Classes written later must use the
	// qualifier within its scope and type.
	PutQualifier(ctx context.Context, decl *cim.QualifierDecl, flags Flags) error
	// DeleteQualifier deletes a qualifier declaration; uses of the
	// qualifier stay as they are.
	DeleteQualifier(ctx context.Context, name string) error
	// EnumQualifiers returns every qualifier declaration of the namespace,
	// by name.
	EnumQualifiers(ctx context.Context) ([]*cim.QualifierDecl, error)

	// GetSD returns the namespace's security descriptor (READ_CONTROL).
	GetSD(ctx context.Context) (*SecurityDescriptor, error)
	// SetSD replaces the namespace's own ACEs (WRITE_DAC); inherited ACEs
	// are recomputed, here and in child namespaces.
	SetSD(ctx context.Context, sd *SecurityDescriptor) error
	// GetCallerAccessRights returns the caller's rights on the namespace.
	GetCallerAccessRights(ctx context.Context) (Rights, error)
}

// Enumerator is a result set, as WMI's IEnumWbemClassObject.
type Enumerator interface {
	// Next returns up to count objects. The status is SNoError when count
	// objects were returned, SFalse at the end (with what was left), or
	// STimedOut when timeout passed first (more may come). A failed
	// operation returns its error.
	Next(ctx context.Context, timeout time.Duration, count int) ([]*cim.Object, cim.Status, error)
	// Reset goes back to the first object (not for forward-only enumerators).
	Reset() error
	// Clone returns an independent enumerator at the same position (not for
	// forward-only enumerators).
	Clone() (Enumerator, error)
	// Close releases the enumerator and cancels the rest of the delivery.
	Close() error
}

// All yields every remaining object of e as it comes: an enumeration
// streams to its consumer, which sees the first objects while the rest
// are produced.
func All(ctx context.Context, e Enumerator) iter.Seq2[*cim.Object, error] {
	if en, ok := e.(*enumerator); ok {
		return en.all(ctx)
	}
	return func(yield func(*cim.Object, error) bool) {
		for {
			objs, st, err := e.Next(ctx, Infinite, 1)
			for _, o := range objs {
				if !yield(o, nil) {
					return
				}
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if st == cim.SFalse {
				return
			}
		}
	}
}
