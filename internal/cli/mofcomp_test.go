package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/testdata"
)

// TestMofcompCIMSchema runs the acceptance command on the DMTF schema and
// lists the hierarchy.
func TestMofcompCIMSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the full CIM schema")
	}
	repo := t.TempDir()
	out := mustRun(t, repo, "", "mofcomp", "-n", "root/cimv2", testdata.CIMSchema(t))
	if !regexp.MustCompile(`^compiled 1634 file\(s\), 5\.2 MB in \S+: classes 1631 created, 0 updated; instances 0 created, 0 updated; qualifiers 70 created, 0 updated\n$`).MatchString(out) {
		t.Errorf("summary %q", out)
	}
	tree := mustRun(t, repo, "", "classes")
	n := 0
	for _, line := range strings.Split(tree, "\n") {
		if name := strings.TrimSpace(line); name != "" && !strings.HasPrefix(name, "__") {
			n++
		}
	}
	if n != 1631 {
		t.Errorf("wbem classes lists %d schema classes, want 1631", n)
	}
	if !strings.Contains(tree, "\nCIM_ManagedElement\n  CIM_Action\n    CIM_DirectoryAction\n") ||
		!strings.Contains(tree, "\n      CIM_EnabledLogicalElement\n") {
		t.Errorf("hierarchy not indented as expected:\n%.2000s", tree)
	}
}

func TestMofcomp(t *testing.T) {
	repo := t.TempDir()
	out := mustRun(t, repo, "", "mofcomp", "../../examples/sample.mof")
	if !strings.Contains(out, "classes 4 created, 0 updated; instances 7 created, 0 updated; qualifiers 6 created, 0 updated") {
		t.Errorf("summary %q", out)
	}
	// What get -o mof prints compiles back to the same objects.
	classText := mustRun(t, repo, "", "-n", "root/sample", "-o", "mof", "get", "Sample_Disk")
	instText := mustRun(t, repo, "", "-n", "root/sample", "-o", "mof", "get", `Sample_Disk.Name="sda"`)
	mustRun(t, repo, "", "-n", "root/sample", "delete", "Sample_Disk")
	file := filepath.Join(t.TempDir(), "again.mof")
	if err := os.WriteFile(file, []byte(classText+instText), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, repo, "", "-n", "root/sample", "mofcomp", file)
	if got := mustRun(t, repo, "", "-n", "root/sample", "-o", "mof", "get", `Sample_Disk.Name="sda"`); got != instText {
		t.Errorf("instance after the MOF round trip:\n%s\nwant\n%s", got, instText)
	}

	before := content(t, repo)
	bad := filepath.Join(t.TempDir(), "bad.mof")
	os.WriteFile(bad, []byte("class Fine { };\nclass Broken : Nowhere { };\n"), 0o644)
	r := run(t, repo, "", "-n", "root/sample", "mofcomp", bad)
	if r.code != 1 || r.stderr != bad+":2:16: class Broken: superclass Nowhere does not exist in root/sample (WBEM_E_NOT_FOUND)\nwbem: 1 error; nothing was written\n" {
		t.Errorf("semantic error: exit %d, stderr %q", r.code, r.stderr)
	}
	if content(t, repo) != before {
		t.Error("a failed atomic compile changed the repository")
	}
	r = run(t, repo, "", "-n", "root/sample", "mofcomp", "--check", "../../examples/sample.mof")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "checked (nothing written)") || content(t, repo) != before {
		t.Errorf("--check: exit %d, %q %q, or it wrote", r.code, r.stdout, r.stderr)
	}
	syntax := filepath.Join(t.TempDir(), "syntax.mof")
	os.WriteFile(syntax, []byte("class A { uint32 X }"), 0o644)
	r = run(t, repo, "", "mofcomp", syntax)
	if r.code != 3 || !strings.Contains(r.stderr, syntax+":1:20: expected ';' after the property, found '}'") {
		t.Errorf("syntax error: exit %d, stderr %q", r.code, r.stderr)
	}
	// --no-atomic writes what compiles, as mofcomp does.
	r = run(t, repo, "", "-n", "root/sample", "mofcomp", "--no-atomic", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "the declarations without errors were written") {
		t.Errorf("--no-atomic: exit %d, stderr %q", r.code, r.stderr)
	}
	mustRun(t, repo, "", "-n", "root/sample", "get", "Fine")
	if r := run(t, repo, "", "mofcomp", "--class", "sideways", bad); r.code != 2 {
		t.Errorf("bad --class mode: exit %d", r.code)
	}
}
