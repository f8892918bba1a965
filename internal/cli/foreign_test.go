package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNamespacesOfAForeignCIMOM: `wbem --url … ns list` against a CIMOM
// without __Namespace (OpenPegasus answers CIM_ERR_NOT_FOUND for it, seen
// against Pegasus 2.14.4) lists the children of -n from the CIM_Namespace
// instances of the interop namespace. The server is wbemd's handler over
// HTTP, with __Namespace answered as Pegasus answers it.
func TestNamespacesOfAForeignCIMOM(t *testing.T) {
	repo := t.TempDir()
	for _, ns := range []string{"/interop", "/root/a", "/root/b", "/root/a/deep"} {
		mustRun(t, repo, "", "ns", "create", ns)
	}
	mofFile := filepath.Join(t.TempDir(), "ns.mof")
	os.WriteFile(mofFile, []byte(`class CIM_Namespace { [Key] string Name; };
instance of CIM_Namespace { Name = "root"; };
instance of CIM_Namespace { Name = "root/b"; };
instance of CIM_Namespace { Name = "root/a"; };
instance of CIM_Namespace { Name = "root/a/deep"; };
instance of CIM_Namespace { Name = "interop"; };
`), 0o644)
	mustRun(t, repo, "", "-n", "interop", "mofcomp", mofFile)

	h, _ := repoHandler(t, repo)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`NAME="__Namespace"`)) {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.Header().Set("CIMOperation", "MethodResponse")
			io.WriteString(w, `<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="`+r.Header.Get("CIMMethod")+`"><ERROR CODE="6" DESCRIPTION="CIM_ERR_NOT_FOUND: __Namespace"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	list := func(ns string) string {
		cmd := exec.Command(wbemBin, "--url", srv.URL, "--user", "u", "-n", ns, "ns", "list")
		cmd.Env = append(os.Environ(), "WBEM_PASSWORD=p")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ns list -n %s: %v\n%s", ns, err, out)
		}
		return string(out)
	}
	if got := list("root"); got != "a\nb\n" {
		t.Errorf("children of root: %q", got)
	}
	if got := list("root/a"); got != "deep\n" {
		t.Errorf("children of root/a: %q", got)
	}
	if got := list("root/b"); got != "" {
		t.Errorf("children of root/b: %q", got)
	}
}
