package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestBenchNames: wbem bench's names phase runs --enumerations
// EnumerateInstanceNames requests (and the enumerate phase as many
// EnumerateInstances), each delivering every object; ops are the objects
// delivered, without errors.
func TestBenchNames(t *testing.T) {
	repo := setup(t)
	h, _ := repoHandler(t, repo)
	var mu sync.Mutex
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Header.Get("CIMMethod")]++
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	out := mustRun(t, repo, "", "--url", srv.URL, "-n", "root/cimv2", "bench", "--objects", "40", "--connections", "4",
		"--enumerations", "3", "--phases", "create,names,enumerate,delete")
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		rows[f[0]] = f
	}
	for _, ph := range []string{"names", "enumerate"} {
		if f := rows[ph]; len(f) != 6 || f[1] != "120" || f[5] != "0" {
			t.Errorf("%s: row %q, want 120 ops and no errors\n%s", ph, f, out)
		}
	}
	if f := rows["create"]; len(f) != 6 || f[1] != "40" || f[5] != "0" {
		t.Errorf("create: row %q\n%s", f, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["EnumerateInstanceNames"] != 3 || calls["EnumerateInstances"] != 3 {
		t.Errorf("requests %v, want 3 EnumerateInstanceNames and 3 EnumerateInstances", calls)
	}
	if r := run(t, repo, "", "--url", srv.URL, "bench", "--enumerations", "0"); r.code != 2 {
		t.Errorf("--enumerations 0: exit %d, %q", r.code, r.stderr)
	}
}
