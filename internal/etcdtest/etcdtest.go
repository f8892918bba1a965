// Package etcdtest runs real etcd clusters for tests: Debian's etcd binary
// (package etcd-server), one process per member, each on its own loopback
// ports and data directory under the test's temporary directory, stopped
// when the test ends.
//
// Tests that need etcd call Start; when the binary is missing they are
// skipped with a message saying how to install it. WBEMD_ETCD names
// another binary.
package etcdtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DefaultBinary is where Debian's etcd-server package installs etcd.
const DefaultBinary = "/usr/bin/etcd"

// Options configure a cluster. Zero values keep etcd's defaults.
type Options struct {
	// Members is the number of members (default 1).
	Members int
	// MaxTxnOps and MaxRequestBytes are passed as --max-txn-ops and
	// --max-request-bytes.
	MaxTxnOps       int
	MaxRequestBytes int
	// ProgressNotify is the interval of watch progress notifications
	// (--experimental-watch-progress-notify-interval).
	ProgressNotify time.Duration
	// TLS, when set, makes the members serve clients over TLS and require
	// a client certificate signed by TLS.CA.
	TLS *TLSFiles
}

// Cluster is a running etcd cluster.
type Cluster struct {
	t       testing.TB
	bin     string
	opts    Options
	token   string
	members []*Member
}

// Member is one etcd process.
type Member struct {
	Name      string
	ClientURL string // scheme://127.0.0.1:port
	PeerURL   string // http://127.0.0.1:port
	Dir       string // data directory
	Log       string // the member's log file

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Binary returns the etcd binary to run, or "" if there is none.
func Binary() string {
	if b := os.Getenv("WBEMD_ETCD"); b != "" {
		return b
	}
	if _, err := os.Stat(DefaultBinary); err == nil {
		return DefaultBinary
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	return ""
}

// Start starts a cluster and waits until it has a leader; the test is
// skipped if etcd is not installed. The cluster is stopped when the test
// ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("etcd is not installed (apt-get install etcd-server, or set WBEMD_ETCD to an etcd binary)")
	}
	if opts.Members <= 0 {
		opts.Members = 1
	}
	c, err := startRetried(t, t.TempDir(), bin, opts)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// ErrNotInstalled is StartIn's error when there is no etcd binary.
var ErrNotInstalled = errors.New("etcd is not installed (apt-get install etcd-server, or set WBEMD_ETCD to an etcd binary)")

// StartIn starts a cluster for a whole test binary (from TestMain, where
// there is no test to tie it to): its members keep their data and logs
// under dir. The caller stops it with Stop, then removes dir. Client
// needs a cluster started by Start.
func StartIn(dir string, opts Options) (*Cluster, error) {
	bin := Binary()
	if bin == "" {
		return nil, ErrNotInstalled
	}
	if opts.Members <= 0 {
		opts.Members = 1
	}
	return startRetried(nil, dir, bin, opts)
}

// startRetried starts a cluster, trying again with other ports: a free
// port can be taken before etcd binds it.
func startRetried(t testing.TB, base, bin string, opts Options) (*Cluster, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := start(t, base, bin, opts, attempt)
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(t testing.TB, base, bin string, opts Options, attempt int) (*Cluster, error) {
	c := &Cluster{t: t, bin: bin, opts: opts, token: fmt.Sprintf("wbemd-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	ports, err := freePorts(2 * opts.Members)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
	}
	for i := 0; i < opts.Members; i++ {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, ports[2*i]),
			PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			Dir:       filepath.Join(base, fmt.Sprintf("m%d.%d", i, attempt)),
		}
		m.Log = m.Dir + ".log"
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		if err := c.run(m, c.initialCluster(), "new"); err != nil {
			c.Stop()
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// run starts member m's process.
func (c *Cluster) run(m *Member, initial, state string) error {
	args := []string{
		"--name", m.Name,
		"--data-dir", m.Dir,
		"--listen-client-urls", m.ClientURL,
		"--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL,
		"--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", initial,
		"--initial-cluster-state", state,
		"--initial-cluster-token", c.token,
		"--logger", "zap",
		"--log-outputs", "stderr",
		"--heartbeat-interval", "50",
		"--election-timeout", "500",
	}
	if c.opts.MaxTxnOps > 0 {
		args = append(args, "--max-txn-ops", strconv.Itoa(c.opts.MaxTxnOps))
	}
	if c.opts.MaxRequestBytes > 0 {
		args = append(args, "--max-request-bytes", strconv.Itoa(c.opts.MaxRequestBytes))
	}
	if c.opts.ProgressNotify > 0 {
		args = append(args, "--experimental-watch-progress-notify-interval", c.opts.ProgressNotify.String())
	}
	if f := c.opts.TLS; f != nil {
		args = append(args, "--cert-file", f.ServerCert, "--key-file", f.ServerKey,
			"--client-cert-auth", "--trusted-ca-file", f.CA)
	}
	logf, err := os.OpenFile(m.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	m.mu.Lock()
	m.cmd, m.done = cmd, done
	m.mu.Unlock()
	return nil
}

// Members returns the cluster's members.
func (c *Cluster) Members() []*Member { return c.members }

// Endpoints returns every member's client address (host:port).
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.Endpoint())
	}
	return eps
}

// Endpoint returns the member's client address (host:port).
func (m *Member) Endpoint() string {
	_, hp, _ := strings.Cut(m.ClientURL, "://")
	return hp
}

// URL returns the store URL of the cluster with the given key prefix and
// query (without the "?"; may be empty).
func (c *Cluster) URL(prefix, query string) string {
	u := "etcd://" + strings.Join(c.Endpoints(), ",") + "/" + strings.TrimPrefix(prefix, "/")
	if query != "" {
		u += "?" + query
	}
	return u
}

// Client returns a client of the whole cluster, closed when the test ends.
func (c *Cluster) Client() *clientv3.Client {
	c.t.Helper()
	cli, err := c.client(c.Endpoints()...)
	if err != nil {
		c.t.Fatalf("etcdtest: client: %v", err)
	}
	c.t.Cleanup(func() { cli.Close() })
	return cli
}

func (c *Cluster) client(endpoints ...string) (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if f := c.opts.TLS; f != nil {
		cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
		if err != nil {
			return nil, err
		}
		pool, err := f.pool()
		if err != nil {
			return nil, err
		}
		cfg.TLS = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return clientv3.New(cfg)
}

// WaitHealthy waits until every running member answers and agrees on a
// leader.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var last error
	for {
		if last = c.healthy(ctx); last == nil {
			return nil
		}
		for _, m := range c.members {
			if m.exited() && m.running() {
				return fmt.Errorf("member %s exited: %s", m.Name, tail(m.Log))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %v (log of m0: %s)", last, tail(c.members[0].Log))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context) error {
	var leader uint64
	ids := map[uint64]bool{}
	for _, m := range c.members {
		if !m.running() {
			continue
		}
		id, l, err := c.status(ctx, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if l == 0 || (leader != 0 && l != leader) {
			return fmt.Errorf("%s: no agreed leader", m.Name)
		}
		ids[id], leader = true, l
	}
	if !ids[leader] {
		return errors.New("the leader the members know is not running")
	}
	return nil
}

// status returns a member's id and the leader it knows (0: none).
func (c *Cluster) status(ctx context.Context, m *Member) (id, leader uint64, err error) {
	cli, err := c.client(m.Endpoint())
	if err != nil {
		return 0, 0, err
	}
	defer cli.Close()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := cli.Status(sctx, m.Endpoint())
	if err != nil {
		return 0, 0, err
	}
	if len(st.Errors) > 0 {
		return 0, 0, errors.New(strings.Join(st.Errors, "; "))
	}
	return st.Header.MemberId, st.Leader, nil
}

// Leader returns the index of the member that is the leader.
func (c *Cluster) Leader(ctx context.Context) (int, error) {
	for i, m := range c.members {
		if !m.running() {
			continue
		}
		id, leader, err := c.status(ctx, m)
		if err != nil {
			return -1, err
		}
		if id == leader {
			return i, nil
		}
	}
	return -1, errors.New("no member is the leader")
}

// Kill sends SIGKILL to member i and waits for it to exit.
func (c *Cluster) Kill(i int) {
	if cmd, done := c.members[i].take(); cmd != nil {
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// Restart starts member i again on its data directory, after Kill.
func (c *Cluster) Restart(i int) error {
	return c.run(c.members[i], c.initialCluster(), "existing")
}

// initialCluster is etcd's --initial-cluster of the members.
func (c *Cluster) initialCluster() string {
	var initial []string
	for _, m := range c.members {
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	return strings.Join(initial, ",")
}

// take returns the member's process and its exit channel, and forgets
// them (nil if it is not running).
func (m *Member) take() (*exec.Cmd, chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := m.cmd
	m.cmd = nil
	return cmd, m.done
}

// Stop ends every member (SIGTERM, then SIGKILL after 10 seconds).
func (c *Cluster) Stop() {
	for _, m := range c.members {
		cmd, done := m.take()
		if cmd == nil {
			continue
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
	}
}

func (m *Member) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

func (m *Member) exited() bool {
	m.mu.Lock()
	done := m.done
	m.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the last lines of a log file, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}
