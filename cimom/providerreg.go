package cimom

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// Registration is a provider's registration as the repository holds it:
// its __Win32Provider instance with the __InstanceProviderRegistration and
// __MethodProviderRegistration instances that refer to it, in one
// namespace. PROVIDERS.md documents the properties.
type Registration struct {
	Namespace string
	Name      string
	// Revision changes whenever a registration in the namespace is
	// written or deleted.
	Revision int64

	HostingModel     string // as written ("" for NULL: NetworkServiceHostOrSelfHost)
	User             string // the Unix user the host runs as ("" for the hosting model's)
	Command          string // absolute path of the executable
	Arguments        []string
	WorkingDirectory string
	Environment      []string // NAME=value
	Enabled          bool
	// OperationTimeout bounds each call (OperationTimeoutInterval); 0
	// leaves it to the host. InitializationTimeout bounds a host's start
	// (InitializationTimeoutInterval).
	OperationTimeout, InitializationTimeout time.Duration

	Instance *InstanceRegistration // nil: no __InstanceProviderRegistration
	Method   bool                  // a __MethodProviderRegistration exists
}

// InstanceRegistration is an __InstanceProviderRegistration.
type InstanceRegistration struct {
	SupportsGet, SupportsPut, SupportsDelete, SupportsEnumeration bool
	QuerySupportLevels                                            []string
}

// SupportsQuery reports whether QuerySupportLevels holds level
// ("WQL:UnarySelect", ...).
func (r *InstanceRegistration) SupportsQuery(level string) bool {
	return oneOf(r.QuerySupportLevels, level)
}

// oneOf reports whether list holds s, compared without regard to case.
func oneOf(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

// Hosting returns the hosting model's parts: the model ("" for the
// default) and the group after a colon ("" for none).
func (r *Registration) Hosting() (model, group string) {
	model, group, _ = strings.Cut(r.HostingModel, ":")
	return model, group
}

// RunsAsRoot reports whether the host runs as root: User "root", or a
// LocalSystem hosting model.
func (r *Registration) RunsAsRoot() bool {
	model, _ := r.Hosting()
	return r.User == "root" || strings.HasPrefix(strings.ToLower(model), "localsystemhost")
}

// hostingModels are the HostingModel values wbemd accepts (before an
// optional ":group").
var hostingModels = []string{"SelfHost", "LocalSystemHost", "LocalSystemHostOrSelfHost", "NetworkServiceHost",
	"NetworkServiceHostOrSelfHost", "LocalServiceHost"}

// querySupportLevels are the values of QuerySupportLevels.
var querySupportLevels = []string{"WQL:UnarySelect", "WQL:References", "WQL:Associators", "WQL:V1ProviderDefined"}

// The registration classes (their definitions are in providerclasses.go).
const (
	providerClass         = "__Provider"
	win32ProviderClass    = "__Win32Provider"
	providerRegClass      = "__ProviderRegistration"
	instanceProvRegClass  = "__InstanceProviderRegistration"
	methodProvRegClass    = "__MethodProviderRegistration"
	providerRefProperty   = "provider"
	providerStartProperty = "Command"
)

// isRegistrationClass reports whether instances of cls are registrations.
func isRegistrationClass(cls *cim.Object) bool {
	return cls.IsA(providerClass) || cls.IsA(providerRegClass)
}

// ProviderHost runs the providers that registrations name: wbemd's runs
// them as child processes (internal/provhost). cimom finds a provider
// through the registration data, applies the registration's rules
// (Enabled, the Supports* flags), and calls the host's HostedProvider.
type ProviderHost interface {
	// Provider returns the provider reg describes. It is called again
	// whenever the namespace's registrations change, with the new reg; it
	// should not start a process (the first call does).
	Provider(reg *Registration) (HostedProvider, error)
}

// SetProviderHost makes h run the registered providers. Without a host,
// calls to them answer WBEM_E_PROVIDER_LOAD_FAILURE.
func (c *CIMOM) SetProviderHost(h ProviderHost) {
	c.registry.mu.Lock()
	defer c.registry.mu.Unlock()
	c.registry.host = h
	c.registry.entries = nil
}

// registry caches the registered providers by namespace and name, each
// with the namespace's registration revision it was read at.
type registry struct {
	mu      sync.Mutex
	host    ProviderHost
	entries map[nameKey]*regEntry
}

type regEntry struct {
	rev int64
	p   InstanceProvider // *hostedProvider, or *failedProvider
}

// regRevKey is the namespace's registration revision record: every write
// of a registration instance rewrites it in the same transaction, so its
// ModRev changes with any registration.
func regRevKey(ns string) []byte { return key('p', cim.Fold(ns)) }

// registrationRevision returns the ModRev of ns's registration revision
// record (0 before the first registration).
func (c *CIMOM) registrationRevision(ctx context.Context, ns string) (int64, error) {
	kv, found, err := c.st.Get(ctx, regRevKey(ns))
	if err != nil || !found {
		return 0, err
	}
	return kv.ModRev, nil
}

// registeredProvider returns the provider called name in ns, bound to the
// host: a provider whose calls fail with the reason (PROVIDER_NOT_FOUND,
// INVALID_PROVIDER_REGISTRATION, ...) when it cannot be used.
func (c *CIMOM) registeredProvider(ctx context.Context, ns, name string) InstanceProvider {
	rev, err := c.registrationRevision(ctx, ns)
	if err != nil {
		return &failedProvider{name: name, err: err}
	}
	k := cacheKey(ns, name)
	c.registry.mu.Lock()
	e := c.registry.entries[k]
	host := c.registry.host
	c.registry.mu.Unlock()
	if e != nil && e.rev == rev {
		return e.p
	}
	if e != nil {
		c.forgetRegistrations(ns)
	}
	var p InstanceProvider
	reg, err := c.loadRegistration(ctx, ns, name, rev)
	switch {
	case err != nil:
		p = &failedProvider{name: name, err: err}
	case host == nil:
		p = &hostedProvider{c: c, reg: reg}
	default:
		hp, err := host.Provider(reg)
		if err != nil {
			p = &failedProvider{name: reg.Name, err: err}
		} else {
			p = &hostedProvider{c: c, reg: reg, hp: hp}
		}
	}
	c.registry.mu.Lock()
	if c.registry.entries == nil {
		c.registry.entries = map[nameKey]*regEntry{}
	}
	if cur := c.registry.entries[k]; cur == nil || cur.rev <= rev {
		c.registry.entries[k] = &regEntry{rev: rev, p: p}
	}
	c.registry.mu.Unlock()
	return p
}

// forgetRegistrations drops the cached providers of namespace ns: the one
// place that invalidates them, whatever noticed the change.
func (c *CIMOM) forgetRegistrations(ns string) {
	f := cim.Fold(ns)
	c.registry.mu.Lock()
	defer c.registry.mu.Unlock()
	for k := range c.registry.entries {
		if k.ns == f {
			delete(c.registry.entries, k)
		}
	}
}

// ProviderRegistration returns the registration of the provider called
// name in namespace ns: WBEM_E_PROVIDER_NOT_FOUND when there is none,
// WBEM_E_INVALID_PROVIDER_REGISTRATION when it is not usable.
func (c *CIMOM) ProviderRegistration(ctx context.Context, ns, name string) (*Registration, error) {
	n, err := cim.NormalizeNamespace(ns)
	if err != nil {
		return nil, err
	}
	rev, err := c.registrationRevision(ctx, n)
	if err != nil {
		return nil, err
	}
	return c.loadRegistration(ctx, n, name, rev)
}

// ProviderNames returns the names of the providers registered in ns
// (every __Win32Provider instance).
func (c *CIMOM) ProviderNames(ctx context.Context, ns string) ([]string, error) {
	n, err := cim.NormalizeNamespace(ns)
	if err != nil {
		return nil, err
	}
	var out []string
	for inst, err := range c.storedInstances(ctx, n, providerClass) {
		if err != nil {
			return nil, err
		}
		if v, _ := inst.Get("Name"); v.V != nil {
			out = append(out, v.V.(string))
		}
	}
	return out, nil
}

// loadRegistration reads and checks the registration of provider name.
func (c *CIMOM) loadRegistration(ctx context.Context, ns, name string, rev int64) (*Registration, error) {
	notFound := cim.Errorf(cim.EProviderNotFound, "no provider %s is registered in %s (no __Win32Provider.Name=%q)", name, ns, name)
	notFound.Provider = name
	keys := cim.KeyString([]cim.KeyBinding{{Name: "Name", Value: cim.Value{Type: cim.TypeString, V: name}}})
	kv, found, err := c.st.Get(ctx, instKey(ns, providerClass, keys))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound
	}
	inst, _, err := c.decodeInstance(ctx, ns, kv.Value)
	if err != nil {
		return nil, err
	}
	if !inst.IsA(win32ProviderClass) {
		return nil, notFound
	}
	reg, err := registrationOf(ns, inst)
	if err != nil {
		return nil, err
	}
	reg.Revision = rev
	for _, class := range []string{instanceProvRegClass, methodProvRegClass} {
		for ri, err := range c.storedInstances(ctx, ns, class) {
			if err != nil {
				return nil, err
			}
			if ref, _ := refersToProvider(ri); !cim.EqualFold(ref, reg.Name) {
				continue
			}
			if class == methodProvRegClass {
				reg.Method = true
				continue
			}
			if reg.Instance, err = instanceRegistrationOf(ri); err != nil {
				return nil, err
			}
		}
	}
	if reg.Command == "" {
		return nil, invalidRegistration(reg.Name, providerStartProperty, "provider %s has no Command: wbemd starts every provider from the executable Command names", reg.Name)
	}
	return reg, nil
}

// storedInstances streams the instances stored under keyClass in ns.
func (c *CIMOM) storedInstances(ctx context.Context, ns, keyClass string) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		p := instPrefix(ns, keyClass)
		for kv, err := range c.st.Range(ctx, p, store.PrefixEnd(p)) {
			var inst *cim.Object
			if err == nil {
				inst, _, err = c.decodeInstance(ctx, ns, kv.Value)
			}
			if !yield(inst, err) || err != nil {
				return
			}
		}
	}
}

func invalidRegistration(provider, param, format string, args ...any) error {
	e := cim.Errorf(cim.EInvalidProviderRegistration, format, args...).WithParam(param)
	e.Provider = provider
	return e
}

// registrationOf reads a __Win32Provider instance.
func registrationOf(ns string, inst *cim.Object) (*Registration, error) {
	str := func(name string) string {
		v, _ := inst.Get(name)
		s, _ := v.V.(string)
		return s
	}
	strs := func(name string) []string {
		v, _ := inst.Get(name)
		s, _ := v.V.([]string)
		return s
	}
	reg := &Registration{Namespace: ns, Name: str("Name"), HostingModel: str("HostingModel"), User: str("User"),
		Command: str("Command"), Arguments: strs("Arguments"), WorkingDirectory: str("WorkingDirectory"),
		Environment: strs("Environment"), Enabled: true}
	bad := func(param, format string, args ...any) (*Registration, error) {
		return nil, invalidRegistration(reg.Name, param, format, args...)
	}
	if v, _ := inst.Get("Enabled"); v.V != nil {
		reg.Enabled = v.V.(bool)
	}
	for _, t := range []struct {
		prop string
		dst  *time.Duration
	}{{"OperationTimeoutInterval", &reg.OperationTimeout}, {"InitializationTimeoutInterval", &reg.InitializationTimeout}} {
		v, _ := inst.Get(t.prop)
		if dt, ok := v.V.(cim.Datetime); ok {
			d, ok := dt.Duration()
			if !ok || d < 0 {
				return bad(t.prop, "%s must be a datetime interval, not %s", t.prop, dt)
			}
			*t.dst = d
		}
	}
	if model, _ := reg.Hosting(); reg.HostingModel != "" {
		switch {
		case strings.EqualFold(model, "Decoupled"):
			return bad("HostingModel", "decoupled providers are not supported: wbemd starts every provider itself (Command)")
		case !oneOf(hostingModels, model):
			return bad("HostingModel", "unknown HostingModel %q (want one of %s, optionally followed by :group)", reg.HostingModel, strings.Join(hostingModels, ", "))
		}
		if reg.RunsAsRoot() && reg.User != "" && reg.User != "root" {
			return bad("User", "HostingModel %s runs as root; User %s contradicts it", reg.HostingModel, reg.User)
		}
	}
	if reg.Command != "" && !filepath.IsAbs(reg.Command) {
		return bad(providerStartProperty, "Command must be an absolute path, not %q", reg.Command)
	}
	if reg.WorkingDirectory != "" && !filepath.IsAbs(reg.WorkingDirectory) {
		return bad("WorkingDirectory", "WorkingDirectory must be an absolute path, not %q", reg.WorkingDirectory)
	}
	for _, e := range reg.Environment {
		if n, _, ok := strings.Cut(e, "="); !ok || n == "" {
			return bad("Environment", "Environment entries are NAME=value, not %q", e)
		}
	}
	if strings.ContainsAny(reg.User, ":/\x00") {
		return bad("User", "User %q is not a user name", reg.User)
	}
	return reg, nil
}

// instanceRegistrationOf reads an __InstanceProviderRegistration; NULL
// flags take WMI's defaults (Get, Put, Delete FALSE; Enumeration TRUE).
func instanceRegistrationOf(inst *cim.Object) (*InstanceRegistration, error) {
	flag := func(name string, def bool) bool {
		v, _ := inst.Get(name)
		if b, ok := v.V.(bool); ok {
			return b
		}
		return def
	}
	ir := &InstanceRegistration{SupportsGet: flag("SupportsGet", false), SupportsPut: flag("SupportsPut", false),
		SupportsDelete: flag("SupportsDelete", false), SupportsEnumeration: flag("SupportsEnumeration", true)}
	provider, _ := refersToProvider(inst)
	if v, _ := inst.Get("InteractionType"); v.V != nil && v.V.(int32) != 0 {
		return nil, invalidRegistration(provider, "InteractionType", "InteractionType %d is not supported: wbemd's providers are pull providers (0)", v.V)
	}
	v, _ := inst.Get("QuerySupportLevels")
	levels, _ := v.V.([]string)
	for _, l := range levels {
		if !oneOf(querySupportLevels, l) {
			return nil, invalidRegistration(provider, "QuerySupportLevels", "unknown QuerySupportLevels value %q (want %s)", l, strings.Join(querySupportLevels, ", "))
		}
	}
	ir.QuerySupportLevels = levels
	return ir, nil
}

// refersToProvider returns the provider name that a registration's
// provider reference names.
func refersToProvider(inst *cim.Object) (string, error) {
	v, _ := inst.Get(providerRefProperty)
	path, _ := v.V.(string)
	if path == "" {
		return "", cim.Errorf(cim.EInvalidProviderRegistration, "%s.%s is NULL: it must refer to a __Win32Provider", inst.Class, providerRefProperty).WithParam(providerRefProperty)
	}
	op, err := cim.ParsePath(path)
	if err != nil {
		return "", cim.Errorf(cim.EInvalidProviderRegistration, "%s.%s: %s", inst.Class, providerRefProperty, cim.AsError(err).Description).WithParam(providerRefProperty)
	}
	if len(op.Keys) != 1 || (op.Keys[0].Name != "" && !cim.EqualFold(op.Keys[0].Name, "Name")) {
		return "", cim.Errorf(cim.EInvalidProviderRegistration, "%s.%s must name a provider by its Name, not %s", inst.Class, providerRefProperty, path).WithParam(providerRefProperty)
	}
	name, _ := op.Keys[0].Value.V.(string)
	return name, nil
}

// registrationPut checks a write of a registration instance: a well-formed
// registration, a provider reference to a registered provider, and an
// administrator when the provider runs as another user than the writer.
// It returns the write of the namespace's registration revision, which
// goes in the same transaction.
func (s *services) registrationPut(ctx context.Context, ci *classInfo, inst *cim.Object) ([]store.Op, error) {
	if !ci.system || !isRegistrationClass(ci.cls) {
		return nil, nil
	}
	var reg *Registration
	if inst.IsA(win32ProviderClass) {
		r, err := registrationOf(s.ns, inst)
		if err != nil {
			return nil, err
		}
		reg = r
	} else if inst.IsA(providerRegClass) {
		name, err := refersToProvider(inst)
		if err != nil {
			return nil, err
		}
		rev, err := s.c.registrationRevision(ctx, s.ns)
		if err != nil {
			return nil, err
		}
		if reg, err = s.c.loadRegistration(ctx, s.ns, name, rev); cim.StatusOf(err) == cim.EProviderNotFound {
			return nil, cim.Errorf(cim.EInvalidProviderRegistration, "%s refers to provider %s, which is not registered in %s: write its __Win32Provider first", inst.Class, name, s.ns).WithParam(providerRefProperty)
		} else if err != nil && cim.StatusOf(err) != cim.EInvalidProviderRegistration {
			return nil, err
		}
		if inst.IsA(instanceProvRegClass) {
			if _, err := instanceRegistrationOf(inst); err != nil {
				return nil, err
			}
		}
	}
	if err := s.mayRegister(reg); err != nil {
		return nil, err
	}
	return []store.Op{store.Put(regRevKey(s.ns), nil)}, nil
}

// registrationDelete checks the delete of a registration instance prev and
// returns the write of the registration revision.
func (s *services) registrationDelete(ctx context.Context, ci *classInfo, prev *cim.Object) ([]store.Op, error) {
	if !ci.system || !isRegistrationClass(ci.cls) {
		return nil, nil
	}
	name := ""
	if prev.IsA(win32ProviderClass) {
		v, _ := prev.Get("Name")
		name, _ = v.V.(string)
	} else {
		name, _ = refersToProvider(prev)
	}
	rev, err := s.c.registrationRevision(ctx, s.ns)
	if err != nil {
		return nil, err
	}
	if reg, err := s.c.loadRegistration(ctx, s.ns, name, rev); err == nil {
		if err := s.mayRegister(reg); err != nil {
			return nil, err
		}
	} else if !s.p.IsAdmin() {
		return nil, cim.Errorf(cim.EAccessDenied, "%s is not an administrator: only administrators delete a registration that is not valid", s.p.Name)
	}
	return []store.Op{store.Put(regRevKey(s.ns), nil)}, nil
}

// mayRegister applies the rule for writing registrations: a provider that
// runs as another user than the writer (the default provider user, root,
// anyone else) needs an administrator.
func (s *services) mayRegister(reg *Registration) error {
	if s.p.IsAdmin() {
		return nil
	}
	if reg == nil {
		return cim.Errorf(cim.EAccessDenied, "%s is not an administrator: only administrators register for a provider whose registration is not valid", s.p.Name)
	}
	user := reg.User
	if reg.RunsAsRoot() {
		user = "root"
	}
	if user != "" && user == s.p.Name {
		return nil
	}
	if user == "" {
		user = "the provider user"
	}
	return cim.Errorf(cim.EAccessDenied, "%s is not an administrator: a provider registration that runs as %s needs one (set User = %q to register a provider that runs as yourself)", s.p.Name, user, s.p.Name).WithParam("User")
}

// String describes the registration for logs.
func (r *Registration) String() string {
	return fmt.Sprintf("%s:%s (%s)", r.Namespace, r.Name, r.Command)
}
