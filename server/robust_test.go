package server_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHostileClients: slow (slowloris), oversized and truncated requests,
// and more connections than allowed, while the server keeps serving
// others.
func TestHostileClients(t *testing.T) {
	d := startDaemon(t, "--header-timeout", "1s", "--read-timeout", "2s", "--max-request", "4096", "--max-connections", "6")
	url := "http://" + d.http
	call := func() (int, string) {
		body := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="EnumerateClassNames"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="sample"/></LOCALNAMESPACEPATH></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
		req, _ := http.NewRequest("POST", url+"/cimom", strings.NewReader(body))
		req.SetBasicAuth("admin", "secret")
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("CIMOperation", "MethodCall")
		req.Header.Set("CIMMethod", "EnumerateClassNames")
		req.Header.Set("CIMObject", "root%2Fsample")
		client := &http.Client{Timeout: 10 * time.Second}
		rsp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer rsp.Body.Close()
		b, _ := io.ReadAll(rsp.Body)
		return rsp.StatusCode, string(b)
	}
	if code, body := call(); code != 200 || !strings.Contains(body, "Sample_Disk") {
		t.Fatalf("baseline: %d %s", code, body)
	}

	// Slowloris: four connections that send their headers a byte at a
	// time. The server drops them after --header-timeout and serves
	// others meanwhile.
	dropped := make(chan time.Duration, 4)
	for i := 0; i < 4; i++ {
		go func() {
			c, err := net.Dial("tcp", d.http)
			if err != nil {
				dropped <- -1
				return
			}
			defer c.Close()
			start := time.Now()
			c.Write([]byte("POST /cimom HTTP/1.1\r\nHost: x\r\n"))
			for time.Since(start) < 10*time.Second {
				if _, err := c.Write([]byte("X")); err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && !strings.Contains(err.Error(), "timeout") {
					break // the server closed the connection
				}
			}
			dropped <- time.Since(start)
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if code, _ := call(); code != 200 {
		t.Errorf("during the slowloris: HTTP %d", code)
	}
	for i := 0; i < 4; i++ {
		if took := <-dropped; took < 0 || took > 8*time.Second {
			t.Errorf("a slow connection was not dropped (it lasted %v)", took)
		}
	}

	// Oversized: refused with 413, nothing read beyond the limit.
	big := strings.Repeat("x", 10000)
	req, _ := http.NewRequest("POST", url+"/cimom", strings.NewReader(`<?xml version="1.0"?><CIM>`+big+`</CIM>`))
	req.SetBasicAuth("admin", "secret")
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("CIMOperation", "MethodCall")
	req.Header.Set("CIMMethod", "GetClass")
	if rsp, err := http.DefaultClient.Do(req); err != nil || rsp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized request: %v %v", rsp, err)
	} else {
		rsp.Body.Close()
	}

	// Truncated: a body shorter than its Content-Length, then a close.
	if c, err := net.Dial("tcp", d.http); err == nil {
		fmt.Fprintf(c, "POST /cimom HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nContent-Type: application/xml\r\nCIMOperation: MethodCall\r\nCIMMethod: GetClass\r\nContent-Length: 1000\r\n\r\n<?xml version=\"1.0\"?><CIM>")
		c.(*net.TCPConn).CloseWrite()
		rsp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			if rsp.StatusCode != http.StatusBadRequest {
				t.Errorf("truncated request: HTTP %d", rsp.StatusCode)
			}
			rsp.Body.Close()
		}
		c.Close()
	}

	// More connections than allowed, none authenticated: the oldest is
	// closed to make room and the authenticated request is served at once.
	var idle []net.Conn
	for i := 0; i < 6; i++ {
		if c, err := net.Dial("tcp", d.http); err == nil {
			idle = append(idle, c)
		}
	}
	time.Sleep(100 * time.Millisecond)
	done := make(chan int, 1)
	go func() { code, _ := call(); done <- code }()
	select {
	case code := <-done:
		if code != 200 {
			t.Errorf("the request beyond --max-connections: HTTP %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("the request beyond --max-connections was not served within 5 s")
	}
	closed := 0
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !strings.Contains(err.Error(), "timeout") {
			closed++
		}
		c.Close()
	}
	if closed == 0 {
		t.Error("no idle unauthenticated connection was reclaimed")
	}
	if code, _ := call(); code != 200 {
		t.Errorf("after all that: HTTP %d", code)
	}
}

// TestMetrics reads /metrics after some operations. /metrics and
// /healthz need credentials on every listener; --anonymous-status opens
// them.
func TestMetrics(t *testing.T) {
	d := startDaemon(t)
	for _, addr := range []string{d.http, d.wsman} {
		for _, path := range []string{"/metrics", "/healthz"} {
			rsp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			rsp.Body.Close()
			if rsp.StatusCode != 401 {
				t.Errorf("%s%s without credentials: HTTP %d, want 401", addr, path, rsp.StatusCode)
			}
		}
	}
	for _, path := range []string{"/metrics", "/healthz"} {
		rsp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get("https://" + d.https + path)
		if err != nil {
			t.Fatal(err)
		}
		rsp.Body.Close()
		if rsp.StatusCode != 401 {
			t.Errorf("HTTPS %s without credentials: HTTP %d, want 401", path, rsp.StatusCode)
		}
	}
	open := startDaemon(t, "--anonymous-status")
	for _, path := range []string{"/metrics", "/healthz"} {
		rsp, err := http.Get("http://" + open.http + path)
		if err != nil {
			t.Fatal(err)
		}
		rsp.Body.Close()
		if rsp.StatusCode != 200 {
			t.Errorf("%s with --anonymous-status: HTTP %d, want 200", path, rsp.StatusCode)
		}
	}
	cmd := exec.Command("wbemcli", "ei", "http://admin:secret@"+d.http+"/root/sample:Sample_Disk")
	cmd.Run()
	exec.Command("wbemcli", "gi", "http://admin:secret@"+d.http+`/root/sample:Sample_Disk.Name="nope"`).Run()
	rsp, err := adminGet("http://" + d.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	text := string(b)
	for _, want := range []string{`wbemd_requests_total{operation="EnumerateInstances"} 1`, `wbemd_requests_total{operation="GetInstance"} 1`,
		`wbemd_errors_total{status="WBEM_E_NOT_FOUND"} 1`, `wbemd_request_duration_seconds_bucket{operation="GetInstance",le="+Inf"} 1`, "wbemd_store_bytes ", "wbemd_store_commits_total ", "wbemd_store_txns_total ", "wbemd_store_commit_seconds_total ", "wbemd_store_checkpoints_total "} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, text)
		}
	}
	if rsp, err := adminGet("http://" + d.http + "/healthz"); err != nil || rsp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", rsp, err)
	}
}
