package wsman

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	// MaxEnumerations bounds the open enumeration contexts (default 1,024).
	MaxEnumerations int

	once    sync.Once
	machine string
	enums   enumtable.Table[*enumContext]
}

// operations are the names of the operations served, as route names them.
var operations = []string{"Identify", "Get", "Put", "Create", "Delete", "Enumerate", "Pull", "Release", "Invoke"}

// Door declares the handler to the filters: its operations, and the
// requests it answers without credentials: any but a POST (refused with
// 405) and, with AnonymousIdentify, a POST that may be an Identify (the
// handler refuses any other).
func (h *Handler) Door() httpstack.Door {
	return httpstack.Door{Name: "wsman", MetricsPrefix: "WSMan.", Operations: operations,
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

// request is one decoded call with what its operation needs.
type request struct {
	env     *envelope
	p       cimom.Principal
	op      string
	res     *resource
	maxSize int // the answer limit
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
	env, err := decodeEnvelope(r.Body)
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
		h.fail(w, rec, soap, env, err)
		return
	}
	req := &request{env: env, p: p}
	req.maxSize = h.MaxEnvelopeSize
	if req.maxSize <= 0 {
		req.maxSize = DefaultMaxEnvelopeSize
	}
	if env.maxEnvelope > 0 {
		if env.maxEnvelope < minEnvelopeSize {
			h.fail(w, rec, soap, env, newFault(faultEncodingLimitValue, "wsman:MaxEnvelopeSize %d is below the %d bytes this service needs", env.maxEnvelope, minEnvelopeSize))
			return
		}
		req.maxSize = env.maxEnvelope
	}
	if env.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, env.timeout)
		defer cancel()
	}
	op, err := h.route(req)
	req.op = op
	ns := ""
	if req.res != nil {
		ns = req.res.ns
	}
	rec.SetOperation(op, ns)
	if err == nil {
		switch op {
		case "Enumerate", "Pull":
			err = h.enumerateOrPull(ctx, w, req)
		default:
			var o *out
			o, err = h.call(ctx, req)
			if err == nil && len(o.b) > req.maxSize {
				err = newFault(faultEncodingLimit, "the answer (%d bytes) does not fit the envelope limit of %d bytes", len(o.b), req.maxSize)
			}
			if err == nil {
				writeAnswer(w, soap, o.b)
			}
			if o != nil && cap(o.b) <= 1<<20 {
				outs.Put(o)
			}
		}
	}
	if err != nil {
		h.fail(w, rec, soap, env, err)
	}
}

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
func (h *Handler) fail(w http.ResponseWriter, rec *httpstack.Record, soap string, env *envelope, err error) {
	f := faultOf(err)
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

// route finds the operation of a request and checks the headers it
// needs.
func (h *Handler) route(req *request) (string, error) {
	env := req.env
	if env.payload().is(nsWSMID, "Identify") {
		return "Identify", nil
	}
	if !env.hasAction || env.action == "" {
		return "", newFault(faultHeaderRequired, "the request has no wsa:Action")
	}
	if !env.hasMsgID {
		return "", newFault(faultHeaderRequired, "the request has no wsa:MessageID")
	}
	var op string
	switch env.action {
	case actGet:
		op = "Get"
	case actPut:
		op = "Put"
	case actCreate:
		op = "Create"
	case actDelete:
		op = "Delete"
	case actEnumerate:
		op = "Enumerate"
	case actPull:
		return "Pull", nil
	case actRelease:
		return "Release", nil
	case actRenew, actGetStatus:
		return "", newFault(faultActionNotSupported, "%s is not supported: enumeration contexts are renewed by each Pull", env.action)
	default:
		if env.hasURI && strings.HasPrefix(env.action, env.resourceURI+"/") && !strings.Contains(env.action[len(env.resourceURI)+1:], "/") {
			op = "Invoke"
		} else {
			return "", newFault(faultActionNotSupported, "the action %s is not supported (a method is invoked with the action <ResourceURI>/<Method>)", env.action)
		}
	}
	if !env.hasURI {
		return op, newFault(faultInvalidResourceURI, "the request has no wsman:ResourceURI")
	}
	res, err := parseResource(env.resourceURI, env.selectors, h.namespace())
	if err != nil {
		return op, err
	}
	if res.all && op != "Enumerate" {
		return op, newFault(faultInvalidResourceURI, "%s names no class: the all-classes URI serves filtered enumerations only", env.resourceURI)
	}
	req.res = res
	return op, nil
}

// call runs an operation that answers in one piece.
func (h *Handler) call(ctx context.Context, req *request) (*out, error) {
	switch req.op {
	case "Identify":
		return h.identify(req), nil
	case "Release":
		return h.release(req)
	}
	svc, err := h.Connector.Connect(ctx, req.res.ns, req.p)
	if err != nil {
		return nil, err
	}
	switch req.op {
	case "Get":
		return h.get(ctx, svc, req)
	case "Put":
		return h.put(ctx, svc, req)
	case "Create":
		return h.create(ctx, svc, req)
	case "Delete":
		return h.delete(ctx, svc, req)
	case "Invoke":
		return h.invoke(ctx, svc, req)
	}
	return nil, newFault(faultActionNotSupported, "action %s is not supported", req.env.action)
}

// outs holds answer buffers for reuse.
var outs = sync.Pool{New: func() any { return &out{b: make([]byte, 0, 4096)} }}

// answer starts an answer with the action of the request plus
// "Response".
func answer(req *request, action string) *out {
	o := outs.Get().(*out)
	o.b = o.b[:0]
	o.head(req.env.soap, action, req.env.messageID, req.env.hasMsgID)
	return o
}

// Version is the product version Identify reports.
var Version = "1.0"

func (h *Handler) identify(req *request) *out {
	o := &out{}
	o.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:Envelope xmlns:s="`)
	o.s(req.env.soap)
	o.s(`" xmlns:wsmid="` + nsWSMID + `"><s:Header/><s:Body><wsmid:IdentifyResponse><wsmid:ProtocolVersion>` + nsWSMan +
		`</wsmid:ProtocolVersion><wsmid:ProductVendor>wbemd</wsmid:ProductVendor><wsmid:ProductVersion>`)
	o.text(Version)
	o.s(`</wsmid:ProductVersion><wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic</wsmid:SecurityProfileName><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic</wsmid:SecurityProfileName></wsmid:SecurityProfiles></wsmid:IdentifyResponse>`)
	o.tail()
	return o
}

// get answers WS-Transfer Get: the instance the selectors name.
func (h *Handler) get(ctx context.Context, svc cimom.Services, req *request) (*out, error) {
	path, _, err := instancePath(ctx, svc, req.res)
	if err != nil {
		return nil, err
	}
	inst, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		return nil, err
	}
	o := answer(req, actGet+"Response")
	if req.env.hasFragment {
		if err := writeFragment(o, inst, req.env.fragment); err != nil {
			return nil, err
		}
	} else {
		enc := encoder{res: req.res}
		enc.instance(o, inst, "p", true, 0)
	}
	o.tail()
	return o, nil
}

// put answers WS-Transfer Put. Every Put updates the properties that its
// body names and leaves the others as stored: a FragmentTransfer names
// them in its header, a whole-instance body by its child elements (see
// SEMANTICS.md). The answer is the instance (or fragment) as stored.
func (h *Handler) put(ctx context.Context, svc cimom.Services, req *request) (*out, error) {
	path, cls, err := instancePath(ctx, svc, req.res)
	if err != nil {
		return nil, err
	}
	body := req.env.payload()
	if body == nil {
		return nil, newFault(faultInvalidRepresentation, "Put needs the new representation in its Body")
	}
	var inst *cim.Object
	var names []string
	if req.env.hasFragment {
		inst, names, err = fragmentInstance(ctx, svc, cls, req.env.fragment, body)
	} else {
		inst, names, err = decodeInstance(ctx, svc, cls, body)
	}
	if err != nil {
		return nil, err
	}
	// The instance the body gives: the properties it names (decoding
	// spawned the others with the class's defaults). Its keys must be the
	// selectors'; those it leaves out come from them.
	given := &cim.Object{Genus: cim.GenusInstance, Class: inst.Class, Properties: make([]cim.Property, 0, len(names))}
	for _, n := range names {
		if p, ok := inst.Property(n); ok {
			given.Properties = append(given.Properties, *p)
		}
	}
	// xsi:nil means NULL: Modify writes NULLs as given.
	if err := cimom.Modify(ctx, svc, path, given, names); err != nil {
		if errors.Is(err, cimom.ErrChangedKey) { // WS-Transfer: a representation the resource cannot take
			return nil, newFault(faultInvalidRepresentation, "%s", cim.AsError(err).Description)
		}
		return nil, err
	}
	stored, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		return nil, err
	}
	o := answer(req, actPut+"Response")
	if req.env.hasFragment {
		if err := writeFragment(o, stored, req.env.fragment); err != nil {
			return nil, err
		}
	} else {
		enc := encoder{res: req.res}
		enc.instance(o, stored, "p", true, 0)
	}
	o.tail()
	return o, nil
}

// create answers WS-Transfer Create: the new instance is the body, the
// answer its EPR.
func (h *Handler) create(ctx context.Context, svc cimom.Services, req *request) (*out, error) {
	if len(req.res.keys) > 0 {
		return nil, newFault(faultUnexpectedSelectors, "Create takes no key selectors: the keys are in the body")
	}
	cls, err := getClass(ctx, svc, req.res.class)
	if err != nil {
		return nil, err
	}
	body := req.env.payload()
	if body == nil {
		return nil, newFault(faultInvalidRepresentation, "Create needs the new instance in its Body")
	}
	inst, _, err := decodeInstance(ctx, svc, cls, body)
	if err != nil {
		return nil, err
	}
	rel, err := svc.PutInstance(ctx, inst, cimom.FlagCreateOnly, nil)
	if err != nil {
		return nil, err
	}
	p, err := cim.ParsePath(rel)
	if err != nil {
		return nil, err
	}
	o := answer(req, actCreate+"Response")
	o.s("<wxf:ResourceCreated>")
	enc := encoder{res: req.res}
	class := p.Class
	if class == "" {
		class = inst.Class
	}
	for i, k := range p.Keys {
		if prop, ok := cls.Property(k.Name); ok && prop.Type == cim.TypeReference {
			p.Keys[i].Value.Type = cim.TypeReference
		}
	}
	enc.eprBody(o, req.res.ns, class, p.Keys)
	o.s("</wxf:ResourceCreated>")
	o.tail()
	return o, nil
}

// delete answers WS-Transfer Delete.
func (h *Handler) delete(ctx context.Context, svc cimom.Services, req *request) (*out, error) {
	path, _, err := instancePath(ctx, svc, req.res)
	if err != nil {
		return nil, err
	}
	if err := svc.DeleteInstance(ctx, path, 0, nil); err != nil {
		return nil, err
	}
	o := answer(req, actDelete+"Response")
	o.tail()
	return o, nil
}
