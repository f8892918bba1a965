package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/server"
)

// TestBuiltinClients: the built-in classes answer wbemcli (ei, gi, cm),
// wsl enum and pywinrm Enumerate with a WQL filter; ASSOCIATORS OF the
// operating system lists the processes; Win32_Process.Create as an
// administrator whose name is a Unix account starts a process as that
// account and answers its ProcessId and 0, Terminate ends it; a wbemd
// user without a Unix account of the same name is refused.
func TestBuiltinClients(t *testing.T) {
	for _, tool := range []string{"wbemcli", "wsl", "uuidgen", "xmllint", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/test.sh installs it)", tool)
		}
	}
	d := startDaemon(t)
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	pid := strconv.Itoa(sleeper.Process.Pid)
	base := "http://admin:secret@" + d.http + "/root/cimv2"
	host, _ := os.Hostname()

	// wbemcli ei and gi.
	out, errOut, code := wbemcli("ei", base+":Win32_OperatingSystem")
	if code != 0 || !strings.Contains(out, "/root/cimv2:Win32_OperatingSystem") || !strings.Contains(out, `CSName="`+host+`"`) {
		t.Errorf("wbemcli ei Win32_OperatingSystem: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = wbemcli("ei", base+":Linux_OperatingSystem")
	if code != 0 || !strings.Contains(out, "OSType=36") {
		t.Errorf("wbemcli ei Linux_OperatingSystem: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = wbemcli("gi", base+`:Win32_Process.Handle="`+pid+`"`)
	if code != 0 || !strings.Contains(out, `CommandLine="sleep 1000"`) || !strings.Contains(out, "ProcessId="+pid) {
		t.Errorf("wbemcli gi Win32_Process: exit %d\n%s%s", code, out, errOut)
	}
	for _, class := range []string{"Win32_LogicalDisk", "Linux_FileSystem", "Win32_ComputerSystem", "Linux_UnixProcess"} {
		out, errOut, code = wbemcli("ei", base+":"+class)
		if code != 0 || !strings.Contains(out, class) {
			t.Errorf("wbemcli ei %s: exit %d\n%s%s", class, code, out, errOut)
		}
	}

	// wsl enum and pywinrm Enumerate with a WQL filter.
	wql := "SELECT * FROM Win32_Process WHERE Handle = '" + pid + "'"
	out, code = wslRun(t, d, "secret", nil, "wsl", "enum", "Win32_Process", "-filter", wql, "-dialect", "http://schemas.microsoft.com/wbem/wsman/1/WQL")
	if code != 0 || !strings.Contains(out, "<p:ProcessId>"+pid+"</p:ProcessId>") || strings.Count(out, "<p:Handle>") != 1 {
		t.Errorf("wsl enum Win32_Process with a WQL filter: exit %d\n%s", code, out)
	}
	out, code = wslRun(t, d, "secret", nil, "wsl", "enum", "Win32_OperatingSystem")
	if code != 0 || !strings.Contains(out, "<p:OSType>36</p:OSType>") {
		t.Errorf("wsl enum Win32_OperatingSystem: exit %d\n%s", code, out)
	}
	r := pywinrm(t, d, "http://"+d.wsman+"/wsman", "admin", "secret", "enumerate",
		map[string]any{"uri": "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*", "wql": "SELECT * FROM Win32_LogicalDisk WHERE DeviceID = '/'"})
	if !r.OK || !strings.Contains(strings.Join(r.Answers, ""), "<p:DeviceID>/</p:DeviceID>") {
		t.Errorf("pywinrm Enumerate Win32_LogicalDisk with a WQL filter: %+v", r)
	}
	r = pywinrm(t, d, "http://"+d.wsman+"/wsman", "admin", "secret", "enumerate",
		map[string]any{"uri": "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*", "wql": wql})
	if !r.OK || !strings.Contains(strings.Join(r.Answers, ""), "<p:CommandLine>sleep 1000</p:CommandLine>") {
		t.Errorf("pywinrm Enumerate Win32_Process with a WQL filter: %+v", r)
	}

	// ASSOCIATORS OF the operating system: its processes.
	osPath := wbemObjects(t, d, "enum", "Linux_OperatingSystem")[0]["__RELPATH"].(string)
	handles := map[string]bool{}
	for _, p := range wbemObjects(t, d, "query", "ASSOCIATORS OF {"+osPath+"} WHERE AssocClass = Linux_OSProcess") {
		if p["__CLASS"] == "Linux_UnixProcess" {
			handles[fmt.Sprint(p["Handle"])] = true
		}
	}
	if !handles[pid] || !handles["1"] || len(handles) < 10 {
		t.Errorf("ASSOCIATORS OF the operating system: %d processes, without %s or 1", len(handles), pid)
	}

	// Create and Terminate through the local socket as root (the Unix
	// superuser, an administrator), and through wbemcli as admin, who has
	// no Unix account.
	out, err := runWbem(nil, "--repo", d.repo, "call", "Win32_Process", "Create", "CommandLine=sleep 999")
	m := regexp.MustCompile(`(?m)^ReturnValue +0\nProcessId +(\d+)$`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("wbem call Win32_Process Create as root: %v\n%s", err, out)
	}
	created, _ := strconv.Atoi(m[1])
	defer syscall.Kill(created, syscall.SIGKILL)
	if st, err := os.Stat(fmt.Sprintf("/proc/%d", created)); err != nil || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("the created process %d: %v (want it running as root)", created, err)
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", created))
	if string(cmdline) != "sleep\x00999\x00" {
		t.Errorf("the created process runs %q", cmdline)
	}
	out, errOut, code = wbemcli("cm", base+":Win32_Process", "Create.CommandLine=sleep 998")
	if code == 0 || !strings.Contains(out+errOut, "CIM_ERR_ACCESS_DENIED") || !strings.Contains(out+errOut, "not a Unix account") {
		t.Errorf("wbemcli cm Create as admin (no Unix account): exit %d\n%s%s", code, out, errOut)
	}
	out, err = runWbem(nil, "--repo", d.repo, "call", `Win32_Process.Handle="`+m[1]+`"`, "Terminate", "Reason=0")
	if err != nil || !regexp.MustCompile(`(?m)^ReturnValue +0$`).MatchString(out) {
		t.Errorf("wbem call Terminate: %v\n%s", err, out)
	}
	for i := 0; i < 100 && server.Alive(created); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if server.Alive(created) {
		t.Errorf("process %d runs after Terminate", created)
	}

	// Win32_Service where systemd does not run: a precise error.
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		out, err := runWbem(nil, "--repo", d.repo, "enum", "Win32_Service")
		if err == nil || !strings.Contains(out, "WBEM_E_NOT_SUPPORTED") || !strings.Contains(out, "systemd does not run on this machine") {
			t.Errorf("Win32_Service without systemd: %v\n%s", err, out)
		}
	}

	// Disabled by an administrator: the provider is not called.
	if out, err := runWbem(nil, "--repo", d.repo, "provider", "disable", "WBEMD_Linux"); err != nil {
		t.Fatalf("wbem provider disable: %v\n%s", err, out)
	}
	out, err = runWbem(nil, "--repo", d.repo, "get", "Win32_OperatingSystem=@")
	if err == nil || !strings.Contains(out, "WBEM_E_PROVIDER_DISABLED") {
		t.Errorf("a disabled built-in provider: %v\n%s", err, out)
	}
}
