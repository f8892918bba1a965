package httpstack

import (
	"context"
	"net"
	"net/http"
	"os/user"
	"strconv"
	"syscall"

	"github.com/wbemd/wbemd/cimom"
)

type peerKey struct{}

// ConnContext is the http.Server ConnContext of the local socket: it
// identifies the user at the other end of a Unix connection by its
// credentials (SO_PEERCRED), for PeerCredentials. Uid 0 is "root", the
// administrator; another uid is its user name (or "uid:N").
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *syscall.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return ctx
	}
	uid := strconv.FormatUint(uint64(cred.Uid), 10)
	p := cimom.Principal{Name: "uid:" + uid}
	if cred.Uid == 0 {
		p.Name = "root"
	} else if u, err := user.LookupId(uid); err == nil {
		p.Name = u.Username
	}
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerCredentials authenticates the requests of a local socket connection
// by the peer's credentials (see ConnContext), and any other request with
// next.
func PeerCredentials(next Authenticator) Authenticator {
	return func(r *http.Request) (cimom.Principal, bool) {
		if p, ok := r.Context().Value(peerKey{}).(cimom.Principal); ok {
			return p, true
		}
		if next == nil {
			return cimom.Principal{}, false
		}
		return next(r)
	}
}
