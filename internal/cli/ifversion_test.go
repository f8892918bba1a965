package cli

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestPutIfVersion: `wbem put --if-version N` writes only while the
// instance is at version N (its __VERSION in -o json), and a stale version
// is WBEM_E_TRANSACTION_CONFLICT; the CIM-XML client refuses the option
// rather than drop it.
func TestPutIfVersion(t *testing.T) {
	repo := setup(t)
	version := func() string {
		var m map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, repo, "", "-o", "json", "get", `Disk.Name="sda"`)), &m); err != nil {
			t.Fatal(err)
		}
		v, _ := m["__VERSION"].(string)
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("__VERSION %q", v)
		}
		return v
	}
	v1 := version()
	mustRun(t, repo, "", "put", "--update-only", "--if-version", v1, `Disk.Name="sda"`, "Model=v2")
	v2 := version()
	if v2 == v1 {
		t.Fatalf("the version stayed %s after a write", v1)
	}
	before := content(t, repo)
	if r := run(t, repo, "", "put", "--update-only", "--if-version", v1, `Disk.Name="sda"`, "Model=v3"); r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_TRANSACTION_CONFLICT") || !strings.Contains(r.stderr, "version "+v1+" was expected") {
		t.Errorf("stale version: exit %d, %q", r.code, r.stderr)
	}
	if content(t, repo) != before {
		t.Error("a refused put changed the repository")
	}
	h, _ := repoHandler(t, repo)
	srv := httptest.NewServer(h)
	defer srv.Close()
	if r := run(t, repo, "", "--url", srv.URL, "put", "--update-only", "--if-version", v2, `Disk.Name="sda"`, "Model=v4"); r.code != 1 || !strings.Contains(r.stderr, "WBEM_E_NOT_SUPPORTED") {
		t.Errorf("through CIM-XML: exit %d, %q", r.code, r.stderr)
	}
}
