package linux

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// The helper is this binary run again (HostEnv=helper) to act on the
// machine as a caller: the host starts it, and it changes credentials
// before it acts, so that the kernel checks the caller's rights, not the
// host's.
const (
	helperMode = "helper"
	helperSpec = "WBEMD_BUILTIN_HELPER"
)

// helperTask is what the helper does.
type helperTask struct {
	// Spawn: run Argv (Argv[0] looked up in PATH of Env) in Dir as UID,
	// GID and Groups, in a session of its own, in the cgroups of
	// CgroupProcs, with the resource limits of process LimitsOf.
	Spawn       bool     `json:"spawn,omitempty"`
	Argv        []string `json:"argv,omitempty"`
	Dir         string   `json:"dir,omitempty"`
	Env         []string `json:"env,omitempty"`
	CgroupProcs []string `json:"cgroupProcs,omitempty"`
	LimitsOf    int      `json:"limitsOf,omitempty"`
	UID         uint32   `json:"uid"`
	GID         uint32   `json:"gid"`
	Groups      []uint32 `json:"groups,omitempty"`

	// Kill: send Signal to PID if it still started at Start (clock
	// ticks after boot), as the helper's credentials (set by the host).
	Kill   bool   `json:"kill,omitempty"`
	PID    int    `json:"pid,omitempty"`
	Start  uint64 `json:"start,omitempty"`
	Signal int    `json:"signal,omitempty"`

	// Unit: call UnitMethod (StartUnit, StopUnit) of systemd for Unit,
	// as the helper's credentials (set by the host).
	Unit       string `json:"unit,omitempty"`
	UnitMethod string `json:"unitMethod,omitempty"`
}

// helperFailure is a failed task's answer on file descriptor 3: the
// step and the error number.
type helperFailure struct {
	Step  string `json:"step"`
	Errno int    `json:"errno"`
	Text  string `json:"text"`
}

// Exit codes of a kill task.
const (
	killDone   = 0
	killDenied = 10
	killGone   = 11
	killFailed = 12
)

func runHelper() int {
	var t helperTask
	if err := json.Unmarshal([]byte(os.Getenv(helperSpec)), &t); err != nil {
		fmt.Fprintln(os.Stderr, "wbemd helper: bad task:", err)
		return killFailed
	}
	if t.Kill {
		return helperKill(t)
	}
	if t.Unit != "" {
		return helperUnit(t)
	}
	report := os.NewFile(3, "report")
	fail := func(step string, err error) int {
		f := helperFailure{Step: step, Text: err.Error()}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			f.Errno = int(errno)
		}
		json.NewEncoder(report).Encode(f)
		return 127
	}
	syscall.CloseOnExec(3)
	// Leave the provider host's confinement for wbemd's own: a process
	// started for a caller outlives the host.
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, procs := range t.CgroupProcs {
		os.WriteFile(procs, pid, 0)
	}
	if t.LimitsOf > 0 {
		for _, res := range []int{syscall.RLIMIT_NOFILE, syscall.RLIMIT_CORE, syscall.RLIMIT_DATA, syscall.RLIMIT_AS, syscall.RLIMIT_STACK} {
			if rl, ok := limitOf(t.LimitsOf, res); ok {
				syscall.Setrlimit(res, &rl)
			}
		}
	}
	if uint32(os.Geteuid()) != t.UID || uint32(os.Getegid()) != t.GID {
		groups := make([]int, len(t.Groups))
		for i, g := range t.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fail("setgroups", err)
		}
		if err := syscall.Setgid(int(t.GID)); err != nil {
			return fail("setgid", err)
		}
		if err := syscall.Setuid(int(t.UID)); err != nil {
			return fail("setuid", err)
		}
	}
	if err := os.Chdir(t.Dir); err != nil {
		return fail("chdir", unwrapErrno(err))
	}
	os.Clearenv()
	for _, kv := range t.Env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	path, err := exec.LookPath(t.Argv[0])
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return fail("lookup", syscall.EACCES)
		}
		return fail("lookup", syscall.ENOENT)
	}
	err = syscall.Exec(path, t.Argv, t.Env)
	return fail("exec", err)
}

func unwrapErrno(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// limitOf reads resource res of process pid (prlimit(2)).
func limitOf(pid, res int) (syscall.Rlimit, bool) {
	var rl syscall.Rlimit
	_, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(res), 0, uintptr(unsafePointer(&rl)), 0, 0)
	return rl, e == 0
}

// helperKill signals a process through a pidfd, after checking that it is
// still the process the task names (its pid was not reused).
func helperKill(t helperTask) int {
	fd, _, e := syscall.Syscall(sysPidfdOpen, uintptr(t.PID), 0, 0)
	if e != 0 {
		if e == syscall.ESRCH {
			return killGone
		}
		return killFailed
	}
	defer syscall.Close(int(fd))
	p, err := readProc(&reader{}, t.PID, procNeeds{})
	if err != nil || p.Start != t.Start {
		return killGone
	}
	_, _, e = syscall.Syscall6(sysPidfdSendSignal, fd, uintptr(t.Signal), 0, 0, 0, 0)
	switch e {
	case 0:
		return killDone
	case syscall.EPERM:
		return killDenied
	case syscall.ESRCH:
		return killGone
	}
	return killFailed
}

// Linux system call numbers, the same on every architecture (added after
// the tables were unified).
const (
	sysPidfdSendSignal = 424
	sysPidfdOpen       = 434
)

// helperCmd is the command that runs task as the helper.
func helperCmd(t helperTask) (*exec.Cmd, error) {
	spec, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"wbemd-helper"}
	cmd.Env = []string{HostEnv + "=" + helperMode, helperSpec + "=" + string(spec)}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	return cmd, nil
}

// readReport reads a spawn's failure report: nil when the program was
// executed (the pipe closed empty).
func readReport(r io.Reader) *helperFailure {
	b, _ := io.ReadAll(r)
	if len(b) == 0 {
		return nil
	}
	var f helperFailure
	if json.Unmarshal(b, &f) != nil {
		f = helperFailure{Step: "report", Text: string(b)}
	}
	return &f
}
