package httpstack

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
)

// Record is one request as the filters and its door see it. The filters
// fill in the request id and the caller; the door names the operation and
// its namespace (SetOperation) and a failure's WBEM status (Fail); the
// Observe filter logs and counts the request from it once the door is
// done. A Record belongs to one request: use it only from the goroutine
// serving that request. The methods of a nil *Record do nothing, so that
// a door also runs outside the filters.
type Record struct {
	id            string
	idHeader      [1]string // the X-Request-Id header's value
	door          *door
	principal     cimom.Principal
	authenticated bool
	op, namespace string
	failed        bool
	status        cim.Status
	detail        string
	started       time.Time
	w             statusWriter
}

// recordContext is a request's context carrying its Record, both in one
// allocation.
type recordContext struct {
	context.Context
	rec Record
}

type recordKey struct{}

func (c *recordContext) Value(key any) any {
	if _, ok := key.(recordKey); ok {
		return &c.rec
	}
	return c.Context.Value(key)
}

// withRecord returns r with a new Record in its context, and a new
// store.Session: the request is one client operation for the store.
func withRecord(r *http.Request) (*http.Request, *Record) {
	rc := &recordContext{Context: store.WithSession(r.Context())}
	return r.WithContext(rc), &rc.rec
}

// RecordFrom returns the Record of the request whose context is ctx, or
// nil when the request did not pass through the filters.
func RecordFrom(ctx context.Context) *Record {
	rec, _ := ctx.Value(recordKey{}).(*Record)
	return rec
}

// PrincipalFrom returns the caller that the Authenticate filter
// verified. ok is false for a request admitted without credentials (the
// door's Anonymous predicate) or served outside the filters: the door
// must refuse it anything that needs a caller.
func PrincipalFrom(ctx context.Context) (p cimom.Principal, ok bool) {
	rec := RecordFrom(ctx)
	if rec == nil || !rec.authenticated {
		return cimom.Principal{}, false
	}
	return rec.principal, true
}

// RequestIDFrom returns the id of the request whose context is ctx (the
// X-Request-Id header of its answer), or "".
func RequestIDFrom(ctx context.Context) string {
	if rec := RecordFrom(ctx); rec != nil {
		return rec.id
	}
	return ""
}

// ID returns the request id ("" for a request that Observe did not see).
func (r *Record) ID() string {
	if r == nil {
		return ""
	}
	return r.id
}

// SetOperation names the operation a request asks for and the namespace
// it runs in ("" when none). The name is logged as given; metrics count
// it under its own label only if the door declared it (Door.Operations).
func (r *Record) SetOperation(op, namespace string) {
	if r != nil {
		r.op, r.namespace = op, namespace
	}
}

// Fail records that the operation failed with a WBEM status, and why.
func (r *Record) Fail(status cim.Status, detail string) {
	if r != nil {
		r.failed, r.status, r.detail = true, status, detail
	}
}

// statusWriter remembers the HTTP status and the size of an answer.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// WriteString writes s without copying it when the connection's writer
// takes strings.
func (w *statusWriter) WriteString(s string) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := io.WriteString(w.ResponseWriter, s)
	w.bytes += int64(n)
	return n, err
}

// Flush sends what was written so far, when the connection can.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.code == 0 {
			w.code = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
