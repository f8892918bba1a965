package server_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/internal/testdata"
)

var bin string // directory of the wbem and wbemd binaries built for the tests

func TestMain(m *testing.M) {
	if os.Getenv("WBEMD_FLOOD_ADDR") != "" { // the flooding process of TestFloodUnauthenticated: no binaries needed
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wbemd-interop")
	if err != nil {
		panic(err)
	}
	for _, c := range []string{"wbem", "wbemd"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, c), "github.com/wbemd/wbemd/cmd/"+c)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			panic(err)
		}
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a running wbemd.
type daemon struct {
	http, https string
	wsman       string // WS-Management over HTTP (host:port), "" when off
	wsmans      string // WS-Management over HTTPS
	repo        string
	cmd         *exec.Cmd
	log         *daemonLog
	killed      bool // by kill: the cleanup only reaps it
}

// kill ends the daemon with SIGKILL, as a lost node.
func (d *daemon) kill() {
	d.killed = true
	d.cmd.Process.Kill()
}

// daemonLog is what a daemon has logged so far.
type daemonLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *daemonLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

func (l *daemonLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon prepares a repository (the sample schema, an administrator
// "admin" and a user "guest") and runs wbemd on free ports.
func startDaemon(t *testing.T, extra ...string) *daemon {
	t.Helper()
	return startDaemonIn(t, t.TempDir(), extra...)
}

// startDaemonIn is startDaemon with the repository in repo.
func startDaemonIn(t *testing.T, repo string, extra ...string) *daemon {
	t.Helper()
	wbem := func(stdin string, args ...string) {
		cmd := exec.Command(filepath.Join(bin, "wbem"), append([]string{"--repo", repo}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, out)
		}
	}
	wbem("", "mofcomp", "../examples/sample.mof")
	wbem("secret\n", "user", "add", "admin", "--admin", "--password-stdin")
	wbem("guest-pw\n", "user", "add", "guest", "--password-stdin")
	return startDaemonOn(t, repo, extra...)
}

// startDaemonOn runs wbemd on free ports, on the repository repo.
func startDaemonOn(t *testing.T, repo string, extra ...string) *daemon {
	t.Helper()
	d := &daemon{repo: repo, log: &daemonLog{}}
	d.cmd = exec.Command(filepath.Join(bin, "wbemd"), append([]string{"--repo", repo, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
		"--wsman-http", "127.0.0.1:0", "--wsman-https", "127.0.0.1:0"}, extra...)...)
	wantWS, wantWSS := true, true
	for i := 0; i+1 < len(extra); i++ {
		wantWS = wantWS && !(extra[i] == "--wsman-http" && extra[i+1] == "off")
		wantWSS = wantWSS && !(extra[i] == "--wsman-https" && extra[i+1] == "off")
	}
	stderr, _ := d.cmd.StderrPipe()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The listeners' addresses, in the text or the JSON log format.
	addr := regexp.MustCompile(`serving (CIM-XML|WS-Management) over (HTTPS?)"(?: addr=|,"addr":")([^\s"]+)`)
	timer := time.AfterFunc(30*time.Second, func() { d.cmd.Process.Kill() })
	sc := bufio.NewScanner(stderr)
	for (d.http == "" || d.https == "" || wantWS && d.wsman == "" || wantWSS && d.wsmans == "") && sc.Scan() {
		d.log.add(sc.Text())
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			switch m[1] + " " + m[2] {
			case "CIM-XML HTTP":
				d.http = m[3]
			case "CIM-XML HTTPS":
				d.https = m[3]
			case "WS-Management HTTP":
				d.wsman = m[3]
			default:
				d.wsmans = m[3]
			}
		}
	}
	timer.Stop()
	if d.http == "" || d.https == "" {
		t.Fatalf("wbemd did not start:\n%s", d.log)
	}
	go func() {
		for sc.Scan() {
			d.log.add(sc.Text())
		}
	}()
	t.Cleanup(func() {
		if d.killed {
			d.cmd.Wait()
			return
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- d.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("wbemd exited: %v", err)
			}
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			t.Error("wbemd did not stop on SIGTERM")
		}
	})
	return d
}

// responses returns the CIM-XML answers a wbemcli -dx run printed.
func responses(stderr string) []string {
	var out []string
	for {
		i := strings.Index(stderr, "From server: <?xml")
		if i < 0 {
			return out
		}
		rest := stderr[i+len("From server: "):]
		j := strings.Index(rest, "</CIM>")
		if j < 0 {
			return out
		}
		out = append(out, rest[:j+len("</CIM>")])
		stderr = rest[j:]
	}
}

// validate checks a response against the DSP0203 DTD with xmllint.
func validate(t *testing.T, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rsp.xml")
	os.WriteFile(f, []byte(doc), 0o644)
	out, err := exec.Command("xmllint", "--noout", "--dtdvalid", filepath.Join(testdata.Dir(), "dtd", "DSP0203_2.4.0.dtd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("response not valid against the DTD: %v\n%s\n%.2000s", err, out, doc)
	}
}

// TestWbemcli drives every wbemcli operation against wbemd over HTTP and
// HTTPS, with error cases, and validates every answer against the DTD.
func TestWbemcli(t *testing.T) {
	if _, err := exec.LookPath("wbemcli"); err != nil {
		t.Fatal("wbemcli is not installed (apt-get install sblim-wbemcli; .ci/run does)")
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is not installed (apt-get install libxml2-utils; .ci/run does)")
	}
	for _, scheme := range []string{"http", "https"} {
		d := startDaemon(t) // each scheme starts from the sample schema
		host := d.http
		if scheme == "https" {
			host = d.https
		}
		base := scheme + "://admin:secret@" + host + "/root/sample"
		disk := base + `:Sample_Disk.Name="sda"`
		cases := []struct {
			name string
			args []string
			exit int
			want string // a line the output must hold (stdout, or stderr on failure)
		}{
			{"ecn", []string{"ecn", base}, 0, host + "/root/sample:Sample_Disk"},
			{"ec", []string{"ec", base + ":Sample_StorageElement"}, 0, host + "/root/sample:Sample_Volume Name=,SizeBytes=,Model=,Installed=,FileSystem=,Mounted="},
			{"gc", []string{"gc", base + ":Sample_Disk"}, 0, host + "/root/sample:Sample_Disk Name=,SizeBytes=,Model=,Installed=,RotationRate=,Tags="},
			{"gcd", []string{"gcd", base + ":Sample_Disk"}, 0, `<CLASS NAME="Sample_Disk" SUPERCLASS="Sample_StorageElement">`},
			{"ein", []string{"ein", base + ":Sample_Disk"}, 0, host + `/root/sample:Sample_Disk.Name="sdb"`},
			{"ei", []string{"ei", base + ":Sample_Volume"}, 0, host + `/root/sample:Sample_Volume.Name="sda2" Name="sda2",SizeBytes=480000000000,Model="partition",Installed=,FileSystem="ext4",Mounted=TRUE`},
			{"gi", []string{"gi", disk}, 0, host + `/root/sample:Sample_Disk.Name="sda" Name="sda",SizeBytes=512110190592,Model="Samsung 980",Installed=20260101120000.000000+000,RotationRate=0,Tags="nvme","system"`},
			{"ci", []string{"ci", base + `:Sample_Disk.Name="new"`, `Name="new",Model="it's > 'ü'",SizeBytes=5`}, 0, host + `/root/sample:Sample_Disk.Name="new"`},
			{"gi created", []string{"gi", base + `:Sample_Disk.Name="new"`}, 0, `Model="it's > 'ü'"`},
			{"ci exists", []string{"ci", base + `:Sample_Disk.Name="new"`, `Name="new",Model="x"`}, 16, "CIM_ERR_ALREADY_EXISTS"},
			// WMI compares key values without regard to case (wmi-semantics.md §4.4):
			// any case finds the instance, which keeps the case it was created with.
			{"gi other case", []string{"gi", base + `:sample_disk.NAME="NEW"`}, 0, ` Name="new",SizeBytes=5,`},
			{"ci exists other case", []string{"ci", base + `:Sample_Disk.Name="NEW"`, `Name="NEW",Model="x"`}, 16, "CIM_ERR_ALREADY_EXISTS"},
			{"mi", []string{"mi", base + `:Sample_Disk.Name="new"`, `SizeBytes=77`}, 0, ""},
			{"gp", []string{"gp", base + `:Sample_Disk.Name="new"`, "SizeBytes"}, 0, "77"},
			{"sp", []string{"sp", base + `:Sample_Disk.Name="new"`, "RotationRate=99"}, 0, ""},
			{"gi modified", []string{"gi", base + `:Sample_Disk.Name="new"`}, 0, "SizeBytes=77,"},
			{"ain", []string{"ain", disk}, 0, `/root/sample:Sample_Volume.Name="sda2"`},
			{"ai", []string{"ai", disk}, 0, `Name="sda2",SizeBytes=480000000000,Model="partition",Installed=,FileSystem="ext4",Mounted=TRUE`},
			{"rin", []string{"rin", disk}, 0, `/root/sample:Sample_DiskVolume.Disk=Sample_Disk.Name="sda",Volume=Sample_Volume.Name="sda2"`},
			{"ri", []string{"ri", disk}, 0, `Disk=Sample_Disk.Name="sda",Volume=Sample_Volume.Name="sda2"`},
			// On a class path: what is associated with the class's instances.
			{"ai class", []string{"ai", base + ":Sample_Disk"}, 0, `/root/sample:Sample_Volume.Name="sdb1" Name="sdb1"`},
			{"ri class", []string{"ri", base + ":Sample_Volume"}, 0, `/root/sample:Sample_DiskVolume.Disk=Sample_Disk.Name="sda",Volume=Sample_Volume.Name="sda2"`},
			{"di", []string{"di", base + `:Sample_Disk.Name="new"`}, 0, ""},
			{"gi deleted", []string{"gi", base + `:Sample_Disk.Name="new"`}, 16, "CIM_ERR_NOT_FOUND"},
			{"gc missing", []string{"gc", base + ":Nope"}, 16, "CIM_ERR_NOT_FOUND"},
			{"ei invalid class", []string{"ei", base + ":Nope"}, 16, "CIM_ERR_INVALID_CLASS"},
			{"ei invalid namespace", []string{"ei", scheme + "://admin:secret@" + host + "/root/nope:Sample_Disk"}, 16, "CIM_ERR_INVALID_NAMESPACE"},
			{"wrong password", []string{"ei", scheme + "://admin:nope@" + host + "/root/sample:Sample_Disk"}, 16, "Invalid username/password"},
			{"guest cannot write", []string{"ci", scheme + "://guest:guest-pw@" + host + `/root/sample:Sample_Disk.Name="g"`, `Name="g"`}, 16, "CIM_ERR_ACCESS_DENIED"},
			{"cm without a provider", []string{"cm", disk, "Spin.Up=true"}, 16, "CIM_ERR_METHOD_NOT_AVAILABLE"},
			{"cm with out-parameters", []string{"cm", base + ":__SystemSecurity", "GetCallerAccessRights"}, 0, "GetCallerAccessRights: 0, Rights (sint32): 393471"},
			{"dc with instances", []string{"dc", base + ":Sample_DiskVolume"}, 16, "CIM_ERR_CLASS_HAS_INSTANCES"},
			{"dc with subclasses", []string{"dc", base + ":Sample_StorageElement"}, 16, "CIM_ERR_CLASS_HAS_CHILDREN"},
			{"di link 1", []string{"di", base + `:Sample_DiskVolume.Disk=root/sample:Sample_Disk.Name="SDA",Volume=ROOT/sample:Sample_Volume.Name="sda2"`}, 0, ""},
			{"di link 2", []string{"di", base + `:Sample_DiskVolume.Disk=root/sample:Sample_Disk.Name="sdb",Volume=root/sample:Sample_Volume.Name="sdb1"`}, 0, ""},
			{"dc", []string{"dc", base + ":Sample_DiskVolume"}, 0, ""},
			{"gc deleted", []string{"gc", base + ":Sample_DiskVolume"}, 16, "CIM_ERR_NOT_FOUND"},
		}
		for _, c := range cases {
			args := append([]string{"-dx", "-noverify"}, c.args...)
			cmd := exec.Command("wbemcli", args...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			text := out.String()
			if c.exit != 0 {
				text = errb.String()
			}
			if code != c.exit || !strings.Contains(text, c.want) {
				t.Errorf("%s %s: exit %d, want %d with %q in:\n%s", scheme, c.name, code, c.exit, c.want, text)
			}
			for _, rsp := range responses(errb.String()) {
				validate(t, rsp)
			}
		}
	}
}

// TestBench runs wbem bench against wbemd: every phase, no error.
func TestBench(t *testing.T) {
	d := startDaemon(t)
	cmd := exec.Command(filepath.Join(bin, "wbem"), "-n", "root/sample", "bench", "--url", "http://"+d.http, "--user", "admin", "--objects", "200", "--connections", "4")
	cmd.Env = append(os.Environ(), "WBEM_PASSWORD=secret")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wbem bench: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 7 {
		t.Fatalf("bench printed %d lines:\n%s", len(lines), out)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 6 || f[1] != "200" || f[5] != "0" {
			t.Errorf("phase line %q: want 200 operations and 0 errors", l)
		}
	}
}

// runWbem runs the wbem binary with env added to the environment and
// returns its combined output.
func runWbem(env []string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "wbem"), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLocalSocketAndURL: with wbemd serving a repository, wbem --repo
// goes through its local socket (as the calling user, root here), and
// wbem --url through HTTP with a password.
func TestLocalSocketAndURL(t *testing.T) {
	d := startDaemon(t)
	wbem := runWbem
	out, err := wbem(nil, "--repo", d.repo, "-n", "root/sample", "enum", "--names", "Sample_Disk")
	if err != nil || out != "Sample_Disk.Name=\"sda\"\nSample_Disk.Name=\"sdb\"\n" {
		t.Errorf("wbem through the socket: %v\n%s", err, out)
	}
	out, err = wbem(nil, "--repo", d.repo, "-n", "root/sample", "put", "Sample_Disk", "Name=viasocket", "Model=m")
	if err != nil || out != "Sample_Disk.Name=\"viasocket\"\n" {
		t.Errorf("write through the socket: %v\n%s", err, out)
	}
	out, err = wbem(nil, "--repo", d.repo, "repo", "check")
	if err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Errorf("repo check while wbemd runs: %v\n%s", err, out)
	}
	out, err = wbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "get", `Sample_Disk.Name="viasocket"`)
	if err != nil || !strings.Contains(out, "viasocket") {
		t.Errorf("wbem --url: %v\n%s", err, out)
	}
	// HTTPS with the daemon's self-signed certificate: --cacert trusts it.
	https := []string{"--url", "https://" + d.https, "--user", "admin", "-n", "root/sample", "get", "Sample_Disk"}
	out, err = wbem([]string{"WBEM_PASSWORD=secret"}, append([]string{"--cacert", filepath.Join(d.repo, "cert.pem")}, https...)...)
	if err != nil || !strings.Contains(out, "CLASS") {
		t.Errorf("wbem --url https:// --cacert: %v\n%s", err, out)
	}
	out, err = wbem([]string{"WBEM_PASSWORD=secret"}, https...)
	if err == nil || !strings.Contains(out, "WBEM_E_TRANSPORT_FAILURE") || !strings.Contains(out, "certificate") {
		t.Errorf("wbem --url https:// without --cacert: %v\n%s", err, out)
	}
	out, err = wbem([]string{"WBEM_PASSWORD=wrong"}, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "get", "Sample_Disk")
	if err == nil || !strings.Contains(out, "WBEM_E_ACCESS_DENIED") {
		t.Errorf("wbem --url with a wrong password: %v\n%s", err, out)
	}
}

// TestMofcompThroughServer: with wbemd serving the repository, wbem
// mofcomp goes through its socket, and through --url; each needs
// --no-atomic, and a failing declaration leaves the others written.
func TestMofcompThroughServer(t *testing.T) {
	d := startDaemon(t)
	wbem := runWbem
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mof")
	os.WriteFile(good, []byte(`#pragma namespace("root/sample")
class Remote_Thing { [Key] string Id; uint32 Size; };
instance of Remote_Thing { Id = "a\"b>c ü"; Size = 5; };
`), 0o644)
	mixed := filepath.Join(dir, "mixed.mof")
	os.WriteFile(mixed, []byte(`#pragma namespace("root/sample")
instance of Remote_Thing { Id = "two"; Size = 2; };
instance of Remote_Nothing { Id = "x"; };
instance of Remote_Thing { Id = "three"; Size = 3; };
`), 0o644)
	if out, err := wbem(nil, "--repo", d.repo, "mofcomp", good); err == nil || !strings.Contains(out, "--no-atomic") {
		t.Errorf("atomic mofcomp through the socket: %v\n%s", err, out)
	}
	if out, err := wbem(nil, "--repo", d.repo, "mofcomp", "--check", good); err == nil || !strings.Contains(out, "--check needs the repository") {
		t.Errorf("mofcomp --check through the socket: %v\n%s", err, out)
	}
	if out, err := wbem(nil, "--repo", d.repo, "mofcomp", "--no-atomic", good); err != nil || !strings.Contains(out, "classes 1 created") || !strings.Contains(out, "instances 1 created") {
		t.Errorf("mofcomp through the socket: %v\n%s", err, out)
	}
	out, err := wbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "mofcomp", "--no-atomic", mixed)
	if err == nil || !strings.Contains(out, "Remote_Nothing") || !strings.Contains(out, "the declarations without errors were written") {
		t.Errorf("mofcomp --url with a bad declaration: %v\n%s", err, out)
	}
	out, err = wbem(nil, "--repo", d.repo, "-n", "root/sample", "enum", "--names", "Remote_Thing")
	want := "Remote_Thing.Id=\"a\\\"b>c \u00fc\"\nRemote_Thing.Id=\"three\"\nRemote_Thing.Id=\"two\"\n"
	if err != nil || out != want {
		t.Errorf("after the compiles: %v\n%s\nwant\n%s", err, out, want)
	}
}
