package wsman

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cimom"
)

// op is one action of the door: its operation name (logs and metrics),
// what it addresses, and how it is served. Build one with answered or
// streamed, which decode the typed request from the envelope (pure),
// open the resource's namespace for the caller when the action addresses
// one, and run the action.
type op struct {
	name string // "" for an action refused whatever its content
	// resource: the action addresses a resource (wsman:ResourceURI and
	// selectors, required), whose namespace is opened for the caller.
	resource bool
	// allClasses: the resource may be the all-classes URI (a filtered
	// enumeration).
	allClasses bool
	// decode decodes the typed request only, for checks.
	decode func(req *request) error
	// serve decodes the typed request, runs the action and writes its
	// answer.
	serve func(h *Handler, ctx context.Context, w http.ResponseWriter, req *request) error
}

// ops are the actions served, by wsa:Action URI. Two more kinds of action
// are not keyed here: Identify (known by its body; identifyOp) and the
// custom actions <ResourceURI>/<Method> that invoke methods (invokeOp).
var ops = map[string]op{
	actGet:       answered(op{name: "Get", resource: true}, noBody, (*Handler).get),
	actPut:       answered(op{name: "Put", resource: true}, noBody, (*Handler).put),
	actCreate:    answered(op{name: "Create", resource: true}, noBody, (*Handler).create),
	actDelete:    answered(op{name: "Delete", resource: true}, noBody, (*Handler).delete),
	actEnumerate: streamed(op{name: "Enumerate", resource: true, allClasses: true}, decodeEnumerate, (*Handler).enumerate),
	actPull:      streamed(op{name: "Pull"}, decodePull, (*Handler).pull),
	actRelease:   answered(op{name: "Release"}, decodeRelease, (*Handler).release),
	actRenew:     answered(op{}, noBody, notRenewable),
	actGetStatus: answered(op{}, noBody, notRenewable),

	actSubscribe:    answered(op{name: "Subscribe", resource: true, allClasses: true}, decodeSubscribe, (*Handler).subscribe),
	actRenewSub:     answered(op{name: "Renew"}, decodeRenew, (*Handler).renew),
	actGetStatusSub: answered(op{name: "GetStatus"}, decodeIdentified, (*Handler).getStatus),
	actUnsubscribe:  answered(op{name: "Unsubscribe"}, decodeIdentified, (*Handler).unsubscribe),
}

// identifyOp answers WS-Management Identify (wsmid), which has no action.
var identifyOp = answered(op{name: "Identify"}, noBody, (*Handler).identify)

// invokeOp answers a custom action <ResourceURI>/<Method>.
var invokeOp = answered(op{name: "Invoke", resource: true}, noBody, (*Handler).invoke)

// none is the typed request of an action whose body the action reads
// itself, if at all.
type none struct{}

// noBody decodes nothing.
func noBody(*request) (none, error) { return none{}, nil }

// answered makes the op of an action answered in one piece, within the
// envelope limit.
func answered[T any](o op, decode func(*request) (T, error), run func(h *Handler, ctx context.Context, req *request, r T) (*out, error)) op {
	prepare := typed(&o, decode)
	o.serve = func(h *Handler, ctx context.Context, w http.ResponseWriter, req *request) error {
		r, err := prepare(h, ctx, req)
		if err != nil {
			return err
		}
		a, err := run(h, ctx, req, r)
		if err == nil && len(a.b) > req.maxSize {
			err = newFault(faultEncodingLimit, "the answer (%d bytes) does not fit the envelope limit of %d bytes", len(a.b), req.maxSize)
		}
		if err == nil {
			writeAnswer(w, req.env.soap, a.b)
		}
		if a != nil && cap(a.b) <= 1<<20 {
			outs.Put(a)
		}
		return err
	}
	return o
}

// streamed makes the op of an action whose run writes its answer itself
// (streaming it when it is long).
func streamed[T any](o op, decode func(*request) (T, error), run func(h *Handler, ctx context.Context, w http.ResponseWriter, req *request, r T) error) op {
	prepare := typed(&o, decode)
	o.serve = func(h *Handler, ctx context.Context, w http.ResponseWriter, req *request) error {
		r, err := prepare(h, ctx, req)
		if err != nil {
			return err
		}
		return run(h, ctx, w, req, r)
	}
	return o
}

// typed sets o's decode from the decoder of its typed request, and
// returns what each request goes through before the action runs: the
// typed decoding, then the opening of the resource's namespace.
func typed[T any](o *op, decode func(*request) (T, error)) func(h *Handler, ctx context.Context, req *request) (T, error) {
	o.decode = func(req *request) error {
		_, err := decode(req)
		return err
	}
	return func(h *Handler, ctx context.Context, req *request) (T, error) {
		r, err := decode(req)
		if err == nil {
			err = h.connect(ctx, req)
		}
		if dl, ok := ctx.Deadline(); ok && err == nil && !time.Now().Before(dl) {
			// An OperationTimeout that passed before the operation
			// starts is wsman:TimedOut, however fast the operation (the
			// context's own timer may not have fired yet).
			err = context.DeadlineExceeded
		}
		return r, err
	}
}

// request is one decoded call with what its action needs. It is valid
// until the action returns (ServeHTTP reuses it).
type request struct {
	env     *envelope
	p       cimom.Principal
	res     *resource      // the resource addressed (nil for an action that addresses none)
	svc     cimom.Services // res's namespace, opened for p
	maxSize int            // the answer limit
}

// connect opens the namespace of the resource the request addresses.
func (h *Handler) connect(ctx context.Context, req *request) error {
	if req.res == nil {
		return nil
	}
	svc, err := h.Connector.Connect(ctx, req.res.ns, req.p)
	if err != nil {
		return err
	}
	req.svc = cimom.Localized(svc, req.env.locale())
	return nil
}

// route finds the op of a request and checks the headers it needs: the
// op's name is the operation's even when a header is missing.
func (h *Handler) route(req *request) (op, error) {
	env := req.env
	if env.payload().is(nsWSMID, "Identify") {
		return identifyOp, nil
	}
	if !env.hasAction || env.action == "" {
		return op{}, newFault(faultHeaderRequired, "the request has no wsa:Action")
	}
	if !env.hasMsgID {
		return op{}, newFault(faultHeaderRequired, "the request has no wsa:MessageID")
	}
	o, ok := ops[env.action]
	if !ok {
		if !env.hasURI || !strings.HasPrefix(env.action, env.resourceURI+"/") || strings.Contains(env.action[len(env.resourceURI)+1:], "/") {
			return op{}, newFault(faultActionNotSupported, "the action %s is not supported (a method is invoked with the action <ResourceURI>/<Method>)", env.action)
		}
		o = invokeOp
	}
	if !o.resource {
		return o, nil
	}
	if !env.hasURI {
		return o, newFault(faultInvalidResourceURI, "the request has no wsman:ResourceURI")
	}
	res, err := parseResource(env.resourceURI, env.selectors, h.namespace())
	if err != nil {
		return o, err
	}
	if res.all && !o.allClasses {
		return o, newFault(faultInvalidResourceURI, "%s names no class: the all-classes URI serves filtered enumerations only", env.resourceURI)
	}
	req.res = res
	return o, nil
}

// notRenewable refuses WS-Enumeration's Renew and GetStatus.
func notRenewable(_ *Handler, _ context.Context, req *request, _ none) (*out, error) {
	return nil, newFault(faultActionNotSupported, "%s is not supported: enumeration contexts are renewed by each Pull", req.env.action)
}
