package httpstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Guard's limits.
const (
	DefaultMaxConnections   = 1024
	DefaultMaxPerAddress    = 256
	DefaultAnonymousIdle    = 5 * time.Second
	guardMinSweep           = 100 * time.Millisecond
	guardRefusalLogInterval = 10 * time.Second
)

// A Guard keeps the connections of one TCP listener within limits that a
// client without credentials cannot exhaust:
//
//   - at most MaxConnections open connections in all, and MaxPerAddress
//     from one client address (an IPv6 client is its /64);
//   - a connection that has not authenticated (no request on it has carried
//     valid credentials) may sit without a request in a handler for at most
//     AnonymousIdle before it is closed; reading a request's headers is
//     bounded by the server's header timeout;
//   - under pressure (a new connection over a limit) the guard reclaims a
//     connection before it refuses the new one: one that has not
//     authenticated (idle after its answer first, then silent, then sending
//     a request; the oldest of each), else the authenticated connection idle
//     the longest (see victim). A connection whose request is in a handler
//     is never closed. Only when nothing can be reclaimed is the new
//     connection closed at once.
//
// So an unauthenticated flood (idle connections, keep-alive connections
// after one request, slow headers) only ever displaces itself, while
// authenticated clients keep their connections and get new ones.
//
// Wrap the listener with Listen (under any TLS listener), and set the
// server's ConnState and ConnContext to the Guard's and its handler to
// Handler(h). Authenticate marks a connection authenticated.
type Guard struct {
	maxConns      atomic.Int64
	maxPerAddr    atomic.Int64
	anonymousIdle atomic.Int64 // nanoseconds

	log    *slog.Logger
	now    func() time.Time
	mu     sync.Mutex
	conns  map[*guardedConn]struct{}
	byAddr map[string]map[*guardedConn]struct{}

	reclaimed, refused, expired atomic.Uint64
	lastRefusalLog              time.Time
}

// GuardLimits are a Guard's limits; a zero field takes its default.
type GuardLimits struct {
	MaxConnections int           // open connections in all (DefaultMaxConnections)
	MaxPerAddress  int           // open connections from one client address (DefaultMaxPerAddress)
	AnonymousIdle  time.Duration // time a connection that has not authenticated may wait between requests (DefaultAnonymousIdle)
}

// NewGuard returns a Guard with limits, logging refusals to log
// (slog.Default() if nil).
func NewGuard(limits GuardLimits, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.Default()
	}
	g := &Guard{log: log, now: time.Now, conns: map[*guardedConn]struct{}{}, byAddr: map[string]map[*guardedConn]struct{}{}}
	g.SetLimits(limits)
	return g
}

// SetLimits changes the limits of g; connections already open stay open
// and count against the new ones.
func (g *Guard) SetLimits(limits GuardLimits) {
	if limits.MaxConnections <= 0 {
		limits.MaxConnections = DefaultMaxConnections
	}
	if limits.MaxPerAddress <= 0 {
		limits.MaxPerAddress = DefaultMaxPerAddress
	}
	if limits.AnonymousIdle <= 0 {
		limits.AnonymousIdle = DefaultAnonymousIdle
	}
	g.maxConns.Store(int64(limits.MaxConnections))
	g.maxPerAddr.Store(int64(limits.MaxPerAddress))
	g.anonymousIdle.Store(int64(limits.AnonymousIdle))
}

// connState is where a guarded connection is in its life.
type connState uint8

const (
	connNew     connState = iota // accepted, no request read yet
	connReading                  // reading a request, not yet in a handler
	connBusy                     // a request of it is in a handler
	connIdle                     // between requests (keep-alive)
)

// guardedConn is a connection the Guard counts.
type guardedConn struct {
	net.Conn
	g     *Guard
	addr  string
	once  sync.Once
	state connState // under g.mu
	since time.Time // when state last changed, under g.mu
	authn bool      // a request carried valid credentials, under g.mu
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.g.remove(c) })
	return err
}

// Listen returns ln with its connections kept by g. Closing the returned
// listener stops g's sweeping of idle connections.
func (g *Guard) Listen(ln net.Listener) net.Listener {
	gl := &guardListener{Listener: ln, g: g, stop: make(chan struct{})}
	go g.sweep(gl.stop)
	return gl
}

type guardListener struct {
	net.Listener
	g        *Guard
	stop     chan struct{}
	stopOnce sync.Once
}

func (l *guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc := l.g.admit(c); gc != nil {
			return gc, nil
		}
	}
}

func (l *guardListener) Close() error {
	l.stopOnce.Do(func() { close(l.stop) })
	return l.Listener.Close()
}

// hostOf returns the client address a connection counts against: its
// remote IPv4 address, or for IPv6 its /64 (one host usually holds a
// whole /64, as the login throttle reads it too).
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if t, ok := a.(*net.TCPAddr); ok {
		if ip4 := t.IP.To4(); ip4 != nil {
			return ip4.String()
		}
		return t.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admit counts c in, reclaiming a connection for each limit c would pass,
// or closes c and returns nil when a limit has nothing to reclaim.
func (g *Guard) admit(c net.Conn) *guardedConn {
	addr := hostOf(c.RemoteAddr())
	var byAddr, byAll *guardedConn
	g.mu.Lock()
	overAddr := int64(len(g.byAddr[addr])) >= g.maxPerAddr.Load()
	if overAddr {
		byAddr = g.victim(g.byAddr[addr], nil)
	}
	overAll := false
	if (!overAddr || byAddr != nil) && int64(len(g.conns)) >= g.maxConns.Load() {
		if byAddr == nil || int64(len(g.conns)-1) >= g.maxConns.Load() {
			overAll = true
			byAll = g.victim(g.conns, byAddr)
		}
	}
	if overAddr && byAddr == nil || overAll && byAll == nil {
		g.mu.Unlock()
		c.Close()
		g.refusedOne(addr, overAddr && byAddr == nil)
		return nil
	}
	victims := make([]*guardedConn, 0, 2)
	for _, v := range []*guardedConn{byAddr, byAll} {
		if v != nil {
			g.unlink(v) // counted out now, so that the new connection fits
			victims = append(victims, v)
		}
	}
	gc := &guardedConn{Conn: c, g: g, addr: addr, state: connNew, since: g.now()}
	g.link(gc)
	g.mu.Unlock()
	for _, v := range victims {
		g.reclaimed.Add(1)
		if v.authn { // rare: every other connection was busy or authenticated
			g.log.Warn("closed an authenticated idle connection to make room", "client", v.addr, "open", g.Open())
		}
		v.Close()
	}
	return gc
}

// victim returns the connection of set (other than except) to reclaim, or
// nil: the one ranked first, and of those the one in its state the
// longest. The ranks, from the first: a connection that has not
// authenticated and is idle after a request (it had its answer), one that
// has not authenticated and has sent nothing yet, one that has not
// authenticated and is sending a request (a new client's first request is
// most likely there; a slow one is bounded by the header timeout), and an
// authenticated idle one. A connection with a request in a handler, or an
// authenticated one sending a request, is never chosen. Called with g.mu
// held.
func (g *Guard) victim(set map[*guardedConn]struct{}, except *guardedConn) *guardedConn {
	// A silent connection chosen whose client has in fact sent its request
	// (the server has not read it yet: a busy server) is sending one: it
	// is ranked again as such, and the choice made again.
	for range 8 {
		c := g.rank(set, except)
		if c == nil || c.state != connNew || !pending(c.Conn) {
			return c
		}
		c.state, c.since = connReading, g.now()
	}
	return g.rank(set, except)
}

// rank is victim's choice by rank and age alone.
func (g *Guard) rank(set map[*guardedConn]struct{}, except *guardedConn) *guardedConn {
	var best [4]*guardedConn
	for c := range set {
		rank := -1
		switch {
		case c == except || c.state == connBusy:
		case !c.authn && c.state == connIdle:
			rank = 0
		case !c.authn && c.state == connNew:
			rank = 1
		case !c.authn:
			rank = 2
		case c.state == connIdle:
			rank = 3
		}
		if rank >= 0 && (best[rank] == nil || c.since.Before(best[rank].since)) {
			best[rank] = c
		}
	}
	for _, c := range best {
		if c != nil {
			return c
		}
	}
	return nil
}

func (g *Guard) link(c *guardedConn) {
	g.conns[c] = struct{}{}
	m := g.byAddr[c.addr]
	if m == nil {
		m = map[*guardedConn]struct{}{}
		g.byAddr[c.addr] = m
	}
	m[c] = struct{}{}
}

// unlink counts c out. Called with g.mu held.
func (g *Guard) unlink(c *guardedConn) {
	if _, ok := g.conns[c]; !ok {
		return
	}
	delete(g.conns, c)
	if m := g.byAddr[c.addr]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(g.byAddr, c.addr)
		}
	}
}

func (g *Guard) remove(c *guardedConn) {
	g.mu.Lock()
	g.unlink(c)
	g.mu.Unlock()
}

// refusedOne counts a refused connection and logs refusals, at most once
// every guardRefusalLogInterval.
func (g *Guard) refusedOne(addr string, perAddress bool) {
	n := g.refused.Add(1)
	g.mu.Lock()
	now := g.now()
	logIt := now.Sub(g.lastRefusalLog) >= guardRefusalLogInterval
	if logIt {
		g.lastRefusalLog = now
	}
	open := len(g.conns)
	g.mu.Unlock()
	if logIt {
		limit := "max-connections"
		if perAddress {
			limit = "max-connections-per-address"
		}
		g.log.Warn("connection refused: every connection is busy", "client", addr, "limit", limit, "open", open, "refused_total", n)
	}
}

// sweep closes, until stop, the connections that have not authenticated
// and have waited without a request longer than the anonymous idle time.
func (g *Guard) sweep(stop <-chan struct{}) {
	for {
		idle := time.Duration(g.anonymousIdle.Load())
		every := max(idle/4, guardMinSweep)
		select {
		case <-stop:
			return
		case <-time.After(every):
		}
		var expired []*guardedConn
		g.mu.Lock()
		now := g.now()
		for c := range g.conns {
			if !c.authn && (c.state == connNew || c.state == connIdle) && now.Sub(c.since) >= idle {
				expired = append(expired, c)
				g.unlink(c)
			}
		}
		g.mu.Unlock()
		for _, c := range expired {
			g.expired.Add(1)
			c.Close()
		}
	}
}

// guardedOf returns the guarded connection under c (a *tls.Conn or the
// connection itself), or nil.
func guardedOf(c net.Conn) *guardedConn {
	for c != nil {
		if gc, ok := c.(*guardedConn); ok {
			return gc
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}

// ConnState is the http.Server ConnState of a guarded listener's server.
func (g *Guard) ConnState(c net.Conn, s http.ConnState) {
	gc := guardedOf(c)
	if gc == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch s {
	case http.StateActive:
		if gc.state != connBusy {
			gc.state, gc.since = connReading, g.now()
		}
	case http.StateIdle:
		gc.state, gc.since = connIdle, g.now()
	case http.StateHijacked, http.StateClosed:
		g.unlink(gc)
	}
}

type guardKey struct{}

// ConnContext is the http.Server ConnContext of a guarded listener's
// server: it lets Handler and Authenticate find the connection of a
// request.
func (g *Guard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc := guardedOf(c); gc != nil {
		return context.WithValue(ctx, guardKey{}, gc)
	}
	return ctx
}

// Handler returns h marking, while it runs, the request's connection as
// busy: the Guard never reclaims it then.
func (g *Guard) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gc, _ := r.Context().Value(guardKey{}).(*guardedConn)
		if gc != nil {
			g.mu.Lock()
			gc.state, gc.since = connBusy, g.now()
			g.mu.Unlock()
			defer func() {
				g.mu.Lock()
				if gc.state == connBusy {
					gc.state, gc.since = connReading, g.now()
				}
				g.mu.Unlock()
			}()
		}
		h.ServeHTTP(w, r)
	})
}

// markAuthenticated records that a request on the connection of ctx
// carried valid credentials.
func markAuthenticated(ctx context.Context) {
	gc, _ := ctx.Value(guardKey{}).(*guardedConn)
	if gc == nil || gc.authn {
		return
	}
	gc.g.mu.Lock()
	gc.authn = true
	gc.g.mu.Unlock()
}

// Open returns the number of connections g counts.
func (g *Guard) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// WriteGuardMetrics writes the figures of guards, keyed by their
// listener's name, in Prometheus's text format.
func WriteGuardMetrics(w io.Writer, names []string, guards []*Guard) {
	for _, m := range []struct {
		name, kind, help string
		value            func(g *Guard) uint64
	}{
		{"wbemd_connections_open", "gauge", "Open TCP connections, by listener.", func(g *Guard) uint64 { return uint64(g.Open()) }},
		{"wbemd_connections_reclaimed_total", "counter", "Connections closed to make room for a new one (unauthenticated first, then authenticated idle ones).",
			func(g *Guard) uint64 { return g.reclaimed.Load() }},
		{"wbemd_connections_expired_total", "counter", "Unauthenticated connections closed after waiting without a request past --anonymous-idle-timeout.",
			func(g *Guard) uint64 { return g.expired.Load() }},
		{"wbemd_connections_refused_total", "counter", "New connections closed at once: over a limit with nothing to reclaim.",
			func(g *Guard) uint64 { return g.refused.Load() }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		for i, g := range guards {
			fmt.Fprintf(w, "%s{listener=%q} %d\n", m.name, names[i], m.value(g))
		}
	}
}
