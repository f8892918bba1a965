package httpstack_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/internal/httpstack"
)

// guarded serves d behind a Stack and a Guard with limits on a loopback
// listener, and returns its address.
func guarded(t *testing.T, limits httpstack.GuardLimits, h http.Handler) (string, *httpstack.Guard) {
	t.Helper()
	g := httpstack.NewGuard(limits, quiet)
	s := &httpstack.Stack{Auth: httpstack.Basic(users(t), quiet), Observer: httpstack.NewObserver(quiet)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = g.Listen(ln)
	srv := &http.Server{Handler: g.Handler(s.Serve(httpstack.Door{Name: "test"}, h)), ConnState: g.ConnState, ConnContext: g.ConnContext,
		ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), g
}

// closedByServer reports whether the server has closed c, waiting up to
// wait.
func closedByServer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !strings.Contains(err.Error(), "timeout")
}

func authedGet(t *testing.T, client *http.Client, addr string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+"/?op=Get", strings.NewReader("x"))
	req.SetBasicAuth("guest", "guest-pw")
	rsp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != 200 {
		t.Fatalf("HTTP %d", rsp.StatusCode)
	}
}

// TestGuardReclaims: with every connection of a listener held without
// credentials, an authenticated client still gets a new connection (the
// oldest unauthenticated one is closed for it), and its idle keep-alive
// connection outlives every unauthenticated one under pressure.
func TestGuardReclaims(t *testing.T) {
	addr, g := guarded(t, httpstack.GuardLimits{MaxConnections: 4, MaxPerAddress: 4, AnonymousIdle: time.Minute}, &door{})
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	authedGet(t, client, addr) // an authenticated keep-alive connection
	var idle []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
		time.Sleep(20 * time.Millisecond) // distinct ages
	}
	// Four open: a fifth, unauthenticated, displaces the oldest
	// unauthenticated one, not the authenticated idle one.
	fifth, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fifth.Close()
	if !closedByServer(idle[0], 2*time.Second) {
		t.Error("the oldest unauthenticated connection was not reclaimed")
	}
	if closedByServer(idle[1], 100*time.Millisecond) {
		t.Error("a younger unauthenticated connection was reclaimed too")
	}
	authedGet(t, client, addr) // on its kept connection
	// A new authenticated client gets in, at the expense of an
	// unauthenticated connection.
	other := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	authedGet(t, other, addr)
	if n := g.Open(); n > 4 {
		t.Errorf("%d connections open, limit 4", n)
	}
}

// TestGuardPerAddress: one address holds at most MaxPerAddress
// connections; past it, its own oldest unauthenticated one is closed, and
// when all of its connections have requests in handlers the new one is
// refused.
func TestGuardPerAddress(t *testing.T) {
	release := make(chan struct{})
	busy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hold") {
			<-release
		}
		(&door{}).ServeHTTP(w, r)
	})
	addr, _ := guarded(t, httpstack.GuardLimits{MaxConnections: 100, MaxPerAddress: 2, AnonymousIdle: time.Minute}, busy)
	defer close(release)
	a, _ := net.Dial("tcp", addr)
	defer a.Close()
	time.Sleep(20 * time.Millisecond)
	b, _ := net.Dial("tcp", addr)
	defer b.Close()
	time.Sleep(20 * time.Millisecond)
	c, _ := net.Dial("tcp", addr)
	defer c.Close()
	if !closedByServer(a, 2*time.Second) || closedByServer(b, 100*time.Millisecond) {
		t.Error("past the per-address limit the oldest connection of the address was not the one closed")
	}
	// b and c now carry requests held in the handler: a third is refused.
	for _, conn := range []net.Conn{b, c} {
		io.WriteString(conn, "POST /?op=Get&hold HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Z3Vlc3Q6Z3Vlc3QtcHc=\r\nContent-Length: 1\r\n\r\nx")
	}
	time.Sleep(300 * time.Millisecond)
	d, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !closedByServer(d, 2*time.Second) {
		t.Error("a connection past the per-address limit, with every other busy, was not refused")
	}
	if closedByServer(b, 100*time.Millisecond) || closedByServer(c, 100*time.Millisecond) {
		t.Error("a connection with a request in its handler was closed")
	}
}

// TestGuardAnonymousIdle: a connection that sends nothing, or stays after
// a refused request, is closed after AnonymousIdle; an authenticated
// keep-alive connection stays.
func TestGuardAnonymousIdle(t *testing.T) {
	addr, _ := guarded(t, httpstack.GuardLimits{AnonymousIdle: 300 * time.Millisecond}, &door{})
	silent, _ := net.Dial("tcp", addr)
	defer silent.Close()
	refused, _ := net.Dial("tcp", addr)
	defer refused.Close()
	io.WriteString(refused, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	authedGet(t, client, addr)
	if !closedByServer(silent, 10*time.Second) {
		t.Error("a silent connection was not closed within 10 s (anonymous idle time 300 ms)")
	}
	buf := make([]byte, 4096)
	refused.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got strings.Builder
	var end error
	for end == nil {
		var n int
		n, end = refused.Read(buf)
		got.Write(buf[:n])
	}
	if !strings.HasPrefix(got.String(), "HTTP/1.1 401") || strings.Contains(end.Error(), "timeout") {
		t.Errorf("after a 401 the connection was not closed within 10 s (anonymous idle time 300 ms): %v, %q", end, got.String())
	}
	time.Sleep(200 * time.Millisecond)
	authedGet(t, client, addr) // the authenticated connection is still good
}
