package server_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPprof: /debug/pprof/ is off by default; with --pprof it answers
// administrators, refuses other users and asks anonymous callers to
// authenticate.
func TestPprof(t *testing.T) {
	get := func(d *daemon, user, pass, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.http+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		rsp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		body, _ := io.ReadAll(rsp.Body)
		return rsp.StatusCode, string(body)
	}
	off := startDaemon(t)
	if code, body := get(off, "admin", "secret", "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("without --pprof, an administrator's GET /debug/pprof/: %d %.200s", code, body)
	}
	on := startDaemon(t, "--pprof")
	if code, body := get(on, "admin", "secret", "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("an administrator's GET /debug/pprof/: %d %.200s", code, body)
	}
	if code, body := get(on, "admin", "secret", "/debug/pprof/heap?debug=1"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Errorf("an administrator's GET /debug/pprof/heap: %d %.200s", code, body)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/profile?seconds=1"} {
		if code, body := get(on, "guest", "guest-pw", path); code != http.StatusForbidden {
			t.Errorf("a user's GET %s: %d %.200s", path, code, body)
		}
		if code, _ := get(on, "", "", path); code != http.StatusUnauthorized {
			t.Errorf("an anonymous GET %s: %d", path, code)
		}
	}
}

// TestNamesThroughServer: wbem enum --names through a server asks for
// names alone (EnumerateInstanceNames) and prints the same paths as the
// repository itself.
func TestNamesThroughServer(t *testing.T) {
	d := startDaemon(t)
	cmd := exec.Command(filepath.Join(bin, "wbem"), "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "enum", "Sample_StorageElement", "--names")
	cmd.Env = append(os.Environ(), "WBEM_PASSWORD=secret")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wbem enum --names: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	if len(got) < 2 || !strings.Contains(string(out), `Sample_Disk.Name="sda"`) {
		t.Errorf("wbem enum --names through the server:\n%s", out)
	}
	// The access log line may come just after the answer.
	for i := 0; !strings.Contains(d.log.String(), "EnumerateInstanceNames"); i++ {
		if i == 100 {
			t.Fatalf("the server's log shows no EnumerateInstanceNames:\n%.2000s", d.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
