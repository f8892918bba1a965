package provhost

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider/wire"
)

// slot is one host: the providers that share a process (the same user,
// hosting group and command line), across the process's restarts.
type slot struct {
	sup  *Supervisor
	key  string
	spec hostSpec

	mu        sync.Mutex
	proc      *process      // the running process, or nil
	starting  chan struct{} // closed when the start in progress ends
	providers map[string]*entry
	crashes   int       // consecutive runs that ended early
	lastExit  time.Time // when the last process ended
	restarts  uint64    // processes started after the first
	started   uint64    // processes started
	// disabled is why the host is disabled after crashing repeatedly
	// ("" when it is not); disabledRev the registration revision then.
	disabled    string
	disabledRev int64
	lastError   string
	reviving    bool // revive runs
}

// hostSpec is how a host starts: the same for every provider of a slot.
type hostSpec struct {
	Command     string
	Args        []string
	Dir         string
	Env         []string
	User        string // "" for the daemon's provider user
	Root        bool   // the registration runs it as root
	Model       string // hosting model, for status
	InitTimeout time.Duration
}

// process is a running host process.
type process struct {
	slot    *slot
	cmd     *exec.Cmd
	pid     int
	conn    net.Conn
	w       *wire.Writer
	lim     *confinement
	started time.Time
	tail    *tailBuffer // the last lines of its output

	mu        sync.Mutex
	calls     map[uint64]*pending
	nextID    uint64
	inflight  int
	lastUsed  time.Time
	providers map[string]bool // served, by folded name (from its hello)
	stopping  bool            // wbemd stopped it: not a crash
	killed    error           // why wbemd killed it
	// sentQueries are the active event queries it was told of.
	sentQueries map[uint64]bool
	drops       atomic.Uint64 // events it raised that were dropped

	done   chan struct{} // closed when it ended and its calls failed
	reason error         // why it ended, for its calls
}

// acquire returns the running process, starting one if needed: after a
// crash, following the backoff; never when the host is disabled.
func (sl *slot) acquire(ctx context.Context) (*process, error) {
	for {
		sl.mu.Lock()
		if sl.disabled != "" {
			reason := sl.disabled
			sl.mu.Unlock()
			return nil, cim.Errorf(cim.EProviderDisabled, "the provider's host is disabled: %s; `wbem provider enable` enables it", reason)
		}
		if p := sl.proc; p != nil {
			select {
			case <-p.done:
			default:
				sl.mu.Unlock()
				return p, nil
			}
		}
		if wait := sl.starting; wait != nil {
			sl.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		delay := time.Until(sl.lastExit.Add(sl.sup.backoff(sl.crashes)))
		sl.starting = make(chan struct{})
		sl.mu.Unlock()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				sl.endStart(nil, nil)
				return nil, ctx.Err()
			}
		}
		p, err := sl.start(ctx)
		sl.endStart(p, err)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// endStart records the end of a start.
func (sl *slot) endStart(p *process, err error) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	close(sl.starting)
	sl.starting = nil
	if err != nil {
		sl.lastError = err.Error()
		if st := cim.StatusOf(err); st != cim.EQuotaViolation && st != cim.ECallCancelled && !errors.Is(err, context.Canceled) {
			sl.crashedLocked(err.Error()) // a start that fails is a run that ended early
		}
		return
	}
	if p != nil {
		sl.proc = p
	}
}

// crashedLocked counts a run that ended early and disables the host after
// CrashLimit of them in a row. sl.mu is held.
func (sl *slot) crashedLocked(why string) {
	sl.lastExit = time.Now()
	sl.crashes++
	limit := sl.sup.opts.CrashLimit
	if limit > 0 && sl.crashes >= limit && sl.disabled == "" {
		sl.disabled = fmt.Sprintf("it failed %d times in a row (last: %s)", sl.crashes, why)
		sl.disabledRev = 0
		var regs []*entry
		for _, e := range sl.providers {
			regs = append(regs, e)
			if e.reg.Revision > sl.disabledRev {
				sl.disabledRev = e.reg.Revision
			}
		}
		sl.sup.disabled(regs, sl.disabled)
	}
}

// start starts a host process and greets it.
func (sl *slot) start(ctx context.Context) (*process, error) {
	s := sl.sup
	spec, err := sl.launchSpec()
	if err != nil {
		return nil, err
	}
	if err := s.reserveProcess(); err != nil {
		return nil, err
	}
	released := false
	release := func() {
		if !released {
			released = true
			s.releaseProcess()
		}
	}
	s.refreshConfig(ctx) // a host starts with the quotas of the moment
	lim, err := s.conf.host(s.nextHostID(), s.quotas())
	if err != nil {
		release()
		return nil, cim.Errorf(cim.EProviderLoadFailure, "cannot confine the host: %v", err)
	}
	spec.CgroupProcs, spec.Rlimits = lim.procs, lim.rlimits
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		lim.release()
		release()
		return nil, cim.Errorf(cim.EProviderLoadFailure, "socketpair: %v", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "wire"), os.NewFile(uintptr(fds[1]), "wire")
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		theirs.Close()
		lim.release()
		release()
		return nil, cim.Errorf(cim.EProviderLoadFailure, "wire: %v", err)
	}
	text, _ := json.Marshal(spec)
	cmd := exec.Command(s.opts.Launcher)
	cmd.Env = []string{launchEnv + "=" + string(text)}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err == nil {
		cmd.Stderr = cmd.Stdout
		err = cmd.Start()
	}
	theirs.Close()
	if err != nil {
		conn.Close()
		lim.release()
		release()
		return nil, cim.Errorf(cim.EProviderLoadFailure, "start %s: %v", s.opts.Launcher, err)
	}
	p := &process{slot: sl, cmd: cmd, pid: cmd.Process.Pid, conn: conn, w: wire.NewWriter(conn), lim: lim,
		started: time.Now(), lastUsed: time.Now(), calls: map[uint64]*pending{}, done: make(chan struct{}),
		tail: &tailBuffer{}}
	logged := make(chan struct{})
	go p.logOutput(out, logged)
	exited := make(chan error, 1)
	go func() {
		<-logged
		exited <- cmd.Wait()
	}()
	sl.mu.Lock()
	restarted := sl.started > 0
	sl.started++
	if restarted {
		sl.restarts++
	}
	sl.mu.Unlock()
	r := wire.NewReader(conn, s.opts.MaxFrame)
	if err := p.greet(r, restarted, sl.spec.InitTimeout); err != nil {
		p.kill(err)
		conn.Close()
		exitErr := <-exited
		lim.release()
		release()
		if cim.StatusOf(err) == cim.EProviderLoadFailure && exitErr != nil {
			err = cim.Errorf(cim.EProviderLoadFailure, "%s (%v)%s", cim.AsError(err).Description, exitErr, p.tail.suffix())
		}
		return nil, err
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p.readLoop(r)
	}()
	go func() {
		exitErr := <-exited
		conn.Close() // ends the reader if the host left a child holding the wire
		<-readDone
		p.finish(exitErr)
		lim.release()
		release()
	}()
	s.log.Info("provider host started", "host", sl.key, "pid", p.pid, "user", spec.userName, "limits", s.conf.mode)
	p.sendQueries()
	return p, nil
}

// launchSpec resolves how the launcher runs the host: the user (root
// only if registered so; wbemd itself when it is not root) and the
// environment.
func (sl *slot) launchSpec() (*launchSpecNamed, error) {
	s, h := sl.sup, sl.spec
	if _, err := os.Stat(h.Command); errors.Is(err, os.ErrNotExist) {
		return nil, cim.Errorf(cim.EProviderNotFound, "the provider's Command %s does not exist", h.Command)
	} else if err != nil {
		return nil, cim.Errorf(cim.EProviderLoadFailure, "the provider's Command: %v", err)
	}
	name := h.User
	if h.Root {
		name = "root"
	}
	if name == "" {
		name = s.opts.User
	}
	spec := &launchSpecNamed{launchSpec: launchSpec{Command: h.Command, Args: h.Args, Dir: h.Dir}}
	me, err := user.Current()
	if err != nil {
		return nil, cim.Errorf(cim.EProviderLoadFailure, "who runs wbemd: %v", err)
	}
	u := me
	if os.Geteuid() == 0 {
		if name != "" {
			if u, err = user.Lookup(name); err != nil {
				return nil, cim.Errorf(cim.EProviderLoadFailure, "the provider's user %s: %v", name, err)
			}
		}
		if u.Uid != "0" {
			spec.SetUser = true
			spec.UID, _ = strconv.Atoi(u.Uid)
			spec.GID, _ = strconv.Atoi(u.Gid)
			spec.Groups = []int{spec.GID}
		}
	} else if name != "" && name != me.Username && (h.User != "" || h.Root) {
		return nil, cim.Errorf(cim.EProviderLoadFailure, "wbemd runs as %s and cannot start a host as %s", me.Username, name)
	}
	spec.userName = u.Username
	home := u.HomeDir
	if home == "" {
		home = "/"
	}
	spec.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + home,
		"USER=" + u.Username, "LOGNAME=" + u.Username}, h.Env...)
	return spec, nil
}

// launchSpecNamed is a launchSpec with the user's name, for logs.
type launchSpecNamed struct {
	launchSpec
	userName string
}

// greet sends hello and reads the host's.
func (p *process) greet(r *wire.Reader, restarted bool, timeout time.Duration) error {
	if err := p.w.Write(&wire.Message{Type: wire.TypeHello, Versions: []int{wire.Version}, Restarted: restarted, MaxFrame: p.slot.sup.opts.MaxFrame}); err != nil {
		return cim.Errorf(cim.EProviderLoadFailure, "the host closed its wire before hello")
	}
	p.conn.SetReadDeadline(time.Now().Add(timeout))
	defer p.conn.SetReadDeadline(time.Time{})
	m, err := r.Read()
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return cim.Errorf(cim.EProviderLoadFailure, "the host did not answer hello within %v", timeout)
	case err != nil:
		return cim.Errorf(cim.EProviderLoadFailure, "the host ended before its hello: %v", err)
	case m.Type == wire.TypeError:
		st, ok := cim.ParseStatus(m.Status)
		if !ok || !st.IsError() {
			st = cim.EProviderLoadFailure
		}
		return cim.Errorf(st, "the host could not start: %s", m.Description)
	case m.Type != wire.TypeHello:
		return cim.Errorf(cim.EProviderLoadFailure, "the host answered hello with a %q message", m.Type)
	case m.Version != wire.Version:
		return cim.Errorf(cim.EProviderLoadFailure, "the host speaks wire version %d; wbemd speaks %d", m.Version, wire.Version)
	}
	p.providers = map[string]bool{}
	for _, n := range m.Providers {
		p.providers[cim.Fold(n)] = true
	}
	return nil
}

// serves reports whether the host said it serves provider name.
func (p *process) serves(name string) bool { return p.providers[cim.Fold(name)] }

// readLoop hands each message to its call until the wire ends. A
// malformed message ends the host: what it sends next cannot be trusted.
func (p *process) readLoop(r *wire.Reader) {
	for {
		m, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.kill(fmt.Errorf("it sent a malformed message: %v", err))
			}
			return
		}
		if m.ID == 0 {
			switch m.Type {
			case wire.TypeError:
				p.slot.sup.log.Warn("provider host error", "host", p.slot.key, "pid", p.pid, "status", m.Status, "description", m.Description)
			case wire.TypeEvent:
				p.event(m)
			}
			continue
		}
		if err := p.deliver(m); err != nil {
			p.kill(err)
			return
		}
	}
}

// kill ends the process for why (its calls fail with it).
func (p *process) kill(why error) {
	p.mu.Lock()
	if p.killed == nil && !p.stopping {
		p.killed = why
	}
	p.mu.Unlock()
	syscall.Kill(-p.pid, syscall.SIGKILL)
	syscall.Kill(p.pid, syscall.SIGKILL)
}

// stop asks the host to end (its wire closes) and kills it after grace.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	if uc, ok := p.conn.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	go func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			syscall.Kill(-p.pid, syscall.SIGKILL)
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}()
}

// finish runs once the process has ended: it fails the calls in flight
// with the reason, and counts a run that wbemd did not end as a crash.
func (p *process) finish(exitErr error) {
	sl := p.slot
	p.mu.Lock()
	stopping, killed := p.stopping, p.killed
	p.mu.Unlock()
	var reason *cim.Error
	quota := p.lim.violation()
	switch {
	case quota != "":
		reason = cim.Errorf(cim.EQuotaViolation, "the host (pid %d) exceeded its quota %s (%s) and was stopped", p.pid, quota, sl.sup.quotaText(quota))
	case killed != nil:
		reason = cim.Errorf(cim.EProviderFailure, "the host (pid %d) was stopped: %v", p.pid, killed)
	case stopping:
		reason = cim.Errorf(cim.EProviderFailure, "the host (pid %d) was stopped", p.pid)
	default:
		status := "exited"
		if exitErr != nil {
			status = exitErr.Error()
		}
		reason = cim.Errorf(cim.EProviderFailure, "the host process (pid %d) ended: %s%s", p.pid, status, p.tail.suffix())
	}
	p.mu.Lock()
	p.reason = reason
	calls := p.calls
	p.calls = map[uint64]*pending{}
	p.mu.Unlock()
	for _, pd := range calls {
		pd.stopGrace()
	}
	close(p.done)
	sl.mu.Lock()
	if sl.proc == p {
		sl.proc = nil
	}
	if !stopping || quota != "" {
		sl.lastError = reason.Description
		if time.Since(p.started) >= sl.sup.opts.StableAfter {
			sl.crashes = 0
		}
		sl.crashedLocked(reason.Description)
	} else {
		sl.lastExit = time.Now()
	}
	sl.mu.Unlock()
	level := "provider host ended"
	if stopping && quota == "" {
		sl.sup.log.Info(level, "host", sl.key, "pid", p.pid)
	} else {
		sl.sup.log.Warn(level, "host", sl.key, "pid", p.pid, "reason", reason.Description)
	}
	if !sl.sup.isClosed() && len(sl.activeQueries()) > 0 {
		go sl.revive() // subscriptions wait for its events
	}
}

// logOutput logs what the host writes to its standard output and error,
// a line at a time (lines cut at 4 KiB), and keeps the last lines.
func (p *process) logOutput(r io.Reader, done chan<- struct{}) {
	defer close(done)
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := strings.TrimRight(string(line), "\r\n")
			p.tail.add(text)
			p.slot.sup.log.Info("provider output", "host", p.slot.key, "pid", p.pid, "line", text)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// tailBuffer keeps what an error about a host should quote of its
// output: the last line, and the last "fatal error:" or "panic:" line of
// a Go runtime (its goroutine stacks follow it).
type tailBuffer struct {
	mu          sync.Mutex
	fatal, last string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") {
		t.fatal = line
	}
	t.last = line
}

// suffix is "; its last output: ..." or "".
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.last == "":
		return ""
	case t.fatal == "" || t.fatal == t.last:
		return "; its last output: " + t.last
	}
	return "; its last output: " + t.fatal + " ... " + t.last
}
