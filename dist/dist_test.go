// Package dist holds what a system installation of wbemd needs besides the
// binaries: the systemd unit, the default configuration, the manual page
// templates and the Debian maintainer scripts (scripts/build-deb.sh puts
// them together). Its tests check them against the real programs.
package dist

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/internal/cli"
)

// testVersion is stamped into the binaries the way scripts/build-deb.sh
// stamps a package's version.
const testVersion = "0.0~test1+dist"

var bin string // the folder of the built wbem, wbemd and genman

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wbemd-dist-test")
	if err != nil {
		panic(err)
	}
	bin = dir
	ldflags := "-X github.com/wbemd/wbemd/internal/version.Version=" + testVersion
	for _, p := range []string{"cmd/wbem", "cmd/wbemd", "dist/genman"} {
		build := exec.Command("go", "build", "-ldflags", ldflags, "-o", filepath.Join(dir, filepath.Base(p)), "github.com/wbemd/wbemd/"+p)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// wbemdHelp is wbemd's --help text (it exits 2 after printing it, as the
// flag package does).
func wbemdHelp(t *testing.T) []byte {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, "wbemd"), "--help").CombinedOutput()
	if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out
}

// manPages generates wbem.1 and wbemd.8 as the package build does, into
// DIR/man1 and DIR/man8, and returns DIR.
func manPages(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, page := range []struct{ name, section string }{{"wbem", "1"}, {"wbemd", "8"}} {
		cmd := exec.Command(filepath.Join(bin, "genman"), "-version", testVersion, "-date", "2026-01-02",
			page.name, filepath.Join("man", page.name+"."+page.section+".in"))
		if page.name == "wbemd" {
			cmd.Stdin = bytes.NewReader(wbemdHelp(t))
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("genman %s: %v\n%s", page.name, err, stderr.Bytes())
		}
		os.MkdirAll(filepath.Join(dir, "man"+page.section), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "man"+page.section, page.name+"."+page.section), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"wbemd", "--version"}, {"wbem", "version"}} {
		out, err := exec.Command(filepath.Join(bin, args[0]), args[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		want := args[0] + " " + testVersion + " ("
		if !strings.HasPrefix(string(out), want) {
			t.Errorf("%s printed %q, want it to start %q", args, out, want)
		}
	}
	out, err := exec.Command(filepath.Join(bin, "wbem"), "-o", "json", "version").Output()
	if err != nil || !strings.Contains(string(out), `"version":"`+testVersion+`"`) {
		t.Errorf("wbem -o json version: %q, %v", out, err)
	}
	// WBEMD_VERSION is not --version: an unrelated variable of that name
	// neither stops nor breaks the daemon's configuration.
	cmd := exec.Command(filepath.Join(bin, "wbemd"), "--version")
	cmd.Env = append(os.Environ(), "WBEMD_VERSION=3.1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("with $WBEMD_VERSION set: %v\n%s", err, out)
	}
}

func TestManPages(t *testing.T) {
	dir := manPages(t)
	wbem, _ := os.ReadFile(filepath.Join(dir, "man1", "wbem.1"))
	wbemd, _ := os.ReadFile(filepath.Join(dir, "man8", "wbemd.8"))
	for name, page := range map[string][]byte{"wbem.1": wbem, "wbemd.8": wbemd} {
		if regexp.MustCompile(`@[A-Z]+@`).Match(page) {
			t.Errorf("%s: a template marker is left", name)
		}
		if !bytes.Contains(page, []byte(`"wbemd `+testVersion+`"`)) || !bytes.Contains(page, []byte("2026-01-02")) {
			t.Errorf("%s: no version or date in the title line", name)
		}
	}
	// Every flag of wbemd and every verb of wbem is in its page.
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllSubmatch(wbemdHelp(t), -1) {
		if opt := `\fB\-\-` + strings.ReplaceAll(string(m[1]), "-", `\-`) + `\fR`; !bytes.Contains(wbemd, []byte(opt)) {
			t.Errorf("wbemd.8 does not describe --%s", m[1])
		}
	}
	if !bytes.Contains(wbemd, []byte(`\fB\-\-repo\fR \fIstring\fR`+"\nrepository directory (default: /var/lib/wbemd)")) {
		t.Errorf("wbemd.8: --repo is not shown with its argument and default")
	}
	_, verbs := cli.Reference()
	if len(verbs) < 10 {
		t.Fatalf("only %d verbs", len(verbs))
	}
	for _, v := range verbs {
		if !bytes.Contains(wbem, []byte(`\fB`+strings.ReplaceAll(v.Path, "-", `\-`)+`\fR`)) {
			t.Errorf("wbem.1 does not describe %s", v.Path)
		}
	}
	// The pages are clean roff: groff warns about nothing.
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed (Debian: groff-base): the pages' roff is not checked")
	}
	for _, page := range []string{filepath.Join(dir, "man1", "wbem.1"), filepath.Join(dir, "man8", "wbemd.8")} {
		out, err := exec.Command("groff", "-man", "-ww", "-z", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww %s: %v\n%s", filepath.Base(page), err, out)
		}
	}
}

// TestUnit runs systemd-analyze verify on the unit. It reads the unit as
// installed except for ExecStart, which names the wbemd just built (verify
// checks that the program exists), and finds the manual pages of
// Documentation= in the generated ones. verify exits 0 even for unknown
// settings, so any output fails the test. The unit's hardening is then
// measured by systemd-analyze security: its exposure score must stay at
// or below 2.0 (0 is the most locked down, 10 a unit without hardening).
func TestUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian: systemd): the unit is not verified")
	}
	unit, err := os.ReadFile("wbemd.service")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("\nExecStart=/usr/sbin/wbemd ")) {
		t.Fatal("ExecStart is not /usr/sbin/wbemd")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wbemd.service")
	unit = bytes.Replace(unit, []byte("\nExecStart=/usr/sbin/wbemd "), []byte("\nExecStart="+filepath.Join(bin, "wbemd")+" "), 1)
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	verify := exec.Command("systemd-analyze", "verify", path)
	verify.Env = append(os.Environ(), "MANPATH="+manPages(t))
	out, err := verify.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	out, err = exec.Command("systemd-analyze", "security", "--offline=yes", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for wbemd.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level in\n%s", out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2.0 {
		t.Errorf("exposure level %.1f, more than 2.0:\n%s", score, out)
	}
}

// TestDefaultConfig runs wbemd on the packaged configuration file, and on
// the same file with every commented example setting switched on: wbemd
// rejects an unknown name or a bad value, with the line.
func TestDefaultConfig(t *testing.T) {
	conf, err := os.ReadFile("wbemd.conf")
	if err != nil {
		t.Fatal(err)
	}
	example := regexp.MustCompile(`(?m)^# ([a-z-]+ = \S+)$`)
	if n := len(example.FindAll(conf, -1)); n < 10 {
		t.Errorf("only %d example settings", n)
	}
	dir := t.TempDir()
	all := filepath.Join(dir, "all.conf")
	if err := os.WriteFile(all, example.ReplaceAll(conf, []byte("$1")), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, append(append([]byte{}, conf...), "read-timeout = soon\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		ok   bool
	}{{"wbemd.conf", true}, {all, true}, {bad, false}} {
		cmd := exec.Command(filepath.Join(bin, "wbemd"), "--config", c.file, "--version")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no WBEMD_* of the caller
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.ok {
			t.Errorf("wbemd --config %s: %v\n%s", filepath.Base(c.file), err, out)
		}
	}
}

// TestNotify starts wbemd the way systemd starts a Type=notify unit: with
// $NOTIFY_SOCKET naming a datagram socket. wbemd must say READY=1 only
// once it answers (its local socket accepts connections), and STOPPING=1
// at SIGTERM, before it exits cleanly.
func TestNotify(t *testing.T) {
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	repo := filepath.Join(dir, "repo")
	cmd := exec.Command(filepath.Join(bin, "wbemd"), "--repo", repo, "--http", "off", "--https", "off",
		"--wsman-http", "off", "--wsman-https", "off")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	receive := func() string {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\nwbemd: %s", err, stderr.Bytes())
		}
		return string(buf[:n])
	}
	msg := receive()
	if !strings.HasPrefix(msg, "READY=1\n") {
		t.Fatalf("first notification %q, want READY=1", msg)
	}
	sock, err := net.Dial("unix", filepath.Join(repo, "wbemd.sock"))
	if err != nil {
		t.Fatalf("READY=1 was sent before the local socket accepts: %v", err)
	}
	fmt.Fprintf(sock, "GET /healthz HTTP/1.0\r\n\r\n")
	status, err := bufio.NewReader(sock).ReadString('\n')
	sock.Close()
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Errorf("/healthz on the local socket after READY=1: %q, %v", status, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if msg := receive(); !strings.HasPrefix(msg, "STOPPING=1") {
		t.Errorf("at SIGTERM: %q, want STOPPING=1", msg)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("wbemd after SIGTERM: %v\n%s", err, stderr.Bytes())
	}
}
