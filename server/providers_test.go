package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
		dir, err := os.MkdirTemp("", "wbemd-examples")
		if err != nil {
			examplesErr = err
			return
		}
		os.Chmod(dir, 0o755)
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
		cmd := exec.Command("wbemcli", append([]string{"-dx", "-noverify"}, c.args...)...)
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
			t.Errorf("%s: exit %d, want %d with %q in:\n%s", c.name, code, c.exit, c.want, text)
		}
		for _, rsp := range responses(errb.String()) {
			validate(t, rsp)
		}
	}
}
