package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// transport carries the client's HTTP/1.1 exchanges over at most max
// kept-alive connections. The request is written and the answer read on
// the calling goroutine: net/http's Transport hands every exchange to two
// goroutines of the connection, and that handing over costs a CIM-XML
// round trip about a quarter of its CPU. Like that Transport as the client
// used it, it follows no redirect and uses no proxy, and a connection
// whose answer was not read to its end is closed rather than reused.
type transport struct {
	scheme string // "http" or "https"
	addr   string // host:port to dial
	host   string // host name, for TLS
	socket string // a local socket to dial instead of addr
	tls    *tls.Config

	head  []byte        // a request's start: request line, Host, User-Agent
	idle  chan *pconn   // connections kept alive
	slots chan struct{} // one per open connection, at most max
}

// pconn is one connection.
type pconn struct {
	c     net.Conn
	br    *bufio.Reader
	extra bool // opened past max for a nested call; closed after its exchange
}

func newTransport(rawURL string, tlsConf *tls.Config, socket string, max int) (*transport, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	head, err := requestHead(rawURL + "/cimom")
	if err != nil {
		return nil, err
	}
	t := &transport{scheme: u.Scheme, host: u.Hostname(), socket: socket, tls: tlsConf, head: head,
		idle: make(chan *pconn, max), slots: make(chan struct{}, max)}
	t.addr = u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		t.addr = net.JoinHostPort(u.Hostname(), port)
	}
	return t, nil
}

// requestHead returns what net/http's Request.Write writes for a POST to
// rawURL before its Content-Length: the request line, Host and User-Agent.
func requestHead(rawURL string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader("x"))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, err
	}
	head, _, ok := bytes.Cut(b.Bytes(), []byte("Content-Length: "))
	if !ok {
		return nil, errors.New("client: no Content-Length in a request")
	}
	return head, nil
}

// connect dials a new connection (TLS for https).
func (t *transport) connect(ctx context.Context) (*pconn, error) {
	if t.scheme != "http" && t.scheme != "https" {
		return nil, fmt.Errorf("unsupported protocol scheme %q", t.scheme)
	}
	var d net.Dialer
	var c net.Conn
	var err error
	if t.socket != "" {
		c, err = d.DialContext(ctx, "unix", t.socket)
	} else {
		c, err = d.DialContext(ctx, "tcp", t.addr)
	}
	if err != nil {
		return nil, err
	}
	if t.scheme == "https" {
		conf := t.tls.Clone()
		if conf.ServerName == "" {
			conf.ServerName = t.host
		}
		tc := tls.Client(c, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &pconn{c: c, br: bufio.NewReaderSize(c, 4096)}, nil
}

// get returns an idle connection the server has not closed, or a new one
// when fewer than max are open; otherwise it waits for one. A nested call
// (made while an answer being read holds a connection, see nestedCall)
// does not wait: it opens one more connection, closed after its exchange,
// since the connections it would wait for may all be held by answers that
// wait for it.
func (t *transport) get(ctx context.Context) (*pconn, error) {
	for {
		select {
		case pc := <-t.idle:
			if pc.usable() {
				return pc, nil
			}
			t.discard(pc)
			continue
		default:
		}
		if ctx.Value(nestedCall{}) != nil {
			select {
			case t.slots <- struct{}{}:
				pc, err := t.connect(ctx)
				if err != nil {
					<-t.slots
				}
				return pc, err
			default:
				pc, err := t.connect(ctx)
				if err == nil {
					pc.extra = true
				}
				return pc, err
			}
		}
		select {
		case pc := <-t.idle:
			if pc.usable() {
				return pc, nil
			}
			t.discard(pc)
		case t.slots <- struct{}{}:
			pc, err := t.connect(ctx)
			if err != nil {
				<-t.slots
				return nil, err
			}
			return pc, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// usable reports whether an idle connection is still open and silent.
func (pc *pconn) usable() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	c := pc.c
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	return stillOpen(c)
}

// put keeps a connection for the next exchange.
func (t *transport) put(pc *pconn) {
	if pc.extra {
		pc.c.Close()
		return
	}
	select {
	case t.idle <- pc:
	default:
		t.discard(pc)
	}
}

// discard closes a connection and frees its slot.
func (t *transport) discard(pc *pconn) {
	pc.c.Close()
	if !pc.extra {
		<-t.slots
	}
}

// longAgo is a deadline in the past, which interrupts a blocked read or
// write.
var longAgo = time.Unix(1, 0)

// roundTrip writes the request wire (whole, with its body) and reads the
// head of its answer; the answer's body must be read to its end (then the
// connection is reused) or closed.
func (t *transport) roundTrip(ctx context.Context, wire []byte) (*http.Response, error) {
	pc, err := t.get(ctx)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	pc.c.SetDeadline(deadline)
	ex := &exchange{t: t, pc: pc}
	ex.stop = context.AfterFunc(ctx, func() { pc.c.SetDeadline(longAgo) })
	fail := func(err error) (*http.Response, error) {
		ex.finish(false)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, err
	}
	if _, err := pc.c.Write(wire); err != nil {
		return fail(err)
	}
	rsp, err := http.ReadResponse(pc.br, nil)
	// Informational answers (100 Continue) come before the answer, as
	// net/http's Transport skips them.
	for n := 0; err == nil && rsp.StatusCode >= 100 && rsp.StatusCode < 200 && rsp.StatusCode != http.StatusSwitchingProtocols; n++ {
		if n == 5 {
			err = errors.New("too many 1xx informational responses")
			break
		}
		rsp, err = http.ReadResponse(pc.br, nil)
	}
	if err != nil {
		return fail(err)
	}
	ex.body, ex.reuse = rsp.Body, !rsp.Close
	rsp.Body = ex
	return rsp, nil
}

// exchange is the body of an answer, which gives its connection back.
type exchange struct {
	t     *transport
	pc    *pconn
	body  io.ReadCloser
	stop  func() bool
	reuse bool // the answer allows another exchange on the connection
	eof   bool
}

func (ex *exchange) Read(p []byte) (int, error) {
	if ex.pc == nil {
		return 0, errors.New("read on a closed answer body")
	}
	n, err := ex.body.Read(p)
	if errors.Is(err, io.EOF) {
		ex.eof = true
	}
	return n, err
}

// Close ends the exchange: the connection is reused if the answer was read
// to its end and allows it, closed otherwise.
func (ex *exchange) Close() error {
	if ex.pc == nil {
		return nil
	}
	ex.body.Close()
	ex.finish(ex.eof && ex.reuse)
	return nil
}

func (ex *exchange) finish(reuse bool) {
	pc := ex.pc
	ex.pc = nil
	if !ex.stop() {
		reuse = false // the context ended: the deadline was moved
	}
	if reuse {
		if err := pc.c.SetDeadline(time.Time{}); err != nil {
			reuse = false
		}
	}
	if reuse {
		ex.t.put(pc)
	} else {
		ex.t.discard(pc)
	}
}

// postError is how net/http's Client reports a failed exchange.
func postError(rawURL string, err error) error {
	return &url.Error{Op: "Post", URL: strings.TrimSuffix(rawURL, "/"), Err: err}
}
