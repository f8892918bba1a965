package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/cli"
)

// help is what the flag package's PrintDefaults writes: one-letter flags
// keep their usage on the same line, long ones on the next; usage with a
// newline continues on indented lines; non-zero defaults end the usage.
const help = "Usage of wbemd:\n" +
	"  -http string\n    \tCIM-XML over HTTP address, or off (default \":5988\")\n" +
	"  -n int\tconnections (default 8)\n" +
	"  -quiet\n    \tsay less\n    \tand less\n" +
	"  -timeout duration\n    \ttime to wait (default 5m0s)\n"

func TestParseHelp(t *testing.T) {
	got, err := parseHelp(strings.NewReader(help))
	if err != nil {
		t.Fatal(err)
	}
	want := []cli.Flag{
		{Name: "http", Arg: "string", Usage: "CIM-XML over HTTP address, or off", Default: ":5988"},
		{Name: "n", Arg: "int", Usage: "connections", Default: "8"},
		{Name: "quiet", Usage: "say less\nand less"},
		{Name: "timeout", Arg: "duration", Usage: "time to wait", Default: "5m0s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"", "Usage of wbemd:\n", "    \tusage before a flag\n"} {
		if _, err := parseHelp(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFill(t *testing.T) {
	page, err := fill(".TH X 1 \"@DATE@\" \"x @VERSION@\"\n.SH OPTIONS\n@OPTIONS@\n.SH END\n",
		map[string]string{"@OPTIONS@": options([]cli.Flag{{Name: "dry-run", Shorthand: "d", Usage: `a \ b`}})}, "1.0-2", "2026-01-02")
	if err != nil {
		t.Fatal(err)
	}
	want := ".TH X 1 \"2026-01-02\" \"x 1.0\\-2\"\n.SH OPTIONS\n.TP\n\\fB\\-d\\fR, \\fB\\-\\-dry\\-run\\fR\na \\e b\n.SH END\n"
	if page != want {
		t.Errorf("got\n%s\nwant\n%s", page, want)
	}
	if _, err := fill("no markers\n", map[string]string{"@COMMANDS@": ""}, "1", "d"); err == nil {
		t.Error("a template without its marker line: no error")
	}
}

func TestText(t *testing.T) {
	got := text(".starts with a dot\nand goes on\n\n  indented example\n  'quoted'")
	want := "\\&.starts with a dot\nand goes on\n.IP\n.nf\nindented example\n\\&'quoted'\n.fi\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// FuzzParseHelp: any text either parses into flags with names or fails;
// it never panics.
func FuzzParseHelp(f *testing.F) {
	f.Add(help)
	f.Add("  -\n    \t(default \n")
	f.Fuzz(func(t *testing.T, s string) {
		flags, err := parseHelp(strings.NewReader(s))
		if err == nil && len(flags) == 0 {
			t.Error("no error and no flags")
		}
	})
}
