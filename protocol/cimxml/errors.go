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

// writeError writes an ERROR element for a failed operation.
func writeError(w *writer, method string, err error) {
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
	case code == errNoSuchProperty && (method == "CreateInstance" || method == "ModifyInstance"):
		code = errInvalidParameter // DSP0200: an unrecognized property is an invalid parameter there
	}
	w.s(`<ERROR CODE="` + strconv.Itoa(code) + `"`)
	w.attr("DESCRIPTION", e.Status.String()+": "+e.Description)
	w.s("></ERROR>")
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
