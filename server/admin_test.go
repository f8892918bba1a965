package server_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wbemcliAs runs wbemcli ei of Sample_Disk (or ecn of a namespace) as a
// user and returns its exit status and output.
func wbemcliAs(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("wbemcli", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

// TestAdministrationUnderLoad is the scripted administration run of a
// serving wbemd while wbem bench loads it: a user is added and granted
// read access (enable and remote) on one namespace through the local
// socket; wbemcli as that user reads there and is denied elsewhere; the
// grant is revoked and the very next request is denied; a backup taken
// mid-load opens and passes repo check; the same administration works
// through --url for an administrator and is refused to the user.
func TestAdministrationUnderLoad(t *testing.T) {
	if _, err := exec.LookPath("wbemcli"); err != nil {
		t.Fatal("wbemcli is not installed (apt-get install sblim-wbemcli; .ci/run does)")
	}
	d := startDaemon(t)
	wbem := func(stdin string, env []string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, "wbem"), args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(stdin string, env []string, args ...string) string {
		t.Helper()
		out, err := wbem(stdin, env, args...)
		if err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, out)
		}
		return out
	}
	// The load: bench's phases over and over, until the test ends it.
	phases := "create" + strings.Repeat(",get,modify,enumerate", 200)
	bench := exec.Command(filepath.Join(bin, "wbem"), "-n", "root/default", "bench", "--url", "http://"+d.http, "--user", "admin",
		"--objects", "300", "--connections", "4", "--phases", phases)
	bench.Env = append(os.Environ(), "WBEM_PASSWORD=secret")
	var benchOut bytes.Buffer
	bench.Stdout, bench.Stderr = &benchOut, &benchOut
	if err := bench.Start(); err != nil {
		t.Fatal(err)
	}
	benchDone := make(chan struct{})
	go func() { bench.Wait(); close(benchDone) }()
	defer func() {
		bench.Process.Kill()
		<-benchDone
	}()
	loaded := func(step string) {
		t.Helper()
		select {
		case <-benchDone:
			t.Fatalf("wbem bench ended before %s:\n%s", step, benchOut.String())
		default:
		}
	}
	repo := []string{"--repo", d.repo}
	must("alice-pw\n", nil, append(repo, "user", "add", "alice", "--password-stdin")...)
	loaded("the user was added")
	sample := "http://alice:alice-pw@" + d.http + "/root/sample"
	if code, out := wbemcliAs(t, "ein", sample+":Sample_Disk"); code != 16 || !strings.Contains(out, "CIM_ERR_ACCESS_DENIED") {
		t.Fatalf("alice before the grant: exit %d\n%s", code, out)
	}
	must("", nil, append(repo, "security", "grant", "root/sample", "alice", "read")...)
	if code, out := wbemcliAs(t, "ein", sample+":Sample_Disk"); code != 0 || !strings.Contains(out, `Sample_Disk.Name="sda"`) {
		t.Fatalf("alice after the grant: exit %d\n%s", code, out)
	}
	if code, out := wbemcliAs(t, "ecn", "http://alice:alice-pw@"+d.http+"/root/cimv2"); code != 16 || !strings.Contains(out, "CIM_ERR_ACCESS_DENIED") {
		t.Errorf("alice in root/cimv2: exit %d\n%s", code, out)
	}
	if code, out := wbemcliAs(t, "ci", sample+`:Sample_Disk.Name="a"`, `Name="a"`); code != 16 || !strings.Contains(out, "CIM_ERR_ACCESS_DENIED") {
		t.Errorf("alice writing with read access: exit %d\n%s", code, out)
	}
	loaded("the grant was checked")
	// A backup and a check while the load goes on.
	backup := filepath.Join(t.TempDir(), "backup.db")
	must("", nil, append(repo, "repo", "backup", backup)...)
	loaded("the backup was taken")
	if out := must("", nil, append(repo, "repo", "check")...); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("repo check of the serving repository: %s", out)
	}
	copyDir := t.TempDir()
	if err := os.Rename(backup, filepath.Join(copyDir, "repository.db")); err != nil {
		t.Fatal(err)
	}
	if out := must("", nil, "--repo", copyDir, "repo", "check"); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("repo check of the backup: %s", out)
	}
	if out := must("", nil, "--repo", copyDir, "user", "list"); !strings.Contains(out, "alice\tuser") {
		t.Errorf("users of the backup: %s", out)
	}
	if out := must("", nil, "--repo", copyDir, "-n", "root/default", "enum", "--names", "WbemBench_Item"); strings.Count(out, "\n") == 0 {
		t.Errorf("the backup holds none of the load's instances")
	}
	// Revoked: the next request is denied.
	must("", nil, append(repo, "security", "revoke", "root/sample", "alice", "read")...)
	if code, out := wbemcliAs(t, "ein", sample+":Sample_Disk"); code != 16 || !strings.Contains(out, "CIM_ERR_ACCESS_DENIED") {
		t.Errorf("alice right after the revoke: exit %d\n%s", code, out)
	}
	loaded("the grant was revoked")
	// Through --url: the administrator may, alice may not.
	admin := []string{"--url", "http://" + d.http, "--user", "admin"}
	if out := must("", []string{"WBEM_PASSWORD=secret"}, append(admin, "user", "list")...); !strings.Contains(out, "alice\tuser") || !strings.Contains(out, "admin\tadministrator") {
		t.Errorf("user list through --url: %s", out)
	}
	must("bob-pw\n", []string{"WBEM_PASSWORD=secret"}, append(admin, "user", "add", "bob", "--password-stdin")...)
	must("", []string{"WBEM_PASSWORD=secret"}, append(admin, "group", "add", "readers")...)
	must("", []string{"WBEM_PASSWORD=secret"}, append(admin, "group", "members", "add", "readers", "bob")...)
	must("", []string{"WBEM_PASSWORD=secret"}, append(admin, "security", "grant", "root/sample", "readers", "read")...)
	if code, out := wbemcliAs(t, "ein", "http://bob:bob-pw@"+d.http+"/root/sample:Sample_Disk"); code != 0 {
		t.Errorf("bob through his group: exit %d\n%s", code, out)
	}
	must("", []string{"WBEM_PASSWORD=secret"}, append(admin, "group", "members", "remove", "readers", "bob")...)
	if code, out := wbemcliAs(t, "ein", "http://bob:bob-pw@"+d.http+"/root/sample:Sample_Disk"); code != 16 {
		t.Errorf("bob out of the group: exit %d\n%s", code, out)
	}
	remoteBackup := filepath.Join(t.TempDir(), "remote.db")
	must("", []string{"WBEM_PASSWORD=secret"}, append(admin, "repo", "backup", remoteBackup)...)
	if fi, err := os.Stat(remoteBackup); err != nil || fi.Size() == 0 {
		t.Errorf("backup through --url: %v", err)
	}
	aliceURL := []string{"WBEM_PASSWORD=alice-pw"}
	for _, args := range [][]string{{"user", "list"}, {"repo", "backup", filepath.Join(t.TempDir(), "x.db")}, {"security", "get", "root/sample"}} {
		out, err := wbem("", aliceURL, append([]string{"--url", "http://" + d.http, "--user", "alice"}, args...)...)
		if err == nil || !strings.Contains(out, "WBEM_E_ACCESS_DENIED") {
			t.Errorf("alice: wbem %v: %v\n%s", args, err, out)
		}
	}
	// The backup stream refuses requests without credentials.
	rsp, err := http.Get("http://" + d.http + "/wbemd/backup")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != http.StatusUnauthorized {
		t.Errorf("backup without credentials: HTTP %d", rsp.StatusCode)
	}
	loaded("the administration through --url")
}

// TestRepositoryInUse: a second wbemd on a served repository stops at
// once, saying which wbemd holds it.
func TestRepositoryInUse(t *testing.T) {
	d := startDaemon(t)
	out, err := exec.Command(filepath.Join(bin, "wbemd"), "--repo", d.repo, "--http", "127.0.0.1:0", "--https", "off",
		"--wsman-http", "off", "--wsman-https", "off").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is in use: another wbemd serves it (its socket "+filepath.Join(d.repo, "wbemd.sock")+" answers)") {
		t.Errorf("a second wbemd: %v\n%s", err, out)
	}
}
