package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/store/bolt"
)

// TestPutPath: `wbem put PATH name=value ...` takes the keys from PATH;
// with --update-only it writes the pairs' properties only; a pair that
// changes a key is WBEM_E_INVALID_PARAMETER and writes nothing. The same
// holds on the repository and through --url (the network client).
func TestPutPath(t *testing.T) {
	repo := setup(t)
	if got := mustRun(t, repo, "", "put", "--update-only", `Disk.Name="sda"`, "Model=m2"); got != "Disk.Name=\"sda\"\n" {
		t.Errorf("modify printed %q", got)
	}
	if got := mustRun(t, repo, "", "-o", "json", "get", `Disk.Name="sda"`); !strings.Contains(got, `"Model": "m2"`) || !strings.Contains(got, `"Size": 10`) {
		t.Errorf("after the modify (Size must be kept):\n%s", got)
	}
	if got := mustRun(t, repo, "", "put", `Disk.Name="sdn"`, "Model=n"); got != "Disk.Name=\"sdn\"\n" {
		t.Errorf("create at a path printed %q", got)
	}
	before := content(t, repo)
	for _, args := range [][]string{
		{"put", "--update-only", `Disk.Name="sda"`, "Name=sdz", "Model=m3"},
		{"put", `Disk.Name="sda"`, "Name=sdy", "Model=m3"},
	} {
		r := run(t, repo, "", args...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "wbem: WBEM_E_INVALID_PARAMETER (0x80041008): the instance gives key Name") {
			t.Errorf("wbem %v: exit %d, %q", args, r.code, r.stderr)
		}
	}
	if content(t, repo) != before {
		t.Error("a refused put changed the repository")
	}

	// Through --url: the CIM-XML client is the Services.
	h, om := repoHandler(t, repo)
	srv := httptest.NewServer(h)
	defer srv.Close()
	remote := func(args ...string) result { return run(t, repo, "", append([]string{"--url", srv.URL}, args...)...) }
	if r := remote("put", "--update-only", `Disk.Name="sda"`, "Name=sdz", "Model=m4"); r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_INVALID_PARAMETER") {
		t.Errorf("remote changed key: exit %d, %q", r.code, r.stderr)
	}
	if r := remote("put", "--update-only", `Disk.Name="sda"`, "Model=m5"); r.code != 0 {
		t.Errorf("remote modify: exit %d, %q", r.code, r.stderr)
	}
	ctx := context.Background()
	svc, err := om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := svc.GetObject(ctx, `Disk.Name="sda"`, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := o.Get("Model"); m.V != "m5" {
		t.Errorf("Model after the remote modify: %v", m)
	}
	if s, _ := o.Get("Size"); s.V != uint64(10) {
		t.Errorf("Size after the remote modify: %v (a property not given changed)", s)
	}
	if _, err := svc.GetObject(ctx, `Disk.Name="sdz"`, 0, nil); err == nil {
		t.Error("the refused remote put created sdz")
	}
	// Key values compare without regard to case (WMI): the key in another
	// case is no key change, and the instance keeps its case.
	if r := remote("put", "--update-only", `Disk.Name="SDA"`, "Name=Sda", "Model=m6"); r.code != 0 {
		t.Errorf("remote modify in another case: exit %d, %q", r.code, r.stderr)
	}
	if o, err = svc.GetObject(ctx, `Disk.Name="sda"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := o.Get("Name"); n.V != "sda" {
		t.Errorf("Name after a modify in another case: %v", n)
	}
	if m, _ := o.Get("Model"); m.V != "m6" {
		t.Errorf("Model after a modify in another case: %v", m)
	}
}

// repoHandler serves the repository in repo over CIM-XML to any caller
// as root, until the test ends.
func repoHandler(t *testing.T, repo string) (http.Handler, *cimom.CIMOM) {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(repo, repoFile), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	om, err := cimom.Open(ctx, db, cimom.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { om.Close(ctx) })
	door := &cimxml.Handler{Connector: om}
	root := func(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }
	return (&httpstack.Stack{Auth: root}).Serve(door.Door(), door), om
}
