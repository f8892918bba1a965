package server_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory for the rest
// of the test, or skips the test saying why (it needs root).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the full-disk test mounts a small tmpfs: run it as root (it is skipped otherwise)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v): the full-disk test needs root with CAP_SYS_ADMIN", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillFile appends to path until the file system has no space left.
func fillFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
}

// createDisk is CreateInstance of a Sample_Disk named name, with a
// tag of a few hundred bytes.
func createDisk(name string) string {
	return `<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="Sample_Disk"><PROPERTY NAME="Name" TYPE="string"><VALUE>` + name +
		`</VALUE></PROPERTY><PROPERTY NAME="Model" TYPE="string"><VALUE>m</VALUE></PROPERTY><PROPERTY.ARRAY NAME="Tags" TYPE="string"><VALUE.ARRAY><VALUE>` + strings.Repeat("full disk ", 40) + `</VALUE></VALUE.ARRAY></PROPERTY.ARRAY></INSTANCE></IPARAMVALUE>`
}

// TestDiskFullServer runs wbemd on a small tmpfs (mounted by the test, as
// root) and fills it. A CreateInstance then fails with the out-of-disk
// status, whose message names no server path (the daemon logs the path);
// the daemon killed with SIGKILL and started again on the full disk serves
// every acknowledged instance and refuses new ones the same way; once
// space is freed, writes succeed again.
func TestDiskFullServer(t *testing.T) {
	dir := mountTmpfs(t, 24<<20)
	repo, filler := filepath.Join(dir, "repo"), filepath.Join(dir, "filler")
	d := startDaemonIn(t, repo, "--wsman-http", "off", "--wsman-https", "off")
	var acked []string
	n := 0
	create := func(d *daemon) (bool, string) {
		t.Helper()
		name := fmt.Sprintf("disk%05d", n)
		n++
		rsp, body := cimCall(t, d, "admin", "secret", "CreateInstance", createDisk(name))
		if rsp.StatusCode != 200 {
			t.Fatalf("CreateInstance: HTTP %d %s", rsp.StatusCode, body)
		}
		if strings.Contains(body, "<ERROR") {
			return false, body
		}
		acked = append(acked, name)
		return true, body
	}
	for i := 0; i < 20; i++ {
		if ok, body := create(d); !ok {
			t.Fatalf("CreateInstance with space: %s", body)
		}
	}
	fillFile(t, filler)
	refused := func(d *daemon, what string) {
		t.Helper()
		for i := 0; i < 5000; i++ {
			ok, body := create(d)
			if ok {
				continue
			}
			if !strings.Contains(body, "disk is full") || !strings.Contains(body, "WBEM_E_OUT_OF_DISK_SPACE") {
				t.Fatalf("%s: refused with\n%s\nwant WBEM_E_OUT_OF_DISK_SPACE and the disk-full message", what, body)
			}
			if strings.Contains(body, dir) || strings.Contains(body, "repository.db") {
				t.Errorf("%s: the answer names a server path:\n%s", what, body)
			}
			if i := strings.Index(body, "<ERROR"); i >= 0 {
				t.Logf("%s: %s", what, body[i:min(len(body), i+400)])
			}
			return
		}
		t.Fatalf("%s: 5,000 instances created on a full disk", what)
	}
	refused(d, "full disk")
	time.Sleep(200 * time.Millisecond)
	if !strings.Contains(d.log.String(), "no space left on device") {
		t.Errorf("the daemon did not log the file system's error:\n%.3000s", d.log)
	}
	t.Logf("full disk: %d instances acknowledged, then WBEM_E_OUT_OF_DISK_SPACE", len(acked))

	// Killed, and started on the full disk.
	d.kill()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid)); err != nil || strings.Contains(string(b), ") Z ") {
			break
		}
	}
	d2 := startDaemonOn(t, repo, "--wsman-http", "off", "--wsman-https", "off")
	rsp, body := cimCall(t, d2, "admin", "secret", "EnumerateInstanceNames", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE>`)
	if rsp.StatusCode != 200 || strings.Contains(body, "<ERROR") {
		t.Fatalf("EnumerateInstanceNames after a restart on a full disk: HTTP %d %.2000s", rsp.StatusCode, body)
	}
	for _, name := range acked {
		if !strings.Contains(body, ">"+name+"<") {
			t.Fatalf("acknowledged instance %s missing after a restart on a full disk", name)
		}
	}
	refused(d2, "restarted on a full disk")

	// Space freed: writes come back.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if ok, body := create(d2); !ok {
			t.Fatalf("CreateInstance once space is freed: %.2000s", body)
		}
	}
	t.Logf("restart on a full disk: %d acknowledged instances served, writes refused, then back once space was freed", len(acked))
}
