package httpstack

import (
	"bytes"
	"net"
	"sync/atomic"
)

// FramingListener wraps a plain-TCP listener so that a request with two
// Transfer-Encoding headers is answered 400 Bad Request instead of
// net/http's 501: the headers combine into a list ("chunked, chunked")
// whose framing cannot be determined (RFC 9112 §6.1: chunked is applied
// once; §6.3 item 4: the server MUST answer 400 and close), and
// OpenPegasus answers 400. One Transfer-Encoding header that names a
// coding net/http does not implement keeps its 501 (RFC 9112 §6.1).
// net/http answers such requests itself, before any handler runs, with
// one write of a fixed text; the connection counts the Transfer-Encoding
// header lines it read since its last answer and rewrites that one
// answer. It must wrap the connection net/http reads: over TLS, the
// *tls.Conn (a tls.NewListener under it), so that it sees the request in
// the clear; net/http then serves HTTP/1.1 only.
func FramingListener(ln net.Listener) net.Listener { return framingListener{ln} }

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn rewrites net/http's answer to a request with two
// Transfer-Encoding headers.
type framingConn struct {
	net.Conn
	match   int          // bytes of teLine matched so far
	teLines atomic.Int32 // Transfer-Encoding header lines read since the last answer
}

// NetConn returns the connection under c (as tls.Conn's does), so that
// a Guard finds the connection it counts.
func (c *framingConn) NetConn() net.Conn { return c.Conn }

// teLine starts a Transfer-Encoding header line, in lower case.
const teLine = "\ntransfer-encoding:"

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.scan(p[:n])
	return n, err
}

// scan counts the Transfer-Encoding header lines in p, which follows what
// the earlier reads gave. Between lines it skips to the next newline at
// memchr speed: bodies pass through here too.
func (c *framingConn) scan(p []byte) {
	for len(p) > 0 {
		if c.match == 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p = p[i:]
		}
		b := p[0]
		p = p[1:]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		switch {
		case b == teLine[c.match]:
			c.match++
			if c.match == len(teLine) {
				c.teLines.Add(1)
				c.match = 0
			}
		case b == '\n':
			c.match = 1
		default:
			c.match = 0
		}
	}
}

// The answer net/http writes (net/http/server.go, isUnsupportedTEError),
// and wbemd's instead; net/http closes the connection after it.
var (
	unsupportedTEHead = []byte("HTTP/1.1 501 Not Implemented\r\n")
	unsupportedTETail = []byte("Unsupported transfer encoding")
	malformedTE       = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
		"malformed Transfer-Encoding: one header, whose last coding is chunked (RFC 9112 §6.3)")
)

func (c *framingConn) Write(p []byte) (int, error) {
	if c.teLines.Swap(0) > 1 && bytes.HasPrefix(p, unsupportedTEHead) && bytes.HasSuffix(p, unsupportedTETail) {
		if _, err := c.Conn.Write(malformedTE); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}
