// Package server is the wbemd daemon: it opens the repository, serves
// CIM-XML and WS-Management over HTTP and HTTPS with Basic authentication
// against the user store, and shuts down gracefully.
package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	Repo              string // repository directory: the local socket, the self-signed certificate, and the embedded store unless Store says otherwise
	Store             string // the store's URL (store/engine): "" for bolt:<Repo>; etcd://host:port,.../prefix for an etcd cluster
	HTTP, HTTPS       string // listen addresses (":5988", ":5989"), or "off"
	Socket            string // the local socket ("" for <Repo>/wbemd.sock), or "off"
	CertFile, KeyFile string // TLS pair; empty: a self-signed pair in Repo
	MaxRequest        int64  // request body limit (default 16 MiB)
	MaxHeader         int    // request header limit (default 64 KiB)
	MaxConnections    int    // open connections per listener (default 1,024)
	// MaxPerAddress bounds the open connections of one client address on
	// a listener (default 256); see httpstack.Guard for what happens past
	// a limit.
	MaxPerAddress int
	// AnonymousIdleTimeout is how long a connection that has not
	// authenticated may wait without a request before it is closed
	// (default 5 s).
	AnonymousIdleTimeout time.Duration
	// IdleTimeout is how long an authenticated keep-alive connection may
	// wait for its next request (default 2 min).
	IdleTimeout      time.Duration
	HeaderTimeout    time.Duration // time to read a request's headers (default 10 s)
	ReadTimeout      time.Duration // time to read a whole request (default 30 s)
	OperationTimeout time.Duration // time an operation may run (default 5 min)
	// WS-Management (/wsman) listen addresses (":5985", ":5986"), or "off".
	WSManHTTP, WSManHTTPS string
	WSManNamespace        string // namespace of DMTF resource URIs without __cimnamespace (default root/cimv2)
	WSManAnonIdentify     bool   // answer Identify without credentials
	ShutdownTimeout       time.Duration
	FeedRetention         int64        // revisions of change feed the embedded store keeps (0: its default, 100,000): how far back event streams resume
	Logger                *slog.Logger // the daemon's log, access log included
	// TextLog, if set, is the writer of Logger, a slog.TextHandler
	// without options: the access log is then written to it directly,
	// in the same format, at a fraction of slog's cost.
	TextLog io.Writer
	// Host is the server's host name in the object paths of answers
	// (default os.Hostname()).
	Host      string
	Providers ProviderConfig // out-of-process providers (providers.go)
	// Pprof serves Go's runtime profiles at /debug/pprof/ to
	// administrators, on the CIM-XML listeners and the local socket (off
	// by default).
	Pprof bool
	// AnonymousStatus opens /metrics and /healthz to callers without
	// credentials; by default they need a user's.
	AnonymousStatus bool
	// ListenerSenders are the client addresses or networks ("192.0.2.7",
	// "10.0.0.0/8") whose exported indications /CIMListener/ accepts
	// without credentials; anyone else must authenticate.
	ListenerSenders []string
	// Reload, when not nil, delivers new settings (SIGHUP): the TLS
	// certificate is read again, and the settings that can change while
	// serving (reloadable) take effect without closing any connection.
	Reload <-chan Config
	// Consumers say as whom CommandLineEventConsumer commands run (WMI
	// permanent subscriptions): User (default "nobody"), never root
	// unless AllowRoot.
	Consumers indication.ConsumerOptions
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
	cfg = withDefaults(cfg)
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
	if cfg.TextLog != nil {
		obs.WriteText(cfg.TextLog)
	}
	stack := &httpstack.Stack{Observer: obs, Auth: httpstack.PeerCredentials(httpstack.Basic(auth.NewWithOptions(db, auth.Options{Logger: log}), log)),
		OperationTimeout: cfg.OperationTimeout, MaxRequest: cfg.MaxRequest}
	anyone := func(*http.Request) bool { return true }
	lv, err := newLive(cfg, log)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	h := &cimxml.Handler{Connector: om, Host: host}
	wh := &wsman.Handler{Connector: om, Host: host, Namespace: cfg.WSManNamespace, AnonymousIdentify: cfg.WSManAnonIdentify, Events: om, Subscriptions: om, Log: log}
	// /metrics and /healthz need a user's credentials on every listener,
	// unless --anonymous-status opens them.
	status := http.NewServeMux()
	m := newMetrics(db, obs)
	m.extra = append(m.extra, func(w io.Writer) { lv.writeMetrics(w) })
	defer serveProviders(ctx, cfg, om, m, log)()
	// WS-Eventing subscriptions survive a restart: those this node kept
	// in the repository go on from their cursors (once the providers
	// serve, for those that poll a provider's class). The node is its
	// host and repository directory (each node of a shared store has its
	// own).
	if dir, err := filepath.Abs(cfg.Repo); err == nil {
		wh.Node = host + ":" + dir
	}
	if err := wh.Restore(ctx); err != nil {
		wh.Close()
		return fmt.Errorf("server: %w", err)
	}
	status.Handle("/metrics", m)
	status.Handle("/healthz", healthz(db))
	statusDoor := stack.Serve(httpstack.Door{Name: "status", Anonymous: lv.anonymousStatus}, status)
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
	if who, err := cfg.Consumers.Check(); err != nil {
		log.Warn("CommandLineEventConsumer commands will be refused", "err", err)
	} else {
		log.Info("CommandLineEventConsumer commands run as " + who)
	}
	// The deliverer of DMTF indication subscriptions and WMI permanent
	// subscriptions (package indication), stopped before the repository
	// closes.
	deliverCtx, stopDelivery := context.WithCancel(ctx)
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		(&indication.Manager{OM: om, Store: db, Log: log, Consumers: cfg.Consumers}).Run(deliverCtx)
	}()
	defer func() { stopDelivery(); <-delivered }()
	// The indication listener: exported indications are logged. A sender
	// authenticates, or is one of --listener-senders.
	mux.Handle("/CIMListener/", stack.Serve(httpstack.Door{Name: "export", Anonymous: lv.allowedSender}, &cimxml.Listener{Log: log, MaxRequest: cfg.MaxRequest,
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
	// Each TCP listener's connections are kept by a Guard (limits per
	// client address and in all, unauthenticated connections closed first
	// and soon; httpstack.Guard).
	listen := func(name, addr string, tlsConf *tls.Config, handler http.Handler) (string, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("server: listen %s: %w", addr, err)
		}
		g := lv.guard(name)
		ln = g.Listen(ln)
		srv := &http.Server{Handler: g.Handler(handler), MaxHeaderBytes: cfg.MaxHeader, ReadHeaderTimeout: cfg.HeaderTimeout,
			ReadTimeout: cfg.ReadTimeout, IdleTimeout: cfg.IdleTimeout, ConnState: g.ConnState, ConnContext: g.ConnContext,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		// TLS ends here, under the framing check, so that HTTPS answers
		// a doubled Transfer-Encoding as HTTP does (400): net/http then
		// sees no *tls.Conn, and every listener speaks HTTP/1.1 (no
		// HTTP/2, which CIM-XML and WS-Man clients do not use).
		if tlsConf != nil {
			ln = tls.NewListener(ln, tlsConf)
		}
		ln = httpstack.FramingListener(ln)
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
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
		if httpAddr, err = listen("http", cfg.HTTP, nil, mux); err != nil {
			return err
		}
		log.Info("serving CIM-XML over HTTP", "addr", httpAddr)
	}
	var tlsConf *tls.Config
	needTLS := func() (*tls.Config, error) {
		if tlsConf == nil {
			if err := ensureCert(cfg, log); err != nil {
				return nil, err
			}
			if err := lv.loadCert(cfg); err != nil {
				return nil, err
			}
			tlsConf = lv.tlsConfig()
		}
		return tlsConf, nil
	}
	if cfg.HTTPS != Off && cfg.HTTPS != "" {
		tc, err := needTLS()
		if err != nil {
			return err
		}
		if httpsAddr, err = listen("https", cfg.HTTPS, tc, mux); err != nil {
			return err
		}
		log.Info("serving CIM-XML over HTTPS", "addr", httpsAddr)
	}
	if cfg.WSManHTTP != Off && cfg.WSManHTTP != "" {
		addr, err := listen("wsman-http", cfg.WSManHTTP, nil, wsMux)
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
		addr, err := listen("wsman-https", cfg.WSManHTTPS, tc, wsMux)
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
	warnNoUsers(ctx, db, log)
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-errs:
			log.Error("listener failed", "err", err)
			break wait
		case nc := <-cfg.Reload:
			if err := lv.reload(nc, tlsConf != nil); err != nil {
				log.Error("reload failed: the settings in use are kept", "err", err)
			}
		}
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

// withDefaults returns cfg with the default of each setting left zero.
func withDefaults(cfg Config) Config {
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
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	return cfg
}

// certFiles returns the certificate and key files of cfg: its own, or the
// self-signed pair in the repository.
func certFiles(cfg Config) (certFile, keyFile string) {
	if cfg.CertFile != "" {
		return cfg.CertFile, cfg.KeyFile
	}
	return filepath.Join(cfg.Repo, "cert.pem"), filepath.Join(cfg.Repo, "key.pem")
}

// ensureCert makes a self-signed certificate in the repository on first
// start when cfg names none.
func ensureCert(cfg Config, log *slog.Logger) error {
	if cfg.CertFile != "" {
		return nil
	}
	certFile, keyFile := certFiles(cfg)
	if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
		if err := selfSigned(certFile, keyFile); err != nil {
			return err
		}
		log.Info("made a self-signed certificate", "cert", certFile)
	}
	return nil
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
