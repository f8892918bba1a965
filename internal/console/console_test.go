package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/console"
)

// TestHandler: / leads to the console; its files are served from the
// binary with a policy that keeps the page to its own origin and out of
// frames; anything else under /ui/ is 404.
func TestHandler(t *testing.T) {
	srv := httptest.NewServer(console.Handler())
	defer srv.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rsp, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != http.StatusFound || rsp.Header.Get("Location") != console.Prefix {
		t.Errorf("/: %d %q", rsp.StatusCode, rsp.Header.Get("Location"))
	}
	for _, c := range []struct{ path, ctype, holds string }{
		{"/ui/", "text/html", `<script src="app.js" type="module">`},
		{"/ui/app.js", "javascript", "function route()"},
		{"/ui/style.css", "text/css", "prefers-color-scheme: dark"},
	} {
		rsp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if rsp.StatusCode != 200 || !strings.Contains(rsp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.holds) {
			t.Errorf("%s: %d %q", c.path, rsp.StatusCode, rsp.Header.Get("Content-Type"))
		}
		if csp := rsp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
		}
	}
	rsp, err = http.Get(srv.URL + "/ui/nothing.js")
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 404 {
		t.Errorf("a missing file: %d", rsp.StatusCode)
	}
}
