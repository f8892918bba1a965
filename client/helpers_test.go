package client

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/protocol/cimxml"
)

// sampleHandler is wbemd's CIM-XML door over a real repository holding
// the sample schema (Sample_Disk.Spin served by testdata.SpinProvider);
// user "admin" (password "pw") is an administrator.
func sampleHandler(t testing.TB) http.Handler {
	t.Helper()
	h, _ := sampleRepo(t)
	return h
}

// sampleRepo is sampleHandler with the CIMOM behind it.
func sampleRepo(t testing.TB) (http.Handler, *cimom.CIMOM) {
	t.Helper()
	om := testdata.SampleCIMOM(t)
	if err := om.RegisterMethodProvider("root/sample", "Sample_Disk", testdata.SpinProvider{}); err != nil {
		t.Fatal(err)
	}
	h := &cimxml.Handler{Connector: om}
	return (&httpstack.Stack{MaxRequest: 1 << 20, Auth: func(r *http.Request) (cimom.Principal, bool) {
		n, p, ok := r.BasicAuth()
		return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
	}}).Serve(h.Door(), h), om
}

// asRoot authenticates every request as root.
func asRoot(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }

// behind serves h behind the filters with auth.
func behind(h *cimxml.Handler, auth httpstack.Authenticator) http.Handler {
	return (&httpstack.Stack{Auth: auth}).Serve(h.Door(), h)
}

// sampleServer serves sampleHandler over real HTTP and returns its URL.
func sampleServer(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(sampleHandler(t))
	t.Cleanup(srv.Close)
	return srv.URL
}
