package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
	"github.com/wbemd/wbemd/store/bolt"
)

var rootPrincipal = cimom.Principal{Name: "root"}

// builtinRepo is a repository on disk with the built-in providers
// installed, served by a provider host in this process (the test binary
// is the host's program, as wbemd's binary is in wbemd).
func builtinRepo(t *testing.T) *cimom.CIMOM {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), RepoFile), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	installBuiltins(ctx, om, log)
	sup, err := provhost.Attach(ctx, om, provhost.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sup.Close(ctx)
		om.Close(ctx)
		db.Close()
	})
	return om
}

// params is a __PARAMETERS object of string in-parameters.
func params(kv ...string) *cim.Object {
	o := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Properties = append(o.Properties, cim.Property{Name: kv[i], Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: kv[i+1]}})
	}
	return o
}

// runningWith finds the processes whose command line is args.
func runningWith(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && string(b) == want {
			out = append(out, pid)
		}
	}
	return out
}

func returnValue(t *testing.T, out *cim.Object) uint32 {
	t.Helper()
	v, _ := out.Get(cimom.ReturnValue)
	n, ok := v.V.(uint32)
	if !ok {
		t.Fatalf("ReturnValue %v", v)
	}
	return n
}

// TestBuiltinMethodRights: Win32_Process.Create and Terminate need
// METHOD_EXECUTE (a user denied it is ACCESS_DENIED and starts nothing)
// and run as the caller's Unix account: a process created for "nobody"
// runs as nobody, and nobody cannot terminate a process of root's; a
// wbemd user without a Unix account is refused.
func TestBuiltinMethodRights(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("acting as another user needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	ctx := context.Background()
	om := builtinRepo(t)
	admin, err := om.Connect(ctx, "root/cimv2", rootPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := admin.GetSD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sd.DACL = append([]cimom.ACE{{Trustee: "guest", Mask: cimom.RightMethodExecute, Deny: true}}, sd.DACL...)
	if err := admin.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}

	// guest: no METHOD_EXECUTE.
	guest, err := om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "guest"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = guest.ExecMethod(ctx, "Win32_Process", "Create", params("CommandLine", "sleep 997"), 0, nil)
	if cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("Create as guest without METHOD_EXECUTE: %v, want WBEM_E_ACCESS_DENIED", err)
	}
	if _, err := guest.GetObject(ctx, "Win32_OperatingSystem=@", 0, nil); err != nil {
		t.Errorf("guest reads Win32_OperatingSystem: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if pids := runningWith("sleep", "997"); len(pids) > 0 {
		t.Errorf("a refused Create started %v", pids)
	}

	// A wbemd administrator with no Unix account of the same name.
	noUnix, err := om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "wbemd-admin-without-account", Groups: []string{cimom.GroupAdministrators}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = noUnix.ExecMethod(ctx, "Win32_Process", "Create", params("CommandLine", "sleep 996"), 0, nil)
	if cim.StatusOf(err) != cim.EAccessDenied || !strings.Contains(err.Error(), "not a Unix account") {
		t.Errorf("Create as a user without a Unix account: %v, want WBEM_E_ACCESS_DENIED", err)
	}

	// nobody: the process runs as nobody.
	nb, err := om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := nb.ExecMethod(ctx, "Win32_Process", "Create", params("CommandLine", "sleep 995", "CurrentDirectory", "/tmp"), 0, nil)
	if err != nil || returnValue(t, out) != 0 {
		t.Fatalf("Create as nobody: %v %v", out, err)
	}
	v, _ := out.Get("ProcessId")
	pid := int(v.V.(uint32))
	defer syscall.Kill(pid, syscall.SIGKILL)
	st, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil || strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)) != nobody.Uid {
		t.Errorf("the process created for nobody: %v, owner %v (want uid %s)", err, st.Sys().(*syscall.Stat_t).Uid, nobody.Uid)
	}
	if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); cwd != "/tmp" {
		t.Errorf("the created process's directory is %q", cwd)
	}
	owner, err := nb.ExecMethod(ctx, fmt.Sprintf(`Win32_Process.Handle="%d"`, pid), "GetOwner", nil, 0, nil)
	if u, _ := owner.Get("User"); err != nil || u.V != "nobody" {
		t.Errorf("GetOwner: %v %v", owner, err)
	}
	// nobody cannot end a process of root's: return value 2.
	sleeper := startSleep(t, "994")
	out, err = nb.ExecMethod(ctx, fmt.Sprintf(`Win32_Process.Handle="%d"`, sleeper), "Terminate", params(), 0, nil)
	if err != nil || returnValue(t, out) != 2 {
		t.Errorf("Terminate of root's process as nobody: %v %v, want ReturnValue 2", out, err)
	}
	if !alive(sleeper) {
		t.Errorf("root's process %d ended", sleeper)
	}
	// and ends its own.
	out, err = nb.ExecMethod(ctx, fmt.Sprintf(`Win32_Process.Handle="%d"`, pid), "Terminate", params(), 0, nil)
	if err != nil || returnValue(t, out) != 0 || alive(pid) {
		t.Errorf("Terminate of its own process as nobody: %v %v (alive %v)", out, err, alive(pid))
	}
	// An executable that does not exist: 9.
	out, err = admin.ExecMethod(ctx, "Win32_Process", "Create", params("CommandLine", "/nonexistent/program"), 0, nil)
	if err != nil || returnValue(t, out) != 9 {
		t.Errorf("Create of a missing program: %v %v, want ReturnValue 9", out, err)
	}
}

// startSleep starts sleep SECONDS as the test's user, reaped when the
// test ends.
func startSleep(t *testing.T, seconds string) int {
	t.Helper()
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", seconds}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p.Pid
}

// Alive is alive, for the tests of package server_test.
var Alive = alive

// alive reports whether pid runs (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	j := strings.LastIndexByte(s, ')')
	return j > 0 && j+2 < len(s) && s[j+2] != 'Z'
}

// TestBuiltinInstallOnce: the built-ins are installed once per
// repository: deleted by an administrator, they stay deleted; deleting
// the marker installs them again.
func TestBuiltinInstallOnce(t *testing.T) {
	ctx := context.Background()
	om := builtinRepo(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := om.Connect(ctx, "root/cimv2", rootPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	reg := `__Win32Provider.Name="WBEMD_Linux"`
	if _, err := svc.GetObject(ctx, reg, 0, nil); err != nil {
		t.Fatalf("the registration: %v", err)
	}
	if err := svc.DeleteInstance(ctx, reg, 0, nil); err != nil {
		t.Fatal(err)
	}
	installBuiltins(ctx, om, log)
	if _, err := svc.GetObject(ctx, reg, 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("a deleted registration came back: %v", err)
	}
	root, err := om.Connect(ctx, "root", rootPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.DeleteInstance(ctx, builtinMarker+"=@", 0, nil); err != nil {
		t.Fatal(err)
	}
	installBuiltins(ctx, om, log)
	if _, err := svc.GetObject(ctx, reg, 0, nil); err != nil {
		t.Errorf("after the marker's deletion, the registration: %v", err)
	}
	if _, err := svc.GetObject(ctx, "Win32_OperatingSystem=@", 0, nil); err != nil {
		t.Errorf("Win32_OperatingSystem: %v", err)
	}
}
