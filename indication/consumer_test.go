package indication

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
)

// event is an __InstanceCreationEvent of a Sample_Disk.
func event() *cim.Object {
	target := &cim.Object{Genus: cim.GenusInstance, Class: "Sample_Disk", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "sda"}},
		{Name: "Size", Type: cim.TypeUint64, Value: cim.Value{Type: cim.TypeUint64, V: uint64(42)}},
		{Name: "Tags", Type: cim.TypeString.ArrayOf(), Value: cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"a", "b"}}},
		{Name: "Model", Type: cim.TypeString, Value: cim.Null(cim.TypeString)},
	}}
	return &cim.Object{Genus: cim.GenusInstance, Class: "__InstanceCreationEvent", Properties: []cim.Property{
		{Name: "TargetInstance", Type: cim.TypeObject, Value: cim.Value{Type: cim.TypeObject, V: target}},
		{Name: "TIME_CREATED", Type: cim.TypeUint64, Value: cim.Value{Type: cim.TypeUint64, V: uint64(7)}},
	}}
}

func TestExpand(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"disk %TargetInstance.Name% size %TargetInstance.Size%", "disk sda size 42"},
		{"%TargetInstance.Tags% at %TIME_CREATED%", "{a,b} at 7"},
		{"100%% of %TargetInstance.Model%|%Nothing%|%TargetInstance.Nothing.Deeper%", "100% of ||"},
		{"%TargetInstance%", "instance of Sample_Disk"},
		{"unterminated %TargetInstance.Name", "unterminated %TargetInstance.Name"},
		{"%targetinstance.name%", "sda"},
	} {
		if got := Expand(c.in, event()); got != c.want {
			t.Errorf("Expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitCommandLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`/bin/echo a  b`, []string{"/bin/echo", "a", "b"}},
		{`/bin/sh -c "id -u > /tmp/x"`, []string{"/bin/sh", "-c", "id -u > /tmp/x"}},
		{`x "" "say \"hi\""`, []string{"x", "", `say "hi"`}},
		{"  ", nil},
	} {
		if got := SplitCommandLine(c.in); !slices.Equal(got, c.want) {
			t.Errorf("SplitCommandLine(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestLogFileRotateUnicode: past MaximumFileSize the file is renamed .001
// (then .002) and a new one started; IsUnicode writes UTF-16LE with a
// byte-order mark at the start of each file.
func TestLogFileRotateUnicode(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "log")
	inst := &cim.Object{Genus: cim.GenusInstance, Class: "LogFileEventConsumer", Properties: []cim.Property{
		{Name: "Filename", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: name}},
		{Name: "Text", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "disk %TargetInstance.Name%"}},
		{Name: "MaximumFileSize", Type: cim.TypeUint64, Value: cim.Value{Type: cim.TypeUint64, V: uint64(30)}},
		{Name: "IsUnicode", Type: cim.TypeBoolean, Value: cim.Value{Type: cim.TypeBoolean, V: true}},
	}}
	l := &logFile{inst: inst}
	for range 3 {
		if err := l.consume(t.Context(), 0, event()); err != nil {
			t.Fatal(err)
		}
	}
	// A line is 2+9*2 = 20 bytes with the mark: each file holds one.
	want := string(append([]byte{0xff, 0xfe}, utf16le("disk sda\n")...))
	for _, f := range []string{name, name + ".001", name + ".002"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	f.Add("disk %TargetInstance.Name% %% %x")
	f.Add("%TargetInstance.Tags%%TIME_CREATED%")
	f.Fuzz(func(t *testing.T, template string) {
		out := Expand(template, event())
		if !strings.Contains(template, "%") && out != template {
			t.Fatalf("Expand(%q) = %q without a %%", template, out)
		}
		if utf8.ValidString(template) && !utf8.ValidString(out) {
			t.Fatalf("Expand(%q) = %q is not UTF-8", template, out)
		}
	})
}

func FuzzSplitCommandLine(f *testing.F) {
	f.Add(`/bin/sh -c "id -u > /tmp/x"`)
	f.Add(`a "b \"c\" d" e`)
	f.Fuzz(func(t *testing.T, line string) {
		for _, w := range SplitCommandLine(line) {
			if len(w) > len(line) {
				t.Fatalf("word %q longer than %q", w, line)
			}
		}
		if line != "" && !strings.ContainsAny(line, "\" \t\r\n") {
			if got := SplitCommandLine(line); len(got) != 1 || got[0] != line {
				t.Fatalf("SplitCommandLine(%q) = %q", line, got)
			}
		}
	})
}

// TestCommandLineUser: commands run as the consumer user (nobody when
// wbemd is root), root only with AllowRoot, an unknown user refused; a
// command past KillTimeout is killed, and counts as delivered.
func TestCommandLineUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	dir, err := os.MkdirTemp("", "wbemd-cmd-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	run := func(opts ConsumerOptions, template string, kill uint32) error {
		inst := &cim.Object{Genus: cim.GenusInstance, Class: "CommandLineEventConsumer", Properties: []cim.Property{
			{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "c"}},
			{Name: "CommandLineTemplate", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: template}},
			{Name: "KillTimeout", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: kill}},
		}}
		m := &Manager{Consumers: opts, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		return (&commandLine{m: m, inst: inst}).consume(t.Context(), 0, event())
	}
	uidOf := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b))
	}
	idTo := func(name string) string { return `/bin/sh -c "id -u > ` + dir + "/" + name + `"` }
	if err := run(ConsumerOptions{}, idTo("nobody-%TargetInstance.Name%"), 0); err != nil {
		t.Fatal(err)
	}
	if got := uidOf("nobody-sda"); got != "65534" {
		t.Errorf("default user: uid %q, want 65534", got)
	}
	if err := run(ConsumerOptions{User: "root"}, idTo("root"), 0); !errors.Is(err, errRefused) || uidOf("root") != "" {
		t.Errorf("root without AllowRoot: %v, uid %q", err, uidOf("root"))
	}
	if err := run(ConsumerOptions{User: "root", AllowRoot: true}, idTo("root"), 0); err != nil || uidOf("root") != "0" {
		t.Errorf("root with AllowRoot: %v, uid %q", err, uidOf("root"))
	}
	if err := run(ConsumerOptions{User: "no-such-user-wbemd"}, idTo("x"), 0); !errors.Is(err, errRefused) {
		t.Errorf("an unknown user: %v", err)
	}
	if err := run(ConsumerOptions{}, "nosuchprogram-wbemd", 0); !errors.Is(err, errRefused) {
		t.Errorf("a program not in the path: %v", err)
	}
	// Killed after KillTimeout: the shell and its child (one process
	// group) are gone, and the event counts as delivered.
	if err := run(ConsumerOptions{}, `/bin/sh -c "sleep 60; id -u > `+dir+`/late"`, 1); err != nil {
		t.Errorf("a command past KillTimeout: %v", err)
	}
	if uidOf("late") != "" {
		t.Errorf("the killed command went on")
	}
}
