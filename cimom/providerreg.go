package cimom

import (
	"bytes"
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
	// Revision is the store revision of the last write or delete of a
	// registration in the namespace that this CIMOM's change feed applied
	// (0 if none since it opened): it grows with every such change.
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
	Event    *EventRegistration    // nil: no __EventProviderRegistration
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
	c.registry.gen++
}

// registry caches the registered providers by namespace and name. The
// change feed invalidates it (see CIMOM.invalidate): a registration
// written through any CIMOM on the store takes effect on every one once
// its feed has applied the write.
type registry struct {
	mu      sync.Mutex
	host    ProviderHost
	entries map[nameKey]InstanceProvider // *hostedProvider, or *failedProvider
	gen     uint64                       // raised by every invalidation
	revs    map[string]int64             // by folded namespace: the revision of its last registration change
	base    int64                        // the revision every namespace's counts from (the last reset)
}

// registrationKey reports whether k is the key of a provider registration
// instance (a __Provider or a *ProviderRegistration: the registration
// classes whose instances are registrations all have names of those
// forms, and only wbemd defines system classes), and returns its folded
// namespace.
func registrationKey(k []byte) (string, bool) {
	// i 0 <ns> 0 <keyclass> 0 <keys>, read without allocating: every
	// instance write and feed event asks.
	if len(k) < 2 || k[0] != 'i' || k[1] != sep {
		return "", false
	}
	ns, rest, ok := bytes.Cut(k[2:], []byte{sep})
	if !ok {
		return "", false
	}
	kc, _, ok := bytes.Cut(rest, []byte{sep})
	if !ok || !bytes.HasPrefix(kc, []byte("__")) {
		return "", false
	}
	if string(kc) != "__provider" && !bytes.HasSuffix(kc, []byte("providerregistration")) {
		return "", false
	}
	return string(ns), true
}

// registrationRevision returns the revision of the last change of a
// registration in ns that the feed applied.
func (c *CIMOM) registrationRevision(ns string) int64 {
	c.registry.mu.Lock()
	defer c.registry.mu.Unlock()
	return max(c.registry.revs[cim.Fold(ns)], c.registry.base)
}

// registeredProvider returns the provider called name in ns, bound to the
// host: a provider whose calls fail with the reason (PROVIDER_NOT_FOUND,
// INVALID_PROVIDER_REGISTRATION, ...) when it cannot be used.
func (c *CIMOM) registeredProvider(ctx context.Context, ns, name string) InstanceProvider {
	k := cacheKey(ns, name)
	c.registry.mu.Lock()
	p, host, gen := c.registry.entries[k], c.registry.host, c.registry.gen
	rev := max(c.registry.revs[cim.Fold(ns)], c.registry.base)
	c.registry.mu.Unlock()
	if p != nil {
		return p
	}
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
	if c.registry.gen == gen { // else a change came in while it was read: read it again next time
		if c.registry.entries == nil {
			c.registry.entries = map[nameKey]InstanceProvider{}
		}
		c.registry.entries[k] = p
	}
	c.registry.mu.Unlock()
	return p
}

// forgetRegistrations drops the cached providers of folded namespace ns
// (of every namespace for ""): the one place that invalidates them. A
// positive rev is the revision of a registration change, which becomes
// the namespace's registration revision (of every namespace for "").
func (c *CIMOM) forgetRegistrations(ns string, rev int64) {
	c.forgetRegistrationsLocked(ns, rev)
	c.rebindEventProviders(ns)
}

func (c *CIMOM) forgetRegistrationsLocked(ns string, rev int64) {
	c.registry.mu.Lock()
	defer c.registry.mu.Unlock()
	c.registry.gen++
	for k := range c.registry.entries {
		if ns == "" || k.ns == ns {
			delete(c.registry.entries, k)
		}
	}
	switch {
	case rev <= 0:
	case ns == "":
		c.registry.base, c.registry.revs = rev, nil
	default:
		if c.registry.revs == nil {
			c.registry.revs = map[string]int64{}
		}
		c.registry.revs[ns] = rev
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
	return c.loadRegistration(ctx, n, name, c.registrationRevision(n))
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
	for _, class := range []string{instanceProvRegClass, methodProvRegClass, eventProvRegClass} {
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
			if class == eventProvRegClass {
				if reg.Event, err = eventRegistrationOf(reg.Name, ri); err != nil {
					return nil, err
				}
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
func (s *services) registrationPut(ctx context.Context, ci *classInfo, inst *cim.Object) error {
	if !ci.system || !isRegistrationClass(ci.cls) {
		return nil
	}
	var reg *Registration
	if inst.IsA(win32ProviderClass) {
		r, err := registrationOf(s.ns, inst)
		if err != nil {
			return err
		}
		reg = r
	} else if inst.IsA(providerRegClass) {
		name, err := refersToProvider(inst)
		if err != nil {
			return err
		}
		if reg, err = s.c.loadRegistration(ctx, s.ns, name, s.c.registrationRevision(s.ns)); cim.StatusOf(err) == cim.EProviderNotFound {
			return cim.Errorf(cim.EInvalidProviderRegistration, "%s refers to provider %s, which is not registered in %s: write its __Win32Provider first", inst.Class, name, s.ns).WithParam(providerRefProperty)
		} else if err != nil && cim.StatusOf(err) != cim.EInvalidProviderRegistration {
			return err
		}
		if inst.IsA(instanceProvRegClass) {
			if _, err := instanceRegistrationOf(inst); err != nil {
				return err
			}
		}
		if inst.IsA(eventProvRegClass) {
			if err := s.checkEventRegistration(ctx, inst); err != nil {
				return err
			}
		}
	}
	return s.mayRegister(reg)
}

// registrationDelete checks the delete of a registration instance prev.
func (s *services) registrationDelete(ctx context.Context, ci *classInfo, prev *cim.Object) error {
	if !ci.system || !isRegistrationClass(ci.cls) {
		return nil
	}
	name := ""
	if prev.IsA(win32ProviderClass) {
		v, _ := prev.Get("Name")
		name, _ = v.V.(string)
	} else {
		name, _ = refersToProvider(prev)
	}
	if reg, err := s.c.loadRegistration(ctx, s.ns, name, s.c.registrationRevision(s.ns)); err == nil {
		return s.mayRegister(reg)
	} else if !s.p.IsAdmin() {
		return cim.Errorf(cim.EAccessDenied, "%s is not an administrator: only administrators delete a registration that is not valid", s.p.Name)
	}
	return nil
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
