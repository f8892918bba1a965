package store

import (
	"context"
	"sync/atomic"
)

// A Session is the reads and writes of one client operation (one request
// of a door). An engine whose reads must each learn the store's current
// revision from elsewhere (etcd: a round trip to the leader and a quorum)
// may learn it once per session and serve the session's later reads at
// that revision or after it. Every read of a session still sees every
// write acknowledged before the session began, on any node, and every
// write the session made itself; it may miss a write that someone else
// made while the session ran, which is concurrent with it. Engines that
// always read their latest state (bolt) ignore sessions.
type Session struct{ rev atomic.Int64 }

type sessionKey struct{}

// WithSession returns ctx with a new Session: the calls made with it, and
// with contexts derived from it, are one client operation.
func WithSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionKey{}, &Session{})
}

// SessionOf returns the Session of ctx, or nil.
func SessionOf(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// Rev returns the revision the session's reads may be served at: the
// newest it learned (Observe), or 0 if it learned none.
func (s *Session) Rev() int64 { return s.rev.Load() }

// Observe records that the session learned revision rev: the result of a
// revision read sent after the session began, or of its own write.
func (s *Session) Observe(rev int64) {
	for {
		old := s.rev.Load()
		if rev <= old || s.rev.CompareAndSwap(old, rev) {
			return
		}
	}
}

// Forget drops what the session learned, after a write whose outcome is
// unknown: its next read learns the revision again.
func (s *Session) Forget() { s.rev.Store(0) }
