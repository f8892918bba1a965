package httpstack

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cimom"
)

// An Authenticator returns the caller of a request from its credentials;
// ok is false when they are missing or wrong.
type Authenticator func(r *http.Request) (p cimom.Principal, ok bool)

// Authenticate puts the caller of each request into its Record (read with
// PrincipalFrom) and passes it on to h. A request whose credentials are
// missing or wrong gets 401 Unauthorized, unless anonymous admits it: then
// it reaches h without a caller, and h refuses what needs one (WS-Man's
// Identify is answered so). A nil a authenticates nobody. Every caller is
// marked Remote: it came through HTTP.
func Authenticate(a Authenticator, anonymous func(*http.Request) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p cimom.Principal
		ok := false
		if a != nil {
			p, ok = a(r)
		}
		if !ok {
			if anonymous == nil || !anonymous(r) {
				Unauthorized(w)
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		rec := RecordFrom(r.Context())
		if rec == nil { // served without Observe
			r, rec = withRecord(r)
		}
		p.Remote = true
		rec.principal, rec.authenticated = p, true
		markAuthenticated(r.Context()) // the connection may now be kept (Guard)
		h.ServeHTTP(w, r)
	})
}

// Unauthorized answers 401 with a Basic challenge and an empty body (WS-Man
// clients such as wsl tell an empty 401 as a credentials problem).
func Unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("WWW-Authenticate", `Basic realm="wbemd"`)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// A Verifier checks a user name and password sent from a client address
// (auth.Users is one).
type Verifier interface {
	Verify(ctx context.Context, addr, name, password string) (cimom.Principal, error)
}

// Basic authenticates HTTP Basic credentials with v. A failed login is
// logged (user, client address, request id) at warning level.
func Basic(v Verifier, log *slog.Logger) Authenticator {
	if log == nil {
		log = slog.Default()
	}
	return func(r *http.Request) (cimom.Principal, bool) {
		name, pw, ok := r.BasicAuth()
		if !ok {
			return cimom.Principal{}, false
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		p, err := v.Verify(r.Context(), host, name, pw)
		if err != nil {
			// Wrong credentials and refusals are logged by the user store
			// (once per back-off); anything else is a fault worth a line.
			if !errors.Is(err, auth.ErrWrongCredentials) && !errors.Is(err, auth.ErrRateLimited) {
				log.Warn("login failed", "user", name, "client", host, "id", RequestIDFrom(r.Context()), "err", err)
			}
			return cimom.Principal{}, false
		}
		return p, true
	}
}
