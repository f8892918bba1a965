package provhost

import (
	"os/user"
	"strconv"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/provider/wire"
)

// callerOf is the wire's form of the principal a call is made for, with
// the Unix account of the same name. A call made for nobody (no
// authenticated principal) is refused: wbemd never calls a provider for
// an unauthenticated request.
func (s *Supervisor) callerOf(p cimom.Principal, provider string) (*wire.Caller, error) {
	if p.Name == "" {
		e := cim.Errorf(cim.EAccessDenied, "provider %s is not called without an authenticated caller", provider)
		e.Provider = provider
		return nil, e
	}
	return &wire.Caller{Name: p.Name, Groups: p.Groups, Admin: p.IsAdmin(), Remote: p.Remote, Unix: s.accounts.lookup(p.Name)}, nil
}

// accountTTL is how long a looked-up Unix account is remembered: a call
// costs no read of /etc/passwd, and a change of the account database is
// seen within it.
const accountTTL = 10 * time.Second

// accounts maps wbemd user names to the Unix accounts of the same name.
type accounts struct {
	mu sync.Mutex
	m  map[string]accountEntry
}

type accountEntry struct {
	u    *wire.UnixUser // nil: no such account
	when time.Time
}

// lookup returns the Unix account called name, or nil when there is none.
func (a *accounts) lookup(name string) *wire.UnixUser {
	now := time.Now()
	a.mu.Lock()
	if e, ok := a.m[name]; ok && now.Sub(e.when) < accountTTL {
		a.mu.Unlock()
		return e.u
	}
	a.mu.Unlock()
	u := unixUser(name)
	a.mu.Lock()
	if a.m == nil || len(a.m) > 1024 {
		a.m = map[string]accountEntry{}
	}
	a.m[name] = accountEntry{u: u, when: now}
	a.mu.Unlock()
	return u
}

// unixUser reads the account called name from the account database.
func unixUser(name string) *wire.UnixUser {
	u, err := user.Lookup(name)
	if err != nil {
		return nil
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil
	}
	out := &wire.UnixUser{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	ids, _ := u.GroupIds()
	seen := map[uint64]bool{}
	for _, s := range append([]string{u.Gid}, ids...) {
		if g, err := strconv.ParseUint(s, 10, 32); err == nil && !seen[g] {
			seen[g] = true
			out.Groups = append(out.Groups, uint32(g))
		}
	}
	return out
}
