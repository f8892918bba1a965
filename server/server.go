// Package server is the wbemd daemon: it opens the repository, serves
// CIM-XML and WS-Management over HTTP and HTTPS with Basic authentication
// against the user store, and shuts down gracefully.
package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/indication"
	"github.com/wbemd/wbemd/internal/console"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/protocol/eventstream"
	"github.com/wbemd/wbemd/protocol/rest"
	"github.com/wbemd/wbemd/protocol/wsman"
	"github.com/wbemd/wbemd/store/engine"
)

// RepoFile is the store file inside a repository directory.
const RepoFile = "repository.db"

// SocketFile is the local socket inside a repository directory.
const SocketFile = "wbemd.sock"

// Off turns a listener off.
const Off = "off"

// Config configures the daemon.
type Config struct {
	Repo              string        // repository directory: the local socket, the self-signed certificate, and the embedded store unless Store says otherwise
	Store             string        // the store's URL (store/engine): "" for bolt:<Repo>; etcd://host:port,.../prefix for an etcd cluster
	HTTP, HTTPS       string        // listen addresses (":5988", ":5989"), or "off"
	Socket            string        // the local socket ("" for <Repo>/wbemd.sock), or "off"
	CertFile, KeyFile string        // TLS pair; empty: a self-signed pair in Repo
	MaxRequest        int64         // request body limit (default 16 MiB)
	MaxHeader         int           // request header limit (default 64 KiB)
	MaxConnections    int           // open connections per listener (default 1,024)
	HeaderTimeout     time.Duration // time to read a request's headers (default 10 s)
	ReadTimeout       time.Duration // time to read a whole request (default 30 s)
	OperationTimeout  time.Duration // time an operation may run (default 5 min)
	// WS-Management (/wsman) listen addresses (":5985", ":5986"), or "off".
	WSManHTTP, WSManHTTPS string
	WSManNamespace        string // namespace of DMTF resource URIs without __cimnamespace (default root/cimv2)
	WSManAnonIdentify     bool   // answer Identify without credentials
	ShutdownTimeout       time.Duration
	FeedRetention         int64        // revisions of change feed the embedded store keeps (0: its default, 100,000): how far back event streams resume
	Logger                *slog.Logger // the daemon's log, access log included
	// Host is the server's host name in the object paths of answers
	// (default os.Hostname()).
	Host      string
	Providers ProviderConfig // out-of-process providers (providers.go)
}

// Ready is called once the listeners are open, with their addresses.
type Ready func(http, https string)

// Run serves until ctx ends, then drains: requests in flight finish, new
// ones get WBEM_E_SHUTTING_DOWN, and the repository closes.
func Run(ctx context.Context, cfg Config, ready Ready) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.MaxHeader == 0 {
		cfg.MaxHeader = 64 << 10
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.HeaderTimeout == 0 {
		cfg.HeaderTimeout = 10 * time.Second
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = 1024
	}
	if cfg.OperationTimeout == 0 {
		cfg.OperationTimeout = 5 * time.Minute
	}
	if err := os.MkdirAll(cfg.Repo, 0o700); err != nil {
		return fmt.Errorf("server: repository %s: %w", cfg.Repo, err)
	}
	storeURL := cfg.Store
	if storeURL == "" {
		storeURL = "bolt:" + cfg.Repo
	}
	db, err := engine.Open(ctx, storeURL, engine.Options{Logger: log, FeedRetention: cfg.FeedRetention})
	if err != nil {
		return openError(cfg, err)
	}
	defer db.Close()
	om, err := cimom.Open(ctx, db, cimom.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("server: open repository: %w", err)
	}
	installBuiltins(ctx, om, log)
	host := httpstack.HostName(cfg.Host)
	// Every door is served through the same filters: authentication (HTTP
	// Basic against the users, or the local socket's peer), the operation
	// timeout (past it an operation answers WBEM_E_CALL_CANCELLED), the
	// body limit, request ids, the access log and the request metrics.
	obs := httpstack.NewObserver(log)
	stack := &httpstack.Stack{Observer: obs, Auth: httpstack.PeerCredentials(httpstack.Basic(auth.NewWithOptions(db, auth.Options{Logger: log}), log)),
		OperationTimeout: cfg.OperationTimeout, MaxRequest: cfg.MaxRequest}
	anyone := func(*http.Request) bool { return true }
	h := &cimxml.Handler{Connector: om, Host: host}
	wh := &wsman.Handler{Connector: om, Host: host, Namespace: cfg.WSManNamespace, AnonymousIdentify: cfg.WSManAnonIdentify, Events: om, Log: log}
	// /metrics and /healthz answer anyone, on every listener.
	status := http.NewServeMux()
	m := newMetrics(db, obs)
	defer serveProviders(ctx, cfg, om, m, log)()
	status.Handle("/metrics", m)
	status.Handle("/healthz", healthz(db))
	statusDoor := stack.Serve(httpstack.Door{Name: "status", Anonymous: anyone}, status)
	notFound := stack.Serve(httpstack.Door{Name: "none", Anonymous: anyone}, http.NotFoundHandler())
	wsMux := http.NewServeMux()
	wsMux.Handle("/wsman", stack.Serve(wh.Door(), wh))
	wsMux.Handle("/metrics", statusDoor)
	wsMux.Handle("/healthz", statusDoor)
	wsMux.Handle("/", notFound)
	mux := http.NewServeMux()
	mux.Handle("/cimom", stack.Serve(h.Door(), h))
	if err := serveAdmin(ctx, cfg, om, db, stack, mux); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	// The deliverer of DMTF indication subscriptions (package indication),
	// stopped before the repository closes.
	deliverCtx, stopDelivery := context.WithCancel(ctx)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		(&indication.Manager{OM: om, Store: db, Log: log}).Run(deliverCtx)
	}()
	defer func() { stopDelivery(); <-delivered }()
	// The indication listener: exported indications are logged (the
	// events issue routes them to subscribers).
	mux.Handle("/CIMListener/", stack.Serve(httpstack.Door{Name: "export", Anonymous: anyone}, &cimxml.Listener{Log: log, MaxRequest: cfg.MaxRequest,
		Deliver: func(ctx context.Context, consumer string, ind *cim.Object) error {
			log.Info("indication received", "consumer", consumer, "class", ind.Class, "id", httpstack.RequestIDFrom(ctx))
			return nil
		}}))
	// The event stream lasts as long as its client: no operation timeout.
	streams := *stack
	streams.OperationTimeout = 0
	eh := eventstream.New(om, eventstream.Options{Logger: log})
	mux.Handle(eventstream.Path, streams.Serve(eh.Door(), eh))
	// The JSON door and the web console (README: "Web console and JSON
	// API"); / leads a browser to the console.
	rh := &rest.Handler{Connector: om, Namespaces: om.Namespaces}
	mux.Handle(rest.Prefix, stack.Serve(rh.Door(), rh))
	ui := stack.Serve(httpstack.Door{Name: "console", Anonymous: anyone}, console.Handler())
	mux.Handle(console.Prefix, ui)
	mux.Handle("GET /{$}", ui)
	mux.Handle("/metrics", statusDoor)
	mux.Handle("/healthz", statusDoor)
	mux.Handle("/", notFound)

	var servers []*http.Server
	errs := make(chan error, 4)
	listen := func(addr string, tlsConf *tls.Config, handler http.Handler) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("server: listen %s: %w", addr, err)
		}
		ln = &limitListener{Listener: ln, sem: make(chan struct{}, cfg.MaxConnections)}
		srv := &http.Server{Handler: handler, MaxHeaderBytes: cfg.MaxHeader, ReadHeaderTimeout: cfg.HeaderTimeout,
			ReadTimeout: cfg.ReadTimeout, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		if tlsConf != nil {
			srv.TLSConfig = tlsConf
			ln = tls.NewListener(ln, tlsConf)
		} else {
			ln = httpstack.FramingListener(ln)
		}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
		return ln.Addr().String(), nil
	}
	var httpAddr, httpsAddr string
	if cfg.HTTP != Off && cfg.HTTP != "" {
		if httpAddr, err = listen(cfg.HTTP, nil, mux); err != nil {
			return err
		}
		log.Info("serving CIM-XML over HTTP", "addr", httpAddr)
	}
	var tlsConf *tls.Config
	needTLS := func() (*tls.Config, error) {
		if tlsConf == nil {
			c, err := tlsConfig(cfg, log)
			if err != nil {
				return nil, err
			}
			tlsConf = c
		}
		return tlsConf, nil
	}
	if cfg.HTTPS != Off && cfg.HTTPS != "" {
		tc, err := needTLS()
		if err != nil {
			return err
		}
		if httpsAddr, err = listen(cfg.HTTPS, tc, mux); err != nil {
			return err
		}
		log.Info("serving CIM-XML over HTTPS", "addr", httpsAddr)
	}
	if cfg.WSManHTTP != Off && cfg.WSManHTTP != "" {
		addr, err := listen(cfg.WSManHTTP, nil, wsMux)
		if err != nil {
			return err
		}
		log.Info("serving WS-Management over HTTP", "addr", addr)
	}
	if cfg.WSManHTTPS != Off && cfg.WSManHTTPS != "" {
		tc, err := needTLS()
		if err != nil {
			return err
		}
		addr, err := listen(cfg.WSManHTTPS, tc, wsMux)
		if err != nil {
			return err
		}
		log.Info("serving WS-Management over HTTPS", "addr", addr)
	}
	if cfg.Socket != Off {
		path := cfg.Socket
		if path == "" {
			path = filepath.Join(cfg.Repo, SocketFile)
		}
		os.Remove(path) // a socket left by a process that is gone
		ln, err := net.Listen("unix", path)
		if err != nil {
			return fmt.Errorf("server: listen %s: %w", path, err)
		}
		os.Chmod(path, 0o666) // any local user may connect: the peer's uid says who it is
		srv := &http.Server{Handler: mux, MaxHeaderBytes: cfg.MaxHeader, ReadHeaderTimeout: cfg.HeaderTimeout,
			ReadTimeout: cfg.ReadTimeout, ConnContext: httpstack.ConnContext, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
		log.Info("serving CIM-XML on the local socket", "path", path)
	}
	if ready != nil {
		ready(httpAddr, httpsAddr)
	}
	select {
	case <-ctx.Done():
	case err := <-errs:
		log.Error("listener failed", "err", err)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// New calls get WBEM_E_SHUTTING_DOWN while the listeners drain.
	closed := make(chan error, 1)
	stopDelivery()
	<-delivered
	h.Close() // open pull and WS-Man enumerations hold the CIMOM
	wh.Close()
	eh.Close() // event streams never end by themselves
	go func() { closed <- om.Close(sctx) }()
	for _, srv := range servers {
		srv.Shutdown(sctx)
	}
	h.Close() // and any opened while the listeners drained
	wh.Close()
	return <-closed
}

// tlsConfig loads the certificate pair, or makes a self-signed one in the
// repository on first start and logs its fingerprint.
func tlsConfig(cfg Config, log *slog.Logger) (*tls.Config, error) {
	certFile, keyFile := cfg.CertFile, cfg.KeyFile
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.Repo, "cert.pem"), filepath.Join(cfg.Repo, "key.pem")
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := selfSigned(certFile, keyFile); err != nil {
				return nil, err
			}
			log.Info("made a self-signed certificate", "cert", certFile)
		}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate: %w", err)
	}
	sum := sha256.Sum256(pair.Certificate[0])
	log.Info("TLS certificate", "sha256", hex.EncodeToString(sum[:]))
	return serverTLSConfig(pair), nil
}

func selfSigned(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "wbemd " + host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", host},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// limitListener accepts at most cap(sem) open connections; the next
// waits until one closes.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
