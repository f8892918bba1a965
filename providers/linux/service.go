package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/wbemd/wbemd/cim"
)

// systemdDir exists while systemd runs (sd_booted(3)).
const systemdDir = "/run/systemd/system"

// errNoSystemd is the error of every Win32_Service call on a machine
// where systemd does not run.
func errNoSystemd() error {
	return cim.Errorf(cim.ENotSupported, "systemd does not run on this machine (%s is absent): Win32_Service serves systemd's units over D-Bus", systemdDir)
}

func systemdRuns() bool {
	fi, err := os.Stat(systemdDir)
	return err == nil && fi.IsDir()
}

// systemdBus connects to systemd's D-Bus API: as root its private socket
// (no bus daemon needed), else the system bus. The identity of the
// connection is the process's: the host's to read, a helper's (the
// caller's) to act.
func systemdBus() (*dbus.Conn, error) {
	if !systemdRuns() {
		return nil, errNoSystemd()
	}
	if os.Geteuid() == 0 {
		if c, err := dbus.Dial("unix:path=/run/systemd/private"); err == nil {
			if err := c.Auth(nil); err == nil {
				return c, nil
			}
			c.Close()
		}
	}
	c, err := dbus.SystemBusPrivate()
	if err != nil {
		return nil, cim.Errorf(cim.EFailed, "systemd's D-Bus API: %v", err)
	}
	if err := c.Auth(nil); err != nil {
		c.Close()
		return nil, cim.Errorf(cim.EFailed, "systemd's D-Bus API: authentication: %v", err)
	}
	if err := c.Hello(); err != nil {
		c.Close()
		return nil, cim.Errorf(cim.EFailed, "systemd's D-Bus API: %v", err)
	}
	return c, nil
}

const (
	systemdName    = "org.freedesktop.systemd1"
	systemdPath    = dbus.ObjectPath("/org/freedesktop/systemd1")
	systemdManager = "org.freedesktop.systemd1.Manager"
)

// unit is a systemd service unit.
type unit struct {
	Name, Description, LoadState, ActiveState, SubState string
	Path                                                dbus.ObjectPath
	FileState                                           string
	MainPID                                             uint32
	ExecStart, User                                     string
	ExitStatus                                          int32
	CanStop                                             bool
}

// serviceUnits lists the loaded service units (all of them, or the one
// called name).
func serviceUnits(ctx context.Context, name string) ([]*unit, error) {
	c, err := systemdBus()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	mgr := c.Object(systemdName, systemdPath)
	var listed []struct {
		Name, Description, LoadState, ActiveState, SubState, Followed string
		Path                                                          dbus.ObjectPath
		JobID                                                         uint32
		JobType                                                       string
		JobPath                                                       dbus.ObjectPath
	}
	if err := mgr.CallWithContext(ctx, systemdManager+".ListUnits", 0).Store(&listed); err != nil {
		return nil, cim.Errorf(cim.EFailed, "systemd ListUnits: %v", err)
	}
	var files []struct{ Path, State string }
	mgr.CallWithContext(ctx, systemdManager+".ListUnitFiles", 0).Store(&files)
	fileState := map[string]string{}
	for _, f := range files {
		fileState[filepath.Base(f.Path)] = f.State
	}
	var out []*unit
	for _, l := range listed {
		if !strings.HasSuffix(l.Name, ".service") || name != "" && !strings.EqualFold(l.Name, name) {
			continue
		}
		u := &unit{Name: l.Name, Description: l.Description, LoadState: l.LoadState, ActiveState: l.ActiveState,
			SubState: l.SubState, Path: l.Path, FileState: fileState[l.Name]}
		obj := c.Object(systemdName, l.Path)
		var props map[string]dbus.Variant
		if obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, "org.freedesktop.systemd1.Service").Store(&props) == nil {
			u.MainPID, _ = props["MainPID"].Value().(uint32)
			u.User, _ = props["User"].Value().(string)
			u.ExitStatus, _ = props["ExecMainStatus"].Value().(int32)
			if es, ok := props["ExecStart"].Value().([][]any); ok && len(es) > 0 && len(es[0]) > 1 {
				if argv, ok := es[0][1].([]string); ok {
					u.ExecStart = strings.Join(argv, " ")
				}
			}
		}
		var canStop dbus.Variant
		if obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Unit", "CanStop").Store(&canStop) == nil {
			u.CanStop, _ = canStop.Value().(bool)
		}
		out = append(out, u)
	}
	return out, nil
}

// unitName is the systemd unit a Win32_Service Name designates.
func unitName(name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	return name + ".service"
}

// State is Win32_Service.State.
func (u *unit) State() string {
	switch u.ActiveState {
	case "active", "reloading":
		return "Running"
	case "activating":
		return "Start Pending"
	case "deactivating":
		return "Stop Pending"
	}
	return "Stopped"
}

// StartMode is Win32_Service.StartMode.
func (u *unit) StartMode() string {
	switch u.FileState {
	case "enabled", "enabled-runtime", "alias", "linked", "linked-runtime", "generated":
		return "Auto"
	case "disabled", "masked", "masked-runtime":
		return "Disabled"
	}
	return "Manual"
}

// unitJob starts or stops a unit as the helper's identity (the caller's):
// it returns a Win32_Service return code.
func unitJob(ctx context.Context, method, name string) (code uint32, err error) {
	c, err := systemdBus()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var job dbus.ObjectPath
	err = c.Object(systemdName, systemdPath).CallWithContext(ctx, systemdManager+"."+method, 0, name, "replace").Store(&job)
	var de dbus.Error
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &de) && (strings.HasSuffix(de.Name, ".AccessDenied") || strings.HasSuffix(de.Name, ".InteractiveAuthorizationRequired")):
		return 2, nil
	case errors.As(err, &de) && strings.HasSuffix(de.Name, ".NoSuchUnit"):
		return 0, cim.Errorf(cim.ENotFound, "no service unit %s", name)
	case errors.As(err, &de) && strings.HasSuffix(de.Name, ".UnitMasked"):
		return 14, nil
	}
	return 8, fmt.Errorf("systemd %s %s: %w", method, name, err)
}
