package cli

import (
	"strings"
	"testing"
)

// TestPutMOF: wbem put takes one MOF instance declaration with every put
// flag; what `get -o mof` prints goes back in unchanged; bad MOF writes
// nothing.
func TestPutMOF(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, repo, "", "mofcomp", "../../examples/sample.mof")
	ns := []string{"-n", "root/sample"}
	put := func(stdin string, flags ...string) result {
		return run(t, repo, stdin, append(append(ns, "put"), append(flags, "-")...)...)
	}
	disk := `instance of Sample_Disk { Name = "sdc"; Model = "M"; SizeBytes = 42; Tags = {"a", "b"}; };`
	if r := put(disk, "--create-only"); r.code != 0 || r.stdout != "Sample_Disk.Name=\"sdc\"\n" {
		t.Fatalf("create: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := put(disk, "--create-only"); r.code != 1 || !strings.HasPrefix(r.stderr, "wbem: WBEM_E_ALREADY_EXISTS") {
		t.Errorf("second create: exit %d, %q", r.code, r.stderr)
	}
	if r := put(`instance of Sample_Disk { Name = "sdc"; Model = "New"; SizeBytes = 1; };`, "--update-only", "--properties", "Model"); r.code != 0 {
		t.Fatalf("partial update: exit %d, %q", r.code, r.stderr)
	}
	text := mustRun(t, repo, "", append(ns, "-o", "mof", "get", `Sample_Disk.Name="sdc"`)...)
	if !strings.Contains(text, `Model = "New";`) || !strings.Contains(text, "SizeBytes = 42;") {
		t.Errorf("after the partial update:\n%s", text)
	}
	if r := put(text, "--update-only"); r.code != 0 {
		t.Errorf("get -o mof put back: exit %d, %q", r.code, r.stderr)
	}
	if got := mustRun(t, repo, "", append(ns, "-o", "mof", "get", `Sample_Disk.Name="sdc"`)...); got != text {
		t.Errorf("round trip changed the instance:\n%s\nwant\n%s", got, text)
	}
	before := content(t, repo)
	for _, c := range []struct {
		mof    string
		code   int
		stderr string
	}{
		{`instance of Sample_Disk { Name = "x"; Model = "m"; SizeBytes = "lots"; };`, 1, "-:1:64: property SizeBytes: a string cannot be uint64 (WBEM_E_TYPE_MISMATCH)\nwbem: 1 error; nothing was written\n"},
		{`instance of Sample_Disk { Name = "x" `, 3, "-:1:38: expected ';' after the property value, found end of file\nwbem: 1 syntax error; nothing was written\n"},
		{`instance of Sample_Disk { Name = "x"; }; instance of Sample_Disk { Name = "y"; };`, 1, "-:1:42: put takes one instance declaration and nothing else (use mofcomp for more) (WBEM_E_INVALID_PARAMETER)\nwbem: 1 error; nothing was written\n"},
		{`class Sample_New { [Key] string K; };`, 1, "-:1:1: put takes one instance declaration and nothing else (use mofcomp for more) (WBEM_E_INVALID_PARAMETER)\nwbem: 1 error; nothing was written\n"},
		{`instance of Nope { Name = "x"; };`, 1, ""},
		{`instance of Sample_Disk { Nope = 1; };`, 1, ""},
		{`instance of Sample_DiskVolume { Disk = $sda; Volume = $root; };`, 1, "alias $sda is not defined"},
	} {
		r := put(c.mof)
		if r.code != c.code || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("%s: exit %d, %q; want %d, %q", c.mof, r.code, r.stderr, c.code, c.stderr)
		}
	}
	if content(t, repo) != before {
		t.Error("bad MOF changed the repository")
	}
}
