package cim

import (
	"errors"
	"fmt"
	"strings"
)

// Status is a WBEM status code: the HRESULT value that WMI returns
// (WBEM_S_* for success, WBEM_E_* for failure). Each protocol maps it to
// its own codes through one table; inside wbemd a Status is the only way a
// failure is classified.
type Status uint32

// Success codes (WBEM_S_*).
const (
	SNoError            Status = 0x0
	SFalse              Status = 0x1
	SAlreadyExists      Status = 0x40001
	SResetToDefault     Status = 0x40002
	SDifferent          Status = 0x40003
	STimedOut           Status = 0x40004
	SNoMoreData         Status = 0x40005
	SOperationCancelled Status = 0x40006
	SPending            Status = 0x40007
	SDuplicateObjects   Status = 0x40008
	SAccessDenied       Status = 0x40009
	SPartialResults     Status = 0x40010
	SSourceNotAvailable Status = 0x40017
)

// Error codes (WBEM_E_*).
const (
	EFailed                       Status = 0x80041001
	ENotFound                     Status = 0x80041002
	EAccessDenied                 Status = 0x80041003
	EProviderFailure              Status = 0x80041004
	ETypeMismatch                 Status = 0x80041005
	EOutOfMemory                  Status = 0x80041006
	EInvalidContext               Status = 0x80041007
	EInvalidParameter             Status = 0x80041008
	ENotAvailable                 Status = 0x80041009
	ECriticalError                Status = 0x8004100A
	EInvalidStream                Status = 0x8004100B
	ENotSupported                 Status = 0x8004100C
	EInvalidSuperclass            Status = 0x8004100D
	EInvalidNamespace             Status = 0x8004100E
	EInvalidObject                Status = 0x8004100F
	EInvalidClass                 Status = 0x80041010
	EProviderNotFound             Status = 0x80041011
	EInvalidProviderRegistration  Status = 0x80041012
	EProviderLoadFailure          Status = 0x80041013
	EInitializationFailure        Status = 0x80041014
	ETransportFailure             Status = 0x80041015
	EInvalidOperation             Status = 0x80041016
	EInvalidQuery                 Status = 0x80041017
	EInvalidQueryType             Status = 0x80041018
	EAlreadyExists                Status = 0x80041019
	EOverrideNotAllowed           Status = 0x8004101A
	EPropagatedQualifier          Status = 0x8004101B
	EPropagatedProperty           Status = 0x8004101C
	EUnexpected                   Status = 0x8004101D
	EIllegalOperation             Status = 0x8004101E
	ECannotBeKey                  Status = 0x8004101F
	EIncompleteClass              Status = 0x80041020
	EInvalidSyntax                Status = 0x80041021
	ENondecoratedObject           Status = 0x80041022
	EReadOnly                     Status = 0x80041023
	EProviderNotCapable           Status = 0x80041024
	EClassHasChildren             Status = 0x80041025
	EClassHasInstances            Status = 0x80041026
	EQueryNotImplemented          Status = 0x80041027
	EIllegalNull                  Status = 0x80041028
	EInvalidQualifierType         Status = 0x80041029
	EInvalidPropertyType          Status = 0x8004102A
	EValueOutOfRange              Status = 0x8004102B
	ECannotBeSingleton            Status = 0x8004102C
	EInvalidCIMType               Status = 0x8004102D
	EInvalidMethod                Status = 0x8004102E
	EInvalidMethodParameters      Status = 0x8004102F
	ESystemProperty               Status = 0x80041030
	EInvalidProperty              Status = 0x80041031
	ECallCancelled                Status = 0x80041032
	EShuttingDown                 Status = 0x80041033
	EPropagatedMethod             Status = 0x80041034
	EUnsupportedParameter         Status = 0x80041035
	EMissingParameterID           Status = 0x80041036
	EInvalidParameterID           Status = 0x80041037
	ENonconsecutiveParameterIDs   Status = 0x80041038
	EParameterIDOnRetval          Status = 0x80041039
	EInvalidObjectPath            Status = 0x8004103A
	EOutOfDiskSpace               Status = 0x8004103B
	EBufferTooSmall               Status = 0x8004103C
	EUnsupportedPutExtension      Status = 0x8004103D
	EUnknownObjectType            Status = 0x8004103E
	EUnknownPacketType            Status = 0x8004103F
	EMarshalVersionMismatch       Status = 0x80041040
	EMarshalInvalidSignature      Status = 0x80041041
	EInvalidQualifier             Status = 0x80041042
	EInvalidDuplicateParameter    Status = 0x80041043
	ETooMuchData                  Status = 0x80041044
	EServerTooBusy                Status = 0x80041045
	EInvalidFlavor                Status = 0x80041046
	ECircularReference            Status = 0x80041047
	EUnsupportedClassUpdate       Status = 0x80041048
	ECannotChangeKeyInheritance   Status = 0x80041049
	ECannotChangeIndexInheritance Status = 0x80041050
	ETooManyProperties            Status = 0x80041051
	EUpdateTypeMismatch           Status = 0x80041052
	EUpdateOverrideNotAllowed     Status = 0x80041053
	EUpdatePropagatedMethod       Status = 0x80041054
	EMethodNotImplemented         Status = 0x80041055
	EMethodDisabled               Status = 0x80041056
	ERefresherBusy                Status = 0x80041057
	EUnparsableQuery              Status = 0x80041058
	ENotEventClass                Status = 0x80041059
	EMissingGroupWithin           Status = 0x8004105A
	EMissingAggregationList       Status = 0x8004105B
	EPropertyNotAnObject          Status = 0x8004105C
	EAggregatingByObject          Status = 0x8004105D
	EUninterpretableProviderQuery Status = 0x8004105F
	EBackupRestoreWinmgmtRunning  Status = 0x80041060
	EQueueOverflow                Status = 0x80041061
	EPrivilegeNotHeld             Status = 0x80041062
	EInvalidOperator              Status = 0x80041063
	ELocalCredentials             Status = 0x80041064
	ECannotBeAbstract             Status = 0x80041065
	EAmendedObject                Status = 0x80041066
	EClientTooSlow                Status = 0x80041067
	ENullSecurityDescriptor       Status = 0x80041068
	ETimedOut                     Status = 0x80041069
	EInvalidAssociation           Status = 0x8004106A
	EAmbiguousOperation           Status = 0x8004106B
	EQuotaViolation               Status = 0x8004106C
	ETransactionConflict          Status = 0x8004106D
	EForcedRollback               Status = 0x8004106E
	EUnsupportedLocale            Status = 0x8004106F
	EHandleOutOfDate              Status = 0x80041070
	EConnectionFailed             Status = 0x80041071
	EInvalidHandleRequest         Status = 0x80041072
	EPropertyNameTooWide          Status = 0x80041073
	EClassNameTooWide             Status = 0x80041074
	EMethodNameTooWide            Status = 0x80041075
	EQualifierNameTooWide         Status = 0x80041076
	ERerunCommand                 Status = 0x80041077
	EDatabaseVerMismatch          Status = 0x80041078
	EVetoDelete                   Status = 0x80041079
	EVetoPut                      Status = 0x8004107A
	EInvalidLocale                Status = 0x80041080
	EProviderSuspended            Status = 0x80041081
	ESynchronizationRequired      Status = 0x80041082
	ENoSchema                     Status = 0x80041083
	EProviderAlreadyRegistered    Status = 0x80041084
	EProviderNotRegistered        Status = 0x80041085
	EFatalTransportError          Status = 0x80041086
	EEncryptedConnectionRequired  Status = 0x80041087
	EProviderTimedOut             Status = 0x80041088
	ENoKey                        Status = 0x80041089
	EProviderDisabled             Status = 0x8004108A

	// The event subsystem's codes (WBEMESS_E_...).
	EssRegistrationTooBroad   Status = 0x80042001 // an event provider's registration overlaps the system's events
	EssRegistrationTooPrecise Status = 0x80042002 // WITHIN missing where polling is needed, or below the minimum
)

var statusNames = map[Status]string{
	SNoError: "WBEM_S_NO_ERROR", SFalse: "WBEM_S_FALSE", SAlreadyExists: "WBEM_S_ALREADY_EXISTS",
	SResetToDefault: "WBEM_S_RESET_TO_DEFAULT", SDifferent: "WBEM_S_DIFFERENT", STimedOut: "WBEM_S_TIMEDOUT",
	SNoMoreData: "WBEM_S_NO_MORE_DATA", SOperationCancelled: "WBEM_S_OPERATION_CANCELLED",
	SPending: "WBEM_S_PENDING", SDuplicateObjects: "WBEM_S_DUPLICATE_OBJECTS",
	SAccessDenied: "WBEM_S_ACCESS_DENIED", SPartialResults: "WBEM_S_PARTIAL_RESULTS",
	SSourceNotAvailable: "WBEM_S_SOURCE_NOT_AVAILABLE",

	EFailed: "WBEM_E_FAILED", ENotFound: "WBEM_E_NOT_FOUND", EAccessDenied: "WBEM_E_ACCESS_DENIED",
	EProviderFailure: "WBEM_E_PROVIDER_FAILURE", ETypeMismatch: "WBEM_E_TYPE_MISMATCH",
	EOutOfMemory: "WBEM_E_OUT_OF_MEMORY", EInvalidContext: "WBEM_E_INVALID_CONTEXT",
	EInvalidParameter: "WBEM_E_INVALID_PARAMETER", ENotAvailable: "WBEM_E_NOT_AVAILABLE",
	ECriticalError: "WBEM_E_CRITICAL_ERROR", EInvalidStream: "WBEM_E_INVALID_STREAM",
	ENotSupported: "WBEM_E_NOT_SUPPORTED", EInvalidSuperclass: "WBEM_E_INVALID_SUPERCLASS",
	EInvalidNamespace: "WBEM_E_INVALID_NAMESPACE", EInvalidObject: "WBEM_E_INVALID_OBJECT",
	EInvalidClass: "WBEM_E_INVALID_CLASS", EProviderNotFound: "WBEM_E_PROVIDER_NOT_FOUND",
	EInvalidProviderRegistration: "WBEM_E_INVALID_PROVIDER_REGISTRATION",
	EProviderLoadFailure:         "WBEM_E_PROVIDER_LOAD_FAILURE", EInitializationFailure: "WBEM_E_INITIALIZATION_FAILURE",
	ETransportFailure: "WBEM_E_TRANSPORT_FAILURE", EInvalidOperation: "WBEM_E_INVALID_OPERATION",
	EInvalidQuery: "WBEM_E_INVALID_QUERY", EInvalidQueryType: "WBEM_E_INVALID_QUERY_TYPE",
	EAlreadyExists: "WBEM_E_ALREADY_EXISTS", EOverrideNotAllowed: "WBEM_E_OVERRIDE_NOT_ALLOWED",
	EPropagatedQualifier: "WBEM_E_PROPAGATED_QUALIFIER", EPropagatedProperty: "WBEM_E_PROPAGATED_PROPERTY",
	EUnexpected: "WBEM_E_UNEXPECTED", EIllegalOperation: "WBEM_E_ILLEGAL_OPERATION",
	ECannotBeKey: "WBEM_E_CANNOT_BE_KEY", EIncompleteClass: "WBEM_E_INCOMPLETE_CLASS",
	EInvalidSyntax: "WBEM_E_INVALID_SYNTAX", ENondecoratedObject: "WBEM_E_NONDECORATED_OBJECT",
	EReadOnly: "WBEM_E_READ_ONLY", EProviderNotCapable: "WBEM_E_PROVIDER_NOT_CAPABLE",
	EClassHasChildren: "WBEM_E_CLASS_HAS_CHILDREN", EClassHasInstances: "WBEM_E_CLASS_HAS_INSTANCES",
	EQueryNotImplemented: "WBEM_E_QUERY_NOT_IMPLEMENTED", EIllegalNull: "WBEM_E_ILLEGAL_NULL",
	EInvalidQualifierType: "WBEM_E_INVALID_QUALIFIER_TYPE", EInvalidPropertyType: "WBEM_E_INVALID_PROPERTY_TYPE",
	EValueOutOfRange: "WBEM_E_VALUE_OUT_OF_RANGE", ECannotBeSingleton: "WBEM_E_CANNOT_BE_SINGLETON",
	EInvalidCIMType: "WBEM_E_INVALID_CIM_TYPE", EInvalidMethod: "WBEM_E_INVALID_METHOD",
	EInvalidMethodParameters: "WBEM_E_INVALID_METHOD_PARAMETERS", ESystemProperty: "WBEM_E_SYSTEM_PROPERTY",
	EInvalidProperty: "WBEM_E_INVALID_PROPERTY", ECallCancelled: "WBEM_E_CALL_CANCELLED",
	EShuttingDown: "WBEM_E_SHUTTING_DOWN", EPropagatedMethod: "WBEM_E_PROPAGATED_METHOD",
	EUnsupportedParameter: "WBEM_E_UNSUPPORTED_PARAMETER", EMissingParameterID: "WBEM_E_MISSING_PARAMETER_ID",
	EInvalidParameterID: "WBEM_E_INVALID_PARAMETER_ID", ENonconsecutiveParameterIDs: "WBEM_E_NONCONSECUTIVE_PARAMETER_IDS",
	EParameterIDOnRetval: "WBEM_E_PARAMETER_ID_ON_RETVAL", EInvalidObjectPath: "WBEM_E_INVALID_OBJECT_PATH",
	EOutOfDiskSpace: "WBEM_E_OUT_OF_DISK_SPACE", EBufferTooSmall: "WBEM_E_BUFFER_TOO_SMALL",
	EUnsupportedPutExtension: "WBEM_E_UNSUPPORTED_PUT_EXTENSION", EUnknownObjectType: "WBEM_E_UNKNOWN_OBJECT_TYPE",
	EUnknownPacketType: "WBEM_E_UNKNOWN_PACKET_TYPE", EMarshalVersionMismatch: "WBEM_E_MARSHAL_VERSION_MISMATCH",
	EMarshalInvalidSignature: "WBEM_E_MARSHAL_INVALID_SIGNATURE", EInvalidQualifier: "WBEM_E_INVALID_QUALIFIER",
	EInvalidDuplicateParameter: "WBEM_E_INVALID_DUPLICATE_PARAMETER", ETooMuchData: "WBEM_E_TOO_MUCH_DATA",
	EServerTooBusy: "WBEM_E_SERVER_TOO_BUSY", EInvalidFlavor: "WBEM_E_INVALID_FLAVOR",
	ECircularReference: "WBEM_E_CIRCULAR_REFERENCE", EUnsupportedClassUpdate: "WBEM_E_UNSUPPORTED_CLASS_UPDATE",
	ECannotChangeKeyInheritance: "WBEM_E_CANNOT_CHANGE_KEY_INHERITANCE", ECannotChangeIndexInheritance: "WBEM_E_CANNOT_CHANGE_INDEX_INHERITANCE",
	ETooManyProperties: "WBEM_E_TOO_MANY_PROPERTIES", EUpdateTypeMismatch: "WBEM_E_UPDATE_TYPE_MISMATCH",
	EUpdateOverrideNotAllowed: "WBEM_E_UPDATE_OVERRIDE_NOT_ALLOWED", EUpdatePropagatedMethod: "WBEM_E_UPDATE_PROPAGATED_METHOD",
	EMethodNotImplemented: "WBEM_E_METHOD_NOT_IMPLEMENTED", EMethodDisabled: "WBEM_E_METHOD_DISABLED",
	ERefresherBusy: "WBEM_E_REFRESHER_BUSY", EUnparsableQuery: "WBEM_E_UNPARSABLE_QUERY",
	ENotEventClass: "WBEM_E_NOT_EVENT_CLASS", EMissingGroupWithin: "WBEM_E_MISSING_GROUP_WITHIN",
	EMissingAggregationList: "WBEM_E_MISSING_AGGREGATION_LIST", EPropertyNotAnObject: "WBEM_E_PROPERTY_NOT_AN_OBJECT",
	EAggregatingByObject: "WBEM_E_AGGREGATING_BY_OBJECT", EUninterpretableProviderQuery: "WBEM_E_UNINTERPRETABLE_PROVIDER_QUERY",
	EBackupRestoreWinmgmtRunning: "WBEM_E_BACKUP_RESTORE_WINMGMT_RUNNING", EQueueOverflow: "WBEM_E_QUEUE_OVERFLOW",
	EPrivilegeNotHeld: "WBEM_E_PRIVILEGE_NOT_HELD", EInvalidOperator: "WBEM_E_INVALID_OPERATOR",
	ELocalCredentials: "WBEM_E_LOCAL_CREDENTIALS", ECannotBeAbstract: "WBEM_E_CANNOT_BE_ABSTRACT",
	EAmendedObject: "WBEM_E_AMENDED_OBJECT", EClientTooSlow: "WBEM_E_CLIENT_TOO_SLOW",
	ENullSecurityDescriptor: "WBEM_E_NULL_SECURITY_DESCRIPTOR", ETimedOut: "WBEM_E_TIMED_OUT",
	EInvalidAssociation: "WBEM_E_INVALID_ASSOCIATION", EAmbiguousOperation: "WBEM_E_AMBIGUOUS_OPERATION",
	EQuotaViolation: "WBEM_E_QUOTA_VIOLATION", ETransactionConflict: "WBEM_E_TRANSACTION_CONFLICT",
	EForcedRollback: "WBEM_E_FORCED_ROLLBACK", EUnsupportedLocale: "WBEM_E_UNSUPPORTED_LOCALE",
	EHandleOutOfDate: "WBEM_E_HANDLE_OUT_OF_DATE", EConnectionFailed: "WBEM_E_CONNECTION_FAILED",
	EInvalidHandleRequest: "WBEM_E_INVALID_HANDLE_REQUEST", EPropertyNameTooWide: "WBEM_E_PROPERTY_NAME_TOO_WIDE",
	EClassNameTooWide: "WBEM_E_CLASS_NAME_TOO_WIDE", EMethodNameTooWide: "WBEM_E_METHOD_NAME_TOO_WIDE",
	EQualifierNameTooWide: "WBEM_E_QUALIFIER_NAME_TOO_WIDE", ERerunCommand: "WBEM_E_RERUN_COMMAND",
	EDatabaseVerMismatch: "WBEM_E_DATABASE_VER_MISMATCH", EVetoDelete: "WBEM_E_VETO_DELETE",
	EVetoPut: "WBEM_E_VETO_PUT", EInvalidLocale: "WBEM_E_INVALID_LOCALE",
	EProviderSuspended: "WBEM_E_PROVIDER_SUSPENDED", ESynchronizationRequired: "WBEM_E_SYNCHRONIZATION_REQUIRED",
	ENoSchema: "WBEM_E_NO_SCHEMA", EProviderAlreadyRegistered: "WBEM_E_PROVIDER_ALREADY_REGISTERED",
	EProviderNotRegistered: "WBEM_E_PROVIDER_NOT_REGISTERED", EFatalTransportError: "WBEM_E_FATAL_TRANSPORT_ERROR",
	EEncryptedConnectionRequired: "WBEM_E_ENCRYPTED_CONNECTION_REQUIRED", EProviderTimedOut: "WBEM_E_PROVIDER_TIMED_OUT",
	ENoKey: "WBEM_E_NO_KEY", EProviderDisabled: "WBEM_E_PROVIDER_DISABLED",
	EssRegistrationTooBroad: "WBEMESS_E_REGISTRATION_TOO_BROAD", EssRegistrationTooPrecise: "WBEMESS_E_REGISTRATION_TOO_PRECISE",
}

var statusByName = func() map[string]Status {
	m := make(map[string]Status, len(statusNames))
	for s, n := range statusNames {
		m[n] = s
	}
	return m
}()

// String returns the WMI name of the status, e.g. "WBEM_E_NOT_FOUND", or the
// hexadecimal value for a code wbemd does not name.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// IsError reports whether s is a failure code (severity bit set).
func (s Status) IsError() bool { return s&0x80000000 != 0 }

// ParseStatus looks a status up by its WMI name ("WBEM_E_NOT_FOUND") or by
// its hexadecimal value ("0x80041002").
func ParseStatus(name string) (Status, bool) {
	if s, ok := statusByName[strings.ToUpper(name)]; ok {
		return s, true
	}
	var v uint32
	if _, err := fmt.Sscanf(name, "0x%x", &v); err == nil {
		return Status(v), true
	}
	return 0, false
}

// Error is a WBEM failure: a status plus the fields of WMI's __ExtendedStatus
// object (the seed's GetErrorInfo). Every failure that leaves wbemd's core is
// an *Error.
type Error struct {
	Status      Status // the WBEM_E_* code
	Description string // human-readable detail
	Operation   string // the operation that failed, e.g. "PutInstance"
	Parameter   string // the offending argument (ParameterInfo), e.g. a class or property name
	Provider    string // the provider that failed; "wbemd" when no provider was involved
	Err         error  // an underlying cause, if any
}

// Errorf returns an *Error with status s and a formatted description.
// A %w verb in format sets Err.
func Errorf(s Status, format string, args ...any) *Error {
	wrapped := fmt.Errorf(format, args...)
	e := &Error{Status: s, Description: wrapped.Error()}
	if u := errors.Unwrap(wrapped); u != nil {
		e.Err = u
	}
	return e
}

// Error formats the error as "WBEM_E_NOT_FOUND (0x80041002): description".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (0x%08X)", e.Status, uint32(e.Status))
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same status, so that
// errors.Is(err, &cim.Error{Status: cim.ENotFound}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && t.Description == "" && t.Operation == ""
}

// WithOp returns a copy of e with Operation set when it was empty.
func (e *Error) WithOp(op string) *Error {
	c := *e
	if c.Operation == "" {
		c.Operation = op
	}
	return &c
}

// WithParam returns a copy of e with Parameter set when it was empty.
func (e *Error) WithParam(p string) *Error {
	c := *e
	if c.Parameter == "" {
		c.Parameter = p
	}
	return &c
}

// StatusOf returns the WBEM status of err: SNoError for nil, the status of
// an *Error anywhere in the chain, and EFailed for any other error.
func StatusOf(err error) Status {
	if err == nil {
		return SNoError
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return EFailed
}

// AsError converts any error to an *Error: an *Error in the chain is
// returned as is, anything else becomes WBEM_E_FAILED wrapping it.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: EFailed, Description: err.Error(), Err: err}
}
