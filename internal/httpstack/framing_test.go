package httpstack

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestFramingListener: two Transfer-Encoding headers are answered 400 (RFC
// 9112 §6.1, §6.3 item 4); one naming a coding net/http does not
// implement keeps net/http's 501 (RFC 9112 §6.1); a chunked request and
// the requests after it on the same connection are served.
func TestFramingListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "got "+string(b))
	})}
	go srv.Serve(FramingListener(ln))
	t.Cleanup(func() { srv.Close() })
	send := func(reqs ...string) []int {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var codes []int
		for _, req := range reqs {
			io.WriteString(c, req)
			rsp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(rsp.Body)
			rsp.Body.Close()
			codes = append(codes, rsp.StatusCode)
		}
		return codes
	}
	chunked := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	for _, c := range []struct {
		name string
		reqs []string
		want string
	}{
		{"chunked twice", []string{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"}, "[400]"},
		{"after a chunked request", []string{chunked, chunked, "POST / HTTP/1.1\r\nHost: x\r\nTRANSFER-ENCODING: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"}, "[200 200 400]"},
		{"unknown coding", []string{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"}, "[501]"},
		{"body mentions the header", []string{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 21\r\n\r\n\ntransfer-encoding: x", chunked}, "[200 200]"},
	} {
		if got := fmt.Sprint(send(c.reqs...)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// FuzzFramingConn: however the bytes of a connection arrive, the
// connection counts the Transfer-Encoding header lines among them.
func FuzzFramingConn(f *testing.F) {
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ntransfer-ENCODING: chunked\r\n\r\n"), 20)
	f.Add([]byte("\n\ntransfer-encoding:\ntransfer-encoding"), 3)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		a, b := net.Pipe()
		c := &framingConn{Conn: a}
		go func() {
			if cut < 0 || cut > len(data) {
				cut = len(data) / 2
			}
			b.Write(data[:cut])
			b.Write(data[cut:])
			b.Close()
		}()
		io.Copy(io.Discard, c)
		lower := make([]byte, len(data)) // ASCII only, as HTTP headers
		for i, c := range data {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		want := strings.Count(string(lower), "\ntransfer-encoding:")
		if got := int(c.teLines.Load()); got != want {
			t.Fatalf("%q cut at %d: %d Transfer-Encoding lines, want %d", data, cut, got, want)
		}
	})
}
