package server_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	examplesOnce sync.Once
	examplesDir  string // the example providers, installed where any user can run them
	examplesErr  error
)

// installExamples builds the Go example provider and copies the Python
// one into a directory the provider user can read, and writes their
// registration MOFs with Command and Arguments pointing there.
func installExamples(t *testing.T) string {
	t.Helper()
	examplesOnce.Do(func() {
		// Under the test binaries' directory, which TestMain removes.
		os.Chmod(bin, 0o755)
		dir := filepath.Join(bin, "examples")
		if err := os.Mkdir(dir, 0o755); err != nil {
			examplesErr = err
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "widgets"), "github.com/wbemd/wbemd/examples/providers/widgets")
		if out, err := build.CombinedOutput(); err != nil {
			examplesErr = err
			t.Logf("%s", out)
			return
		}
		py, err := os.ReadFile("../examples/providers/notes/notes.py")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "notes.py"), py, 0o644)
		}
		for _, m := range []struct{ src, from, to string }{
			{"../examples/providers/widgets/widgets.mof", "/usr/local/lib/wbemd/providers/widgets", filepath.Join(dir, "widgets")},
			{"../examples/providers/notes/notes.mof", "/usr/local/lib/wbemd/providers/notes.py", filepath.Join(dir, "notes.py")},
		} {
			if err != nil {
				break
			}
			var text []byte
			if text, err = os.ReadFile(m.src); err == nil {
				err = os.WriteFile(filepath.Join(dir, filepath.Base(m.src)), bytes.ReplaceAll(text, []byte(m.from), []byte(m.to)), 0o644)
			}
		}
		examplesDir, examplesErr = dir, err
	})
	if examplesErr != nil {
		t.Fatalf("installing the example providers: %v", examplesErr)
	}
	return examplesDir
}

// wbemcli runs wbemcli and returns its output, errors and exit code.
func wbemcli(args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command("wbemcli", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if ee, ok := cmd.Run().(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// registerExamples compiles both examples' registrations into a running
// wbemd (through its local socket).
func registerExamples(t *testing.T, d *daemon) {
	t.Helper()
	dir := installExamples(t)
	for _, f := range []string{"widgets.mof", "notes.mof"} {
		if out, err := runWbem(nil, "--repo", d.repo, "mofcomp", "--no-atomic", filepath.Join(dir, f)); err != nil {
			t.Fatalf("wbem mofcomp %s: %v\n%s", f, err, out)
		}
	}
}

// TestProvidersWbemcli: both example providers, registered into a running
// wbemd with wbem mofcomp, answer every wbemcli instance and method
// operation, and the answers are valid CIM-XML.
func TestProvidersWbemcli(t *testing.T) {
	if _, err := exec.LookPath("wbemcli"); err != nil {
		t.Fatal("wbemcli is not installed (apt-get install sblim-wbemcli; .ci/run does)")
	}
	d := startDaemon(t)
	registerExamples(t, d)
	base := "http://admin:secret@" + d.http + "/root/cimv2"
	host := d.http + "/root/cimv2"
	cases := []struct {
		name string
		args []string
		exit int
		want string
	}{
		// Go: Example_Widget.
		{"go ei", []string{"ei", base + ":Example_Widget"}, 0, host + `:Example_Widget.Name="gear" Name="gear",Size=3,Color="steel"`},
		{"go gi", []string{"gi", base + `:Example_Widget.Name="gear"`}, 0, `Name="gear",Size=3,Color="steel"`},
		{"go ci", []string{"ci", base + `:Example_Widget.Name="cog"`, `Name="cog",Size=1,Color="red"`}, 0, host + `:Example_Widget.Name="cog"`},
		{"go ci exists", []string{"ci", base + `:Example_Widget.Name="cog"`, `Name="cog"`}, 16, "CIM_ERR_ALREADY_EXISTS"},
		{"go mi", []string{"mi", base + `:Example_Widget.Name="cog"`, `Color="blue"`}, 0, ""},
		{"go gi modified", []string{"gi", base + `:Example_Widget.Name="cog"`}, 0, `Name="cog",Size=1,Color="blue"`},
		{"go cm instance", []string{"cm", base + `:Example_Widget.Name="cog"`, "Resize.Size=8"}, 0, "Resize: 0, OldSize (uint32): 1"},
		{"go cm static", []string{"cm", base + ":Example_Widget", "Count"}, 0, "Count: 0, Count (uint32): 2"},
		{"go di", []string{"di", base + `:Example_Widget.Name="cog"`}, 0, ""},
		{"go gi deleted", []string{"gi", base + `:Example_Widget.Name="cog"`}, 16, "CIM_ERR_NOT_FOUND"},
		// Python: Example_Note.
		{"py ei", []string{"ei", base + ":Example_Note"}, 0, host + `:Example_Note.Title="welcome" Title="welcome",Text="Hello from a Python provider",Length=28`},
		{"py ci", []string{"ci", base + `:Example_Note.Title="todo"`, `Title="todo",Text="buy milk"`}, 0, host + `:Example_Note.Title="todo"`},
		{"py gi", []string{"gi", base + `:Example_Note.Title="todo"`}, 0, `Title="todo",Text="buy milk",Length=8`},
		{"py mi", []string{"mi", base + `:Example_Note.Title="todo"`, `Text="buy bread"`}, 0, ""},
		{"py cm instance", []string{"cm", base + `:Example_Note.Title="todo"`, "Append.More=!"}, 0, "Append: 0, Length (uint32): 10"},
		{"py cm static", []string{"cm", base + ":Example_Note", "Stats"}, 0, "Stats: 0, Count (uint32): 2, Longest (string): welcome"},
		{"py di", []string{"di", base + `:Example_Note.Title="todo"`}, 0, ""},
		{"py gi deleted", []string{"gi", base + `:Example_Note.Title="todo"`}, 16, "CIM_ERR_NOT_FOUND"},
	}
	for _, c := range cases {
		out, stderr, code := wbemcli(append([]string{"-dx", "-noverify"}, c.args...)...)
		text := out
		if c.exit != 0 {
			text = stderr
		}
		if code != c.exit || !strings.Contains(text, c.want) {
			t.Errorf("%s: exit %d, want %d with %q in:\n%s", c.name, code, c.exit, c.want, text)
		}
		for _, rsp := range responses(stderr) {
			validate(t, rsp)
		}
	}
}

// TestProvidersWsman: the example providers through WS-Management, with
// pywinrm and wsl: enumerate, get, create, put, delete, and invoke of
// instance and static methods with out-parameters.
func TestProvidersWsman(t *testing.T) {
	for _, tool := range []string{"wsl", "uuidgen", "xmllint", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install wsl uuid-runtime; .ci/run does)", tool)
		}
	}
	d := startDaemon(t)
	registerExamples(t, d)
	ep := "http://" + d.wsman + "/wsman"
	run := func(op string, args map[string]any, wants ...string) {
		t.Helper()
		r := pywinrm(t, d, ep, "admin", "secret", op, args)
		if !r.OK {
			t.Errorf("pywinrm %s %v: %s: %s", op, args, r.Error, r.Text)
			return
		}
		all := strings.Join(r.Answers, "\n")
		for _, w := range wants {
			if !strings.Contains(all, w) {
				t.Errorf("pywinrm %s %v: no %q in\n%s", op, args, w, all)
			}
		}
	}
	widget, note := dmtfURI+"Example_Widget", dmtfURI+"Example_Note"
	run("enumerate", map[string]any{"uri": widget, "optimize": true, "max": 100}, "<p:Name>gear</p:Name>", "<p:Color>steel</p:Color>")
	run("get", map[string]any{"uri": widget, "selectors": map[string]string{"Name": "gear"}}, "<p:Size>3</p:Size>")
	run("create", map[string]any{"uri": widget, "props": map[string]string{"Name": "nut", "Size": "2", "Color": "brass"}}, "ResourceCreated", `<wsman:Selector Name="Name">nut</wsman:Selector>`)
	run("put", map[string]any{"uri": widget, "selectors": map[string]string{"Name": "nut"}, "props": map[string]string{"Color": "gold"}}, "<p:Color>gold</p:Color>", "<p:Size>2</p:Size>")
	run("invoke", map[string]any{"uri": widget, "method": "Resize", "selectors": map[string]string{"Name": "nut"}, "props": map[string]string{"Size": "6"}},
		"Resize_OUTPUT", "<p:OldSize>2</p:OldSize>", "<p:ReturnValue>0</p:ReturnValue>")
	run("invoke", map[string]any{"uri": widget, "method": "Count"}, "Count_OUTPUT", "<p:Count>2</p:Count>")
	run("delete", map[string]any{"uri": widget, "selectors": map[string]string{"Name": "nut"}})
	run("enumerate", map[string]any{"uri": note, "optimize": true, "max": 100}, "<p:Title>welcome</p:Title>", "<p:Length>28</p:Length>")
	run("create", map[string]any{"uri": note, "props": map[string]string{"Title": "ws", "Text": "via pywinrm"}}, "ResourceCreated")
	run("invoke", map[string]any{"uri": note, "method": "Append", "selectors": map[string]string{"Title": "ws"}, "props": map[string]string{"More": "!"}}, "<p:Length>12</p:Length>")
	run("invoke", map[string]any{"uri": note, "method": "Stats"}, "<p:Count>2</p:Count>", "<p:Longest>welcome</p:Longest>")
	run("delete", map[string]any{"uri": note, "selectors": map[string]string{"Title": "ws"}})
	// wsl.
	check := func(what, out string, wants ...string) {
		t.Helper()
		doc := xmlOf(out)
		if doc == "" {
			t.Errorf("%s: no answer printed:\n%s", what, out)
			return
		}
		wellFormed(t, what, doc)
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", what, w, out)
			}
		}
	}
	out, _ := wslRun(t, d, "secret", nil, "wsl", "enum", "Example_Note")
	check("wsl enum", out, "<p:Title>welcome</p:Title>", "EndOfSequence")
	out, _ = wslRun(t, d, "secret", nil, "wsl", "get", "Example_Widget", "Name=gear")
	check("wsl get", out, "<p:Color>steel</p:Color>")
	out, _ = wslRun(t, d, "secret", nil, "wsl", "put", "Example_Widget", "Size=11", "-fragment")
	check("wsl put -fragment", out, "PutResponse", "<Size>11</Size>")
	epr := filepath.Join(t.TempDir(), "epr.xml")
	os.WriteFile(epr, []byte("<wsa:EndpointReference>\n<wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address>\n<wsa:ReferenceParameters>\n<wsman:ResourceURI>"+widget+"</wsman:ResourceURI>\n<wsman:SelectorSet>\n<wsman:Selector Name=\"Name\">gear</wsman:Selector>\n</wsman:SelectorSet>\n</wsa:ReferenceParameters>\n</wsa:EndpointReference>\n"), 0o644)
	out, _ = wslRun(t, d, "secret", nil, "wsl", "invoke", "Example_Widget", "Resize", "-inst", epr, "-k", "Size=4")
	check("wsl invoke", out, "Resize_OUTPUT", "<p:OldSize>11</p:OldSize>")
	out, _ = wslRun(t, d, "secret", nil, "wsl", "get", "Example_Widget", "Name=nope")
	check("wsl get missing", out, "wsa:DestinationUnreachable")
}

// slowSchema registers the slow test provider; %s is its executable.
const slowSchema = `#pragma namespace("root/cimv2")
[Dynamic, Provider("SlowProvider")]
class Test_Slow { [Key] uint32 Id; uint32 Pid; };
instance of __Win32Provider as $P { Name = "SlowProvider"; Command = "%s"; };
instance of __InstanceProviderRegistration { provider = $P; SupportsGet = TRUE; };
`

// TestProviderCrashThroughCIMXML: kill -9 of a provider's host in the
// middle of a wbemcli enumeration answers CIM_ERR_FAILED with
// WBEM_E_PROVIDER_FAILURE naming the provider; wbemd keeps serving, the
// next call starts a new host, and `wbem provider` shows it.
func TestProviderCrashThroughCIMXML(t *testing.T) {
	dir := installExamples(t)
	bin := filepath.Join(dir, "slowprovider")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/wbemd/wbemd/server/testdata/slowprovider").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	d := startDaemon(t)
	registerExamples(t, d)
	mofFile := filepath.Join(t.TempDir(), "slow.mof")
	os.WriteFile(mofFile, []byte(fmt.Sprintf(slowSchema, bin)), 0o644)
	if out, err := runWbem(nil, "--repo", d.repo, "mofcomp", "--no-atomic", mofFile); err != nil {
		t.Fatalf("mofcomp: %v\n%s", err, out)
	}
	base := "http://admin:secret@" + d.http + "/root/cimv2"
	out, stderr, code := wbemcli("gi", base+`:Test_Slow.Id=1`)
	pid := regexp.MustCompile(`Pid=(\d+)`).FindStringSubmatch(out)
	if code != 0 || pid == nil {
		t.Fatalf("gi: exit %d\n%s%s", code, out, stderr)
	}
	type result struct {
		stderr string
		code   int
	}
	done := make(chan result)
	go func() {
		_, stderr, code := wbemcli("ei", base+":Test_Slow")
		done <- result{stderr, code}
	}()
	time.Sleep(time.Second) // about 100 of the 500 instances
	n, _ := strconv.Atoi(pid[1])
	syscall.Kill(n, syscall.SIGKILL)
	r := <-done
	if r.code == 0 || !strings.Contains(r.stderr, "WBEM_E_PROVIDER_FAILURE") || !strings.Contains(r.stderr, "SlowProvider") {
		t.Errorf("ei with the host killed: exit %d\n%s", r.code, r.stderr)
	}
	if out, _, code := wbemcli("gi", "http://admin:secret@"+d.http+`/root/sample:Sample_Disk.Name="sda"`); code != 0 || !strings.Contains(out, "Samsung") {
		t.Errorf("the repository after the crash: exit %d\n%s", code, out)
	}
	out, _, code = wbemcli("gi", base+`:Test_Slow.Id=2`)
	if code != 0 || strings.Contains(out, "Pid="+pid[1]+",") || !strings.Contains(out, "Pid=") {
		t.Errorf("gi after the crash (the old host was %s): exit %d\n%s", pid[1], code, out)
	}
	// The operator's view.
	list, err := runWbem(nil, "--repo", d.repo, "provider", "list")
	if err != nil || !regexp.MustCompile(`root/cimv2\s+SlowProvider\s+running\s+TRUE\s+\d+\s+nobody\s+\d+\s+1\s+1\s`).MatchString(list) ||
		!regexp.MustCompile(`root/cimv2\s+WidgetProvider\s+stopped`).MatchString(list) {
		t.Errorf("wbem provider list: %v\n%s", err, list)
	}
	status, err := runWbem(nil, "--repo", d.repo, "provider", "status", "SlowProvider")
	if err != nil || !strings.Contains(status, "Restarts") || !strings.Contains(status, "signal: killed") {
		t.Errorf("wbem provider status: %v\n%s", err, status)
	}
	metrics, err := adminGet("http://" + d.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(body), `wbemd_provider_restarts_total{namespace="root/cimv2",provider="SlowProvider"} 1`) ||
		!strings.Contains(string(body), `wbemd_provider_up{namespace="root/cimv2",provider="SlowProvider"} 1`) {
		t.Errorf("/metrics:\n%s", body)
	}
	// Disabled by the operator: PROVIDER_DISABLED, until enabled.
	if out, err := runWbem(nil, "--repo", d.repo, "provider", "disable", "SlowProvider"); err != nil {
		t.Fatalf("disable: %v\n%s", err, out)
	}
	if _, stderr, code := wbemcli("gi", base+`:Test_Slow.Id=3`); code == 0 || !strings.Contains(stderr, "WBEM_E_PROVIDER_DISABLED") {
		t.Errorf("gi of a disabled provider: exit %d\n%s", code, stderr)
	}
	if out, err := runWbem(nil, "--repo", d.repo, "provider", "enable", "SlowProvider"); err != nil {
		t.Fatalf("enable: %v\n%s", err, out)
	}
	if _, stderr, code := wbemcli("gi", base+`:Test_Slow.Id=3`); code != 0 {
		t.Errorf("gi after enable: exit %d\n%s", code, stderr)
	}
}
