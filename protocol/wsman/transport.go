package wsman

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/enumtable"
	"github.com/wbemd/wbemd/internal/httpstack"
)

// Defaults of the Handler's limits.
const (
	DefaultNamespace       = "root/cimv2"
	DefaultMaxEnvelopeSize = 512000 // WinRM's MaxEnvelopeSizekb = 500
	DefaultEnumExpiry      = 10 * time.Minute
	DefaultMaxEnumerations = 1024
	minEnvelopeSize        = 8192 // DSP0226: a smaller MaxEnvelopeSize is refused
)

// Handler serves WS-Management on POST /wsman. It is served behind the
// filters of package httpstack (see Door), which authenticate the caller,
// bound the body (a larger one is a wsman:EncodingLimit fault) and the
// time, and log and count each request.
type Handler struct {
	Connector cimom.Connector // opens the namespace of each operation for its caller
	// Host is the server's host name, the Machine of faults (default
	// os.Hostname()).
	Host string
	// Namespace is the CIM namespace of DMTF-style resource URIs sent
	// without a __cimnamespace selector (default root/cimv2).
	Namespace string
	// AnonymousIdentify lets Identify be answered without credentials.
	AnonymousIdentify bool
	// MaxEnvelopeSize bounds answers when the client gives no
	// wsman:MaxEnvelopeSize (default DefaultMaxEnvelopeSize).
	MaxEnvelopeSize int
	// EnumerationExpiry is how long an enumeration context lives unused
	// when the client asks for no expiry (default 10 minutes).
	EnumerationExpiry time.Duration
	// MaxEnumerations bounds the open enumeration contexts and event
	// subscriptions (default 1,024).
	MaxEnumerations int
	// Events serves WS-Eventing subscriptions (nil: Subscribe answers
	// ActionNotSupported).
	Events EventSource
	// Subscriptions keeps WS-Eventing subscriptions across restarts
	// (durable.go; nil: they live in memory). Call Restore before serving.
	Subscriptions SubscriptionStore
	// Node names this wbemd among the nodes that share a store (stable
	// across its restarts): Restore reopens only the subscriptions it
	// made.
	Node string
	// PushClient sends the events of push subscriptions (default
	// http.DefaultClient); Log receives their ends (default slog.Default()).
	PushClient *http.Client
	Log        *slog.Logger

	once    sync.Once
	machine string
	enums   enumtable.Table[*enumContext]
	closing atomic.Bool // Close was called
}

// Door declares the handler to the filters: its operations (the names of
// the op table), and the requests it answers without credentials: any but
// a POST (refused with 405) and, with AnonymousIdentify, a POST that may
// be an Identify (the handler refuses any other).
func (h *Handler) Door() httpstack.Door {
	names := []string{identifyOp.name, invokeOp.name}
	for _, o := range ops {
		if o.name != "" {
			names = append(names, o.name)
		}
	}
	return httpstack.Door{Name: "wsman", MetricsPrefix: "WSMan.", Operations: names,
		Anonymous: func(r *http.Request) bool { return r.Method != http.MethodPost || h.AnonymousIdentify }}
}

func (h *Handler) init() {
	h.once.Do(func() { h.machine = httpstack.HostName(h.Host) })
}

func (h *Handler) namespace() string {
	if h.Namespace != "" {
		return h.Namespace
	}
	return DefaultNamespace
}

// ServeHTTP answers one WS-Management request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "WS-Management takes POST", http.StatusMethodNotAllowed)
		return
	}
	ctx := r.Context()
	p, authed := httpstack.PrincipalFrom(ctx)
	rec := httpstack.RecordFrom(ctx)
	mediaAction, mterr := checkMediaType(r.Header.Get("Content-Type"))
	if errors.Is(mterr, errMediaType) {
		rec.Fail(cim.EInvalidParameter, mterr.Error())
		http.Error(w, mterr.Error(), http.StatusUnsupportedMediaType)
		return
	}
	env, err := decodeEnvelope(r.Body)
	if err == nil {
		err = mterr // a charset fault, answered in the envelope's SOAP version
	}
	if err == nil {
		soapAction := mediaAction
		if v := r.Header.Get("SOAPAction"); v != "" {
			soapAction = v
		}
		err = checkAddressing(env, soapAction)
	}
	if !authed {
		// Only an anonymous Identify gets this far without credentials.
		if err != nil || !env.payload().is(nsWSMID, "Identify") {
			httpstack.Unauthorized(w)
			return
		}
	}
	soap := nsSOAP12
	if env != nil {
		soap = env.soap
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = newFault(faultServiceEnvelopeLimit, "the request is larger than %d bytes", mbe.Limit)
		} else if errors.Is(err, errMalformed) {
			err = newFault(faultSchema, "%v", err)
		}
		h.fail(w, rec, soap, env, "", err)
		return
	}
	req := requests.Get().(*request)
	*req = request{env: env, p: p}
	defer func() {
		*req = request{}
		requests.Put(req)
	}()
	req.maxSize = h.MaxEnvelopeSize
	if req.maxSize <= 0 {
		req.maxSize = DefaultMaxEnvelopeSize
	}
	if env.maxEnvelope > 0 {
		if env.maxEnvelope < minEnvelopeSize {
			h.fail(w, rec, soap, env, "", newFault(faultEncodingLimitValue, "wsman:MaxEnvelopeSize %d is below the %d bytes this service needs", env.maxEnvelope, minEnvelopeSize))
			return
		}
		req.maxSize = env.maxEnvelope
	}
	if env.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, env.timeout)
		defer cancel()
	}
	o, err := h.route(req)
	ns := ""
	if req.res != nil {
		ns = req.res.ns
	}
	rec.SetOperation(o.name, ns)
	if err == nil {
		err = o.serve(h, ctx, w, req)
	}
	if err != nil {
		h.fail(w, rec, soap, env, ns, err)
	}
}

// requests holds requests for reuse: an action does not keep its request
// past its return.
var requests = sync.Pool{New: func() any { return new(request) }}

// writeAnswer sends a complete answer.
func writeAnswer(w http.ResponseWriter, soap string, b []byte) {
	w.Header().Set("Content-Type", contentType(soap))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func contentType(soap string) string {
	if soap == nsSOAP11 {
		return "text/xml;charset=UTF-8"
	}
	return "application/soap+xml;charset=UTF-8"
}

// fail answers a fault, and tells the filters its WBEM status.
func (h *Handler) fail(w http.ResponseWriter, rec *httpstack.Record, soap string, env *envelope, ns string, err error) {
	f := faultOf(err)
	f.ns = ns
	if errors.Is(err, context.DeadlineExceeded) {
		f = newFault(faultTimedOut, "the operation did not complete within its OperationTimeout")
	}
	rec.Fail(f.status, f.kind.sub+": "+f.reason)
	var o out
	relates, has := "", false
	if env != nil {
		relates, has = env.messageID, env.hasMsgID
	}
	writeFault(&o, soap, relates, has, h.machine, f)
	w.Header().Set("Content-Type", contentType(soap))
	w.Header().Set("Content-Length", strconv.Itoa(len(o.b)))
	w.WriteHeader(f.kind.httpCode)
	w.Write(o.b)
}
