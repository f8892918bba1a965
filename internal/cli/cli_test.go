package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/store/bolt"
)

var wbemBin string

// TestMain builds the real wbem binary once; the tests run it as a user
// would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wbem-cli-test")
	if err != nil {
		panic(err)
	}
	wbemBin = filepath.Join(dir, "wbem")
	build := exec.Command("go", "build", "-o", wbemBin, "github.com/wbemd/wbemd/cmd/wbem")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, repo string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(wbemBin, append([]string{"--repo", repo}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func mustRun(t *testing.T, repo, stdin string, args ...string) string {
	t.Helper()
	r := run(t, repo, stdin, args...)
	if r.code != 0 {
		t.Fatalf("wbem %v: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// content dumps every key, value and revision of the repository.
func content(t *testing.T, repo string) string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(repo, repoFile), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for kv, err := range db.Range(context.Background(), nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%q=%q@%d\n", kv.Key, kv.Value, kv.ModRev)
	}
	return b.String()
}

const classJSON = `{"__GENUS":1,"__CLASS":"Disk","Properties":[
 {"Name":"Name","Type":"string","Qualifiers":[{"Name":"Key","Value":true}]},
 {"Name":"Size","Type":"uint64"},{"Name":"Count","Type":"uint8"},
 {"Name":"When","Type":"datetime"},{"Name":"Model","Type":"string","Qualifiers":[{"Name":"Not_Null","Value":true}]}]}`

func setup(t *testing.T) string {
	repo := t.TempDir()
	mustRun(t, repo, classJSON, "put", "-")
	if got := mustRun(t, repo, "", "put", "Disk", "Name=sda", "Size=10", "Model=m"); got != "Disk.Name=\"sda\"\n" {
		t.Fatalf("put printed %q", got)
	}
	return repo
}

var errLine = regexp.MustCompile(`^wbem: WBEM_E_[A-Z_]+ \(0x[0-9A-F]{8}\): .+\n$`)

// TestBadInput: each bad input gives the precise WBEM error on one line,
// exit status 1, and leaves the repository unchanged in content.
func TestBadInput(t *testing.T) {
	repo := setup(t)
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"put", "Disk", "Name=sdb", "Size=big", "Model=m"}, "WBEM_E_TYPE_MISMATCH"},
		{"", []string{"put", "Disk", "Name=sdb", "Count=300", "Model=m"}, "WBEM_E_TYPE_MISMATCH"},
		{"", []string{"put", "Disk", "Name=sdb", "When=tomorrow", "Model=m"}, "WBEM_E_TYPE_MISMATCH"},
		{"", []string{"put", "Disk", "Name=sdb", "Colour=red"}, "WBEM_E_INVALID_PROPERTY"},
		{"", []string{"put", "Nope", "Name=sdb"}, "WBEM_E_NOT_FOUND"},
		{"", []string{"put", "Disk", "Name=sdb"}, "WBEM_E_ILLEGAL_NULL"},
		{"", []string{"put", "--create-only", "Disk", "Name=sda", "Model=m"}, "WBEM_E_ALREADY_EXISTS"},
		{"", []string{"put", "--update-only", "Disk", "Name=sdz", "Model=m"}, "WBEM_E_NOT_FOUND"},
		{"", []string{"put", "--properties", "Size", "Disk", "Name=sda", "Size=1"}, "WBEM_E_INVALID_CONTEXT"},
		{`{"__CLASS":"Disk","Name":"sdb",`, []string{"put", "-"}, "WBEM_E_INVALID_PARAMETER"},
		{`{"__CLASS":"Disk","Name":"sdb","Size":-1,"Model":"m"}`, []string{"put", "-"}, "WBEM_E_TYPE_MISMATCH"},
		{`{"__CLASS":"Disk","Name":"sdb","Bogus":1}`, []string{"put", "-"}, "WBEM_E_INVALID_PROPERTY"},
		{`{not json at all`, []string{"put", "-"}, "WBEM_E_INVALID_PARAMETER"},
		{`{"__CLASS":"Nope"}`, []string{"put", "-"}, "WBEM_E_NOT_FOUND"},
		{"", []string{"get", `Disk.Name="sda`}, "WBEM_E_INVALID_OBJECT_PATH"},
		{"", []string{"get", `Disk.Nam="sda"`}, "WBEM_E_INVALID_OBJECT_PATH"},
		{"", []string{"get", `Disk.Name="sdz"`}, "WBEM_E_NOT_FOUND"},
		{"", []string{"delete", `Disk.Name=`}, "WBEM_E_INVALID_OBJECT_PATH"},
		{"", []string{"delete", `Disk.Name="sdz"`}, "WBEM_E_NOT_FOUND"},
		{"", []string{"enum", "Nope"}, "WBEM_E_INVALID_CLASS"},
		{"", []string{"-n", "root/nope", "enum", "Disk"}, "WBEM_E_INVALID_NAMESPACE"},
		{"", []string{"-n", "root//x", "enum", "Disk"}, "WBEM_E_INVALID_NAMESPACE"},
		{`{"__GENUS":1,"__CLASS":"_Bad"}`, []string{"put", "-"}, "WBEM_E_INVALID_OPERATION"},
		{"", []string{"ns", "delete", "nope"}, "WBEM_E_NOT_FOUND"},
	}
	before := content(t, repo)
	for _, c := range cases {
		r := run(t, repo, c.stdin, c.args...)
		if r.code != 1 || !errLine.MatchString(r.stderr) || !strings.Contains(r.stderr, c.want) {
			t.Errorf("wbem %v: exit %d, stderr %q; want exit 1 and %s on one line", c.args, r.code, r.stderr, c.want)
		}
		if after := content(t, repo); after != before {
			t.Fatalf("wbem %v changed the repository", c.args)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	repo := setup(t)
	before := content(t, repo)
	for _, args := range [][]string{{"frobnicate"}, {"get"}, {"get", "a", "b"}, {"put", "--bogus", "x"}, {"-o", "yaml", "get", "Disk"}, {"put", "--create-only", "--update-only", "Disk", "Name=a"}} {
		r := run(t, repo, "", args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "wbem: ") {
			t.Errorf("wbem %v: exit %d, stderr %q; want a usage error (exit 2)", args, r.code, r.stderr)
		}
	}
	if content(t, repo) != before {
		t.Fatal("a usage error changed the repository")
	}
	if r := run(t, "", "", "get", "Disk"); r.code != 2 {
		t.Errorf("no repository: exit %d", r.code)
	}
}

func TestVerbs(t *testing.T) {
	repo := setup(t)
	mustRun(t, repo, "", "put", "--update-only", "--properties", "Size", "Disk", "Name=sda", "Size=99")
	if out := mustRun(t, repo, "", "-o", "json", "get", `Disk.Name="sda"`); !strings.Contains(out, `"Size": 99`) || !strings.Contains(out, `"Model": "m"`) {
		t.Fatalf("partial update result:\n%s", out)
	}
	mustRun(t, repo, `{"__CLASS":"Disk","Name":"q\"uote > ünï","Model":"x"}`, "put", "-")
	if out := mustRun(t, repo, "", "enum", "Disk", "--names"); !strings.Contains(out, `Disk.Name="q\"uote > ünï"`) {
		t.Fatalf("enum --names:\n%s", out)
	}
	if out := mustRun(t, repo, "", "get", `Disk.Name="q\"uote > ünï"`); !strings.Contains(out, `q"uote > ünï`) {
		t.Fatalf("get:\n%s", out)
	}
	if out := mustRun(t, repo, "", "-o", "mof", "get", `Disk.Name="sda"`); !strings.Contains(out, "instance of Disk") || !strings.Contains(out, "Size = 99;") {
		t.Fatalf("-o mof:\n%s", out)
	}
	if out := mustRun(t, repo, "", "classes", "--shallow"); !strings.Contains(out, "Disk\n") || strings.Contains(out, "  __Namespace") {
		t.Fatalf("classes --shallow:\n%s", out)
	}
	mustRun(t, repo, "", "-n", "root", "ns", "create", "extra")
	if out := mustRun(t, repo, "", "-n", "root", "ns", "list"); !strings.Contains(out, "extra") {
		t.Fatalf("ns list:\n%s", out)
	}
	mustRun(t, repo, "", "-n", "root", "ns", "delete", "extra")
	mustRun(t, repo, "", "delete", `Disk.Name="sda"`)
	if out := mustRun(t, repo, "", "repo", "check"); !strings.HasPrefix(out, "ok: 6 namespaces") {
		t.Fatalf("repo check: %s", out)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	mustRun(t, repo, "", "repo", "backup", backup)
	copyRepo := t.TempDir()
	if err := os.Rename(backup, filepath.Join(copyRepo, repoFile)); err != nil {
		t.Fatal(err)
	}
	if content(t, copyRepo) != content(t, repo) {
		t.Fatal("the backup differs from the repository")
	}
	mustRun(t, repo, "", "delete", "Disk")
	if r := run(t, repo, "", "get", "Disk"); r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_NOT_FOUND") {
		t.Fatalf("class still there: %+v", r)
	}
}
