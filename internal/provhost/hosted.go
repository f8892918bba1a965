package provhost

import (
	"context"
	"encoding/json"
	"iter"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/provider/wire"
	"github.com/wbemd/wbemd/wql"
)

// entry is one registered provider the supervisor has been asked for.
type entry struct {
	reg  *cimom.Registration
	slot *slot

	calls, errors atomic.Uint64
	lastError     atomic.Value // string

	entryEvents
}

// hosted is an entry as cimom calls it.
type hosted struct {
	s *Supervisor
	e *entry
}

var _ cimom.HostedProvider = (*hosted)(nil)

// begin starts a call of the provider on its host.
func (h *hosted) begin(ctx context.Context, m *wire.Message, call *cimom.ProviderCall, window int) (*callHandle, error) {
	h.s.mu.Lock()
	reg, sl := h.e.reg, h.e.slot
	h.s.mu.Unlock()
	h.e.calls.Add(1)
	caller, err := h.s.callerOf(call.Caller, reg.Name)
	if err != nil {
		return nil, h.failed(err)
	}
	m.Caller = caller
	timeout := reg.OperationTimeout
	if timeout <= 0 {
		timeout = h.s.opts.Timeout
	}
	// The host's start and the call share the call's deadline.
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	m.Provider, m.Namespace, m.Class, m.ProviderClass = reg.Name, call.Namespace, call.Class.Class, call.ProviderClass
	for {
		p, err := sl.acquire(sctx)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				err = callerGone(ctx)
			case sctx.Err() != nil:
				err = timedOut(reg.Name, timeout)
			}
			return nil, h.failed(err)
		}
		if !p.serves(reg.Name) {
			return nil, h.failed(cim.Errorf(cim.EProviderNotFound, "the host %s started, but does not serve provider %s", reg.Command, reg.Name))
		}
		c, err := p.begin(ctx, m, reg.Name, timeout-time.Since(start), window)
		if err == errUndelivered {
			continue // the host died before the call reached it: the next one gets it
		}
		if err != nil {
			return nil, h.failed(err)
		}
		return c, nil
	}
}

// failed counts an error and names the provider in it: as ProviderName,
// and in the description of wbemd's own errors about it (doors that carry
// only a description still tell which provider failed).
func (h *hosted) failed(err error) error {
	if err == nil {
		return nil
	}
	h.e.errors.Add(1)
	h.e.lastError.Store(err.Error())
	ce, ok := err.(*cim.Error)
	if !ok || ce.Provider != "" {
		return err
	}
	cp := *ce
	cp.Provider = h.e.reg.Name
	if !strings.Contains(cp.Description, h.e.reg.Name) {
		cp.Description = "provider " + h.e.reg.Name + ": " + cp.Description
	}
	return &cp
}

// finish waits for a call's last message: its result, or its error.
func (h *hosted) finish(ctx context.Context, c *callHandle) (*wire.Message, error) {
	m, err := c.next(ctx)
	if err != nil {
		return nil, h.failed(err)
	}
	if m.Type == wire.TypeInstance {
		c.cancel()
		return nil, h.failed(cim.Errorf(cim.EProviderFailure, "provider %s streamed an instance for a call that has one answer", h.e.reg.Name))
	}
	if m.Type == wire.TypeError {
		return nil, h.failed(answerError(m))
	}
	return m, nil
}

// answerError is the error a host answered: its status if it is a WBEM
// error code, else PROVIDER_FAILURE.
func answerError(m *wire.Message) error {
	st, ok := cim.ParseStatus(m.Status)
	if !ok || !st.IsError() {
		return cim.Errorf(cim.EProviderFailure, "the provider failed with status %q: %s", m.Status, m.Description)
	}
	return &cim.Error{Status: st, Description: m.Description}
}

// decode types an object the provider sent against call's classes.
func (h *hosted) decode(raw json.RawMessage, call *cimom.ProviderCall) (*cim.Object, error) {
	o, err := cimjson.DecodeSpawned(raw, call.Class.Class, call.Lookup, call.Spawn)
	if err != nil {
		e := cim.AsError(err)
		return nil, h.failed(cim.Errorf(cim.EProviderFailure, "provider %s answered an object that does not fit class %s: %s", h.e.reg.Name, call.Class.Class, e.Description))
	}
	return o, nil
}

// keysOf is the flat JSON form of a path's keys.
func keysOf(path *cim.ObjectPath) json.RawMessage {
	o := &cim.Object{Genus: cim.GenusInstance, Class: path.Class}
	for _, k := range path.Keys {
		o.Properties = append(o.Properties, cim.Property{Name: k.Name, Type: k.Value.Type, Value: k.Value})
	}
	return cimjson.Encode(o, false)
}

func (h *hosted) GetInstance(ctx context.Context, call *cimom.ProviderCall, path *cim.ObjectPath) (*cim.Object, error) {
	c, err := h.begin(ctx, &wire.Message{Type: wire.TypeGet, Path: path.RelPath(), Keys: keysOf(path)}, call, 0)
	if err != nil {
		return nil, err
	}
	m, err := h.finish(ctx, c)
	if err != nil {
		return nil, err
	}
	if m.Instance == nil {
		return nil, h.failed(cim.Errorf(cim.EProviderFailure, "provider %s answered GetObject without an instance", h.e.reg.Name))
	}
	return h.decode(m.Instance, call)
}

func (h *hosted) EnumerateInstances(ctx context.Context, call *cimom.ProviderCall, q *wql.Select) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		m := &wire.Message{Type: wire.TypeEnumerate}
		if q != nil {
			m.Type, m.Query = wire.TypeQuery, queryOf(q)
		}
		c, err := h.begin(ctx, m, call, h.s.opts.Window)
		if err != nil {
			yield(nil, err)
			return
		}
		defer c.cancel()
		for {
			m, err := c.next(ctx)
			if err != nil {
				yield(nil, h.failed(err))
				return
			}
			switch m.Type {
			case wire.TypeResult:
				return
			case wire.TypeError:
				yield(nil, h.failed(answerError(m)))
				return
			}
			o, err := h.decode(m.Instance, call)
			if !yield(o, err) || err != nil {
				return
			}
		}
	}
}

func (h *hosted) PutInstance(ctx context.Context, call *cimom.ProviderCall, inst *cim.Object, flags cimom.Flags) (*cim.Object, error) {
	m := &wire.Message{Type: wire.TypePut, Instance: cimjson.Encode(inst, false), Properties: call.Properties,
		CreateOnly: flags&cimom.FlagCreateOnly != 0, UpdateOnly: flags&cimom.FlagUpdateOnly != 0}
	c, err := h.begin(ctx, m, call, 0)
	if err != nil {
		return nil, err
	}
	if m, err = h.finish(ctx, c); err != nil || m.Instance == nil {
		return nil, err
	}
	return h.decode(m.Instance, call)
}

func (h *hosted) DeleteInstance(ctx context.Context, call *cimom.ProviderCall, path *cim.ObjectPath) error {
	c, err := h.begin(ctx, &wire.Message{Type: wire.TypeDelete, Path: path.RelPath(), Keys: keysOf(path)}, call, 0)
	if err != nil {
		return err
	}
	_, err = h.finish(ctx, c)
	return err
}

func (h *hosted) ExecMethod(ctx context.Context, call *cimom.ProviderCall, target *cim.ObjectPath, method *cim.Method, in *cim.Object) (*cim.Object, error) {
	m := &wire.Message{Type: wire.TypeInvoke, Method: method.Name, Path: target.RelPath()}
	if !target.IsClass() {
		m.Keys = keysOf(target)
	}
	if in != nil {
		m.In = cimjson.Encode(in, false)
	}
	c, err := h.begin(ctx, m, call, 0)
	if err != nil {
		return nil, err
	}
	if m, err = h.finish(ctx, c); err != nil {
		return nil, err
	}
	if m.Out == nil {
		return nil, nil
	}
	return h.outParameters(m.Out, call, method)
}

// outParameters types the out-parameters a provider answered as method
// declares them.
func (h *hosted) outParameters(raw json.RawMessage, call *cimom.ProviderCall, method *cim.Method) (*cim.Object, error) {
	params := &cim.Object{Genus: cim.GenusClass, Class: cimom.ParametersClass}
	if method.ReturnType != cim.TypeNone {
		params.Properties = append(params.Properties, cim.Property{Name: cimom.ReturnValue, Type: method.ReturnType, Value: cim.Null(method.ReturnType)})
	}
	for _, prm := range method.Parameters {
		if cim.HasTrueQualifier(prm.Qualifiers, "Out") {
			params.Properties = append(params.Properties, cim.Property{Name: prm.Name, Type: prm.Type, RefClass: prm.RefClass, Value: cim.Null(prm.Type)})
		}
	}
	out, err := cimjson.Decode(raw, cimom.ParametersClass, func(name string) (*cim.Object, error) {
		if cim.EqualFold(name, cimom.ParametersClass) {
			return params, nil
		}
		return call.Lookup(name)
	})
	if err != nil {
		return nil, h.failed(cim.Errorf(cim.EProviderFailure, "provider %s answered out-parameters of %s that do not fit its declaration: %s", h.e.reg.Name, method.Name, cim.AsError(err).Description))
	}
	return out, nil
}
