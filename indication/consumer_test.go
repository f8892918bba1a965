package indication

import (
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
