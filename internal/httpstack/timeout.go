package httpstack

import (
	"context"
	"net/http"
	"time"
)

// MaxBytes bounds the body of each request to h at n bytes: reading past
// it fails with an *http.MaxBytesError (the door answers it as its
// protocol says), and the connection is closed after the answer. Unlike
// http.MaxBytesHandler it replaces the Body of the request it is given,
// as net/http's own MaxBytesReader idiom does, rather than copying the
// request: the filters run on every request.
func MaxBytes(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

// Timeout gives each request to h a context that ends d after the request
// arrived: an operation still running then is cancelled (cimom answers it
// WBEM_E_CALL_CANCELLED). A d of 0 or less sets no limit.
func Timeout(d time.Duration, h http.Handler) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
