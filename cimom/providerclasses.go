package cimom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// providerClasses returns the provider registration classes of namespace
// ns, as declared: WMI's __Provider, __Win32Provider (with wbemd's
// properties for starting the provider: Command, Arguments,
// WorkingDirectory, Environment, User), __ProviderRegistration,
// __ObjectProviderRegistration, __InstanceProviderRegistration,
// __MethodProviderRegistration and __EventProviderRegistration in every
// namespace; in root also
// __CacheControl, __ObjectProviderCacheControl and
// __ProviderHostQuotaConfiguration, which configure the provider host.
func providerClasses(ns string) []*cim.Object {
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	prop, ref := nullProp, refProp
	key := func(p cim.Property) cim.Property {
		p.Qualifiers = []cim.Qualifier{keyQualifier()}
		return p
	}
	class := func(name, super string, names []string, props ...cim.Property) *cim.Object {
		var quals []cim.Qualifier
		for _, q := range names {
			quals = append(quals, cim.Qualifier{Name: q, Value: yes})
		}
		return declaredClass(name, super, quals, props...)
	}
	abstract := []string{"Abstract"}
	str, b, dt := cim.TypeString, cim.TypeBoolean, cim.TypeDatetime
	out := []*cim.Object{
		class(providerClass, "__SystemClass", abstract, key(prop("Name", str))),
		class(win32ProviderClass, providerClass, nil,
			prop("CLSID", str), prop("ClientLoadableCLSID", str), prop("DefaultMachineName", str),
			prop("Enabled", b), prop("HostingModel", str), prop("ImpersonationLevel", cim.TypeSint32),
			prop("InitializationReentrancy", cim.TypeSint32), prop("InitializationTimeoutInterval", dt),
			prop("InitializeAsAdminFirst", b), prop("OperationTimeoutInterval", dt),
			prop("PerLocaleInitialization", b), prop("PerUserInitialization", b), prop("Pure", b),
			prop("SecurityDescriptor", str), prop("SupportsExplicitShutdown", b), prop("SupportsExtendedStatus", b),
			prop("SupportsQuotas", b), prop("SupportsSendStatus", b), prop("SupportsShutdown", b),
			prop("SupportsThrottling", b), prop("UnloadTimeout", dt), prop("Version", cim.TypeUint32),
			prop("Concurrency", cim.TypeSint32),
			// wbemd's: how to start the provider, and as whom.
			prop(providerStartProperty, str), prop("Arguments", str.ArrayOf()), prop("WorkingDirectory", str),
			prop("Environment", str.ArrayOf()), prop("User", str)),
		class(providerRegClass, "__SystemClass", abstract),
		class("__ObjectProviderRegistration", providerRegClass, abstract),
		class(instanceProvRegClass, "__ObjectProviderRegistration", nil,
			key(ref(providerRefProperty, providerClass)), prop("InteractionType", cim.TypeSint32),
			prop("QuerySupportLevels", str.ArrayOf()), prop("SupportsBatching", b), prop("SupportsDelete", b),
			prop("SupportsEnumeration", b), prop("SupportsGet", b), prop("SupportsPut", b), prop("SupportsTransactions", b)),
		class(methodProvRegClass, providerRegClass, nil, key(ref(providerRefProperty, providerClass))),
		class("__EventProviderRegistration", providerRegClass, nil, key(ref(providerRefProperty, providerClass)),
			prop(eventQueryListProp, str.ArrayOf())),
	}
	if cim.EqualFold(ns, "root") {
		u32, u64 := cim.TypeUint32, cim.TypeUint64
		out = append(out,
			class(cacheControlClass, "__SystemClass", abstract, prop("ClearAfter", dt)),
			class(ObjectProviderCacheControlClass, cacheControlClass, []string{"Singleton"}),
			class(QuotaConfigurationClass, "__SystemClass", []string{"Singleton"},
				prop("HandlesPerHost", u32), prop("MemoryAllHosts", u64), prop("MemoryPerHost", u64),
				prop("ProcessLimitAllHosts", u32), prop("ThreadsPerHost", u32)),
		)
	}
	return out
}

// The provider host's configuration classes, in root.
const (
	cacheControlClass = "__CacheControl"
	// ObjectProviderCacheControlClass is the singleton whose ClearAfter
	// says how long an idle provider host stays up.
	ObjectProviderCacheControlClass = "__ObjectProviderCacheControl"
	// QuotaConfigurationClass is the singleton of provider host limits.
	QuotaConfigurationClass = "__ProviderHostQuotaConfiguration"
)

// InstallProviderClasses adds the provider registration classes to every
// namespace of a repository created before they existed (new namespaces
// get them when created). It is idempotent and cheap when nothing is
// missing: one read per namespace, of the newest class.
func (c *CIMOM) InstallProviderClasses(ctx context.Context) error {
	var missing []string
	start := []byte{'n', sep}
	for kv, err := range c.st.Range(ctx, start, store.PrefixEnd(start)) {
		if err != nil {
			return fmt.Errorf("cimom: install provider classes: %w", err)
		}
		var rec nsRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("cimom: install provider classes: corrupt namespace record %q", kv.Key)
		}
		_, found, err := c.st.Get(ctx, classKey(rec.Name, eventProvRegClass))
		if err != nil {
			return fmt.Errorf("cimom: install provider classes: %w", err)
		}
		if !found {
			missing = append(missing, rec.Name)
		}
	}
	for _, ns := range missing {
		var ops []store.Op
		var cmps []store.Compare
		for _, cls := range providerClasses(ns) {
			k := classKey(ns, cls.Class)
			_, found, err := c.st.Get(ctx, k)
			if err != nil {
				return fmt.Errorf("cimom: install provider classes: %w", err)
			}
			if found {
				continue
			}
			cmps = append(cmps, store.Compare{Key: k}) // still absent at the commit
			ops = append(ops, classOps(ns, cls)...)
		}
		if _, err := c.commit(ctx, cmps, ops); err != nil && !errors.Is(err, store.ErrCompareFailed) {
			return fmt.Errorf("cimom: install provider classes in %s: %w", ns, err)
		}
	}
	if len(missing) > 0 {
		c.schema.clear()
	}
	return nil
}
