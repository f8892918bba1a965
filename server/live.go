package server

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store"
)

// live holds what a reload (SIGHUP) changes while wbemd serves, without
// closing a connection: the TLS certificate, who may read /metrics and
// /healthz, who may send indications without credentials, and the
// connection limits.
type live struct {
	log     *slog.Logger
	cert    atomic.Pointer[tls.Certificate]
	status  atomic.Bool                    // /metrics and /healthz without credentials
	senders atomic.Pointer[[]netip.Prefix] // /CIMListener/ without credentials

	mu     sync.Mutex
	cfg    Config // as last applied
	guards []*httpstack.Guard
	names  []string // the guards' listeners
}

// newLive returns the live settings of cfg.
func newLive(cfg Config, log *slog.Logger) (*live, error) {
	l := &live{log: log, cfg: cfg}
	if err := l.apply(cfg); err != nil {
		return nil, err
	}
	return l, nil
}

// parseSenders reads --listener-senders: addresses or networks.
func parseSenders(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("listener sender %q: want an address or a network (192.0.2.7, 10.0.0.0/8)", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// apply makes cfg's reloadable settings current.
func (l *live) apply(cfg Config) error {
	senders, err := parseSenders(cfg.ListenerSenders)
	if err != nil {
		return err
	}
	l.status.Store(cfg.AnonymousStatus)
	l.senders.Store(&senders)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, g := range l.guards {
		g.SetLimits(limitsOf(cfg))
	}
	return nil
}

// limitsOf returns the connection limits of cfg.
func limitsOf(cfg Config) httpstack.GuardLimits {
	return httpstack.GuardLimits{MaxConnections: cfg.MaxConnections, MaxPerAddress: cfg.MaxPerAddress, AnonymousIdle: cfg.AnonymousIdleTimeout}
}

// guard returns a new connection guard for the listener named name.
func (l *live) guard(name string) *httpstack.Guard {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := httpstack.NewGuard(limitsOf(l.cfg), l.log)
	l.guards = append(l.guards, g)
	l.names = append(l.names, name)
	return g
}

// writeMetrics writes the guards' connection metrics.
func (l *live) writeMetrics(w interface{ Write([]byte) (int, error) }) {
	l.mu.Lock()
	guards, names := slices.Clone(l.guards), slices.Clone(l.names)
	l.mu.Unlock()
	if len(guards) > 0 {
		httpstack.WriteGuardMetrics(w, names, guards)
	}
}

// anonymousStatus admits a request to /metrics or /healthz without
// credentials when --anonymous-status is set.
func (l *live) anonymousStatus(*http.Request) bool { return l.status.Load() }

// allowedSender admits an exported indication without credentials from
// an address of --listener-senders.
func (l *live) allowedSender(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range *l.senders.Load() {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// loadCert reads the certificate pair of cfg (the self-signed one in the
// repository if cfg names none) and makes it the one presented to new
// TLS handshakes.
func (l *live) loadCert(cfg Config) error {
	certFile, keyFile := certFiles(cfg)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate: %w", err)
	}
	sum := sha256.Sum256(pair.Certificate[0])
	l.log.Info("TLS certificate", "sha256", hex.EncodeToString(sum[:]))
	l.cert.Store(&pair)
	return nil
}

// tlsConfig returns the TLS configuration of the HTTPS listeners: the
// current certificate (loadCert), read at each handshake.
func (l *live) tlsConfig() *tls.Config {
	c := serverTLSConfig(tls.Certificate{})
	c.Certificates = nil
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return l.cert.Load(), nil }
	return c
}

// reloadable are the Config fields a reload changes while serving; a
// change to any other is logged as needing a restart.
var reloadable = map[string]bool{"CertFile": true, "KeyFile": true, "AnonymousStatus": true, "ListenerSenders": true,
	"MaxConnections": true, "MaxPerAddress": true, "AnonymousIdleTimeout": true, "Logger": true, "Reload": true}

// reload applies cfg: the certificate is read again when TLS is served,
// the reloadable settings take effect at once, and a changed setting that
// needs a restart is logged. On an error nothing changes.
func (l *live) reload(cfg Config, tlsServed bool) error {
	l.mu.Lock()
	old := l.cfg
	l.mu.Unlock()
	cfg = withDefaults(cfg)
	if _, err := parseSenders(cfg.ListenerSenders); err != nil {
		return err
	}
	if tlsServed {
		if err := l.loadCert(cfg); err != nil {
			return err
		}
	}
	if err := l.apply(cfg); err != nil {
		return err
	}
	ov, nv := reflect.ValueOf(old), reflect.ValueOf(cfg)
	var restart []string
	for i := 0; i < ov.NumField(); i++ {
		name := ov.Type().Field(i).Name
		if !reloadable[name] && !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			restart = append(restart, name)
		}
	}
	if len(restart) > 0 {
		l.log.Warn("reload: these settings changed but take effect only at the next start", "settings", strings.Join(restart, ","))
	}
	l.mu.Lock()
	cfg.Logger = old.Logger
	l.cfg = cfg
	l.mu.Unlock()
	l.log.Info("reloaded", "anonymous_status", cfg.AnonymousStatus, "listener_senders", strings.Join(cfg.ListenerSenders, ","),
		"max_connections", cfg.MaxConnections, "max_per_address", cfg.MaxPerAddress, "anonymous_idle_timeout", cfg.AnonymousIdleTimeout)
	return nil
}

// warnNoUsers logs a warning, at start, when the repository has no user:
// then no client can log in over the network (the local socket still
// knows its peers by their uid).
func warnNoUsers(ctx context.Context, db store.Store, log *slog.Logger) {
	users, err := auth.New(db).List(ctx)
	if err != nil {
		log.Warn("cannot list the users", "err", err)
		return
	}
	if len(users) == 0 {
		log.Warn("NO USERS: no client can log in over HTTP, HTTPS or WS-Management until one is added; " +
			"as root on this machine: wbem user add NAME --admin")
	}
}
