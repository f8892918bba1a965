// Package provhost runs wbemd's out-of-process providers: it is the
// cimom.ProviderHost of the daemon. Each host is a child process started
// on first use through a launcher (wbemd's own binary, re-executed) that
// confines it — its own cgroup with the quotas of
// __ProviderHostQuotaConfiguration, resource limits, an unprivileged user
// — and then executes the provider's Command. wbemd talks to it over a
// socket on its file descriptor 3 with the protocol of package
// provider/wire.
//
// Every call has a deadline (PROVIDER_TIMED_OUT) and is cancelled at the
// provider when its caller goes away; a host that dies fails its calls
// (PROVIDER_FAILURE, or QUOTA_VIOLATION when a quota stopped it) and is
// started again by the next call, after a backoff when it keeps failing,
// until CrashLimit failures in a row disable it (PROVIDER_DISABLED).
// Idle hosts stop after ClearAfter (__ObjectProviderCacheControl).
// Nothing here holds a lock while a provider works.
package provhost

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/provider/wire"
)

// Options configure a Supervisor. Zero values take the defaults given.
type Options struct {
	Logger *slog.Logger
	// User runs hosts whose registration names no user, when wbemd runs
	// as root (default "nobody"). A wbemd that is not root runs every
	// host as itself.
	User string
	// Timeout bounds each call when the registration gives no
	// OperationTimeoutInterval (default 60 s).
	Timeout time.Duration
	// InitTimeout bounds a host's start, up to its hello (default 10 s).
	InitTimeout time.Duration
	// CancelGrace is how long a host may take to finish a call after its
	// cancellation before it is killed (default 10 s).
	CancelGrace time.Duration
	// StopGrace is how long a host may take to exit after its wire
	// closes before it is killed (default 5 s).
	StopGrace time.Duration
	// MaxFrame is the largest message a host may send (default 16 MiB).
	MaxFrame int
	// Window is how many instances of an enumeration may be in flight
	// (default 256).
	Window int
	// CrashLimit disables a host after that many failed runs in a row
	// (default 5; negative: never). StableAfter is how long a run must
	// last to end the series (default 60 s).
	CrashLimit  int
	StableAfter time.Duration
	// BackoffMax bounds the wait before a restart after failures
	// (default 10 s): 0 after the first, then 100 ms doubling.
	BackoffMax time.Duration
	// Limits chooses how quotas are enforced (LimitsAuto, default).
	Limits string
	// Launcher is the executable started as the launcher (default
	// /proc/self/exe: this program, which links this package).
	Launcher string
	// Config reads the quotas and ClearAfter from the repository (nil:
	// DefaultQuotas and 30 s).
	Config func(ctx context.Context) (Config, error)
	// Registered reports whether a provider is still registered (nil:
	// always); a host whose providers are all gone is stopped.
	Registered func(ctx context.Context, ns, name string) bool
	// Disable records in the repository that a provider was disabled
	// after crashing (__Win32Provider.Enabled = FALSE).
	Disable func(ctx context.Context, reg *cimom.Registration, reason string) error
}

// Config is the host configuration the repository holds.
type Config struct {
	Quotas     Quotas
	ClearAfter time.Duration // idle time after which a host stops
}

// DefaultClearAfter is ClearAfter without an __ObjectProviderCacheControl
// instance.
const DefaultClearAfter = 30 * time.Second

// Supervisor runs the hosts.
type Supervisor struct {
	opts Options
	log  *slog.Logger
	conf *confiner

	mu      sync.Mutex
	entries map[string]*entry // by folded namespace and name
	slots   map[string]*slot  // by host key
	running int               // host processes
	hostIDs uint64
	config  Config

	accounts accounts // wbemd users to Unix accounts, for the wire's caller

	queryIDs atomic.Uint64 // numbers event queries (newQuery)

	wg     sync.WaitGroup // background work (sweep, disable writes)
	stop   chan struct{}
	closed bool
}

var _ cimom.ProviderHost = (*Supervisor)(nil)

// New returns a Supervisor; it starts no process until a call needs one.
func New(opts Options) (*Supervisor, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if opts.User == "" {
		opts.User = "nobody"
	}
	def(&opts.Timeout, 60*time.Second)
	def(&opts.InitTimeout, 10*time.Second)
	def(&opts.CancelGrace, 10*time.Second)
	def(&opts.StopGrace, 5*time.Second)
	def(&opts.StableAfter, 60*time.Second)
	def(&opts.BackoffMax, 10*time.Second)
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = wire.DefaultMaxFrame
	}
	if opts.Window <= 0 {
		opts.Window = 256
	}
	if opts.CrashLimit == 0 {
		opts.CrashLimit = 5
	}
	if opts.Launcher == "" {
		opts.Launcher = "/proc/self/exe"
	}
	conf, err := newConfiner(opts.Limits)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{opts: opts, log: opts.Logger, conf: conf, entries: map[string]*entry{}, slots: map[string]*slot{},
		config: Config{Quotas: DefaultQuotas, ClearAfter: DefaultClearAfter}, stop: make(chan struct{})}
	s.refreshConfig(context.Background())
	s.wg.Add(1)
	go s.sweep()
	return s, nil
}

// isClosed reports whether Close was called.
func (s *Supervisor) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// LimitsMode returns how quotas are enforced: "cgroup2", "cgroup1" or
// "rlimit".
func (s *Supervisor) LimitsMode() string { return s.conf.mode }

// Provider binds a registration to its host (cimom.ProviderHost).
func (s *Supervisor) Provider(reg *cimom.Registration) (cimom.HostedProvider, error) {
	model, group := reg.Hosting()
	spec := hostSpec{Command: reg.Command, Args: reg.Arguments, Dir: reg.WorkingDirectory, Env: reg.Environment,
		User: reg.User, Root: reg.RunsAsRoot(), Model: reg.HostingModel, InitTimeout: s.opts.InitTimeout}
	if reg.InitializationTimeout > 0 {
		spec.InitTimeout = reg.InitializationTimeout
	}
	key := hostKey(spec, group)
	if strings.EqualFold(model, "SelfHost") {
		key += "\x00" + cim.Fold(reg.Namespace) + "\x00" + cim.Fold(reg.Name) // a process of its own
	}
	ek := cim.Fold(reg.Namespace) + "\x00" + cim.Fold(reg.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, cim.Errorf(cim.EShuttingDown, "wbemd is shutting down")
	}
	e := s.entries[ek]
	if e == nil {
		e = &entry{}
		s.entries[ek] = e
	}
	e.reg = reg
	sl := s.slots[key]
	if sl == nil {
		sl = &slot{sup: s, key: key, spec: spec, providers: map[string]*entry{}}
		s.slots[key] = sl
	}
	if old := e.slot; old != nil && old != sl {
		s.leaveLocked(old, ek)
	}
	e.slot = sl
	sl.mu.Lock()
	sl.providers[ek] = e
	if reg.Enabled && sl.disabled != "" && reg.Revision > sl.disabledRev {
		s.log.Info("provider host enabled", "host", sl.key, "provider", reg.Name)
		sl.disabled, sl.crashes = "", 0
	}
	sl.mu.Unlock()
	e.evMu.Lock()
	active := len(e.queries) > 0
	e.evMu.Unlock()
	if active {
		go sl.revive() // a host (new, or enabled again) for its active queries; a no-op when one runs
	}
	return &hosted{s: s, e: e}, nil
}

// hostKey identifies a host: providers with the same key share a process.
func hostKey(h hostSpec, group string) string {
	parts := []string{h.User, fmt.Sprint(h.Root), cim.Fold(group), h.Command, h.Dir}
	parts = append(parts, h.Args...)
	parts = append(parts, "\x01")
	parts = append(parts, h.Env...)
	return strings.Join(parts, "\x00")
}

// leaveLocked takes provider ek out of slot sl, stopping the slot's host
// when no provider is left. s.mu is held.
func (s *Supervisor) leaveLocked(sl *slot, ek string) {
	sl.mu.Lock()
	delete(sl.providers, ek)
	empty := len(sl.providers) == 0
	p := sl.proc
	sl.mu.Unlock()
	if empty {
		delete(s.slots, sl.key)
		if p != nil {
			p.stop(s.opts.StopGrace)
		}
	}
}

// backoff is the wait before starting a host after crashes failed runs.
func (s *Supervisor) backoff(crashes int) time.Duration {
	if crashes < 2 {
		return 0
	}
	d := 100 * time.Millisecond << min(crashes-2, 20)
	return min(d, s.opts.BackoffMax)
}

func (s *Supervisor) nextHostID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostIDs++
	return s.hostIDs
}

// reserveProcess counts a host process, within ProcessLimitAllHosts.
func (s *Supervisor) reserveProcess() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cim.Errorf(cim.EShuttingDown, "wbemd is shutting down")
	}
	if limit := s.config.Quotas.ProcessLimitAllHosts; limit > 0 && s.running >= int(limit) {
		return cim.Errorf(cim.EQuotaViolation, "%d provider hosts run already: the quota ProcessLimitAllHosts is %d", s.running, limit)
	}
	s.running++
	return nil
}

func (s *Supervisor) releaseProcess() {
	s.mu.Lock()
	s.running--
	s.mu.Unlock()
}

func (s *Supervisor) quotas() Quotas {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config.Quotas
}

// quotaText describes the value of a quota, for errors.
func (s *Supervisor) quotaText(name string) string {
	q := s.quotas()
	switch name {
	case "MemoryPerHost":
		return fmt.Sprintf("%d bytes", q.MemoryPerHost)
	case "MemoryAllHosts":
		return fmt.Sprintf("%d bytes", q.MemoryAllHosts)
	case "ThreadsPerHost":
		return fmt.Sprintf("%d threads", q.ThreadsPerHost)
	}
	return name
}

// disabled records, in the background, that the providers of a host were
// disabled.
func (s *Supervisor) disabled(entries []*entry, reason string) {
	s.log.Error("provider host disabled", "reason", reason)
	if s.opts.Disable == nil {
		return
	}
	regs := make([]*cimom.Registration, 0, len(entries))
	for _, e := range entries {
		regs = append(regs, e.reg)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, reg := range regs {
			if err := s.opts.Disable(ctx, reg, reason); err != nil {
				s.log.Warn("cannot record a disabled provider", "provider", reg.Name, "namespace", reg.Namespace, "err", err)
			}
		}
	}()
}

// refreshConfig reads the repository's quotas and ClearAfter and applies
// the all-hosts memory quota.
func (s *Supervisor) refreshConfig(ctx context.Context) {
	cfg := Config{Quotas: DefaultQuotas, ClearAfter: DefaultClearAfter}
	if s.opts.Config != nil {
		c, err := s.opts.Config(ctx)
		if err != nil {
			s.log.Warn("cannot read the provider host configuration", "err", err)
			return
		}
		cfg = c
	}
	s.mu.Lock()
	s.config = cfg
	s.mu.Unlock()
	if err := s.conf.setAll(cfg.Quotas); err != nil {
		s.log.Warn("cannot apply MemoryAllHosts", "err", err)
	}
}

// sweep stops idle hosts and hosts whose providers are no longer
// registered, and follows configuration changes.
func (s *Supervisor) sweep() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		every := min(max(s.config.ClearAfter/2, 50*time.Millisecond), time.Second)
		s.mu.Unlock()
		t := time.NewTimer(every)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.refreshConfig(ctx)
		s.sweepOnce(ctx)
		cancel()
	}
}

func (s *Supervisor) sweepOnce(ctx context.Context) {
	s.mu.Lock()
	clearAfter := s.config.ClearAfter
	type provider struct {
		key string
		reg *cimom.Registration
	}
	var regs []provider
	for k, e := range s.entries {
		regs = append(regs, provider{k, e.reg})
	}
	s.mu.Unlock()
	if s.opts.Registered != nil {
		for _, p := range regs {
			if s.opts.Registered(ctx, p.reg.Namespace, p.reg.Name) {
				continue
			}
			s.mu.Lock()
			if e := s.entries[p.key]; e != nil && e.reg == p.reg {
				delete(s.entries, p.key)
				s.leaveLocked(e.slot, p.key)
				s.log.Info("provider unregistered", "provider", p.reg.Name, "namespace", p.reg.Namespace)
			}
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	slots := make([]*slot, 0, len(s.slots))
	for _, sl := range s.slots {
		slots = append(slots, sl)
	}
	s.mu.Unlock()
	for _, sl := range slots {
		sl.mu.Lock()
		p := sl.proc
		sl.mu.Unlock()
		if p == nil {
			continue
		}
		p.mu.Lock()
		idle := p.inflight == 0 && time.Since(p.lastUsed) >= clearAfter
		p.mu.Unlock()
		if idle && len(sl.activeQueries()) == 0 { // a host with active event queries stays up
			s.log.Info("provider host idle: stopping it", "host", sl.key, "pid", p.pid)
			p.stop(s.opts.StopGrace)
		}
	}
}

// Unload stops the host of provider name in ns now (its next call starts
// it again).
func (s *Supervisor) Unload(ns, name string) error {
	s.mu.Lock()
	e := s.entries[cim.Fold(ns)+"\x00"+cim.Fold(name)]
	s.mu.Unlock()
	if e == nil {
		return cim.Errorf(cim.EProviderNotFound, "provider %s of %s is not loaded", name, ns)
	}
	e.slot.mu.Lock()
	p := e.slot.proc
	e.slot.mu.Unlock()
	if p != nil {
		p.stop(s.opts.StopGrace)
		<-p.done
	}
	return nil
}

// Close stops every host (waiting for them until ctx ends) and removes
// the cgroups.
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	var procs []*process
	for _, sl := range s.slots {
		sl.mu.Lock()
		if sl.proc != nil {
			procs = append(procs, sl.proc)
		}
		sl.mu.Unlock()
	}
	s.mu.Unlock()
	for _, p := range procs {
		p.stop(s.opts.StopGrace)
	}
	var err error
	for _, p := range procs {
		select {
		case <-p.done:
		case <-ctx.Done():
			p.kill(fmt.Errorf("wbemd stopped"))
			err = ctx.Err()
		}
	}
	s.wg.Wait()
	s.conf.close()
	return err
}

// Status is the state of one provider, for `wbem provider` and /metrics.
type Status struct {
	Namespace, Name string
	Command         string
	HostingModel    string
	User            string // the user its host runs as ("" until it starts)
	State           string // "running", "stopped", "starting" or "disabled"
	PID             int    // the host's process id (0 when none runs)
	Calls, Errors   uint64
	Restarts        uint64
	MemoryBytes     uint64 // the host's memory (cgroup, or resident set)
	LastError       string
	Started         time.Time
	Enabled         bool // the registration's Enabled
}

// Statuses returns the state of every provider bound since wbemd started,
// by namespace and name.
func (s *Supervisor) Statuses() []Status {
	s.mu.Lock()
	entries := make([]*entry, 0, len(s.entries))
	for _, e := range s.entries {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	out := make([]Status, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.status())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func (e *entry) status() Status {
	reg, sl := e.reg, e.slot
	st := Status{Namespace: reg.Namespace, Name: reg.Name, Command: reg.Command, HostingModel: reg.HostingModel,
		Calls: e.calls.Load(), Errors: e.errors.Load(), State: "stopped", Enabled: reg.Enabled}
	if v, ok := e.lastError.Load().(string); ok {
		st.LastError = v
	}
	sl.mu.Lock()
	p := sl.proc
	st.Restarts = sl.restarts
	switch {
	case sl.disabled != "":
		st.State, st.LastError = "disabled", sl.disabled
	case sl.starting != nil:
		st.State = "starting"
	}
	if st.LastError == "" {
		st.LastError = sl.lastError
	}
	sl.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
		default:
			st.State, st.PID, st.Started = "running", p.pid, p.started
			st.MemoryBytes = p.lim.memory(p.pid)
			st.User = userOf(p.pid)
		}
	}
	return st
}

// userOf names the owner of a process.
func userOf(pid int) string {
	fi, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		return ""
	}
	return ownerName(fi)
}

// WriteMetrics writes the providers' counters in Prometheus's text
// format, for /metrics.
func (s *Supervisor) WriteMetrics(w io.Writer) {
	sts := s.Statuses()
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	fmt.Fprintln(w, "# HELP wbemd_provider_hosts Provider host processes running.")
	fmt.Fprintln(w, "# TYPE wbemd_provider_hosts gauge")
	fmt.Fprintf(w, "wbemd_provider_hosts %d\n", running)
	for _, m := range []struct {
		name, kind, help string
		value            func(Status) uint64
	}{
		{"wbemd_provider_calls_total", "counter", "Calls to a provider.", func(st Status) uint64 { return st.Calls }},
		{"wbemd_provider_errors_total", "counter", "Calls to a provider that failed.", func(st Status) uint64 { return st.Errors }},
		{"wbemd_provider_restarts_total", "counter", "Starts of a provider's host after its first.", func(st Status) uint64 { return st.Restarts }},
		{"wbemd_provider_up", "gauge", "1 when a provider's host runs.", func(st Status) uint64 {
			if st.State == "running" {
				return 1
			}
			return 0
		}},
		{"wbemd_provider_disabled", "gauge", "1 when a provider's host is disabled after crashing.", func(st Status) uint64 {
			if st.State == "disabled" {
				return 1
			}
			return 0
		}},
		{"wbemd_provider_memory_bytes", "gauge", "Memory of a provider's host.", func(st Status) uint64 { return st.MemoryBytes }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind)
		for _, st := range sts {
			fmt.Fprintf(w, "%s{namespace=%q,provider=%q} %d\n", m.name, st.Namespace, st.Name, m.value(st))
		}
	}
}
