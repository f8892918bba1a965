package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a server's error log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tlsTestServer serves HTTPS on loopback with serverTLSConfig and a
// certificate for 127.0.0.1 signed by key, the way wbemd's listeners do
// (an http.Server on a tls.NewListener). It returns the address, the pool
// that trusts the certificate, and the server's error log.
func tlsTestServer(t *testing.T, key crypto.Signer) (string, *x509.CertPool, *lockedBuffer) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wbemd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	conf := serverTLSConfig(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errLog := &lockedBuffer{}
	srv := &http.Server{TLSConfig: conf, ErrorLog: log.New(errLog, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(tls.NewListener(ln, conf))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), roots, errLog
}

// get makes one HTTPS request with the client configuration conf.
func get(ctx context.Context, addr string, conf *tls.Config) (*tls.ConnectionState, error) {
	tr := &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "ok" {
		return nil, fmt.Errorf("answer %q, %v", body, err)
	}
	return resp.TLS, nil
}

// TestTLSSuites: with an ECDSA and with an RSA certificate, a real TLS
// client offering a single TLS 1.2 suite gets through if and only if the
// suite is one of tls12CipherSuites (ECDHE with an AEAD); a client
// offering only CBC suites, or only TLS 1.1, is refused by the server (its
// error log says why); TLS 1.3 and a client's defaults get through.
func TestTLSSuites(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tls.CipherSuites() {
		if !slices.Contains(c.SupportedVersions, tls.VersionTLS12) {
			continue // a TLS 1.3 suite
		}
		if want := !strings.Contains(c.Name, "_CBC_") && strings.HasPrefix(c.Name, "TLS_ECDHE_"); want != slices.Contains(tls12CipherSuites, c.ID) {
			t.Errorf("%s: in tls12CipherSuites is %v, want %v (Go's secure suites that are ECDHE and AEAD)", c.Name, !want, want)
		}
	}
	for _, tc := range []struct {
		kind string
		key  crypto.Signer
	}{{"ECDSA", ecKey}, {"RSA", rsaKey}} {
		t.Run(tc.kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			addr, roots, errLog := tlsTestServer(t, tc.key)
			client := func(version uint16, suites ...uint16) *tls.Config {
				return &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: version, MaxVersion: version, CipherSuites: suites}
			}
			accepted := 0
			for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
				if !slices.Contains(c.SupportedVersions, tls.VersionTLS12) {
					continue
				}
				state, err := get(ctx, addr, client(tls.VersionTLS12, c.ID))
				switch want := slices.Contains(tls12CipherSuites, c.ID) && strings.Contains(c.Name, "_"+tc.kind+"_"); {
				case want && err != nil:
					t.Errorf("%s refused: %v", c.Name, err)
				case want && (state.CipherSuite != c.ID || state.Version != tls.VersionTLS12):
					t.Errorf("%s: negotiated %s over %s", c.Name, tls.CipherSuiteName(state.CipherSuite), tls.VersionName(state.Version))
				case want:
					accepted++
				case err == nil:
					t.Errorf("%s accepted", c.Name)
				}
			}
			if accepted != 3 {
				t.Errorf("%d TLS 1.2 suites accepted, want 3", accepted)
			}
			var cbc []uint16
			for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
				if strings.Contains(c.Name, "_CBC_") {
					cbc = append(cbc, c.ID)
				}
			}
			refusedCBC(ctx, t, addr, errLog, client(tls.VersionTLS12, cbc...))
			if _, err := get(ctx, addr, client(tls.VersionTLS11)); err == nil {
				t.Error("a TLS 1.1 client was accepted")
			}
			if state, err := get(ctx, addr, client(tls.VersionTLS13)); err != nil || state.Version != tls.VersionTLS13 {
				t.Errorf("a TLS 1.3 client: %v", err)
			}
			if state, err := get(ctx, addr, &tls.Config{RootCAs: roots}); err != nil || state.Version != tls.VersionTLS13 {
				t.Errorf("a client with Go's defaults: %v", err)
			}
		})
	}
}

// refusedCBC checks that a TLS handshake with conf fails with the
// server's alert, and that the server logs, for this connection, that it
// has no cipher suite in common with the client.
func refusedCBC(ctx context.Context, t *testing.T, addr string, errLog *lockedBuffer, conf *tls.Config) {
	t.Helper()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := tls.Client(conn, conf).HandshakeContext(ctx); err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("a client offering only CBC suites: %v, want a handshake failure", err)
		return
	}
	// The server logs the failure after sending its alert.
	want := "from " + conn.LocalAddr().String() + ": tls: no cipher suite supported by both client and server"
	for !strings.Contains(errLog.String(), want) {
		select {
		case <-ctx.Done():
			t.Fatalf("the server did not log %q:\n%s", want, errLog)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestTLSOpenSSL: the openssl command-line client (Debian's openssl) is
// refused when it offers only CBC suites over TLS 1.2, and gets through
// with an AEAD suite over TLS 1.2 and with TLS 1.3.
func TestTLSOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command: apt-get install openssl")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	addr, _, _ := tlsTestServer(t, key)
	sClient := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, openssl, append([]string{"s_client", "-connect", addr}, args...)...)
		cmd.Stdin = strings.NewReader("") // closes the connection after the handshake
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// SECLEVEL=0 makes sure openssl offers the old suites.
	out, err := sClient("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "alert handshake failure") {
		t.Errorf("openssl offering CBC suites only: %v, want the server's handshake failure alert:\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, "ECDHE-ECDSA-AES128-GCM-SHA256"},
		{[]string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{[]string{"-tls1_3"}, "TLSv1.3"},
	} {
		out, err := sClient(tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("openssl %v: %v, want %s:\n%s", tc.args, err, tc.want, out)
		}
	}
}
