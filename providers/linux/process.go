package linux

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// proc is one process as /proc describes it.
type proc struct {
	PID, PPID, PGRP, Session, TTY int
	State                         byte
	Comm                          string // the command name (at most 15 bytes)
	MinFlt, MajFlt                uint64
	UTime, STime                  uint64 // clock ticks
	Priority, Nice                int64
	Threads                       uint64
	Start                         uint64 // clock ticks after boot
	VSize, RSS                    uint64 // bytes

	UID, EUID, GID        uint32
	VmPeak, VmHWM         uint64 // KiB
	RssAnon, VmSwap       uint64 // KiB
	Args                  []string
	Exe                   string // "" when unknown (a kernel thread, or not ours to read)
	FDs                   int    // open file descriptors; -1 when unknown
	hasStatus, hasCmdline bool
}

// procNeeds says which of the costlier files a read needs.
type procNeeds struct {
	exe, fds bool
}

var allNeeds = procNeeds{exe: true, fds: true}

// errGone is the error of a process that ended while it was read.
var errGone = errors.New("the process ended")

// readProc reads process pid; errGone if it is not there (anymore).
func readProc(r *reader, pid int, need procNeeds) (*proc, error) {
	dir := procRoot + "/" + strconv.Itoa(pid)
	b, err := r.readNow(dir + "/stat")
	if err != nil {
		if isNotExist(err) {
			return nil, errGone
		}
		return nil, err
	}
	p := &proc{PID: pid, FDs: -1}
	if err := p.parseStat(b); err != nil {
		return nil, fmt.Errorf("%s/stat: %w", dir, err)
	}
	if b, err := r.readNow(dir + "/status"); err == nil {
		p.parseStatus(b)
	} else if isNotExist(err) {
		return nil, errGone
	}
	if b, err := r.read(dir + "/cmdline"); err == nil {
		p.hasCmdline = true
		b = bytes.TrimRight(b, "\x00")
		if len(b) > 0 {
			p.Args = strings.Split(string(b), "\x00")
		}
	}
	if need.exe {
		p.Exe = strings.TrimSuffix(r.readlink(dir+"/exe"), " (deleted)")
	}
	if need.fds {
		p.FDs = r.countFDs(dir + "/fd")
	}
	return p, nil
}

// parseStat reads /proc/[pid]/stat (proc(5)).
func (p *proc) parseStat(b []byte) error {
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open || closing+2 > len(b) {
		return errors.New("malformed")
	}
	p.Comm = string(b[open+1 : closing])
	f := bytes.Fields(b[closing+2:])
	if len(f) < 22 {
		return errors.New("too few fields")
	}
	num := func(i int) int64 {
		n, _ := strconv.ParseInt(string(f[i]), 10, 64)
		return n
	}
	unum := func(i int) uint64 {
		n, _ := strconv.ParseUint(string(f[i]), 10, 64)
		return n
	}
	p.State = f[0][0]
	p.PPID, p.PGRP, p.Session, p.TTY = int(num(1)), int(num(2)), int(num(3)), int(num(4))
	p.MinFlt, p.MajFlt = unum(7), unum(9)
	p.UTime, p.STime = unum(11), unum(12)
	p.Priority, p.Nice = num(15), num(16)
	p.Threads = unum(17)
	p.Start = unum(19)
	p.VSize, p.RSS = unum(20), unum(21)*pageSize
	return nil
}

// parseStatus reads the ids and memory sizes of /proc/[pid]/status, in
// one pass over its lines.
func (p *proc) parseStatus(b []byte) {
	p.hasStatus = true
	ids := func(v []byte) (first, second uint32) {
		f := bytes.Fields(v)
		if len(f) >= 2 {
			a, _ := strconv.ParseUint(string(f[0]), 10, 32)
			c, _ := strconv.ParseUint(string(f[1]), 10, 32)
			return uint32(a), uint32(c)
		}
		return 0, 0
	}
	seen := 0 // the keys read: the first line of a key counts, as field reads it
	for len(b) > 0 && seen != 1<<6-1 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		key, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		bit, dst := 0, (*uint64)(nil)
		switch string(key) {
		case "Uid":
			bit = 1
		case "Gid":
			bit = 2
		case "VmPeak":
			bit, dst = 4, &p.VmPeak
		case "VmHWM":
			bit, dst = 8, &p.VmHWM
		case "RssAnon":
			bit, dst = 16, &p.RssAnon
		case "VmSwap":
			bit, dst = 32, &p.VmSwap
		}
		if bit == 0 || seen&bit != 0 {
			continue
		}
		seen |= bit
		v = bytes.TrimSpace(v)
		switch {
		case dst != nil:
			*dst, _ = kbValue(v)
		case bit == 1:
			p.UID, p.EUID = ids(v)
		default:
			p.GID, _ = ids(v)
		}
	}
}

// statCountsFDs reports whether the kernel gives the number of a
// process's open files as the size of its /proc/[pid]/fd (Linux 6.2 and
// later): this process's own has at least the files every process
// inherits.
var statCountsFDs = sync.OnceValue(func() bool {
	n, ok := (&reader{}).size(procRoot + "/self/fd")
	return ok && n > 0
})

// countFDs counts the open files of a process from its fd directory:
// one stat where the kernel gives the count as the directory's size
// (the listing, which makes a directory entry of each file, costs ten
// times as much), else the listing; -1 when neither can be read.
func (r *reader) countFDs(dir string) int {
	if statCountsFDs() {
		if n, ok := r.size(dir); ok {
			return int(n)
		}
		return -1
	}
	return countDir(dir)
}

// countDir counts the entries of a directory; -1 when it cannot be read.
func countDir(dir string) int {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	defer syscall.Close(fd)
	var buf [8192]byte
	n := 0
	for {
		m, err := syscall.ReadDirent(fd, buf[:])
		if err != nil {
			return -1
		}
		if m == 0 {
			return n
		}
		for off := 0; off < m; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			name := buf[off+19 : off+reclen]
			if name[0] != '.' {
				n++
			}
			off += reclen
		}
	}
}

// Name is the process's name as ps -o comm and psutil give it: the
// command name, or the base name of its first argument when the command
// name is that name cut at 15 bytes.
func (p *proc) Name() string {
	if len(p.Comm) >= 15 && len(p.Args) > 0 {
		base := filepath.Base(strings.Fields(p.Args[0] + " x")[0])
		if strings.HasPrefix(base, p.Comm) {
			return base
		}
	}
	return p.Comm
}

// CommandLine is the arguments as one line: each argument that holds a
// space, a quote or nothing between double quotes. A kernel thread has
// none ("").
func (p *proc) CommandLine() string {
	var b strings.Builder
	for i, a := range p.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " \t\"") {
			b.WriteString(strconv.Quote(a))
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

// startedAt is the process's start, in seconds and microseconds since
// the epoch.
func (p *proc) startedAt(btime int64) (sec, usec int64) {
	return btime + int64(p.Start/clockTicks), int64(p.Start%clockTicks) * (1e6 / clockTicks)
}
