package server_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
)

// TestDoubledTransferEncoding: a request with two Transfer-Encoding
// headers is 400 Bad Request (RFC 9112 §6.3) on the daemon's HTTPS
// listener as on its HTTP one, and a well-formed request on the same
// listeners is served over HTTP/1.1.
func TestDoubledTransferEncoding(t *testing.T) {
	d := startDaemon(t)
	const doubled = "POST /cimom HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	for _, c := range []struct {
		name string
		dial func() (net.Conn, error)
	}{
		{"http", func() (net.Conn, error) { return net.Dial("tcp", d.http) }},
		{"https", func() (net.Conn, error) {
			return tls.Dial("tcp", d.https, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
		}},
	} {
		conn, err := c.dial()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		io.WriteString(conn, doubled)
		rsp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rsp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: doubled Transfer-Encoding answered %s, want 400", c.name, rsp.Status)
		}
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	rsp, err := (&http.Client{Transport: tr}).Get("https://" + d.https + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	rsp.Body.Close()
	if rsp.ProtoMajor != 1 || rsp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /healthz over HTTPS: %s %s, want HTTP/1.1 401", rsp.Proto, rsp.Status)
	}
}
