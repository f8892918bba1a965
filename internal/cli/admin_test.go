package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsersGroupsSecurity: the administration verbs on a repository wbem
// opens itself (the same classes wbemd serves).
func TestUsersGroupsSecurity(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, repo, "pw\n", "user", "add", "alice", "--password-stdin")
	mustRun(t, repo, "pw\n", "user", "add", "boss", "--admin", "--password-stdin")
	mustRun(t, repo, "pw2\n", "user", "passwd", "alice", "--password-stdin")
	mustRun(t, repo, "", "group", "add", "ops")
	mustRun(t, repo, "", "group", "members", "add", "ops", "alice", "boss")
	if got := mustRun(t, repo, "", "user", "list"); got != "alice\tuser\tops\nboss\tadministrator\tAdministrators,ops\n" {
		t.Errorf("user list:\n%q", got)
	}
	mustRun(t, repo, "", "group", "members", "remove", "ops", "boss")
	if got := mustRun(t, repo, "", "group", "members", "list", "ops"); got != "alice\n" {
		t.Errorf("members of ops: %q", got)
	}
	if got := mustRun(t, repo, "", "group", "list"); got != "Administrators\tboss\nops\talice\n" {
		t.Errorf("group list: %q", got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "alice", "--password-stdin"}, "WBEM_E_ALREADY_EXISTS"},
		{[]string{"user", "delete", "nobody"}, "WBEM_E_NOT_FOUND"},
		{[]string{"group", "add", "ops"}, "WBEM_E_ALREADY_EXISTS"},
		{[]string{"group", "members", "add", "ops", "nobody"}, "WBEM_E_NOT_FOUND"},
		{[]string{"group", "delete", "Administrators"}, "WBEM_E_INVALID_OPERATION"},
		{[]string{"security", "grant", "root/cimv2", "alice", "reed"}, `unknown right "reed"`},
		{[]string{"security", "get", "root/nope"}, "WBEM_E_INVALID_NAMESPACE"},
	} {
		if r := run(t, repo, "x\n", c.args...); r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("wbem %v: exit %d, %q; want %q", c.args, r.code, r.stderr, c.want)
		}
	}
	mustRun(t, repo, "", "security", "grant", "root/cimv2", "alice", "read,execute", "--inherit")
	got := mustRun(t, repo, "", "security", "get", "root/cimv2")
	if !strings.Contains(got, "alice                allow   read,execute                   this and child namespaces\n") {
		t.Errorf("security get after the grant:\n%s", got)
	}
	mustRun(t, repo, "", "security", "revoke", "root/cimv2", "ops", "remote", "--deny")
	mustRun(t, repo, "", "security", "revoke", "root/cimv2", "alice", "execute")
	if got := mustRun(t, repo, "", "security", "get", "root/cimv2", "--sddl"); !strings.HasPrefix(got, `O:BAG:BAD:(D;;WP;;;"ops")(A;CI;CCWP;;;"alice")(A;CIID;`) {
		t.Errorf("SDDL: %s", got)
	}
	mustRun(t, repo, "", "group", "delete", "ops")
	mustRun(t, repo, "", "user", "delete", "alice")
	if got := mustRun(t, repo, "", "user", "list"); got != "boss\tadministrator\tAdministrators\n" {
		t.Errorf("user list after the deletes: %q", got)
	}
	if got := mustRun(t, repo, "", "ns", "create", "/test/static"); got != "test/static\n" {
		t.Errorf("ns create: %q", got)
	}
	if r := run(t, repo, "", "ns", "create", "/test/static"); r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_ALREADY_EXISTS") {
		t.Errorf("ns create again: %+v", r)
	}
	// The interop namespace lists them, under its aliases too.
	if got := mustRun(t, repo, "", "-n", "root/PG_InterOp", "query", "SELECT Name FROM CIM_Namespace WHERE Name = 'test/static'"); !strings.Contains(got, "test/static") {
		t.Errorf("CIM_Namespace: %s", got)
	}
}

// TestArraysAndDeleteClass: put reads MOF array literals; delete of a
// class with subclasses, instances and references is WMI's, and repo
// check then reports the references left pointing at nothing.
func TestArraysAndDeleteClass(t *testing.T) {
	repo := t.TempDir()
	mof := filepath.Join(t.TempDir(), "s.mof")
	os.WriteFile(mof, []byte(`
class T_Base { [Key] string Id; string Tags[]; uint16 Codes[]; };
class T_Sub : T_Base { };
[Association] class T_Link { [Key] T_Base ref A; [Key] T_Base ref B; };
instance of T_Sub { Id = "s"; };
instance of T_Base { Id = "b"; };
instance of T_Link { A = "T_Base.Id=\"b\""; B = "T_Sub.Id=\"s\""; };
`), 0o644)
	mustRun(t, repo, "", "mofcomp", mof)
	mustRun(t, repo, "", "put", "T_Base", "Id=a", `Tags={"x, y","z"}`, "Codes={1, 2}")
	got := mustRun(t, repo, "", "-o", "json", "get", `T_Base.Id="a"`)
	if !strings.Contains(got, `"Tags": [`) || !strings.Contains(got, `"x, y"`) || !strings.Contains(got, `"Codes": [`) {
		t.Errorf("arrays:\n%s", got)
	}
	if r := run(t, repo, "", "put", "T_Base", "Id=c", `Tags={"x}`); r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_TYPE_MISMATCH") || !strings.Contains(r.stderr, "unterminated") {
		t.Errorf("a bad array: %+v", r)
	}
	if out := mustRun(t, repo, "", "repo", "check"); !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, "2 references") {
		t.Errorf("repo check: %s", out)
	}
	mustRun(t, repo, "", "delete", "T_Sub")
	r := run(t, repo, "", "repo", "check")
	if r.code != 1 || !strings.HasPrefix(r.stdout, "1 dangling references") || !strings.Contains(r.stdout, `dangling: root/cimv2:T_Link.`) || !strings.Contains(r.stdout, "(no class T_Sub)") {
		t.Errorf("repo check after deleting T_Sub: %+v", r)
	}
	mustRun(t, repo, "", "delete", "T_Base")
	if r := run(t, repo, "", "get", "T_Link"); r.code != 0 {
		t.Errorf("the association class went with T_Base: %+v", r)
	}
}

// TestSemisyncAndLocale: --semisync makes the calls semisynchronous with
// the same results; --locale reads and writes localized objects.
func TestSemisyncAndLocale(t *testing.T) {
	repo := setup(t)
	for _, args := range [][]string{
		{"get", `Disk.Name="sda"`},
		{"enum", "--names", "Disk"},
		{"query", "SELECT Name FROM Disk"},
	} {
		want := mustRun(t, repo, "", args...)
		if got := mustRun(t, repo, "", append([]string{"--semisync", "1ms"}, args...)...); got != want {
			t.Errorf("%v with --semisync: %q, want %q", args, got, want)
		}
	}
	if got := mustRun(t, repo, "", "--semisync", "1ms", "put", "Disk", "Name=sdb", "Model=m"); got != "Disk.Name=\"sdb\"\n" {
		t.Errorf("semisynchronous put: %q", got)
	}
	mustRun(t, repo, "", "--semisync", "1ms", "delete", `Disk.Name="sdb"`)
	class := `{"__GENUS":1,"__CLASS":"Loc","Qualifiers":[{"Name":"Description","Value":"localized","Flavor":["Amended"]}],
 "Properties":[{"Name":"Id","Type":"string","Qualifiers":[{"Name":"Key","Value":true}]}]}`
	mustRun(t, repo, class, "--locale", "MS_409", "put", "-")
	if got := mustRun(t, repo, "", "-o", "json", "get", "Loc"); strings.Contains(got, "localized") {
		t.Errorf("the neutral class shows the amended qualifier:\n%s", got)
	}
	if got := mustRun(t, repo, "", "-o", "json", "--locale", "MS_409", "get", "Loc"); !strings.Contains(got, `"Value": "localized"`) {
		t.Errorf("--locale MS_409 get Loc:\n%s", got)
	}
	if r := run(t, repo, "", "--locale", "en-US", "get", "Loc"); r.code != 2 || !strings.Contains(r.stderr, "MS_409") {
		t.Errorf("--locale en-US: %+v", r)
	}
}
