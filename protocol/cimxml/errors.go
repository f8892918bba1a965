package cimxml

import "github.com/wbemd/wbemd/cim"

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
