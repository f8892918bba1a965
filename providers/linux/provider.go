package linux

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
)

// Provider is the built-in provider: every class of mof/linux.mof and
// mof/win32.mof.
func Provider() *provider.Provider {
	classes := map[string]*provider.Class{}
	for _, cs := range []map[string]*provider.Class{systemClasses(), processClasses(), diskClasses(), networkClasses(),
		perfClasses(), serviceClasses()} {
		for name, c := range cs {
			classes[name] = c
		}
	}
	return &provider.Provider{Name: ProviderName, Classes: classes}
}

// Class names the instances' keys refer to.
const (
	linuxCS      = "Linux_ComputerSystem"
	linuxOS      = "Linux_OperatingSystem"
	linuxProcess = "Linux_UnixProcess"
	linuxFS      = "Linux_FileSystem"
	linuxCPU     = "Linux_Processor"
	linuxPort    = "Linux_EthernetPort"
	linuxIP      = "Linux_IPProtocolEndpoint"
	win32CS      = "Win32_ComputerSystem"
	win32OS      = "Win32_OperatingSystem"
)

// machine is what every instance's keys say of the machine: its host name
// and its operating system's name.
type machine struct {
	Host, OSName string
	rel          map[string]string
}

// thisMachine returns the machine's names, read again at most once a
// second: every request of every class needs them, and they rarely change.
func thisMachine() machine { return machineNow.get() }

var machineNow = recent[machine]{read: readMachine}

func readMachine() machine {
	rel := osRelease()
	name := rel["PRETTY_NAME"]
	if name == "" {
		name = "Linux"
	}
	return machine{Host: hostname(), OSName: name, rel: rel}
}

// path renders an object path of class with keys (name, value pairs;
// string values).
func path(class string, kv ...string) string {
	p := &cim.ObjectPath{Class: class}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Keys = append(p.Keys, cim.KeyBinding{Name: kv[i], Value: cim.Value{Type: cim.TypeString, V: kv[i+1]}})
	}
	return p.RelPath()
}

func (m machine) csPath() string { return path(linuxCS, "CreationClassName", linuxCS, "Name", m.Host) }

func (m machine) osPath() string {
	return path(linuxOS, "CSCreationClassName", linuxCS, "CSName", m.Host, "CreationClassName", linuxOS, "Name", m.OSName)
}

// datetime is a CIM datetime of a time, in the local time zone.
func datetime(t time.Time) string { return cim.DatetimeFromTime(t.Local()).String() }

// matches reports whether an instance has the keys of a request (string
// keys compared without regard to case, as WMI compares paths).
func matches(inst, keys provider.Instance) bool {
	for k := range keys {
		if strings.HasPrefix(k, "__") {
			continue
		}
		if !strings.EqualFold(inst.String(k), keys.String(k)) {
			return false
		}
	}
	return true
}

// notFound is the error of a Get whose keys name nothing.
func notFound(r *provider.Request) error {
	return cim.Errorf(cim.ENotFound, "no instance %s", r.Path)
}

// getFrom answers a Get by enumerating: for the classes with a handful
// of instances.
func getFrom(enum func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error) func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	return func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
		var found provider.Instance
		err := enum(ctx, r, func(inst provider.Instance) error {
			if found == nil && matches(inst, r.Keys) {
				found = inst
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if found == nil {
			return nil, notFound(r)
		}
		return found, nil
	}
}

// single is an enumeration of one instance made by f.
func single(f func() provider.Instance) func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
	return func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		return send(f())
	}
}

// recent keeps a value read from the system for up to a second (see
// thisMachine and bootTime). Its value is shared: read-only.
type recent[T any] struct {
	read func() T

	mu sync.Mutex
	at time.Time
	v  T
}

func (c *recent[T]) get() T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); c.at.IsZero() || now.Sub(c.at) >= time.Second || now.Before(c.at) {
		c.v, c.at = c.read(), now
	}
	return c.v
}
