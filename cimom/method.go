package cimom

import (
	"context"
	"errors"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// ParametersClass is the class of in- and out-parameter objects.
const ParametersClass = "__PARAMETERS"

// ReturnValue is the out-parameter that holds a method's return value.
const ReturnValue = "ReturnValue"

// MethodProvider is an in-process provider of a class's methods,
// registered with RegisterMethodProvider. It serves the methods of its
// class and of the subclasses that have no provider of their own.
//
// ExecMethod gets the target (a class path for a static method, else an
// instance path that exists), the method as the target's class declares
// it, and the in-parameters as a __PARAMETERS instance holding every [In]
// parameter (NULL when not given), each of its declared type. It returns
// the out-parameters: ReturnValue and any [Out] parameters; wbemd checks
// their names and converts them to the declared types. A *cim.Error
// chooses the status; any other error is WBEM_E_PROVIDER_FAILURE.
type MethodProvider interface {
	// Name identifies the provider in extended status (ProviderName).
	Name() string
	// ExecMethod runs method on target.
	ExecMethod(ctx context.Context, ns string, target *cim.ObjectPath, method *cim.Method, in *cim.Object, wctx *Context) (*cim.Object, error)
}

// RegisterMethodProvider registers p for the methods of class in namespace
// ns, replacing any earlier registration.
func (c *CIMOM) RegisterMethodProvider(ns, class string, p MethodProvider) error {
	n, err := cim.NormalizeNamespace(ns)
	if err != nil {
		return err
	}
	c.providersMu.Lock()
	defer c.providersMu.Unlock()
	c.methodProviders[cacheKey(n, class)] = p
	return nil
}

// methodProvider returns the provider of cls's methods: the in-process
// one of the class or its nearest ancestor, else the registered provider
// the class's Provider qualifier names, if a __MethodProviderRegistration
// makes it a method provider (nil otherwise: the class has no methods to
// run, as when no provider is registered at all).
func (c *CIMOM) methodProvider(ctx context.Context, ns string, cls *cim.Object) MethodProvider {
	c.providersMu.RLock()
	p := c.methodProviders[cacheKey(ns, cls.Class)]
	for _, d := range cls.Derivation {
		if p != nil {
			break
		}
		p = c.methodProviders[cacheKey(ns, d)]
	}
	c.providersMu.RUnlock()
	if p != nil {
		return p
	}
	if name := c.namedProvider(ctx, ns, cls); name != "" {
		switch rp := c.registeredProvider(ctx, ns, name).(type) {
		case *hostedProvider:
			if rp.reg.Method {
				return rp
			}
		case *failedProvider:
			if cim.StatusOf(rp.err) != cim.EProviderNotFound {
				return rp
			}
		}
	}
	return nil
}

func (s *services) ExecMethod(ctx context.Context, path, method string, in *cim.Object, flags Flags, wctx *Context) (*cim.Object, error) {
	var out *cim.Object
	err := s.call("ExecMethod", func() error {
		if flags&FlagReturnImmediately != 0 {
			return cim.Errorf(cim.EInvalidParameter, "WBEM_FLAG_RETURN_IMMEDIATELY needs a call result (use ExecMethodCall)").WithParam("lFlags")
		}
		if err := checkFlags(flags, 0); err != nil {
			return err
		}
		var err error
		out, err = s.execMethod(ctx, path, method, in, wctx)
		return err
	})
	return out, err
}

func (s *services) ExecMethodCall(ctx context.Context, path, method string, in *cim.Object, flags Flags, wctx *Context) (*CallResult, error) {
	if err := checkFlags(flags, FlagReturnImmediately); err != nil {
		return nil, fail("ExecMethod", err)
	}
	return s.startCall(ctx, "ExecMethod", flags, func(ctx context.Context) (string, *cim.Object, error) {
		o, err := s.execMethod(ctx, path, method, in, wctx)
		return "", o, err
	})
}

// execMethod checks a method call — the target's class, the right, a
// provider, the method, the target instance, the in-parameters — then
// calls the provider and checks its out-parameters.
func (s *services) execMethod(ctx context.Context, path, method string, in *cim.Object, wctx *Context) (*cim.Object, error) {
	if err := s.require(ctx, RightEnable); err != nil {
		return nil, err
	}
	if method == "" {
		return nil, cim.Errorf(cim.EInvalidParameter, "no method named").WithParam("strMethodName")
	}
	t, op, err := s.target(ctx, path)
	if err != nil {
		return nil, err
	}
	ci, err := t.c.resolve(ctx, t.ns, op.Class)
	if err != nil {
		return nil, err
	}
	if ci == nil {
		return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", op.Class, t.ns).WithParam(op.Class)
	}
	// The methods of __SystemSecurity check their own rights (see
	// systemsecurity.go); any other method needs METHOD_EXECUTE.
	sys := cim.EqualFold(ci.cls.Class, systemSecurityClass)
	if !sys {
		if err := t.require(ctx, RightMethodExecute); err != nil {
			return nil, err
		}
	}
	// A class no provider serves has no methods to run, whatever it
	// declares (OpenPegasus's order: CIM_ERR_METHOD_NOT_AVAILABLE first).
	p := t.c.methodProvider(ctx, t.ns, ci.cls)
	if p == nil && !sys {
		return nil, cim.Errorf(cim.EMethodNotImplemented, "no provider serves the methods of %s", ci.cls.Class).WithParam(method)
	}
	m, ok := ci.cls.GetMethod(method)
	if !ok {
		return nil, cim.Errorf(cim.EInvalidMethod, "class %s has no method %s", ci.cls.Class, method).WithParam(method)
	}
	static := cim.HasTrueQualifier(m.Qualifiers, "Static")
	if cim.HasTrueQualifier(m.Qualifiers, "Disabled") {
		return nil, cim.Errorf(cim.EMethodDisabled, "method %s.%s is disabled", ci.cls.Class, m.Name).WithParam(m.Name)
	}
	target := &cim.ObjectPath{Server: t.c.opts.Server, Namespace: t.ns, Class: ci.cls.Class}
	if op.IsClass() {
		if !static {
			return nil, cim.Errorf(cim.EInvalidMethod, "method %s.%s is not static: call it on an instance", ci.cls.Class, m.Name).WithParam(m.Name)
		}
	} else {
		ref, err := t.bindPath(ctx, op)
		if err != nil {
			return nil, err
		}
		if _, err := t.getInstance(ctx, ref, wctx); err != nil {
			return nil, err
		}
		target = ref.path
	}
	args, err := inParameters(m, in)
	if err != nil {
		return nil, err
	}
	var out *cim.Object
	name := providerSelf
	if p != nil {
		name = p.Name()
		out, err = p.ExecMethod(t.forProvider(ctx), t.ns, target, m, args, wctx)
	} else {
		out, err = t.systemSecurity(ctx, m, args)
	}
	if err == nil {
		out, err = outParameters(m, out)
	}
	if err != nil {
		return nil, namedProviderError(name, err)
	}
	return out, nil
}

// inParameters builds the provider's in-parameter object from the
// client's __PARAMETERS object in (see TypeInParameters).
func inParameters(m *cim.Method, in *cim.Object) (*cim.Object, error) {
	var args []Argument
	if in != nil {
		args = make([]Argument, len(in.Properties))
		for i, p := range in.Properties {
			args[i] = Argument{Name: p.Name, Value: p.Value}
		}
	}
	return TypeInParameters(m, args)
}

// An Argument is an in-parameter as a client gave it: its name and its
// value. The value is either Value as given — text, which is read as the
// declared type (numbers and booleans too, as WMI reads a BSTR), or any
// value that converts to it — or, when reading it takes the declaration
// (a wire whose encoding depends on the type), what Decode returns for the
// declared parameter.
type Argument struct {
	Name   string
	Value  cim.Value
	Decode func(prm *cim.Parameter) (cim.Value, error)
}

// TypeInParameters returns the in-parameters of a call to m as the
// __PARAMETERS object a method provider gets: every in-parameter of m
// (see IsInParameter) in declaration order, NULL unless given, each of its
// declared type. Names are matched without regard to case; a name that
// starts with "__" (a system property of a client's __PARAMETERS object)
// is skipped, and a parameter given twice keeps the last value.
//
// Errors name the parameter (cim.Error.Parameter): a name that is not an
// in-parameter of m is WBEM_E_INVALID_METHOD_PARAMETERS; so is a Value
// that does not convert to the declared type. An error of Decode is
// returned as the *cim.Error in its chain, with Parameter set, or as it
// is when it holds none.
func TypeInParameters(m *cim.Method, args []Argument) (*cim.Object, error) {
	obj := parameterSlots(m, "In")
	for _, a := range args {
		if strings.HasPrefix(a.Name, "__") {
			continue
		}
		slot, ok := obj.Property(a.Name)
		if !ok {
			return nil, cim.Errorf(cim.EInvalidMethodParameters, "method %s has no %s %s", m.Name, inWord(m), a.Name).WithParam(a.Name)
		}
		v := a.Value
		if a.Decode != nil {
			var err error
			if v, err = a.Decode(findParameter(m, slot.Name)); err != nil {
				var e *cim.Error
				if errors.As(err, &e) {
					return nil, e.WithParam(slot.Name)
				}
				return nil, err
			}
		}
		if v.IsNull() {
			slot.Value = cim.Null(slot.Type)
			continue
		}
		cv, err := keyValue(v, slot.Type)
		if err != nil {
			return nil, cim.Errorf(cim.EInvalidMethodParameters, "in-parameter %s of %s must be %s: %s", slot.Name, m.Name, slot.Type, cim.AsError(err).Description).WithParam(slot.Name)
		}
		slot.Value = cv
	}
	return obj, nil
}

// findParameter returns m's parameter of that name, or nil.
func findParameter(m *cim.Method, name string) *cim.Parameter {
	for i := range m.Parameters {
		if cim.EqualFold(m.Parameters[i].Name, name) {
			return &m.Parameters[i]
		}
	}
	return nil
}

// inWord names what a call to m may give: "parameter" when m has only
// in-parameters, "in-parameter" when it has out-parameters too (which a
// caller cannot give).
func inWord(m *cim.Method) string {
	for _, prm := range m.Parameters {
		if !IsInParameter(prm) {
			return "in-parameter"
		}
	}
	return "parameter"
}

// outParameters checks a provider's out-parameters against m: only
// ReturnValue and [Out] parameters, each converted to its declared type,
// in declaration order with ReturnValue first.
func outParameters(m *cim.Method, out *cim.Object) (*cim.Object, error) {
	res := parameterSlots(m, "Out")
	if out == nil {
		return res, nil
	}
	for _, got := range out.Properties {
		slot, ok := res.Property(got.Name)
		if !ok {
			return nil, cim.Errorf(cim.EProviderFailure, "the provider returned %s, which is not an out-parameter of %s", got.Name, m.Name)
		}
		if got.Value.IsNull() {
			continue
		}
		v, err := cim.Convert(got.Value, slot.Type)
		if err != nil {
			return nil, cim.Errorf(cim.EProviderFailure, "the provider returned %s of %s as %s, not %s", got.Name, m.Name, got.Value.Type, slot.Type)
		}
		slot.Value = v
	}
	return res, nil
}

// parameterSlots returns a __PARAMETERS object with a NULL property per
// parameter of m in direction dir ("In" or "Out"), in declaration order;
// for "Out", ReturnValue comes first.
func parameterSlots(m *cim.Method, dir string) *cim.Object {
	o := &cim.Object{Genus: cim.GenusInstance, Class: ParametersClass}
	if dir == "Out" && m.ReturnType != cim.TypeNone {
		o.Properties = append(o.Properties, cim.Property{Name: ReturnValue, Type: m.ReturnType, Value: cim.Null(m.ReturnType)})
	}
	for _, prm := range m.Parameters {
		if isParam(prm, dir) {
			o.Properties = append(o.Properties, cim.Property{Name: prm.Name, Type: prm.Type, RefClass: prm.RefClass, Value: cim.Null(prm.Type)})
		}
	}
	return o
}

// IsInParameter reports whether prm is an in-parameter of its method:
// [In], or neither [In] nor [Out]. Doors use it to type what a client
// sends; ExecMethod applies the same rule.
func IsInParameter(prm cim.Parameter) bool { return isParam(prm, "In") }

// isParam reports whether prm carries the qualifier In or Out; a parameter
// with neither is an in-parameter (DSP0004's default for In).
func isParam(prm cim.Parameter, dir string) bool {
	if q, ok := cim.FindQualifier(prm.Qualifiers, dir); ok {
		b, _ := q.Value.V.(bool)
		return b
	}
	if dir == "In" {
		_, out := cim.FindQualifier(prm.Qualifiers, "Out")
		return !out
	}
	return false
}
