package cimxml

import (
	"errors"
	"strconv"

	"github.com/wbemd/wbemd/cim"
)

// CIM status codes of DSP0200 (CIM_ERR_*).
const (
	errFailed                    = 1
	errAccessDenied              = 2
	errInvalidNamespace          = 3
	errInvalidParameter          = 4
	errInvalidClass              = 5
	errNotFound                  = 6
	errNotSupported              = 7
	errClassHasChildren          = 8
	errClassHasInstances         = 9
	errInvalidSuperclass         = 10
	errAlreadyExists             = 11
	errNoSuchProperty            = 12
	errTypeMismatch              = 13
	errQueryLanguageNotSupported = 14
	errInvalidQuery              = 15
	errMethodNotAvailable        = 16
	errMethodNotFound            = 17
	errServerLimitsExceeded      = 27
	errServerIsShuttingDown      = 28
)

// CIM status codes of the pull operations (DSP0200 1.3).
const (
	errInvalidEnumerationContext       = 21
	errInvalidOperationTimeout         = 22
	errFilteredEnumerationNotSupported = 25
)

// toCIM is the one table from WBEM_E_* to CIM_ERR_*. A status missing
// here is CIM_ERR_FAILED. fromCIM is its inverse, for the client.
var toCIM = map[cim.Status]int{
	cim.EFailed:                     errFailed,
	cim.EAccessDenied:               errAccessDenied,
	cim.EInvalidNamespace:           errInvalidNamespace,
	cim.EInvalidParameter:           errInvalidParameter,
	cim.EInvalidObjectPath:          errInvalidParameter,
	cim.EInvalidObject:              errInvalidParameter,
	cim.EInvalidContext:             errInvalidParameter,
	cim.EIllegalNull:                errInvalidParameter,
	cim.EInvalidPropertyType:        errInvalidParameter,
	cim.EInvalidQualifier:           errInvalidParameter,
	cim.EInvalidQualifierType:       errInvalidParameter,
	cim.EInvalidFlavor:              errInvalidParameter,
	cim.EInvalidOperation:           errNotSupported,
	cim.EOverrideNotAllowed:         errInvalidParameter,
	cim.ECannotChangeKeyInheritance: errInvalidParameter,
	cim.ECannotBeKey:                errInvalidParameter,
	cim.ECannotBeAbstract:           errInvalidParameter,
	cim.ECannotBeSingleton:          errInvalidParameter,
	cim.ENoKey:                      errInvalidParameter,
	cim.EInvalidClass:               errInvalidClass,
	cim.ENotFound:                   errNotFound,
	cim.ENotSupported:               errNotSupported,
	cim.EProviderNotCapable:         errNotSupported,
	cim.EClassHasChildren:           errClassHasChildren,
	cim.EClassHasInstances:          errClassHasInstances,
	cim.EInvalidSuperclass:          errInvalidSuperclass,
	cim.EAlreadyExists:              errAlreadyExists,
	cim.EInvalidProperty:            errNoSuchProperty,
	cim.ETypeMismatch:               errTypeMismatch,
	cim.EInvalidQueryType:           errQueryLanguageNotSupported,
	cim.EInvalidQuery:               errInvalidQuery,
	cim.EInvalidMethod:              errMethodNotFound,
	cim.EInvalidMethodParameters:    errInvalidParameter,
	cim.EMethodNotImplemented:       errMethodNotAvailable,
	cim.EMethodDisabled:             errMethodNotAvailable,
	cim.EQuotaViolation:             errServerLimitsExceeded,
	cim.EServerTooBusy:              errServerLimitsExceeded,
	cim.EShuttingDown:               errServerIsShuttingDown,
}

var fromCIM = map[int]cim.Status{
	errFailed:                    cim.EFailed,
	errAccessDenied:              cim.EAccessDenied,
	errInvalidNamespace:          cim.EInvalidNamespace,
	errInvalidParameter:          cim.EInvalidParameter,
	errInvalidClass:              cim.EInvalidClass,
	errNotFound:                  cim.ENotFound,
	errNotSupported:              cim.ENotSupported,
	errClassHasChildren:          cim.EClassHasChildren,
	errClassHasInstances:         cim.EClassHasInstances,
	errInvalidSuperclass:         cim.EInvalidSuperclass,
	errAlreadyExists:             cim.EAlreadyExists,
	errNoSuchProperty:            cim.EInvalidProperty,
	errTypeMismatch:              cim.ETypeMismatch,
	errQueryLanguageNotSupported: cim.EInvalidQueryType,
	errInvalidQuery:              cim.EInvalidQuery,
	errMethodNotAvailable:        cim.EMethodNotImplemented,
	errMethodNotFound:            cim.EInvalidMethod,
	errServerLimitsExceeded:      cim.EQuotaViolation,
	errServerIsShuttingDown:      cim.EShuttingDown,
}

// cimCode maps a WBEM status to its CIM_ERR_* code.
func cimCode(s cim.Status) int {
	if c, ok := toCIM[s]; ok {
		return c
	}
	return errFailed
}

// StatusOf maps a CIM_ERR_* code to its WBEM status (WBEM_E_FAILED when
// unknown).
func StatusOf(code int) cim.Status {
	if s, ok := fromCIM[code]; ok {
		return s
	}
	return cim.EFailed
}

// writeError writes an ERROR element for a failed operation. For a
// client that names itself (a User-Agent header) the ERROR carries
// DSP0201's CIM_Error instance and WMI's __ExtendedStatus (the operation,
// parameter, provider and exact WBEM status, which CIM_Error has no
// property for): see errorInstances. sblim-wbemcli, which sends no
// User-Agent, cannot read any child of ERROR and gets its attributes only.
func writeError(w *writer, req *request, err error) {
	var ce *codeError
	if errors.As(err, &ce) {
		w.s(`<ERROR CODE="` + strconv.Itoa(ce.code) + `"`)
		w.attr("DESCRIPTION", ce.msg)
		w.s("></ERROR>")
		return
	}
	e := cim.AsError(err)
	code := cimCode(e.Status)
	switch {
	case code == errNoSuchProperty && (req.method == "CreateInstance" || req.method == "ModifyInstance"):
		code = errInvalidParameter // DSP0200: an unrecognized property is an invalid parameter there
	}
	w.s(`<ERROR CODE="` + strconv.Itoa(code) + `"`)
	w.attr("DESCRIPTION", e.Status.String()+": "+e.Description)
	w.s(">")
	if req.full {
		if e.Operation == "" { // an error of the door itself, before or after its cimom call
			x := *e
			x.Operation, x.Provider = req.method, "wbemd"
			e = &x
		}
		for _, inst := range errorInstances(e, code) {
			w.instance(inst, options{})
		}
	}
	w.s("</ERROR>")
}

// cimErrorNames are the CIMStatusCodeDescription of CIM_Error.
var cimErrorNames = map[int]string{
	errFailed: "CIM_ERR_FAILED", errAccessDenied: "CIM_ERR_ACCESS_DENIED", errInvalidNamespace: "CIM_ERR_INVALID_NAMESPACE",
	errInvalidParameter: "CIM_ERR_INVALID_PARAMETER", errInvalidClass: "CIM_ERR_INVALID_CLASS", errNotFound: "CIM_ERR_NOT_FOUND",
	errNotSupported: "CIM_ERR_NOT_SUPPORTED", errClassHasChildren: "CIM_ERR_CLASS_HAS_CHILDREN",
	errClassHasInstances: "CIM_ERR_CLASS_HAS_INSTANCES", errInvalidSuperclass: "CIM_ERR_INVALID_SUPERCLASS",
	errAlreadyExists: "CIM_ERR_ALREADY_EXISTS", errNoSuchProperty: "CIM_ERR_NO_SUCH_PROPERTY", errTypeMismatch: "CIM_ERR_TYPE_MISMATCH",
	errQueryLanguageNotSupported: "CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED", errInvalidQuery: "CIM_ERR_INVALID_QUERY",
	errMethodNotAvailable: "CIM_ERR_METHOD_NOT_AVAILABLE", errMethodNotFound: "CIM_ERR_METHOD_NOT_FOUND",
	errInvalidEnumerationContext: "CIM_ERR_INVALID_ENUMERATION_CONTEXT", errInvalidOperationTimeout: "CIM_ERR_INVALID_OPERATION_TIMEOUT",
	errFilteredEnumerationNotSupported: "CIM_ERR_FILTERED_ENUMERATION_NOT_SUPPORTED",
	errServerLimitsExceeded:            "CIM_ERR_SERVER_LIMITS_EXCEEDED", errServerIsShuttingDown: "CIM_ERR_SERVER_IS_SHUTTING_DOWN",
}

// errorType is CIM_Error.ErrorType of a status: 7 security, 8
// oversubscription, 10 unsupported operation, 4 software error otherwise.
func errorType(code int) uint16 {
	switch code {
	case errAccessDenied:
		return 7
	case errServerLimitsExceeded:
		return 8
	case errNotSupported, errMethodNotAvailable, errQueryLanguageNotSupported, errFilteredEnumerationNotSupported:
		return 10
	}
	return 4
}

// errorInstances are the instances an ERROR carries for e (answered with
// CIM status code): a CIM_Error (DSP1054's properties: MessageID is the
// WBEM status name, owned by wbemd; ErrorSource the offending parameter)
// and the __ExtendedStatus WMI returns with the same failure.
func errorInstances(e *cim.Error, code int) []*cim.Object {
	str := func(s string) cim.Value {
		if s == "" {
			return cim.Null(cim.TypeString)
		}
		return cim.Value{Type: cim.TypeString, V: s}
	}
	u16 := func(v uint16) cim.Value { return cim.Value{Type: cim.TypeUint16, V: v} }
	u32 := func(v uint32) cim.Value { return cim.Value{Type: cim.TypeUint32, V: v} }
	prop := func(name string, v cim.Value) cim.Property { return cim.Property{Name: name, Type: v.Type, Value: v} }
	source := cim.Null(cim.TypeUint16)
	if e.Parameter != "" {
		source = u16(1) // Other: OtherErrorSourceFormat says which
	}
	cimError := &cim.Object{Genus: cim.GenusInstance, Class: "CIM_Error", Properties: []cim.Property{
		prop("ErrorType", u16(errorType(code))),
		prop("OwningEntity", str("wbemd")),
		prop("MessageID", str(e.Status.String())),
		prop("Message", str(e.Description)),
		prop("PerceivedSeverity", u16(0)),
		prop("ProbableCause", u16(0)),
		prop("ErrorSource", str(e.Parameter)),
		prop("ErrorSourceFormat", source),
		prop("OtherErrorSourceFormat", str(map[bool]string{true: "ParameterInfo"}[e.Parameter != ""])),
		prop("CIMStatusCode", u32(uint32(code))),
		prop("CIMStatusCodeDescription", str(cimErrorNames[code])),
	}}
	ext := &cim.Object{Genus: cim.GenusInstance, Class: "__ExtendedStatus", Properties: []cim.Property{
		prop("Description", str(e.Description)),
		prop("Operation", str(e.Operation)),
		prop("ParameterInfo", str(e.Parameter)),
		prop("ProviderName", str(e.Provider)),
		prop("StatusCode", u32(uint32(e.Status))),
	}}
	return []*cim.Object{cimError, ext}
}

// codeError is an error answered with a CIM status code that has no WBEM
// counterpart.
type codeError struct {
	code int
	msg  string
}

func (e *codeError) Error() string { return e.msg }

// errBadRequest marks an error in the request's XML itself (structure or
// value text): the answer is HTTP 400 with "CIMError: request-not-valid",
// as DSP0200 and OpenPegasus do, not a CIM error.
var errBadRequest = errors.New("request not valid")

// errNotWellFormed marks XML that does not lex (a bad character or entity
// reference, a bad attribute): "CIMError: request-not-well-formed".
// Structural errors (a missing end tag of an element with children) are
// request-not-valid, as OpenPegasus classifies them.
var errNotWellFormed = errors.New("request not well-formed")

// requestError is a malformed request, with the position in its message.
func requestError(format string, args ...any) *cim.Error {
	e := cim.Errorf(cim.EInvalidParameter, format, args...)
	e.Err = errBadRequest
	return e
}
