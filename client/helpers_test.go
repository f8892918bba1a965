package client

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/protocol/cimxml"
)

// sampleHandler is wbemd's CIM-XML door over a real repository holding
// the sample schema (Sample_Disk.Spin served by testdata.SpinProvider);
// user "admin" (password "pw") is an administrator.
func sampleHandler(t testing.TB) *cimxml.Handler {
	t.Helper()
	om := testdata.SampleCIMOM(t)
	if err := om.RegisterMethodProvider("root/sample", "Sample_Disk", testdata.SpinProvider{}); err != nil {
		t.Fatal(err)
	}
	return &cimxml.Handler{CIMOM: om, MaxRequest: 1 << 20, Log: slog.New(slog.DiscardHandler), Auth: func(r *http.Request) (cimom.Principal, bool) {
		n, p, ok := r.BasicAuth()
		return cimom.Principal{Name: "root"}, ok && n == "admin" && p == "pw"
	}}
}

// sampleServer serves sampleHandler over real HTTP and returns its URL.
func sampleServer(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(sampleHandler(t))
	t.Cleanup(srv.Close)
	return srv.URL
}
