package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loadMOF writes a MOF file of n instances of Load_Item (about 100 bytes
// each); the instance at bad (if 0 <= bad < n) has a value of the wrong
// type.
func loadMOF(t *testing.T, n, bad int) string {
	var b strings.Builder
	b.WriteString("#pragma namespace(\"root/cimv2\")\n")
	b.WriteString("Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);\n")
	b.WriteString("class Load_Item { [Key] string Id; uint32 Num; string Note; };\n")
	for i := 0; i < n; i++ {
		if i == bad {
			fmt.Fprintf(&b, "instance of Load_Item { Id = \"i%07d\"; Num = \"not a number\"; };\n", i)
			continue
		}
		fmt.Fprintf(&b, "instance of Load_Item { Id = \"i%07d\"; Num = %d; Note = \"an instance of a streamed load\"; };\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "load.mof")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func countInstances(t *testing.T, repo string) int {
	out := mustRun(t, repo, "", "-n", "root/cimv2", "enum", "Load_Item", "--names")
	return strings.Count(out, "Load_Item.Id=")
}

// TestMofcompStream: --stream loads a file of several pieces whole; at an
// error it keeps the pieces before (and says so) and writes nothing of the
// failing piece; it refuses --check and --no-atomic.
func TestMofcompStream(t *testing.T) {
	const n = 25000 // about 2.4 MiB: five pieces
	repo := t.TempDir()
	out := mustRun(t, repo, "", "mofcomp", "--stream", loadMOF(t, n, -1))
	if !strings.Contains(out, fmt.Sprintf("instances %d created", n)) {
		t.Errorf("summary %q", out)
	}
	if got := countInstances(t, repo); got != n {
		t.Errorf("%d instances loaded, want %d", got, n)
	}
	if out := mustRun(t, repo, "", "repo", "check"); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("repo check: %s", out)
	}
	// Again: every instance exists, the bulk writes fail, and each
	// instance is written alone (an update), as without --stream; each
	// piece built while the bulk write before it failed is built again
	// (the counts stay exact).
	if out := mustRun(t, repo, "", "mofcomp", "--stream", loadMOF(t, n, -1)); !strings.Contains(out, fmt.Sprintf("instances 0 created, %d updated", n)) {
		t.Errorf("the same load again: %q", out)
	}
	// An error in the last piece: the pieces before stay, the last is not written.
	repo2 := t.TempDir()
	r := run(t, repo2, "", "mofcomp", "--stream", loadMOF(t, n, n-10))
	if r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_TYPE_MISMATCH") || !strings.Contains(r.stderr, "the pieces before were written") {
		t.Fatalf("a bad instance: exit %d\n%s", r.code, r.stderr)
	}
	if got := countInstances(t, repo2); got == 0 || got >= n-10 {
		t.Errorf("%d instances written before the failing piece, want some but not the failing piece's", got)
	}
	// A syntax error in the last piece (parsed while the pieces before
	// compile): those are written, nothing after.
	good, err := os.ReadFile(loadMOF(t, n, -1))
	if err != nil {
		t.Fatal(err)
	}
	late := filepath.Join(t.TempDir(), "late.mof")
	os.WriteFile(late, append(good, "class A { string S };\n"...), 0o644)
	repo3 := t.TempDir()
	if r := run(t, repo3, "", "mofcomp", "--stream", late); r.code != 3 || !strings.Contains(r.stderr, "the pieces before were written") {
		t.Errorf("a syntax error in the last piece: exit %d\n%s", r.code, r.stderr)
	}
	if got := countInstances(t, repo3); got == 0 || got >= n {
		t.Errorf("%d instances written before the piece with the syntax error, want some, not all", got)
	}
	// --instance createonly over an instance that exists (in the third
	// piece, one of plain instances): the pieces before are written, the
	// third fails whole (the bulk write, then one by one to name the
	// instance); the error gives the instance's line.
	repo4 := t.TempDir()
	one := filepath.Join(t.TempDir(), "one.mof")
	os.WriteFile(one, []byte("#pragma namespace(\"root/cimv2\")\n"+
		"Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);\n"+
		"class Load_Item { [Key] string Id; uint32 Num; string Note; };\n"+
		"instance of Load_Item { Id = \"i0014000\"; };\n"), 0o644)
	mustRun(t, repo4, "", "mofcomp", "--stream", one)
	r = run(t, repo4, "", "mofcomp", "--stream", "--instance", "createonly", loadMOF(t, n, -1))
	if r.code != 1 || !strings.Contains(r.stderr, "load.mof:14004:") || !strings.Contains(r.stderr, "WBEM_E_ALREADY_EXISTS") || !strings.Contains(r.stderr, "the pieces before were written") {
		t.Errorf("createonly over an existing instance: exit %d\n%s", r.code, r.stderr)
	}
	names := mustRun(t, repo4, "", "-n", "root/cimv2", "enum", "Load_Item", "--names")
	if !strings.Contains(names, `"i0000000"`) || strings.Contains(names, `"i0013999"`) || !strings.Contains(names, `"i0014000"`) {
		t.Errorf("after the failed createonly load: want the first pieces and the instance before, not the third piece's")
	}
	// A syntax error in the first piece writes nothing.
	bad := filepath.Join(t.TempDir(), "bad.mof")
	os.WriteFile(bad, []byte("class A { string S };\n"), 0o644)
	if r := run(t, t.TempDir(), "", "mofcomp", "--stream", bad); r.code != 3 || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("a syntax error: exit %d\n%s", r.code, r.stderr)
	}
	for _, flag := range []string{"--check", "--no-atomic"} {
		if r := run(t, t.TempDir(), "", "mofcomp", "--stream", flag, bad); r.code != 2 {
			t.Errorf("--stream %s: exit %d\n%s", flag, r.code, r.stderr)
		}
	}
}
