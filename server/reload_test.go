package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for 127.0.0.1 named cn and
// its key as PEM files.
func writePair(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written beside and renamed, as an operator's renewal does.
	for _, f := range []struct {
		name string
		data []byte
	}{{keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})},
		{certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}} {
		if err := os.WriteFile(f.name+".new", f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.name+".new", f.name); err != nil {
			t.Fatal(err)
		}
	}
}

// servedName returns the common name of the certificate a new TLS
// connection to addr is given.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestSIGHUPReload: while four clients make CIM calls (over HTTP
// keep-alive, and over HTTPS with a new connection each time), the
// certificate is renewed and the configuration file changed, and wbemd
// gets SIGHUP five times. Every call is answered; new TLS connections get
// the new certificate; /metrics opens to anonymous callers as the file now
// says; the process is the same.
func TestSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, conf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "wbemd.conf")
	writePair(t, certFile, keyFile, "before")
	if err := os.WriteFile(conf, []byte("cert = "+certFile+"\nkey = "+keyFile+"\nanonymous-status = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "--config", conf, "--wsman-http", "off", "--wsman-https", "off")
	pid := d.cmd.Process.Pid
	if got := servedName(t, d.https); got != "before" {
		t.Fatalf("certificate %q at start", got)
	}
	if rsp, err := http.Get("http://" + d.http + "/metrics"); err != nil || rsp.StatusCode != 401 {
		t.Fatalf("/metrics at start: %v %v", rsp, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	insecure := &tls.Config{InsecureSkipVerify: true}
	for i := 0; i < 4; i++ {
		var client *http.Client
		scheme, addr := "http", d.http
		if i%2 == 0 {
			client = &http.Client{Timeout: 30 * time.Second}
		} else {
			scheme, addr = "https", d.https
			client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: insecure, DisableKeepAlives: true}}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequest("POST", scheme+"://"+addr+"/cimom", strings.NewReader(enumClassNames))
				req.SetBasicAuth("admin", "secret")
				req.Header.Set("Content-Type", "application/xml")
				req.Header.Set("CIMOperation", "MethodCall")
				req.Header.Set("CIMMethod", "EnumerateClassNames")
				req.Header.Set("CIMObject", "root%2Fsample")
				rsp, err := client.Do(req)
				if err == nil {
					b, _ := io.ReadAll(rsp.Body)
					rsp.Body.Close()
					if rsp.StatusCode != 200 || !strings.Contains(string(b), "Sample_Disk") {
						err = &httpError{rsp.StatusCode}
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	writePair(t, certFile, keyFile, "after")
	if err := os.WriteFile(conf, []byte("cert = "+certFile+"\nkey = "+keyFile+"\nanonymous-status = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	t.Logf("%d calls answered during five SIGHUPs, %d failed", ok.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d calls failed during the reloads; the first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() < 20 {
		t.Errorf("only %d calls answered during the reloads", ok.Load())
	}
	if got := servedName(t, d.https); got != "after" {
		t.Errorf("certificate %q after SIGHUP, want the renewed one", got)
	}
	if rsp, err := http.Get("http://" + d.http + "/metrics"); err != nil || rsp.StatusCode != 200 {
		t.Errorf("/metrics after the reload opened it: %v %v", rsp, err)
	}
	if d.cmd.Process.Pid != pid || d.cmd.ProcessState != nil {
		t.Error("wbemd did not survive SIGHUP")
	}
	if !strings.Contains(d.log.String(), "reloaded") {
		t.Errorf("no reload logged:\n%s", d.log)
	}
}

type httpError struct{ code int }

func (e *httpError) Error() string { return "HTTP " + http.StatusText(e.code) }

// exportIndication is a CIM-XML ExportIndication.
const exportIndication = `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="7" PROTOCOLVERSION="1.0"><SIMPLEEXPREQ><EXPMETHODCALL NAME="ExportIndication"><EXPPARAMVALUE NAME="NewIndication"><INSTANCE CLASSNAME="CIM_AlertIndication"><PROPERTY NAME="Description" TYPE="string"><VALUE>disk on fire</VALUE></PROPERTY></INSTANCE></EXPPARAMVALUE></EXPMETHODCALL></SIMPLEEXPREQ></MESSAGE></CIM>`

// TestListenerSenders: /CIMListener/ takes an exported indication from an
// authenticated sender, or from an address of --listener-senders, and
// answers anyone else 401 without logging the indication.
func TestListenerSenders(t *testing.T) {
	d := startDaemon(t, "--listener-senders", "127.0.0.2,10.0.0.0/8", "--wsman-http", "off", "--wsman-https", "off")
	export := func(from, user string) int {
		t.Helper()
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}}
		req, _ := http.NewRequest("POST", "http://"+d.http+"/CIMListener/test", strings.NewReader(exportIndication))
		if user != "" {
			req.SetBasicAuth(user, "guest-pw")
		}
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("CIMExport", "MethodRequest")
		req.Header.Set("CIMExportMethod", "ExportIndication")
		rsp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, rsp.Body)
		rsp.Body.Close()
		return rsp.StatusCode
	}
	if code := export("127.0.0.1", ""); code != 401 {
		t.Errorf("from 127.0.0.1 without credentials: HTTP %d, want 401", code)
	}
	if strings.Contains(d.log.String(), "indication received") {
		t.Error("a refused indication was logged as received")
	}
	if code := export("127.0.0.1", "guest"); code != 200 {
		t.Errorf("from 127.0.0.1 as guest: HTTP %d, want 200", code)
	}
	if code := export("127.0.0.2", ""); code != 200 {
		t.Errorf("from the configured sender 127.0.0.2: HTTP %d, want 200", code)
	}
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(d.log.String(), "indication received"); n != 2 {
		t.Errorf("%d indications logged, want 2:\n%s", n, d.log)
	}
}

// TestNoUsersWarning: wbemd on a repository without users says so at
// start, loudly, with the command that adds one; with users it does not.
func TestNoUsersWarning(t *testing.T) {
	empty := startDaemonOn(t, t.TempDir(), "--wsman-http", "off", "--wsman-https", "off")
	with := startDaemon(t, "--wsman-http", "off", "--wsman-https", "off")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(empty.log.String(), "NO USERS") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if l := empty.log.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "NO USERS") || !strings.Contains(l, "wbem user add NAME --admin") {
		t.Errorf("no warning on a repository without users:\n%s", l)
	}
	if strings.Contains(with.log.String(), "NO USERS") {
		t.Errorf("a warning on a repository with users:\n%s", with.log)
	}
}
