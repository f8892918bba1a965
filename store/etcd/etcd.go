package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wbemd/wbemd/store"
)

// The optional parts of the store contract the engine implements.
var (
	_ store.Store     = (*Store)(nil)
	_ store.Healther  = (*Store)(nil)
	_ store.Statser   = (*Store)(nil)
	_ store.Checker   = (*Store)(nil)
	_ store.Compactor = (*Store)(nil)
)

// Options configure Open.
type Options struct {
	// Logger receives the engine's and the etcd client's warnings (default
	// slog.Default()).
	Logger *slog.Logger
	// Password is the etcd user's password; empty means the value of the
	// environment variable WBEMD_ETCD_PASSWORD.
	Password string
}

// Store is a store.Store on an etcd cluster. It is safe for concurrent use.
type Store struct {
	cfg    Config
	cli    *clientv3.Client
	kv     pb.KVClient
	log    *slog.Logger
	root   []byte // the root key: Config.Prefix
	pfx    []byte // the prefix of every store key: root + "/"
	limits store.Limits

	cache    *readCache // nil: every Get reads the cluster
	barriers barriers
	// With reads=session: the newest revision this node wrote, or read
	// with a barrier; and whether a write's outcome is unknown (the next
	// read then takes a barrier).
	written atomic.Int64
	unsure  atomic.Bool

	closed  atomic.Bool
	noSpace atomic.Pointer[error] // the last write's ErrReadOnly, until a write succeeds
	stats   counters
}

// Open connects to the cluster a store URL names (see Config), checks that
// it takes the transactions the URL states (see DefaultMaxTxnOps) and that
// no restore into the prefix is unfinished, and returns the store.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg, opts)
}

// OpenConfig is Open with a parsed URL.
func OpenConfig(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	s, err := dial(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := s.checkNoRestore(ctx); err != nil {
		s.cli.Close()
		return nil, err
	}
	if cfg.NoCache {
		return s, nil
	}
	if err := s.startCache(ctx); err != nil {
		s.cli.Close()
		return nil, fmt.Errorf("etcd %s: read cache: %w", cfg.Prefix, err)
	}
	return s, nil
}

// dial connects and probes the cluster's limits.
func dial(ctx context.Context, cfg Config, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Store{cfg: cfg, log: log, root: []byte(cfg.Prefix), pfx: []byte(cfg.Prefix + "/")}
	var err error
	if s.limits, err = limitsFor(cfg, len(s.pfx)); err != nil {
		return nil, fmt.Errorf("etcd %s: %w", cfg.Prefix, err)
	}
	ccfg := clientv3.Config{
		Endpoints:          cfg.Endpoints,
		DialTimeout:        cfg.DialTimeout,
		Logger:             zapLogger(log),
		MaxCallSendMsgSize: cfg.MaxRequestBytes + 1<<20,
		MaxCallRecvMsgSize: math.MaxInt32,
	}
	if cfg.TLS {
		if ccfg.TLS, err = tlsConfig(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.User != "" {
		ccfg.Username, ccfg.Password = cfg.User, opts.Password
		if ccfg.Password == "" {
			ccfg.Password = os.Getenv(PasswordEnv)
		}
		if ccfg.Password == "" {
			return nil, fmt.Errorf("etcd user %s: no password: set %s (with a client certificate, etcd takes the user from its common name: leave user= out)", cfg.User, PasswordEnv)
		}
	}
	where := fmt.Sprintf("etcd at %s", strings.Join(cfg.Endpoints, ","))
	if s.cli, err = clientv3.New(ccfg); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s: no member answered within %v: %w", where, cfg.DialTimeout, err)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	s.kv = clientv3.RetryKVClient(s.cli)
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+probeTime(cfg))
	defer cancel()
	if err := s.probe(pctx); err != nil {
		s.cli.Close()
		if ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || isTransient(err)) {
			return nil, fmt.Errorf("%s: no member answered (waited up to %v): %w", where, cfg.DialTimeout, err)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return s, nil
}

// tlsConfig loads the URL's CA and client certificate.
func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		b, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, fmt.Errorf("etcd cacert: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("etcd cacert %s: no PEM certificate in it", cfg.CACert)
		}
	}
	if cfg.Cert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// verified holds the clusters (endpoints and limits) this process has
// probed, so that opening several stores on one cluster probes it once.
var verified sync.Map

// probe checks that the cluster takes a transaction of MaxTxnOps ops and
// as many compares, and a request of max-request-bytes less the engine's
// reserve, with transactions that cannot change anything: the first only
// reads; the second's compare never holds (a mod_revision below 0). A
// cluster configured below the URL's limits fails with an error naming
// the server flag to raise.
func (s *Store) probe(ctx context.Context) error {
	id := fmt.Sprintf("%s|%d|%d|%s", strings.Join(s.cfg.Endpoints, ","), s.cfg.MaxTxnOps, s.cfg.MaxRequestBytes, s.cfg.User)
	if _, ok := verified.Load(id); ok {
		return nil
	}
	never := &pb.Compare{Key: s.root, Target: pb.Compare_MOD, Result: pb.Compare_LESS, TargetUnion: &pb.Compare_ModRevision{ModRevision: 0}}
	reads := &pb.TxnRequest{}
	for i := 0; i < s.cfg.MaxTxnOps; i++ {
		reads.Compare = append(reads.Compare, never)
		reads.Success = append(reads.Success, &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: s.root, CountOnly: true}}})
	}
	if _, err := s.kv.Txn(ctx, reads); err != nil {
		return s.probeErr(ctx, "a transaction of max-txn-ops=%d ops", s.cfg.MaxTxnOps, err)
	}
	// One put whose request is exactly the budget: the value fills it.
	put := &pb.PutRequest{Key: s.root}
	big := &pb.TxnRequest{Compare: []*pb.Compare{never}, Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: put}}}}
	budget := requestBudget(s.cfg)
	n := budget
	for i := 0; i < 4; i++ { // a length's varint may grow by a byte: converge, then stay under
		put.Value = make([]byte, n)
		if size := big.Size(); size != budget {
			n -= size - budget
		}
	}
	for put.Value = make([]byte, n); big.Size() > budget; put.Value = put.Value[:len(put.Value)-1] {
	}
	if _, err := s.kv.Txn(ctx, big); err != nil {
		return s.probeErr(ctx, "a request of max-request-bytes=%d bytes", s.cfg.MaxRequestBytes, err)
	}
	verified.Store(id, true)
	return nil
}

// probeTime is how long the probe may take beyond the dial timeout: the
// large request crosses the network and is written to each member's log.
func probeTime(cfg Config) time.Duration {
	return time.Duration(cfg.MaxRequestBytes/(1<<20)) * time.Second
}

func (s *Store) probeErr(ctx context.Context, what string, n int, err error) error {
	err = s.mapErr(ctx, "probe", err)
	if !errors.Is(err, store.ErrTxnTooLarge) {
		return fmt.Errorf("probe: %w", err)
	}
	flag := "max-txn-ops"
	if strings.Contains(what, "bytes") {
		flag = "max-request-bytes"
	}
	return fmt.Errorf("the cluster refuses %s (%w): start every member with --%s=%d or more, or state the cluster's value with %s= in the store URL (wbemd then writes less in one transaction, and a MOF compile of the CIM schema needs %s)",
		fmt.Sprintf(what, n), store.ErrTxnTooLarge, flag, n, flag, schemaNeeds[flag])
}

// schemaNeeds is what a compile of the DMTF CIM schema 2.49 needs (see
// DefaultMaxTxnOps).
var schemaNeeds = map[string]string{"max-txn-ops": "3,332 ops", "max-request-bytes": "about 4.5 MB"}

// Limits returns the engine's limits on one transaction: those of the
// URL, less the framing etcd adds (see DefaultMaxTxnOps). A transaction
// within them is never refused by the cluster for its size.
func (s *Store) Limits() store.Limits { return s.limits }

// Config returns the parsed URL the store was opened with.
func (s *Store) Config() Config { return s.cfg }

// Close closes the connection to the cluster. Calls after Close return
// store.ErrClosed; so does a second Close.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return store.ErrClosed
	}
	s.stopCache()
	if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd close: %w", err)
	}
	return nil
}

// usable returns ErrClosed after Close, or the context's error.
func (s *Store) usable(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// key returns the etcd key of store key k.
func (s *Store) key(k []byte) []byte {
	return append(append(make([]byte, 0, len(s.pfx)+len(k)), s.pfx...), k...)
}

// end returns the etcd range end of store range end e (nil: the end of
// the store's keyspace).
func (s *Store) end(e []byte) []byte {
	if e == nil {
		return store.PrefixEnd(s.pfx)
	}
	return s.key(e)
}

// storeKey strips the prefix from an etcd key.
func (s *Store) storeKey(k []byte) []byte { return k[len(s.pfx):] }
