package httpstack_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
)

// BenchmarkStack measures what the filters cost one request, around a
// door that names its operation and answers a few bytes: with the access
// log off, and formatted as text or JSON (the daemon batches the writes
// themselves, see cmd/wbemd). Read allocs/op and ns/op against "bare",
// the door alone.
func BenchmarkStack(b *testing.B) {
	door := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		httpstack.RecordFrom(r.Context()).SetOperation("Get", "root/test")
		w.Write([]byte("answer"))
	})
	root := func(*http.Request) (cimom.Principal, bool) { return cimom.Principal{Name: "root"}, true }
	for _, c := range []struct {
		name   string
		log    func(b *testing.B) *slog.Logger
		direct bool // the access line written by the Observer (WriteText)
	}{
		{"bare", nil, false},
		{"nolog", func(*testing.B) *slog.Logger { return slog.New(slog.DiscardHandler) }, false},
		{"text", func(*testing.B) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }, false},
		{"json", func(*testing.B) *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }, false},
		{"textdirect", func(*testing.B) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var h http.Handler = door
			if c.log != nil {
				o := httpstack.NewObserver(c.log(b))
				if c.direct {
					o.WriteText(io.Discard)
				}
				s := &httpstack.Stack{Observer: o, Auth: root, OperationTimeout: time.Minute}
				h = s.Serve(httpstack.Door{Name: "test", Operations: []string{"Get"}}, door)
			}
			w := httptest.NewRecorder()
			body := strings.NewReader("")
			req := httptest.NewRequest("POST", "/test", body)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				body.Reset("request")
				w.Body.Reset()
				clear(w.Header())
				h.ServeHTTP(w, req)
			}
		})
	}
}
