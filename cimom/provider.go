package cimom

import (
	"context"
	"iter"

	"github.com/wbemd/wbemd/cim"
)

// InstanceProvider is an in-process provider registered for a class. For a
// static class the repository stores the instance after every provider on
// the class path accepted it; for a [Dynamic] class the provider of the
// instance's class (or its nearest ancestor that has one) owns the data and
// nothing is stored.
//
// A provider answers with a *cim.Error to choose the status
// (WBEM_E_VETO_PUT, WBEM_E_PROVIDER_NOT_CAPABLE, ...); any other error is
// reported as WBEM_E_PROVIDER_FAILURE.
type InstanceProvider interface {
	// Name identifies the provider in extended status (ProviderName).
	Name() string
	// PutInstance is called for a create or update of inst.
	PutInstance(ctx context.Context, ns string, inst *cim.Object, flags Flags, wctx *Context) error
}

// InstanceGetter is implemented by providers that serve GetObject of
// dynamic instances.
type InstanceGetter interface {
	GetInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *Context) (*cim.Object, error)
}

// InstanceDeleter is implemented by providers that take part in
// DeleteInstance.
type InstanceDeleter interface {
	DeleteInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *Context) error
}

// InstanceEnumerator is implemented by providers that enumerate dynamic
// instances.
type InstanceEnumerator interface {
	EnumerateInstances(ctx context.Context, ns, class string, wctx *Context) iter.Seq2[*cim.Object, error]
}

// RegisterProvider registers p for class in namespace ns, replacing any
// earlier registration.
func (c *CIMOM) RegisterProvider(ns, class string, p InstanceProvider) error {
	n, err := cim.NormalizeNamespace(ns)
	if err != nil {
		return err
	}
	c.providersMu.Lock()
	defer c.providersMu.Unlock()
	c.providers[cacheKey(n, class)] = p
	return nil
}

// UnregisterProvider removes the provider of class in ns.
func (c *CIMOM) UnregisterProvider(ns, class string) {
	c.providersMu.Lock()
	defer c.providersMu.Unlock()
	delete(c.providers, cacheKey(ns, class))
}

func (c *CIMOM) provider(ns, class string) InstanceProvider {
	c.providersMu.RLock()
	defer c.providersMu.RUnlock()
	return c.providers[cacheKey(ns, class)]
}

// providerChain returns the providers registered on the class path from
// the top-most class down to class, top first.
func (c *CIMOM) providerChain(ns string, cls *cim.Object) []InstanceProvider {
	c.providersMu.RLock()
	defer c.providersMu.RUnlock()
	if len(c.providers) == 0 {
		return nil
	}
	var out []InstanceProvider
	for i := len(cls.Derivation) - 1; i >= -1; i-- {
		name := cls.Class
		if i >= 0 {
			name = cls.Derivation[i]
		}
		if p := c.providers[cacheKey(ns, name)]; p != nil {
			out = append(out, p)
		}
	}
	return out
}

// dynamicProvider returns the provider that owns a dynamic class's
// instances: the one of the class, else of its nearest ancestor.
func (c *CIMOM) dynamicProvider(ns string, cls *cim.Object) InstanceProvider {
	if p := c.provider(ns, cls.Class); p != nil {
		return p
	}
	for _, d := range cls.Derivation {
		if p := c.provider(ns, d); p != nil {
			return p
		}
	}
	return nil
}

// providerError turns a provider's error into a *cim.Error naming it.
func providerError(p InstanceProvider, err error) error {
	return namedProviderError(p.Name(), err)
}

// namedProviderError turns the error of the provider called provider into
// a *cim.Error naming it; an error that is not a *cim.Error is
// WBEM_E_PROVIDER_FAILURE.
func namedProviderError(provider string, err error) error {
	if err == nil {
		return nil
	}
	e, ok := err.(*cim.Error)
	if !ok {
		e = &cim.Error{Status: cim.EProviderFailure, Description: err.Error(), Err: err}
	} else {
		cp := *e
		e = &cp
	}
	if e.Provider == "" {
		e.Provider = provider
	}
	return e
}
