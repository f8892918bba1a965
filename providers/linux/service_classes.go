package linux

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
)

func serviceClasses() map[string]*provider.Class {
	enum := func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		name := ""
		if names, ok := provider.Equals(r.Query, "Name"); ok && len(names) == 1 {
			name = unitName(names[0])
		}
		units, err := serviceUnits(ctx, name)
		if err != nil {
			return err
		}
		m := thisMachine()
		for _, u := range units {
			if err := send(win32Service(m, u)); err != nil {
				return err
			}
		}
		return nil
	}
	get := func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
		units, err := serviceUnits(ctx, unitName(r.Keys.String("Name")))
		if err != nil {
			return nil, err
		}
		if len(units) == 0 {
			return nil, notFound(r)
		}
		inst := win32Service(thisMachine(), units[0])
		inst["Name"] = r.Keys.String("Name")
		return inst, nil
	}
	return map[string]*provider.Class{
		"Win32_Service": {Enumerate: enum, Query: enum, Get: get,
			Methods: map[string]provider.Method{"StartService": serviceJob("StartUnit"), "StopService": serviceJob("StopUnit")}},
	}
}

func win32Service(m machine, u *unit) provider.Instance {
	name := strings.TrimSuffix(u.Name, ".service")
	startName := u.User
	if startName == "" {
		startName = "root"
	}
	status := "OK"
	exit := uint32(0)
	if u.ActiveState == "failed" {
		status, exit = "Degraded", 1066
	}
	inst := provider.Instance{
		"Name": name, "DisplayName": u.Description, "Caption": u.Description, "Description": u.Description,
		"State": u.State(), "StartMode": u.StartMode(), "Status": status, "Started": u.State() == "Running",
		"ProcessId": u.MainPID, "PathName": u.ExecStart, "StartName": startName, "ServiceType": "Own Process",
		"AcceptStop": u.CanStop && u.ActiveState == "active", "AcceptPause": false, "ExitCode": exit,
		"ServiceSpecificExitCode": uint32(u.ExitStatus), "ErrorControl": "Normal", "CheckPoint": uint32(0), "WaitHint": uint32(0),
		"SystemName": m.Host, "CreationClassName": "Win32_Service", "SystemCreationClassName": win32CS,
		"DesktopInteract": false, "DelayedAutoStart": false, "TagId": uint32(0),
	}
	return inst
}

// serviceJob is StartService (StartUnit) or StopService (StopUnit): the
// helper, as the caller, asks systemd, which checks the caller's rights
// (polkit). It answers Win32_Service's return values: 10 for a start of
// a running service, 5 for a stop of a stopped one.
func serviceJob(method string) provider.Method {
	return func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
		if !systemdRuns() {
			return nil, errNoSystemd()
		}
		cred, err := actAs(r)
		if err != nil {
			return nil, err
		}
		name := unitName(r.Keys.String("Name"))
		units, err := serviceUnits(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(units) == 0 {
			return nil, cim.Errorf(cim.ENotFound, "no service %s", name)
		}
		state := units[0].State()
		switch {
		case method == "StartUnit" && state == "Running":
			return provider.Instance{"ReturnValue": uint32(10)}, nil
		case method == "StopUnit" && state == "Stopped":
			return provider.Instance{"ReturnValue": uint32(5)}, nil
		case method == "StartUnit" && strings.HasPrefix(units[0].FileState, "masked"):
			return provider.Instance{"ReturnValue": uint32(14)}, nil
		}
		cmd, err := helperCmd(helperTask{Unit: name, UnitMethod: method})
		if err != nil {
			return nil, err
		}
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		out, err := cmd.Output()
		var res unitResult
		if jerr := json.Unmarshal(out, &res); jerr != nil {
			return nil, cim.Errorf(cim.EFailed, "the service helper failed: %v", err)
		}
		if res.Status != "" {
			st, _ := cim.ParseStatus(res.Status)
			return nil, cim.Errorf(st, "%s", res.Description)
		}
		return provider.Instance{"ReturnValue": res.Code}, nil
	}
}

// unitResult is the answer of a helper's unit job.
type unitResult struct {
	Code        uint32 `json:"code"`
	Status      string `json:"status,omitempty"`
	Description string `json:"description,omitempty"`
}

// helperUnit runs a unit job as the helper and writes its result to
// standard output.
func helperUnit(t helperTask) int {
	code, err := unitJob(context.Background(), t.UnitMethod, t.Unit)
	res := unitResult{Code: code}
	if err != nil {
		e := cim.AsError(err)
		res.Status, res.Description = e.Status.String(), e.Description
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}
