package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/internal/provhost"
	"github.com/wbemd/wbemd/provider"
)

// Win32_Process.Create's and Terminate's return values.
const (
	retSuccess          = 0
	retAccessDenied     = 2
	retUnknownFailure   = 8
	retPathNotFound     = 9
	retInvalidParameter = 21
)

// terminateGrace is how long Terminate waits after SIGTERM before it
// sends SIGKILL.
const terminateGrace = 5 * time.Second

// actAs is the identity a method acts as for its caller: the caller's
// Unix account. A host that is not root can act only as its own user.
func actAs(r *provider.Request) (*syscall.Credential, error) {
	cred, err := r.Credential()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 && cred.Uid != uint32(os.Geteuid()) {
		return nil, cim.Errorf(cim.EAccessDenied, "the provider host runs as uid %d and cannot act as %s (uid %d): run wbemd as root", os.Geteuid(), r.Caller.Name, cred.Uid)
	}
	return cred, nil
}

// createProcess is Win32_Process.Create: it starts CommandLine as the
// caller, in a session of its own, detached, and answers its ProcessId.
func createProcess(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	cred, err := actAs(r)
	if err != nil {
		return nil, err
	}
	argv, err := splitCommandLine(r.In.String("CommandLine"))
	if err != nil || len(argv) == 0 {
		return provider.Instance{"ReturnValue": retInvalidParameter}, nil
	}
	u := r.Caller.Unix
	dir := r.In.String("CurrentDirectory")
	if dir == "" {
		dir = "/" // the caller's home when it exists
		if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
			dir = u.Home
		}
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name}
	if si, ok := r.In.Get("ProcessStartupInformation"); ok {
		if obj, ok := si.(map[string]any); ok {
			if vars, ok := provider.Instance(obj).Get("EnvironmentVariables"); ok {
				if list, ok := vars.([]any); ok {
					for _, v := range list {
						if s, ok := v.(string); ok && strings.Contains(s, "=") {
							env = append(env, s)
						}
					}
				}
			}
		}
	}
	task := helperTask{Spawn: true, Argv: argv, Dir: dir, Env: env, UID: cred.Uid, GID: cred.Gid, Groups: append([]uint32{cred.Gid}, cred.Groups...)}
	if os.Geteuid() == 0 {
		task.CgroupProcs = provhost.CgroupProcs(os.Getppid())
		task.LimitsOf = os.Getppid()
	}
	cmd, err := helperCmd(task)
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("start a process: %w", err)
	}
	pw.Close()
	failure := readReport(pr)
	pr.Close()
	if failure != nil {
		cmd.Wait()
		code := retUnknownFailure
		switch syscall.Errno(failure.Errno) {
		case syscall.ENOENT, syscall.ENOTDIR:
			code = retPathNotFound
		case syscall.EACCES, syscall.EPERM:
			code = retAccessDenied
		}
		return provider.Instance{"ReturnValue": code}, nil
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // the host reaps it when it ends
	return provider.Instance{"ReturnValue": retSuccess, "ProcessId": uint32(pid)}, nil
}

// terminateProcess is Win32_Process.Terminate: SIGTERM as the caller,
// then SIGKILL if the process still runs after terminateGrace.
func terminateProcess(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	cred, err := actAs(r)
	if err != nil {
		return nil, err
	}
	p, err := findProcess(r)
	if err != nil {
		return nil, err
	}
	code := signalAs(cred, p, syscall.SIGTERM)
	if code != retSuccess {
		return provider.Instance{"ReturnValue": code}, nil
	}
	deadline := time.Now().Add(terminateGrace)
	for running(p) {
		if time.Now().After(deadline) {
			code = signalAs(cred, p, syscall.SIGKILL)
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return provider.Instance{"ReturnValue": code}, nil
}

// running reports whether p still runs (not ended, not a zombie, not
// another process with its pid).
func running(p *proc) bool {
	q, err := readProc(&reader{}, p.PID, procNeeds{})
	return err == nil && q.Start == p.Start && q.State != 'Z' && q.State != 'X'
}

// signalAs sends sig to p with the credentials cred, through the helper:
// the kernel decides whether the caller may. It answers a return value.
func signalAs(cred *syscall.Credential, p *proc, sig syscall.Signal) uint32 {
	cmd, err := helperCmd(helperTask{Kill: true, PID: p.PID, Start: p.Start, Signal: int(sig)})
	if err != nil {
		return retUnknownFailure
	}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return retSuccess
	case errors.As(err, &ee) && ee.ExitCode() == killDenied:
		return retAccessDenied
	case errors.As(err, &ee) && ee.ExitCode() == killGone:
		return retSuccess // it ended meanwhile
	}
	return retUnknownFailure
}

// getOwner is Win32_Process.GetOwner: the user name of the process's
// real user id, and the host name as its domain.
func getOwner(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	p, err := findProcess(r)
	if err != nil {
		return nil, err
	}
	name := strconv.FormatUint(uint64(p.UID), 10)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return provider.Instance{"ReturnValue": retSuccess, "User": name, "Domain": hostname()}, nil
}

// splitCommandLine splits a command line into arguments as a POSIX shell
// splits words, without any expansion: blanks separate arguments; single
// quotes keep everything; double quotes keep everything but \" and \\;
// a backslash outside quotes keeps the next character.
func splitCommandLine(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
