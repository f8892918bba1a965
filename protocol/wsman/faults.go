package wsman

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/wbemd/wbemd/cim"
)

// faultKind is one SOAP fault of DSP0226's master fault table: its code
// (Sender or Receiver, or a SOAP-level code), subcode, the action of the
// fault message, a default detail and the HTTP status it is sent with.
// Sender faults go with HTTP 400 and Receiver faults with 500, so that
// clients retrying on 500 (curl --retry, wsl) do not repeat a request
// that cannot succeed.
type faultKind struct {
	code     string // "Sender", "Receiver", "MustUnderstand", "VersionMismatch"
	subNS    string // namespace of the subcode ("" for none)
	sub      string // local name of the subcode
	action   string
	detail   string // a faultDetail URI, or ""
	status   cim.Status
	httpCode int
}

const (
	faultActionWSA   = nsWSA + "/fault"
	faultActionWSMan = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
	faultActionWSEN  = nsWSEN + "/fault"
	faultActionWXF   = nsWXF + "/fault"
	faultDetailBase  = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/"
)

// The faults wbemd sends.
var (
	faultVersionMismatch        = &faultKind{"VersionMismatch", "", "", faultActionWSA, "", cim.EInvalidParameter, http.StatusBadRequest}
	faultMustUnderstand         = &faultKind{"MustUnderstand", "", "", faultActionWSA, "", cim.ENotSupported, http.StatusBadRequest}
	faultSchema                 = &faultKind{"Sender", nsWSMan, "SchemaValidationError", faultActionWSMan, "", cim.EInvalidParameter, http.StatusBadRequest}
	faultInvalidHeader          = &faultKind{"Sender", nsWSA, "InvalidMessageInformationHeader", faultActionWSA, "", cim.EInvalidParameter, http.StatusBadRequest}
	faultHeaderRequired         = &faultKind{"Sender", nsWSA, "MessageInformationHeaderRequired", faultActionWSA, "", cim.EInvalidParameter, http.StatusBadRequest}
	faultActionNotSupported     = &faultKind{"Sender", nsWSA, "ActionNotSupported", faultActionWSA, faultDetailBase + "ActionMismatch", cim.ENotSupported, http.StatusBadRequest}
	faultDestinationUnreachable = &faultKind{"Sender", nsWSA, "DestinationUnreachable", faultActionWSA, "", cim.ENotFound, http.StatusBadRequest}
	faultInvalidResourceURI     = &faultKind{"Sender", nsWSA, "DestinationUnreachable", faultActionWSA, faultDetailBase + "InvalidResourceURI", cim.EInvalidClass, http.StatusBadRequest}
	faultInvalidSelectors       = &faultKind{"Sender", nsWSMan, "InvalidSelectors", faultActionWSMan, "", cim.EInvalidObjectPath, http.StatusBadRequest}
	faultUnexpectedSelectors    = &faultKind{"Sender", nsWSMan, "InvalidSelectors", faultActionWSMan, faultDetailBase + "UnexpectedSelectors", cim.EInvalidObjectPath, http.StatusBadRequest}
	faultInsufficientSelectors  = &faultKind{"Sender", nsWSMan, "InvalidSelectors", faultActionWSMan, faultDetailBase + "InsufficientSelectors", cim.EInvalidObjectPath, http.StatusBadRequest}
	faultSelectorTypeMismatch   = &faultKind{"Sender", nsWSMan, "InvalidSelectors", faultActionWSMan, faultDetailBase + "TypeMismatch", cim.EInvalidObjectPath, http.StatusBadRequest}
	faultDuplicateSelectors     = &faultKind{"Sender", nsWSMan, "InvalidSelectors", faultActionWSMan, faultDetailBase + "DuplicateSelectors", cim.EInvalidObjectPath, http.StatusBadRequest}
	faultEncodingLimit          = &faultKind{"Sender", nsWSMan, "EncodingLimit", faultActionWSMan, faultDetailBase + "MaxEnvelopeSize", cim.EQuotaViolation, http.StatusBadRequest}
	faultEncodingLimitValue     = &faultKind{"Sender", nsWSMan, "EncodingLimit", faultActionWSMan, faultDetailBase + "MinimumEnvelopeLimit", cim.EInvalidParameter, http.StatusBadRequest}
	faultServiceEnvelopeLimit   = &faultKind{"Sender", nsWSMan, "EncodingLimit", faultActionWSMan, faultDetailBase + "ServiceEnvelopeLimit", cim.EQuotaViolation, http.StatusBadRequest}
	faultCharacterLimit         = &faultKind{"Sender", nsWSMan, "EncodingLimit", faultActionWSMan, faultDetailBase + "CharacterSet", cim.EQuotaViolation, http.StatusBadRequest}
	faultInvalidTimeout         = &faultKind{"Sender", nsWSA, "InvalidMessageInformationHeader", faultActionWSA, faultDetailBase + "InvalidValue", cim.EInvalidParameter, http.StatusBadRequest}
	faultInvalidEnumContext     = &faultKind{"Receiver", nsWSEN, "InvalidEnumerationContext", faultActionWSEN, "", cim.ENotFound, http.StatusInternalServerError}
	faultFilterDialect          = &faultKind{"Sender", nsWSEN, "FilterDialectRequestedUnavailable", faultActionWSEN, "", cim.EInvalidQueryType, http.StatusBadRequest}
	faultCannotProcessFilter    = &faultKind{"Sender", nsWSEN, "CannotProcessFilter", faultActionWSEN, "", cim.EInvalidQuery, http.StatusBadRequest}
	faultFilteringRequired      = &faultKind{"Sender", nsWSMan, "UnsupportedFeature", faultActionWSMan, faultDetailBase + "FilteringRequired", cim.ENotSupported, http.StatusBadRequest}
	faultInvalidExpiration      = &faultKind{"Sender", nsWSEN, "InvalidExpirationTime", faultActionWSEN, "", cim.EInvalidParameter, http.StatusBadRequest}
	faultTimedOut               = &faultKind{"Receiver", nsWSMan, "TimedOut", faultActionWSMan, "", cim.ECallCancelled, http.StatusInternalServerError}
	faultAccessDenied           = &faultKind{"Sender", nsWSMan, "AccessDenied", faultActionWSMan, "", cim.EAccessDenied, http.StatusBadRequest}
	faultAlreadyExists          = &faultKind{"Sender", nsWSMan, "AlreadyExists", faultActionWSMan, "", cim.EAlreadyExists, http.StatusBadRequest}
	faultInvalidRepresentation  = &faultKind{"Sender", nsWXF, "InvalidRepresentation", faultActionWXF, faultDetailBase + "InvalidValues", cim.EInvalidParameter, http.StatusBadRequest}
	faultInvalidFragment        = &faultKind{"Sender", nsWXF, "InvalidRepresentation", faultActionWXF, faultDetailBase + "InvalidFragment", cim.EInvalidParameter, http.StatusBadRequest}
	faultInvalidParameter       = &faultKind{"Sender", nsWSMan, "InvalidParameter", faultActionWSMan, "", cim.EInvalidParameter, http.StatusBadRequest}
	faultUnsupportedFeature     = &faultKind{"Sender", nsWSMan, "UnsupportedFeature", faultActionWSMan, "", cim.ENotSupported, http.StatusBadRequest}
	faultEnumerationMode        = &faultKind{"Sender", nsWSMan, "UnsupportedFeature", faultActionWSMan, faultDetailBase + "EnumerationMode", cim.ENotSupported, http.StatusBadRequest}
	faultQuotaLimit             = &faultKind{"Sender", nsWSMan, "QuotaLimit", faultActionWSMan, "", cim.EQuotaViolation, http.StatusBadRequest}
	faultEndpointUnavailable    = &faultKind{"Receiver", nsWSA, "EndpointUnavailable", faultActionWSA, "", cim.EShuttingDown, http.StatusServiceUnavailable}
	faultDeliveryMode           = &faultKind{"Sender", nsWSE, "DeliveryModeRequestedUnavailable", nsWSE + "/fault", "", cim.ENotSupported, http.StatusBadRequest}
	faultEventExpiration        = &faultKind{"Sender", nsWSE, "InvalidExpirationTime", nsWSE + "/fault", "", cim.EInvalidParameter, http.StatusBadRequest}
	faultEventFilter            = &faultKind{"Sender", nsWSE, "EventSourceUnableToProcess", nsWSE + "/fault", "", cim.EInvalidQuery, http.StatusBadRequest}
	faultUnableToRenew          = &faultKind{"Receiver", nsWSE, "UnableToRenew", nsWSE + "/fault", "", cim.ENotFound, http.StatusInternalServerError}
	faultInvalidBookmark        = &faultKind{"Sender", nsWSMan, "InvalidBookmark", faultActionWSMan, faultDetailBase + "Expired", cim.EQueueOverflow, http.StatusBadRequest}
	faultInternal               = &faultKind{"Receiver", nsWSMan, "InternalError", faultActionWSMan, "", cim.EFailed, http.StatusInternalServerError}
)

// byStatus is the one table from WBEM statuses to WS-Man faults. A status
// missing here is wsman:InternalError (Receiver, HTTP 500).
var byStatus = map[cim.Status]*faultKind{
	cim.ENotFound:                   faultDestinationUnreachable,
	cim.EInvalidClass:               faultInvalidResourceURI,
	cim.EInvalidNamespace:           faultInvalidResourceURI,
	cim.EInvalidObjectPath:          faultInvalidSelectors,
	cim.EAccessDenied:               faultAccessDenied,
	cim.EAlreadyExists:              faultAlreadyExists,
	cim.EInvalidParameter:           faultInvalidParameter,
	cim.EInvalidContext:             faultInvalidParameter,
	cim.EInvalidMethodParameters:    faultInvalidParameter,
	cim.EInvalidObject:              faultInvalidRepresentation,
	cim.EInvalidProperty:            faultInvalidRepresentation,
	cim.ETypeMismatch:               faultInvalidRepresentation,
	cim.EIllegalNull:                faultInvalidRepresentation,
	cim.EInvalidPropertyType:        faultInvalidRepresentation,
	cim.EValueOutOfRange:            faultInvalidRepresentation,
	cim.EReadOnly:                   faultInvalidRepresentation,
	cim.ENoKey:                      faultInvalidRepresentation,
	cim.EInvalidQuery:               faultCannotProcessFilter,
	cim.EInvalidSyntax:              faultCannotProcessFilter,
	cim.EInvalidQueryType:           faultFilterDialect,
	cim.EQueryNotImplemented:        faultCannotProcessFilter,
	cim.ENotSupported:               faultUnsupportedFeature,
	cim.EInvalidOperation:           faultUnsupportedFeature,
	cim.EProviderNotCapable:         faultUnsupportedFeature,
	cim.EIllegalOperation:           faultUnsupportedFeature,
	cim.EInvalidMethod:              faultActionNotSupported,
	cim.EMethodNotImplemented:       faultActionNotSupported,
	cim.EMethodDisabled:             faultActionNotSupported,
	cim.EQuotaViolation:             faultQuotaLimit,
	cim.ECallCancelled:              faultTimedOut,
	cim.EShuttingDown:               faultEndpointUnavailable,
	cim.EServerTooBusy:              faultEndpointUnavailable,
	cim.EClassHasChildren:           faultUnsupportedFeature,
	cim.EClassHasInstances:          faultUnsupportedFeature,
	cim.ECannotBeAbstract:           faultInvalidRepresentation,
	cim.EInvalidSuperclass:          faultInvalidRepresentation,
	cim.EUnsupportedPutExtension:    faultInvalidParameter,
	cim.ECannotChangeKeyInheritance: faultInvalidRepresentation,
	cim.EQueueOverflow:              faultInvalidBookmark, // an event subscription the change feed no longer serves
	cim.ENotEventClass:              faultCannotProcessFilter,
}

// Fault is a SOAP fault to answer: its kind, a reason, and the WBEM status
// reported in the WSManFault detail.
type Fault struct {
	kind   *faultKind
	reason string
	status cim.Status
	ext    *cim.Error // the core's failure with its extended status; nil for a fault of the protocol itself
	ns     string     // the namespace of the request, for the __ExtendedStatus resource URI
}

// Error returns the reason with the subcode.
func (f *Fault) Error() string {
	if f.kind.sub != "" {
		return f.kind.sub + ": " + f.reason
	}
	return f.kind.code + ": " + f.reason
}

// newFault returns a fault of kind k with a formatted reason.
func newFault(k *faultKind, format string, args ...any) *Fault {
	return &Fault{kind: k, reason: fmt.Sprintf(format, args...), status: k.status}
}

// faultOf turns any error into the fault to answer: a *Fault is itself;
// any other error is mapped by its WBEM status through byStatus.
func faultOf(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	e := cim.AsError(err)
	k, ok := byStatus[e.Status]
	if !ok {
		k = faultInternal
	}
	reason := e.Description
	if reason == "" {
		reason = e.Status.String()
	}
	return &Fault{kind: k, reason: reason, status: e.Status, ext: e}
}

// writeFault encodes f as a SOAP fault answer in the request's SOAP
// version.
func writeFault(o *out, soap, relatesTo string, hasRelates bool, machine string, f *Fault) {
	o.head(soap, f.kind.action, relatesTo, hasRelates)
	if soap == nsSOAP11 {
		code := "s:Client"
		if f.kind.code == "Receiver" {
			code = "s:Server"
		} else if f.kind.code == "MustUnderstand" || f.kind.code == "VersionMismatch" {
			code = "s:" + f.kind.code
		}
		if f.kind.sub != "" && f.kind.subNS != nsWSMB {
			code = prefixOf(f.kind.subNS) + ":" + f.kind.sub
		}
		o.s("<s:Fault><faultcode>")
		o.s(code)
		o.s("</faultcode><faultstring>")
		o.text(f.reason)
		o.s("</faultstring><detail>")
		faultDetail(o, machine, f)
		o.s("</detail></s:Fault>")
		o.tail()
		return
	}
	o.s("<s:Fault><s:Code><s:Value>s:")
	o.s(f.kind.code)
	o.s("</s:Value>")
	if f.kind.sub != "" {
		o.s("<s:Subcode><s:Value")
		if f.kind.subNS == nsWSMB { // not declared on the envelope
			o.s(` xmlns:wsmb="` + nsWSMB + `"`)
		}
		o.s(">")
		o.s(prefixOf(f.kind.subNS) + ":" + f.kind.sub)
		o.s("</s:Value></s:Subcode>")
	}
	o.s(`</s:Code><s:Reason><s:Text xml:lang="en-US">`)
	o.text(f.reason)
	o.s("</s:Text></s:Reason><s:Detail>")
	faultDetail(o, machine, f)
	o.s("</s:Detail></s:Fault>")
	o.tail()
}

// faultDetail writes the wsman:FaultDetail and the WinRM-style
// WSManFault: Code is the WBEM status as an unsigned decimal HRESULT.
// A failure of the core (or of a provider) adds, in the message, WinRM's
// ProviderFault (MS-WSMV 2.2.4.43) naming the provider, with the WBEM
// error and WMI's __ExtendedStatus (operation, parameter, provider,
// status) as its ExtendedError, as WinRM reports WMI's failures.
func faultDetail(o *out, machine string, f *Fault) {
	if f.kind.detail != "" {
		o.s("<wsman:FaultDetail>")
		o.s(f.kind.detail)
		o.s("</wsman:FaultDetail>")
	}
	o.s(`<f:WSManFault xmlns:f="` + nsWSManF + `" Code="`)
	o.uint(uint64(f.status))
	o.s(`" Machine="`)
	o.attrText(machine)
	o.s(`"><f:Message>`)
	o.text(f.status.String() + ": " + f.reason)
	if e := f.ext; e != nil && e.Provider != "" {
		o.s(`<f:ProviderFault provider="`)
		o.attrText(e.Provider)
		o.s(`" path="wbemd"><f:WSManFault Code="`)
		o.uint(uint64(e.Status))
		o.s(`" Machine="`)
		o.attrText(machine)
		o.s(`"><f:Message>`)
		o.text(e.Description)
		o.s(`</f:Message></f:WSManFault><f:ExtendedError>`)
		ns := f.ns
		if ns == "" {
			ns = "root/cimv2"
		}
		o.s(`<p:__ExtendedStatus xmlns:p="`)
		o.attrText(uriWMI + ns + "/__ExtendedStatus")
		o.s(`" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="p:__ExtendedStatus_Type">`)
		for _, p := range [...][2]string{{"Description", e.Description}, {"Operation", e.Operation}, {"ParameterInfo", e.Parameter}, {"ProviderName", e.Provider}} {
			if p[1] == "" {
				o.s("<p:" + p[0] + ` xsi:nil="true"/>`)
				continue
			}
			o.s("<p:" + p[0] + ">")
			o.text(p[1])
			o.s("</p:" + p[0] + ">")
		}
		o.s("<p:StatusCode>")
		o.uint(uint64(e.Status))
		o.s("</p:StatusCode></p:__ExtendedStatus></f:ExtendedError></f:ProviderFault>")
	}
	o.s("</f:Message></f:WSManFault>")
}

// prefixOf returns the prefix the answers declare for a namespace.
func prefixOf(ns string) string {
	switch ns {
	case nsWSA:
		return "wsa"
	case nsWSMan:
		return "wsman"
	case nsWSEN:
		return "wsen"
	case nsWXF:
		return "wxf"
	case nsWSMB:
		return "wsmb"
	}
	return "s"
}
