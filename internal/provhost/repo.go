package provhost

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// self is the principal the supervisor reads and writes the repository as.
var self = cimom.Principal{Name: "wbemd", Groups: []string{cimom.GroupAdministrators}}

// Attach starts a Supervisor that runs the providers registered in om:
// it reads its configuration from om's root namespace
// (__ProviderHostQuotaConfiguration, __ObjectProviderCacheControl),
// records disabled providers there, installs the registration classes in
// namespaces created before they existed, and serves the status class
// (StatusClass in root). Options' Config, Registered and Disable are set
// here.
func Attach(ctx context.Context, om *cimom.CIMOM, opts Options) (*Supervisor, error) {
	if err := om.InstallProviderClasses(ctx); err != nil {
		return nil, err
	}
	opts.Config = func(ctx context.Context) (Config, error) { return readConfig(ctx, om) }
	opts.Registered = func(ctx context.Context, ns, name string) bool {
		_, err := om.ProviderRegistration(ctx, ns, name)
		return cim.StatusOf(err) != cim.EProviderNotFound
	}
	opts.Disable = func(ctx context.Context, reg *cimom.Registration, reason string) error {
		return setEnabled(ctx, om, reg.Namespace, reg.Name, false)
	}
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := serveStatus(ctx, om, s); err != nil {
		s.Close(ctx)
		return nil, err
	}
	om.SetProviderHost(s)
	return s, nil
}

// readConfig reads the quotas and ClearAfter; a missing instance or a NULL
// property takes the default.
func readConfig(ctx context.Context, om *cimom.CIMOM) (Config, error) {
	cfg := Config{Quotas: DefaultQuotas, ClearAfter: DefaultClearAfter}
	root, err := om.Connect(ctx, "root", self)
	if err != nil {
		return cfg, err
	}
	get := func(path string) (*cim.Object, error) {
		o, err := root.GetObject(ctx, path, 0, nil)
		if cim.StatusOf(err) == cim.ENotFound {
			return nil, nil
		}
		return o, err
	}
	q, err := get(cimom.QuotaConfigurationClass + "=@")
	if err != nil {
		return cfg, err
	}
	if q != nil {
		for _, f := range []struct {
			name string
			u64  *uint64
			u32  *uint32
		}{{"MemoryPerHost", &cfg.Quotas.MemoryPerHost, nil}, {"MemoryAllHosts", &cfg.Quotas.MemoryAllHosts, nil},
			{"ThreadsPerHost", nil, &cfg.Quotas.ThreadsPerHost}, {"HandlesPerHost", nil, &cfg.Quotas.HandlesPerHost},
			{"ProcessLimitAllHosts", nil, &cfg.Quotas.ProcessLimitAllHosts}} {
			v, _ := q.Get(f.name)
			switch x := v.V.(type) {
			case uint64:
				*f.u64 = x
			case uint32:
				*f.u32 = x
			}
		}
	}
	cc, err := get(cimom.ObjectProviderCacheControlClass + "=@")
	if err != nil {
		return cfg, err
	}
	if cc != nil {
		v, _ := cc.Get("ClearAfter")
		if dt, ok := v.V.(cim.Datetime); ok {
			if d, ok := dt.Duration(); ok && d > 0 {
				cfg.ClearAfter = d
			}
		}
	}
	return cfg, nil
}

// setEnabled writes __Win32Provider.Enabled of a provider.
func setEnabled(ctx context.Context, om *cimom.CIMOM, ns, name string, enabled bool) error {
	svc, err := om.Connect(ctx, ns, self)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("__Win32Provider.Name=%q", name)
	inst, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		return err
	}
	if err := inst.Put("Enabled", cim.Value{Type: cim.TypeBoolean, V: enabled}); err != nil {
		return err
	}
	_, err = svc.PutInstance(ctx, inst, cimom.FlagUpdateOnly, nil)
	return err
}

// StatusClass is the class whose instances, in root, describe each
// provider: its registration and its host's state. `wbem provider list`
// enumerates it.
const StatusClass = "WBEMD_Provider"

// statusClass declares StatusClass.
func statusClass() *cim.Object {
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	prop := func(name string, t cim.Type) cim.Property {
		return cim.Property{Name: name, Type: t, Value: cim.Null(t), Origin: StatusClass}
	}
	key := func(p cim.Property) cim.Property {
		p.Qualifiers = []cim.Qualifier{{Name: "Key", Value: yes, Flavor: cim.FlavorToSubclass | cim.FlavorDisableOverride}}
		return p
	}
	return &cim.Object{Genus: cim.GenusClass, Class: StatusClass,
		Qualifiers: []cim.Qualifier{{Name: "Dynamic", Value: yes}, {Name: "Provider", Value: cim.Value{Type: cim.TypeString, V: "wbemd"}},
			{Name: "Description", Value: cim.Value{Type: cim.TypeString, V: "A registered provider and the state of its host."}}},
		Properties: []cim.Property{key(prop("Namespace", cim.TypeString)), key(prop("Name", cim.TypeString)),
			prop("State", cim.TypeString), prop("Enabled", cim.TypeBoolean), prop("HostingModel", cim.TypeString),
			prop("User", cim.TypeString), prop("Command", cim.TypeString), prop("ProcessId", cim.TypeUint32),
			prop("Calls", cim.TypeUint64), prop("Errors", cim.TypeUint64), prop("Restarts", cim.TypeUint64),
			prop("MemoryBytes", cim.TypeUint64), prop("LastError", cim.TypeString), prop("Started", cim.TypeDatetime)}}
}

var (
	_ cimom.InstanceGetter     = (*statusProvider)(nil)
	_ cimom.InstanceEnumerator = (*statusProvider)(nil)
)

// statusProvider serves StatusClass in process.
type statusProvider struct {
	om *cimom.CIMOM
	s  *Supervisor
}

// serveStatus declares StatusClass in root (once) and serves it.
func serveStatus(ctx context.Context, om *cimom.CIMOM, s *Supervisor) error {
	root, err := om.Connect(ctx, "root", self)
	if err != nil {
		return err
	}
	if _, err := root.GetObject(ctx, StatusClass, 0, nil); cim.StatusOf(err) == cim.ENotFound {
		if err := root.PutClass(ctx, statusClass(), cimom.FlagCreateOnly, nil); err != nil && cim.StatusOf(err) != cim.EAlreadyExists {
			return fmt.Errorf("provhost: declare %s: %w", StatusClass, err)
		}
	} else if err != nil {
		return err
	}
	return om.RegisterProvider("root", StatusClass, &statusProvider{om: om, s: s})
}

func (p *statusProvider) Name() string { return "wbemd" }

func (p *statusProvider) PutInstance(context.Context, string, *cim.Object, cimom.Flags, *cimom.Context) error {
	return cim.Errorf(cim.EProviderNotCapable, "%s is read-only: `wbem provider enable|disable` writes __Win32Provider.Enabled", StatusClass)
}

func (p *statusProvider) GetInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *cimom.Context) (*cim.Object, error) {
	var want [2]string
	for _, k := range path.Keys {
		s, _ := k.Value.V.(string)
		if cim.EqualFold(k.Name, "Namespace") {
			want[0] = s
		} else {
			want[1] = s
		}
	}
	for inst, err := range p.EnumerateInstances(ctx, ns, StatusClass, wctx) {
		if err != nil {
			return nil, err
		}
		n, _ := inst.Get("Namespace")
		m, _ := inst.Get("Name")
		if cim.EqualFold(n.V.(string), want[0]) && cim.EqualFold(m.V.(string), want[1]) {
			return inst, nil
		}
	}
	return nil, cim.Errorf(cim.ENotFound, "no provider %s in %s", want[1], want[0])
}

// EnumerateInstances lists every provider registered in any namespace,
// with the state of those bound since wbemd started.
func (p *statusProvider) EnumerateInstances(ctx context.Context, ns, class string, wctx *cimom.Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		bound := map[string]Status{}
		for _, st := range p.s.Statuses() {
			bound[cim.Fold(st.Namespace)+"\x00"+cim.Fold(st.Name)] = st
		}
		names, err := namespaces(ctx, p.om)
		if err != nil {
			yield(nil, err)
			return
		}
		root, err := p.om.Connect(ctx, "root", self)
		if err != nil {
			yield(nil, err)
			return
		}
		cls, err := root.GetObject(ctx, StatusClass, 0, nil)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, n := range names {
			provs, err := p.om.ProviderNames(ctx, n)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, name := range provs {
				st, ok := bound[cim.Fold(n)+"\x00"+cim.Fold(name)]
				if !ok {
					st = Status{Namespace: n, Name: name, State: "stopped", Enabled: true}
					if reg, err := p.om.ProviderRegistration(ctx, n, name); err == nil {
						st.Command, st.HostingModel, st.Enabled = reg.Command, reg.HostingModel, reg.Enabled
					} else {
						st.State, st.LastError = "invalid", cim.AsError(err).Description
					}
				}
				if !yield(statusInstance(cls, st), nil) {
					return
				}
			}
		}
	}
}

func statusInstance(cls *cim.Object, st Status) *cim.Object {
	inst, _ := cls.SpawnInstance()
	set := func(name string, t cim.Type, v any) {
		if val, err := cim.NewValue(t, v); err == nil {
			inst.Put(name, val)
		}
	}
	set("Namespace", cim.TypeString, st.Namespace)
	set("Name", cim.TypeString, st.Name)
	set("State", cim.TypeString, st.State)
	set("Enabled", cim.TypeBoolean, st.Enabled)
	if st.HostingModel != "" {
		set("HostingModel", cim.TypeString, st.HostingModel)
	}
	if st.User != "" {
		set("User", cim.TypeString, st.User)
	}
	set("Command", cim.TypeString, st.Command)
	if st.PID != 0 {
		set("ProcessId", cim.TypeUint32, uint32(st.PID))
		set("MemoryBytes", cim.TypeUint64, st.MemoryBytes)
		inst.Put("Started", cim.Value{Type: cim.TypeDatetime, V: cim.DatetimeFromTime(st.Started.Truncate(time.Microsecond))})
	}
	set("Calls", cim.TypeUint64, st.Calls)
	set("Errors", cim.TypeUint64, st.Errors)
	set("Restarts", cim.TypeUint64, st.Restarts)
	if st.LastError != "" {
		set("LastError", cim.TypeString, st.LastError)
	}
	return inst
}

// namespaces lists every namespace below root, root first.
func namespaces(ctx context.Context, om *cimom.CIMOM) ([]string, error) {
	out := []string{"root"}
	for i := 0; i < len(out); i++ {
		svc, err := om.Connect(ctx, out[i], self)
		if err != nil {
			return nil, err
		}
		e, err := svc.CreateInstanceEnum(ctx, "__Namespace", cimom.FlagShallow|cimom.FlagForwardOnly, nil)
		if err != nil {
			return nil, err
		}
		for o, err := range cimom.All(ctx, e) {
			if err != nil {
				e.Close()
				return nil, err
			}
			if v, _ := o.Get("Name"); v.V != nil {
				out = append(out, out[i]+"/"+v.V.(string))
			}
		}
		e.Close()
	}
	return out, nil
}
