package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// TestHealthzReportsStoreFault: /healthz answers ok while the store is
// healthy and 503 with the fault once a failed log sync turned the
// embedded engine read-only.
func TestHealthzReportsStoreFault(t *testing.T) {
	fail := false
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{FailPoint: func(point string) error {
		if fail && point == bolt.FailLogSync {
			return errors.New("injected disk fault")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		healthz(db).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("healthy store: %d %q", code, body)
	}
	fail = true
	if _, err := db.Txn(context.Background(), nil, []store.Op{store.Put([]byte("k"), []byte("v"))}); err == nil {
		t.Fatal("a write with a failing sync succeeded")
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "read-only") || !strings.Contains(body, "injected disk fault") {
		t.Fatalf("read-only store: %d %q", code, body)
	}
}
