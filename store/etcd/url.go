package etcd

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PasswordEnv is the environment variable Open reads the etcd user's
// password from when Options.Password is empty. A password never goes in
// the URL: URLs are printed in logs and process listings.
const PasswordEnv = "WBEMD_ETCD_PASSWORD"

const defaultDialTimeout = 5 * time.Second

// DefaultPort is the port of an endpoint written without one.
const DefaultPort = "2379"

// Config is a parsed store URL:
//
//	etcd://HOST:PORT[,HOST:PORT...]/PREFIX[?PARAMS]
//
// PREFIX is the deployment's root prefix ("/" is added in front: /wbemd).
// PARAMS, all optional:
//
//	cacert=FILE           CA certificates that sign the members' certificates
//	                      (turns TLS on)
//	cert=FILE, key=FILE   a client certificate and its key (turns TLS on)
//	tls=1                 TLS with the system's CA certificates
//	user=NAME             the etcd user; the password comes from
//	                      WBEMD_ETCD_PASSWORD
//	max-txn-ops=N         the cluster's --max-txn-ops (default 8192)
//	max-request-bytes=N   the cluster's --max-request-bytes (default 8388608)
//	dial-timeout=D        how long Open waits for the cluster (default 5s)
//	cache=0               no read cache: every Get reads the cluster (default
//	                      1: Get answers from a watch-fed cache, see Get)
//	reads=session         Get and Rev answer from the read cache without the
//	                      read barrier: this node's own writes are seen at
//	                      once, other nodes' as soon as the watch brings them
//	                      (see Store.Rev); default reads=linearizable
type Config struct {
	Endpoints       []string // host:port
	Prefix          string   // the root prefix, "/" and no trailing "/": "/wbemd"
	CACert          string
	Cert, Key       string
	TLS             bool
	User            string
	MaxTxnOps       int
	MaxRequestBytes int
	DialTimeout     time.Duration
	NoCache         bool // cache=0
	SessionReads    bool // reads=session
}

// ParseURL parses a store URL of the etcd engine (see Config).
func ParseURL(u string) (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, fmt.Errorf("store URL %q: %s (write etcd://HOST:PORT[,HOST:PORT...]/PREFIX)", u, fmt.Sprintf(format, args...))
	}
	rest, ok := cutPrefixFold(u, "etcd://")
	if !ok {
		return bad("not an etcd URL")
	}
	rest, query, _ := strings.Cut(rest, "?")
	if strings.Contains(rest, "#") {
		return bad("a fragment (#) has no meaning here")
	}
	hosts, path, _ := strings.Cut(rest, "/")
	if strings.Contains(hosts, "@") {
		return bad("credentials in the URL: give the user as ?user=NAME and the password in %s", PasswordEnv)
	}
	cfg := Config{MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes, DialTimeout: defaultDialTimeout}
	if hosts == "" {
		return bad("no endpoints")
	}
	for _, h := range strings.Split(hosts, ",") {
		ep, err := endpoint(h)
		if err != nil {
			return bad("endpoint %q: %v", h, err)
		}
		cfg.Endpoints = append(cfg.Endpoints, ep)
	}
	prefix, err := url.PathUnescape(strings.TrimRight(path, "/"))
	if err != nil {
		return bad("prefix: %v", err)
	}
	if prefix == "" {
		return bad("no key prefix: name the deployment's root, as in etcd://HOST:2379/wbemd")
	}
	cfg.Prefix = "/" + prefix
	params, err := url.ParseQuery(query)
	if err != nil {
		return bad("query: %v", err)
	}
	for name, vals := range params {
		if len(vals) != 1 {
			return bad("parameter %s given %d times", name, len(vals))
		}
		v := vals[0]
		switch name {
		case "cacert":
			cfg.CACert, cfg.TLS = v, true
		case "cert":
			cfg.Cert, cfg.TLS = v, true
		case "key":
			cfg.Key, cfg.TLS = v, true
		case "tls":
			if cfg.TLS, err = strconv.ParseBool(v); err != nil {
				return bad("tls=%q: want 1 or 0", v)
			}
			if !cfg.TLS && (cfg.CACert != "" || cfg.Cert != "" || cfg.Key != "") {
				return bad("tls=0 with certificate files")
			}
		case "user":
			cfg.User = v
		case "password":
			return bad("a password in the URL: put it in %s instead", PasswordEnv)
		case "max-txn-ops":
			if cfg.MaxTxnOps, err = strconv.Atoi(v); err != nil || cfg.MaxTxnOps < MinTxnOps {
				return bad("max-txn-ops=%q: want a number of at least %d", v, MinTxnOps)
			}
		case "max-request-bytes":
			if cfg.MaxRequestBytes, err = strconv.Atoi(v); err != nil || cfg.MaxRequestBytes < MinRequestBytes {
				return bad("max-request-bytes=%q: want a number of at least %d", v, MinRequestBytes)
			}
		case "dial-timeout":
			if cfg.DialTimeout, err = time.ParseDuration(v); err != nil || cfg.DialTimeout <= 0 {
				return bad("dial-timeout=%q: want a duration such as 5s", v)
			}
		case "cache":
			on, err := strconv.ParseBool(v)
			if err != nil {
				return bad("cache=%q: want 1 or 0", v)
			}
			cfg.NoCache = !on
		case "reads":
			switch v {
			case "linearizable":
			case "session":
				cfg.SessionReads = true
			default:
				return bad("reads=%q: want linearizable or session", v)
			}
		default:
			return bad("unknown parameter %q (known: cacert, cert, key, tls, user, max-txn-ops, max-request-bytes, dial-timeout, cache, reads)", name)
		}
	}
	if cfg.SessionReads && cfg.NoCache {
		return bad("reads=session answers from the read cache: it cannot go with cache=0")
	}
	if (cfg.Cert == "") != (cfg.Key == "") {
		return bad("cert and key go together")
	}
	return cfg, nil
}

// String returns the URL of cfg (no password: it never has one).
func (cfg Config) String() string {
	q := url.Values{}
	set := func(name, v string) {
		if v != "" {
			q.Set(name, v)
		}
	}
	set("cacert", cfg.CACert)
	set("cert", cfg.Cert)
	set("key", cfg.Key)
	if cfg.TLS && cfg.CACert == "" && cfg.Cert == "" {
		q.Set("tls", "1")
	}
	set("user", cfg.User)
	if cfg.MaxTxnOps != DefaultMaxTxnOps {
		q.Set("max-txn-ops", strconv.Itoa(cfg.MaxTxnOps))
	}
	if cfg.MaxRequestBytes != DefaultMaxRequestBytes {
		q.Set("max-request-bytes", strconv.Itoa(cfg.MaxRequestBytes))
	}
	if cfg.DialTimeout != defaultDialTimeout {
		q.Set("dial-timeout", cfg.DialTimeout.String())
	}
	if cfg.NoCache {
		q.Set("cache", "0")
	}
	if cfg.SessionReads {
		q.Set("reads", "session")
	}
	s := "etcd://" + strings.Join(cfg.Endpoints, ",") + (&url.URL{Path: cfg.Prefix}).EscapedPath()
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// endpoint checks one HOST[:PORT] and adds the default port.
func endpoint(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("empty")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil && strings.Contains(err.Error(), "missing port") {
		host, port, err = net.SplitHostPort(net.JoinHostPort(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), DefaultPort))
	}
	if err != nil {
		return "", err
	}
	if host == "" {
		return "", fmt.Errorf("no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
