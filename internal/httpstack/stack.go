package httpstack

import (
	"net/http"
	"time"
)

// DefaultMaxRequest is the request body limit of a Stack without one.
const DefaultMaxRequest = 16 << 20

// Stack is the filter chain in front of every door, outermost first:
// Observe (record, request id, access log, metrics), Authenticate,
// Timeout and MaxBytes.
type Stack struct {
	// Observer logs and counts the requests; nil observes nothing.
	Observer *Observer
	// Auth authenticates callers; nil authenticates nobody.
	Auth Authenticator
	// OperationTimeout bounds each request (0: no limit).
	OperationTimeout time.Duration
	// MaxRequest bounds a request body (0: DefaultMaxRequest).
	MaxRequest int64
}

// Serve returns h behind the filters, declared to them as d.
func (s *Stack) Serve(d Door, h http.Handler) http.Handler {
	max := s.MaxRequest
	if max <= 0 {
		max = DefaultMaxRequest
	}
	h = Authenticate(s.Auth, d.Anonymous, Timeout(s.OperationTimeout, MaxBytes(max, h)))
	if s.Observer != nil {
		h = s.Observer.Observe(d, h)
	}
	return h
}
