package cimom

import (
	"context"
	"iter"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// HostedProvider is a provider that a ProviderHost runs. cimom calls it
// only for what its registration supports, and checks what it answers:
// the class of every instance (the class of the call or a subclass), and
// the keys of an instance it was asked for.
type HostedProvider interface {
	// GetInstance returns the instance at path.
	GetInstance(ctx context.Context, call *ProviderCall, path *cim.ObjectPath) (*cim.Object, error)
	// EnumerateInstances streams the instances of call.Class; with q, the
	// provider may narrow them to those q selects (cimom filters again).
	EnumerateInstances(ctx context.Context, call *ProviderCall, q *wql.Select) iter.Seq2[*cim.Object, error]
	// PutInstance writes inst and returns it as the provider changed it
	// (nil when unchanged).
	PutInstance(ctx context.Context, call *ProviderCall, inst *cim.Object, flags Flags) (*cim.Object, error)
	// DeleteInstance deletes the instance at path.
	DeleteInstance(ctx context.Context, call *ProviderCall, path *cim.ObjectPath) error
	// ExecMethod runs method on target (a class path for a static
	// method) with in, typed as MethodProvider's are.
	ExecMethod(ctx context.Context, call *ProviderCall, target *cim.ObjectPath, method *cim.Method, in *cim.Object) (*cim.Object, error)
}

// ProviderCall is what a hosted provider's call is about.
type ProviderCall struct {
	Namespace string
	Class     *cim.Object // the class of the call, resolved; read-only
	// ProviderClass is the class whose Provider qualifier binds the
	// provider: Class or an ancestor (the top of a put chain, or the
	// class a dynamic subclass inherits its provider from).
	ProviderClass string
	// Properties lists the properties of a partial update
	// (__PUT_EXT_PROPERTIES); nil for a whole instance.
	Properties []string
	// Lookup resolves a class of Namespace, to type what the provider
	// answers; the class is shared and read-only.
	Lookup func(class string) (*cim.Object, error)
	// Caller is the principal the call is made for (see CallerOf); its
	// Name is empty when the call is not made for a Services operation.
	Caller Principal
	// Spawn makes a new instance of a class Lookup returned, as its
	// SpawnInstance does, with the qualifiers from the class shared by
	// the instances of the class (read-only: see cim.Template).
	Spawn func(cls *cim.Object) (*cim.Object, error)
}

// InstanceQuerier is implemented by providers that take a data query:
// ExecQuery streams the instances of class that q may select (cimom
// filters the results again).
type InstanceQuerier interface {
	ExecQuery(ctx context.Context, ns, class string, q *wql.Select, wctx *Context) iter.Seq2[*cim.Object, error]
}

// hostedProvider is a registered provider run by the host: it implements
// the provider interfaces, applying the registration's Enabled and
// Supports* rules before calling the host.
type hostedProvider struct {
	c   *CIMOM
	reg *Registration
	hp  HostedProvider // nil when no host runs in this process
}

var (
	_ InstanceProvider   = (*hostedProvider)(nil)
	_ InstanceGetter     = (*hostedProvider)(nil)
	_ InstanceDeleter    = (*hostedProvider)(nil)
	_ InstanceEnumerator = (*hostedProvider)(nil)
	_ InstanceQuerier    = (*hostedProvider)(nil)
	_ MethodProvider     = (*hostedProvider)(nil)
)

func (h *hostedProvider) Name() string { return h.reg.Name }

// admit applies Enabled and the capability an operation needs.
func (h *hostedProvider) admit(capable bool, what string) error {
	if !h.reg.Enabled {
		e := cim.Errorf(cim.EProviderDisabled, "provider %s is disabled (__Win32Provider.Enabled is FALSE); `wbem provider enable %s` enables it", h.reg.Name, h.reg.Name)
		e.Provider = h.reg.Name
		return e
	}
	if !capable {
		e := cim.Errorf(cim.EProviderNotCapable, "provider %s is not registered to %s", h.reg.Name, what)
		e.Provider = h.reg.Name
		return e
	}
	if h.hp == nil {
		e := cim.Errorf(cim.EProviderLoadFailure, "provider %s is registered, but no provider host runs in this process: out-of-process providers run in wbemd", h.reg.Name)
		e.Provider = h.reg.Name
		return e
	}
	return nil
}

func (h *hostedProvider) instanceFlag(f func(*InstanceRegistration) bool) bool {
	return h.reg.Instance != nil && f(h.reg.Instance)
}

// call resolves the class of a call.
func (h *hostedProvider) call(ctx context.Context, ns, class string) (*ProviderCall, error) {
	ci, err := h.c.resolve(ctx, ns, class)
	if err != nil {
		return nil, err
	}
	if ci == nil {
		return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", class, ns).WithParam(class)
	}
	bound := ci.cls.Class
	for i, level := -1, ci.cls; i < len(ci.cls.Derivation); i++ {
		if i >= 0 {
			lci, err := h.c.resolve(ctx, ns, ci.cls.Derivation[i])
			if err != nil || lci == nil {
				break
			}
			level = lci.cls
		}
		if cim.EqualFold(ownProviderQualifier(level), h.reg.Name) {
			bound = level.Class
			break
		}
	}
	caller, _ := CallerOf(ctx)
	call := &ProviderCall{Namespace: ns, Class: ci.cls, ProviderClass: bound, Caller: caller, Lookup: func(name string) (*cim.Object, error) {
		ci, err := h.c.resolve(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", name, ns)
		}
		return ci.cls, nil
	}}
	call.Spawn = func(cls *cim.Object) (*cim.Object, error) {
		// The call's class is the usual one; another is resolved again
		// (from the cache) to find its template.
		at := ci
		if cls != ci.cls {
			if at, _ = h.c.resolve(ctx, ns, cls.Class); at == nil || at.cls != cls {
				return cls.SpawnInstance()
			}
		}
		if at.tmpl == nil {
			return cls.SpawnInstance()
		}
		return at.tmpl.Spawn(), nil
	}
	return call, nil
}

// answer checks an instance the provider returned for call: of the
// call's class or a subclass.
func (h *hostedProvider) answer(call *ProviderCall, inst *cim.Object) (*cim.Object, error) {
	if inst == nil || !inst.IsA(call.Class.Class) {
		class := "nothing"
		if inst != nil {
			class = "an instance of " + inst.Class
		}
		return nil, cim.Errorf(cim.EProviderFailure, "provider %s answered %s for class %s", h.reg.Name, class, call.Class.Class)
	}
	inst.Namespace, inst.Server = call.Namespace, h.c.opts.Server
	return inst, nil
}

func (h *hostedProvider) GetInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *Context) (*cim.Object, error) {
	if err := h.admit(h.instanceFlag(func(r *InstanceRegistration) bool { return r.SupportsGet }), "get instances (SupportsGet)"); err != nil {
		return nil, err
	}
	call, err := h.call(ctx, ns, path.Class)
	if err != nil {
		return nil, err
	}
	inst, err := h.hp.GetInstance(ctx, call, path)
	if err != nil {
		return nil, err
	}
	if inst, err = h.answer(call, inst); err != nil {
		return nil, err
	}
	if op, err := inst.ObjectPath(); err != nil || keyString(op) != keyString(path) {
		return nil, cim.Errorf(cim.EProviderFailure, "provider %s answered GetObject of %s with another instance", h.reg.Name, path.RelPath())
	}
	return inst, nil
}

func (h *hostedProvider) EnumerateInstances(ctx context.Context, ns, class string, wctx *Context) iter.Seq2[*cim.Object, error] {
	return h.enumerate(ctx, ns, class, nil)
}

func (h *hostedProvider) ExecQuery(ctx context.Context, ns, class string, q *wql.Select, wctx *Context) iter.Seq2[*cim.Object, error] {
	if !h.instanceFlag(func(r *InstanceRegistration) bool { return r.SupportsQuery("WQL:UnarySelect") }) {
		q = nil
	}
	return h.enumerate(ctx, ns, class, q)
}

func (h *hostedProvider) enumerate(ctx context.Context, ns, class string, q *wql.Select) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		if err := h.admit(h.instanceFlag(func(r *InstanceRegistration) bool { return r.SupportsEnumeration }), "enumerate instances (SupportsEnumeration)"); err != nil {
			yield(nil, err)
			return
		}
		call, err := h.call(ctx, ns, class)
		if err != nil {
			yield(nil, err)
			return
		}
		for inst, err := range h.hp.EnumerateInstances(ctx, call, q) {
			if err == nil {
				inst, err = h.answer(call, inst)
			}
			if !yield(inst, err) || err != nil {
				return
			}
		}
	}
}

func (h *hostedProvider) PutInstance(ctx context.Context, ns string, inst *cim.Object, flags Flags, wctx *Context) error {
	if err := h.admit(h.instanceFlag(func(r *InstanceRegistration) bool { return r.SupportsPut }), "put instances (SupportsPut)"); err != nil {
		return err
	}
	call, err := h.call(ctx, ns, inst.Class)
	if err != nil {
		return err
	}
	if props, present, _ := wctx.stringsValue(PutExtProperties); present {
		call.Properties = append([]string{}, props...)
	}
	out, err := h.hp.PutInstance(ctx, call, inst, flags)
	if err != nil || out == nil {
		return err
	}
	if out, err = h.answer(call, out); err != nil {
		return err
	}
	// The provider's version of the instance replaces the values; the
	// caller checks that the keys stayed.
	for i := range inst.Properties {
		if p, ok := out.Property(inst.Properties[i].Name); ok {
			inst.Properties[i].Value = p.Value
		}
	}
	return nil
}

func (h *hostedProvider) DeleteInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *Context) error {
	if err := h.admit(h.instanceFlag(func(r *InstanceRegistration) bool { return r.SupportsDelete }), "delete instances (SupportsDelete)"); err != nil {
		return err
	}
	call, err := h.call(ctx, ns, path.Class)
	if err != nil {
		return err
	}
	return h.hp.DeleteInstance(ctx, call, path)
}

func (h *hostedProvider) ExecMethod(ctx context.Context, ns string, target *cim.ObjectPath, method *cim.Method, in *cim.Object, wctx *Context) (*cim.Object, error) {
	if err := h.admit(h.reg.Method, "run methods (no __MethodProviderRegistration)"); err != nil {
		return nil, err
	}
	call, err := h.call(ctx, ns, target.Class)
	if err != nil {
		return nil, err
	}
	return h.hp.ExecMethod(ctx, call, target, method, in)
}

// failedProvider stands for a registered provider that cannot be used:
// every call answers its error.
type failedProvider struct {
	name string
	err  error
}

func (f *failedProvider) Name() string { return f.name }
func (f *failedProvider) PutInstance(context.Context, string, *cim.Object, Flags, *Context) error {
	return f.err
}
func (f *failedProvider) GetInstance(context.Context, string, *cim.ObjectPath, *Context) (*cim.Object, error) {
	return nil, f.err
}
func (f *failedProvider) DeleteInstance(context.Context, string, *cim.ObjectPath, *Context) error {
	return f.err
}
func (f *failedProvider) EnumerateInstances(context.Context, string, string, *Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) { yield(nil, f.err) }
}
func (f *failedProvider) ExecQuery(context.Context, string, string, *wql.Select, *Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) { yield(nil, f.err) }
}
func (f *failedProvider) ExecMethod(context.Context, string, *cim.ObjectPath, *cim.Method, *cim.Object, *Context) (*cim.Object, error) {
	return nil, f.err
}
