package indication

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/protocol/cimxml"
)

// consumer receives a subscription's events, one at a time, in order: a
// nil error means the event is delivered (the cursor advances past it),
// an error that it is to be retried.
type consumer interface {
	consume(ctx context.Context, seq int64, ind *cim.Object) error
}

// consumerFor returns the consumer of a subscription: the CIM-XML
// listener of a DMTF subscription, the LogFileEventConsumer or
// CommandLineEventConsumer of a WMI binding.
func (m *Manager) consumerFor(sub *cimom.IndicationSubscription) consumer {
	switch c := sub.Consumer; {
	case c == nil:
		return &cimxmlExport{m: m, dest: sub.Destination}
	case c.IsA(cimom.LogFileConsumerClass):
		return &logFile{inst: c}
	default:
		return &commandLine{m: m, inst: c}
	}
}

// cimxmlExport POSTs ExportIndication requests to a listener.
type cimxmlExport struct {
	m    *Manager
	dest string
}

func (x *cimxmlExport) consume(ctx context.Context, seq int64, ind *cim.Object) error {
	actx, cancel := context.WithTimeout(ctx, x.m.ExportTimeout)
	defer cancel()
	req, err := cimxml.NewExportRequest(actx, x.dest, strconv.FormatInt(seq, 10), ind)
	if err != nil {
		return err
	}
	resp, err := x.m.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return cimxml.CheckExportResponse(resp, 1<<20)
}

// Expand substitutes WMI's standard string template: %Name% is the
// event's property Name, %TargetInstance.Name% (any depth) a property of
// an embedded object, %% a percent sign. A NULL or missing property is
// empty; values are in their CIM text form (arrays as {a,b}).
func Expand(template string, ev *cim.Object) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(template, '%')
		if i < 0 {
			b.WriteString(template)
			return b.String()
		}
		b.WriteString(template[:i])
		rest := template[i+1:]
		j := strings.IndexByte(rest, '%')
		if j < 0 {
			b.WriteString(template[i:])
			return b.String()
		}
		if j == 0 {
			b.WriteByte('%')
		} else {
			b.WriteString(lookup(ev, rest[:j]))
		}
		template = rest[j+1:]
	}
}

// lookup is the text of a dotted property name in ev ("" when NULL or
// missing).
func lookup(ev *cim.Object, name string) string {
	obj := ev
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if obj == nil {
			return ""
		}
		v, err := obj.Get(strings.TrimSpace(p))
		if err != nil || v.IsNull() {
			return ""
		}
		if i == len(parts)-1 {
			if o, ok := v.V.(*cim.Object); ok {
				return "instance of " + o.Class
			}
			return cim.FormatValue(v)
		}
		obj, _ = v.V.(*cim.Object)
	}
	return ""
}

// logFile is a LogFileEventConsumer: a line of the expanded Text per
// event, appended to Filename and synced before the event counts as
// delivered. Past MaximumFileSize (bytes; 0 means no limit) the file is
// renamed Filename.001 (the next free number) and a new one started.
// IsUnicode writes UTF-16LE with a byte-order mark at the start of a
// file; else UTF-8.
type logFile struct {
	inst *cim.Object
}

func (l *logFile) consume(_ context.Context, _ int64, ind *cim.Object) error {
	name := str(l.inst, "Filename")
	unicode := boolean(l.inst, "IsUnicode")
	max := uint64(cimom.DefaultMaximumFileSize)
	if v, err := l.inst.Get("MaximumFileSize"); err == nil && !v.IsNull() {
		max, _ = v.V.(uint64)
	}
	line := Expand(str(l.inst, "Text"), ind) + "\n"
	data := []byte(line)
	if unicode {
		data = utf16le(line)
	}
	if st, err := os.Stat(name); err == nil && max > 0 && st.Size() > 0 && uint64(st.Size())+uint64(len(data)) > max {
		if err := rotate(name); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("LogFileEventConsumer: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() == 0 && unicode {
		data = append([]byte{0xff, 0xfe}, data...)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("LogFileEventConsumer: %w", err)
	}
	return nil
}

// rotate renames a full log file to the next free name.NNN.
func rotate(name string) error {
	for n := 1; n < 1000; n++ {
		next := fmt.Sprintf("%s.%03d", name, n)
		if _, err := os.Lstat(next); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(name, next); err != nil {
				return fmt.Errorf("LogFileEventConsumer: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("LogFileEventConsumer: %s.001 to .999 exist: remove some", name)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// ConsumerOptions say how CommandLineEventConsumer commands run.
type ConsumerOptions struct {
	// User runs the commands (default "nobody"). wbemd switches to it
	// when it runs as root; else it must be wbemd's own user.
	User string
	// AllowRoot lets User be root (uid 0); without it such a command is
	// refused.
	AllowRoot bool
}

// commandLine is a CommandLineEventConsumer: the command of its
// CommandLineTemplate (words split at blanks, "double quotes" group),
// each word expanded after the split so that a value never adds a word,
// run without a shell as ConsumerOptions.User, in WorkingDirectory (or
// /), with a small fixed environment, stdin, stdout and stderr on
// /dev/null. ExecutablePath, when set, is the program and the template's
// first word is its name; else the first word is the program (absolute,
// or found in /usr/local/bin:/usr/bin:/bin). The event counts as
// delivered when the command has exited (or was killed after KillTimeout
// seconds, 0 meaning none); a command that cannot start is retried.
type commandLine struct {
	m    *Manager
	inst *cim.Object
}

// safePath is the PATH of commands.
const safePath = "/usr/local/bin:/usr/bin:/bin"

// errRefused is a command that wbemd refuses to run with its settings.
var errRefused = errors.New("CommandLineEventConsumer refused")

// credential returns the user commands run as, and whether wbemd must
// switch to it.
func (o ConsumerOptions) credential() (*user.User, *syscall.Credential, error) {
	name := o.User
	if name == "" {
		name = "nobody"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: consumer user %q: %v", errRefused, name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, nil, fmt.Errorf("%w: consumer user %q has uid %s gid %s", errRefused, name, u.Uid, u.Gid)
	}
	if uid == 0 && !o.AllowRoot {
		return nil, nil, fmt.Errorf("%w: the consumer user %q is root; wbemd runs commands as root only with --consumer-allow-root", errRefused, name)
	}
	euid := os.Geteuid()
	switch {
	case euid == 0 && uid == 0:
		return u, nil, nil
	case euid == 0:
		return u, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	case uint64(euid) != uid:
		return nil, nil, fmt.Errorf("%w: wbemd runs as uid %d and cannot run commands as %q (uid %d): set --consumer-user to wbemd's own user", errRefused, euid, name, uid)
	}
	return u, nil, nil
}

// Check says whether commands can run with these options, and as whom:
// the error a command would be refused with, else the user's name and
// uid.
func (o ConsumerOptions) Check() (string, error) {
	u, _, err := o.credential()
	if err != nil {
		return "", err
	}
	return u.Username + " (uid " + u.Uid + ")", nil
}

// SplitCommandLine splits a command line into words: blanks separate,
// "double quotes" group (and are removed), \" is a quote inside them.
func SplitCommandLine(s string) []string {
	var words []string
	var b strings.Builder
	in, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && in && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			in, have = !in, true
		case (c == ' ' || c == '\t' || c == '\n' || c == '\r') && !in:
			if have || b.Len() > 0 {
				words = append(words, b.String())
				b.Reset()
				have = false
			}
		default:
			b.WriteByte(c)
		}
	}
	if have || b.Len() > 0 {
		words = append(words, b.String())
	}
	return words
}

func (c *commandLine) consume(ctx context.Context, seq int64, ind *cim.Object) error {
	u, cred, err := c.m.Consumers.credential()
	if err != nil {
		return err
	}
	words := SplitCommandLine(str(c.inst, "CommandLineTemplate"))
	for i := range words {
		words[i] = Expand(words[i], ind)
	}
	prog := str(c.inst, "ExecutablePath")
	switch {
	case prog != "" && len(words) == 0:
		words = []string{prog}
	case prog == "" && len(words) > 0:
		prog = words[0]
		if !filepath.IsAbs(prog) {
			for _, dir := range filepath.SplitList(safePath) {
				if st, err := os.Stat(filepath.Join(dir, prog)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
					prog = filepath.Join(dir, prog)
					break
				}
			}
		}
	}
	if !filepath.IsAbs(prog) {
		return fmt.Errorf("%w: program %q not found in %s", errRefused, prog, safePath)
	}
	var kill uint32
	if v, err := c.inst.Get("KillTimeout"); err == nil && !v.IsNull() {
		kill, _ = v.V.(uint32)
	}
	rctx := ctx
	if kill > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, time.Duration(kill)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(rctx, prog, words[1:]...)
	cmd.Args[0] = words[0]
	cmd.Dir = str(c.inst, "WorkingDirectory")
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.Env = []string{"PATH=" + safePath, "HOME=" + u.HomeDir, "USER=" + u.Username, "LOGNAME=" + u.Username, "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("CommandLineEventConsumer: %w", err)
	}
	err = cmd.Wait()
	log := c.m.Log.With("consumer", str(c.inst, "Name"), "program", prog, "user", u.Username, "pid", cmd.Process.Pid, "seq", seq)
	switch {
	case ctx.Err() != nil:
		return ctx.Err() // wbemd stops: the event is run again after a restart
	case rctx.Err() != nil:
		log.Warn("event consumer command killed after KillTimeout", "kill_timeout_s", kill)
	case err != nil:
		log.Warn("event consumer command failed", "err", err)
	default:
		log.Info("event consumer command ran")
	}
	return nil
}

// str is a string property's value ("" when NULL or absent).
func str(inst *cim.Object, name string) string {
	v, err := inst.Get(name)
	if err != nil {
		return ""
	}
	s, _ := v.V.(string)
	return s
}

// boolean is a boolean property's value (false when NULL or absent).
func boolean(inst *cim.Object, name string) bool {
	v, err := inst.Get(name)
	if err != nil {
		return false
	}
	b, _ := v.V.(bool)
	return b
}
