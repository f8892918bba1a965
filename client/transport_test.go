package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// transportServer serves "ok" (or what handler answers) and counts the
// connections it accepted.
func transportServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); io.WriteString(w, "ok") }
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// wireOf is a request as net/http writes it.
func wireOf(t testing.TB, url string) []byte {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	req.Write(&b)
	return b.Bytes()
}

func exchangeOnce(ctx context.Context, tr *transport, url string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("body"))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	req.Write(&b)
	rsp, err := tr.roundTrip(ctx, b.Bytes())
	if err != nil {
		return "", err
	}
	defer rsp.Body.Close()
	answer, err := io.ReadAll(rsp.Body)
	return string(answer), err
}

func TestTransportReusesAndRedials(t *testing.T) {
	srv, conns := transportServer(t, nil)
	tr, err := newTransport(srv.URL, &tls.Config{}, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if got, err := exchangeOnce(ctx, tr, srv.URL); err != nil || got != "ok" {
			t.Fatalf("exchange %d: %q, %v", i, got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 exchanges in turn used %d connections, want 1", n)
	}
	// The server closes its idle connections: the next exchange sees it
	// and dials again instead of failing.
	srv.CloseClientConnections()
	if got, err := exchangeOnce(ctx, tr, srv.URL); err != nil || got != "ok" {
		t.Fatalf("after the server closed the connection: %q, %v", got, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestTransportClosesUnreadAnswers(t *testing.T) {
	srv, conns := transportServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100_000))
	})
	tr, _ := newTransport(srv.URL, &tls.Config{}, "", 4)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		rsp, err := tr.roundTrip(ctx, wireOf(t, srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		rsp.Body.Read(make([]byte, 10))
		rsp.Body.Close()
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("answers closed unread: %d connections, want 2", n)
	}
}

func TestTransportBoundsConnections(t *testing.T) {
	release := make(chan struct{})
	var inside atomic.Int32
	srv, conns := transportServer(t, func(w http.ResponseWriter, r *http.Request) {
		inside.Add(1)
		<-release
		io.WriteString(w, "ok")
	})
	tr, _ := newTransport(srv.URL, &tls.Config{}, "", 2)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := exchangeOnce(context.Background(), tr, srv.URL); err != nil || got != "ok" {
				errs <- errors.Join(err, errors.New(got))
			}
		}()
	}
	for inside.Load() < 2 {
		// wait until two exchanges are in the handler
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
		waitABit()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := conns.Load(); n > 2 {
		t.Fatalf("%d connections, want at most 2", n)
	}
}

func TestTransportCancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 1)
	srv, _ := transportServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			started <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	})
	tr, _ := newTransport(srv.URL, &tls.Config{}, "", 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := exchangeOnce(ctx, tr, srv.URL+"/block")
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled exchange: %v, want context.Canceled", err)
	}
	// The connection's slot is free again.
	if got, err := exchangeOnce(context.Background(), tr, srv.URL); err != nil || got != "ok" {
		t.Fatalf("after a cancelled exchange: %q, %v", got, err)
	}
}

func TestTransportTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	tr, _ := newTransport(srv.URL, &tls.Config{InsecureSkipVerify: true}, "", 2)
	for i := 0; i < 2; i++ {
		if got, err := exchangeOnce(context.Background(), tr, srv.URL); err != nil || got != "ok" {
			t.Fatalf("TLS exchange: %q, %v", got, err)
		}
	}
}

func waitABit() { runtime.Gosched() }

// TestRequestWire: the client writes a call's request byte for byte as
// net/http's Request.Write would.
func TestRequestWire(t *testing.T) {
	for _, c := range []struct {
		url, user, socket, method, object string
	}{
		{"http://127.0.0.1:5988", "admin", "", "GetInstance", "root%2Fcimv2"},
		{"https://wbem.example:5989/base", "u", "", "Invoke", "root%2Fcimv2:A.K=%221%22"},
		{"http://[::1]:5988", "", "/run/wbemd.sock", " odd\r\nname ", "x"},
	} {
		tr, err := newTransport(c.url, &tls.Config{}, c.socket, 1)
		if err != nil {
			t.Fatal(err)
		}
		cl := &Client{url: c.url, tr: tr, opts: Options{User: c.user, Password: "pw:x", Socket: c.socket}}
		body := []byte("<CIM>body</CIM>")
		var got bytes.Buffer
		cl.appendRequest(&got, c.method, c.object, "", body)
		req, _ := http.NewRequest(http.MethodPost, c.url+"/cimom", bytes.NewReader(body))
		if c.socket == "" {
			req.SetBasicAuth(c.user, "pw:x")
		}
		req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
		req.Header.Set("CIMProtocolVersion", "1.0")
		req.Header.Set("CIMOperation", "MethodCall")
		req.Header.Set("CIMMethod", c.method)
		req.Header.Set("CIMObject", c.object)
		req.Header.Set("TE", "trailers") // a failure in a streamed answer comes in a trailer
		var want bytes.Buffer
		if err := req.Write(&want); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\ngot  %q\nwant %q", c.url, got.String(), want.String())
		}
	}
}

// TestTransportSkipsInformational: a 100 Continue before the answer is
// passed over.
func TestTransportSkipsInformational(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}()
	url := "http://" + l.Addr().String()
	tr, _ := newTransport(url, &tls.Config{}, "", 1)
	if got, err := exchangeOnce(context.Background(), tr, url); err != nil || got != "ok" {
		t.Fatalf("%q, %v", got, err)
	}
}
