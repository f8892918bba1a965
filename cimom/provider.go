package cimom

import (
	"context"
	"iter"

	"github.com/wbemd/wbemd/cim"
)

// InstanceProvider is a provider of a class's instances: one compiled into
// the process (RegisterProvider) or one that a ProviderHost runs, found
// through the repository's registrations (see providerreg.go). For a
// static class the repository stores the instance after every provider on
// the class path accepted it; for a [Dynamic] class the provider of the
// instance's class (or its nearest ancestor that has one) owns the data
// and nothing is stored.
//
// A provider answers with a *cim.Error to choose the status
// (WBEM_E_VETO_PUT, WBEM_E_PROVIDER_NOT_CAPABLE, ...); any other error is
// reported as WBEM_E_PROVIDER_FAILURE. Providers are never called while
// the repository holds a lock, and once per operation.
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
// earlier registration. An in-process provider comes before any provider
// that the class's Provider qualifier names.
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

// providerChain returns the providers on the class path from the top-most
// class down to cls, top first: at each level the in-process provider of
// that class, else the registered provider its own Provider qualifier
// names. A provider serving several levels is called once.
func (c *CIMOM) providerChain(ctx context.Context, ns string, cls *cim.Object) []InstanceProvider {
	var out []InstanceProvider
	for i := len(cls.Derivation) - 1; i >= -1; i-- {
		name, level := cls.Class, cls
		if i >= 0 {
			name, level = cls.Derivation[i], nil
		}
		p := c.provider(ns, name)
		if p == nil {
			if level == nil {
				ci, err := c.resolve(ctx, ns, name)
				if err != nil || ci == nil {
					continue
				}
				level = ci.cls
			}
			if pname := ownProviderQualifier(level); pname != "" {
				p = c.registeredProvider(ctx, ns, pname)
			}
		}
		if p != nil && !containsProvider(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// ownProviderQualifier returns the Provider qualifier a class declares
// itself (not one it inherits).
func ownProviderQualifier(cls *cim.Object) string {
	if q, ok := cim.FindQualifier(cls.Qualifiers, "Provider"); ok && q.Flavor&cim.FlavorOriginPropagated == 0 {
		name, _ := q.Value.V.(string)
		return name
	}
	return ""
}

// namedProvider returns the provider that the Provider qualifier of cls
// or of its nearest ancestor declaring one names ("" for none).
func (c *CIMOM) namedProvider(ctx context.Context, ns string, cls *cim.Object) string {
	if q, ok := cim.FindQualifier(cls.Qualifiers, "Provider"); ok {
		if name, _ := q.Value.V.(string); name != "" {
			return name
		}
	}
	for _, d := range cls.Derivation {
		ci, err := c.resolve(ctx, ns, d)
		if err != nil || ci == nil {
			return ""
		}
		if name := ownProviderQualifier(ci.cls); name != "" {
			return name
		}
	}
	return ""
}

// dynamicProvider returns the provider that owns a dynamic class's
// instances: the in-process one of the class or its nearest ancestor, else
// the registered provider the class's Provider qualifier names; nil when
// there is none.
func (c *CIMOM) dynamicProvider(ctx context.Context, ns string, cls *cim.Object) InstanceProvider {
	if p := c.provider(ns, cls.Class); p != nil {
		return p
	}
	for _, d := range cls.Derivation {
		if p := c.provider(ns, d); p != nil {
			return p
		}
	}
	if name := c.namedProvider(ctx, ns, cls); name != "" {
		return c.registeredProvider(ctx, ns, name)
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
