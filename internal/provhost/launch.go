package provhost

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
	"github.com/wbemd/wbemd/provider/wire"
)

// launchEnv names the environment variable that turns a process that
// links this package into the launcher: it reads its launchSpec from the
// variable, confines itself (cgroups, rlimits, user), and executes the
// provider. wbemd starts every host this way, re-executing its own binary,
// so that the provider runs confined from its first instruction.
const launchEnv = "WBEMD_PROVIDER_LAUNCH"

// launchSpec is what the launcher does before it executes Command.
type launchSpec struct {
	Command string   `json:"command"`
	Args    []string `json:"args"` // argv[1:]
	Dir     string   `json:"dir,omitempty"`
	Env     []string `json:"env"`

	SetUser bool  `json:"setUser,omitempty"` // switch to UID/GID/Groups
	UID     int   `json:"uid"`
	GID     int   `json:"gid"`
	Groups  []int `json:"groups,omitempty"`

	// CgroupProcs are the cgroup.procs files to join (one per
	// hierarchy), before anything else.
	CgroupProcs []string `json:"cgroupProcs,omitempty"`
	// Rlimits by resource number (RLIMIT_NOFILE, RLIMIT_AS, ...): soft
	// and hard limit alike.
	Rlimits map[int]uint64 `json:"rlimits,omitempty"`
}

func init() {
	if spec := os.Getenv(launchEnv); spec != "" {
		launch(spec)
	}
}

// launch runs the launcher and never returns: it executes the provider,
// or reports why it cannot on the wire (an error message with id 0) and
// exits with status 127.
func launch(text string) {
	fail := func(st cim.Status, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if f := os.NewFile(provider.WireFD, "wire"); f != nil {
			wire.NewWriter(f).Write(&wire.Message{Type: wire.TypeError, Status: st.String(), Description: msg})
		}
		fmt.Fprintln(os.Stderr, "wbemd provider launcher:", msg)
		os.Exit(127)
	}
	var spec launchSpec
	if err := json.Unmarshal([]byte(text), &spec); err != nil {
		fail(cim.EProviderLoadFailure, "bad launch specification: %v", err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, procs := range spec.CgroupProcs {
		if err := os.WriteFile(procs, pid, 0); err != nil {
			fail(cim.EProviderLoadFailure, "join cgroup %s: %v", procs, err)
		}
	}
	for res, v := range spec.Rlimits {
		if err := syscall.Setrlimit(res, &syscall.Rlimit{Cur: v, Max: v}); err != nil {
			fail(cim.EProviderLoadFailure, "set resource limit %d to %d: %v", res, v, err)
		}
	}
	if spec.SetUser {
		if err := syscall.Setgroups(spec.Groups); err != nil {
			fail(cim.EProviderLoadFailure, "set groups: %v", err)
		}
		if err := syscall.Setgid(spec.GID); err != nil {
			fail(cim.EProviderLoadFailure, "set group id %d: %v", spec.GID, err)
		}
		if err := syscall.Setuid(spec.UID); err != nil {
			fail(cim.EProviderLoadFailure, "set user id %d: %v", spec.UID, err)
		}
	}
	// Die with wbemd (a change of credentials clears the setting).
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	if os.Getppid() == 1 {
		os.Exit(1) // wbemd is gone already
	}
	if spec.Dir != "" {
		if err := os.Chdir(spec.Dir); err != nil {
			fail(cim.EProviderLoadFailure, "working directory: %v", err)
		}
	}
	argv := append([]string{spec.Command}, spec.Args...)
	err := syscall.Exec(spec.Command, argv, spec.Env)
	st := cim.EProviderLoadFailure
	if os.IsNotExist(err) {
		st = cim.EProviderNotFound
	}
	fail(st, "execute %s: %v", spec.Command, err)
}
