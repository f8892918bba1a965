package cli

import (
	"strings"
	"testing"
)

func TestQuery(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, repo, "", "mofcomp", "../../examples/sample.mof")
	q := func(args ...string) string {
		return mustRun(t, repo, "", append([]string{"-n", "root/sample", "query"}, args...)...)
	}
	want := "CLASS          NAME  SIZEBYTES      MODEL      INSTALLED\n" +
		"Sample_Volume  sda2  480000000000   partition  NULL\n" +
		"Sample_Volume  sdb1  1000000000000  partition  NULL\n"
	if got := q("SELECT * FROM Sample_StorageElement WHERE Model = 'PARTITION'"); got != want {
		t.Errorf("table:\n%s\nwant\n%s", got, want)
	}
	if got := q("--plan", "SELECT * FROM Sample_StorageElement WHERE Model = 'PARTITION'"); got != "index range scan of Sample_StorageElement.Model (Model = 'PARTITION'; 1 range, estimate 2 entries), filtered\n" {
		t.Errorf("--plan: %q", got)
	}
	if got := q("--plan", `SELECT * FROM Sample_Disk WHERE Name = "sda"`); !strings.HasPrefix(got, "key lookup of Sample_Disk.Name=\"sda\"") {
		t.Errorf("--plan: %q", got)
	}
	if got := q("--scan", "SELECT Name FROM Sample_StorageElement WHERE Model = 'PARTITION'"); got != "CLASS          NAME\nSample_Volume  sda2\nSample_Volume  sdb1\n" {
		t.Errorf("--scan with a projection: %q", got)
	}
	if got := q("--cql", "SELECT v.Name FROM Sample_StorageElement AS v WHERE v.Model LIKE 'PART.*'"); got != "CLASS          NAME\nSample_Volume  sda2\nSample_Volume  sdb1\n" {
		t.Errorf("--cql: %q", got)
	}
	if got := q("--cql", "--plan", "SELECT * FROM Sample_Disk d WHERE d.Name = 'sda'"); !strings.HasPrefix(got, "key lookup of Sample_Disk.Name=\"sda\"") {
		t.Errorf("--cql --plan: %q", got)
	}
	if got := q(`ASSOCIATORS OF {Sample_Disk.Name="sdb"}`); got != "Sample_Volume.Name=\"sdb1\"\n" {
		t.Errorf("associators: %q", got)
	}
	if got := mustRun(t, repo, "", "-n", "root/sample", "-o", "json", "query", "SELECT Name FROM Sample_Disk WHERE RotationRate = 7200"); !strings.Contains(got, `"Name": "sdb"`) || strings.Contains(got, "SizeBytes") {
		t.Errorf("json: %s", got)
	}
	if got := mustRun(t, repo, "", "-n", "root/sample", "-o", "mof", "query", "SELECT * FROM meta_class WHERE __CLASS = 'Sample_Volume'"); !strings.HasPrefix(got, "[Description(\"A volume") {
		t.Errorf("mof: %s", got)
	}
	r := run(t, repo, "", "-n", "root/sample", "query", "SELECT * FROM Sample_Disk WHERE Size = 1")
	if r.code != 1 || r.stderr != "wbem: WBEM_E_INVALID_PROPERTY (0x80041031): 1:33: class Sample_Disk has no property Size [operation ExecQuery, provider wbemd]\n" {
		t.Errorf("bad query: exit %d, %q", r.code, r.stderr)
	}
}
