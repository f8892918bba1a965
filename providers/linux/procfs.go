package linux

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// procRoot is where the kernel's process file system is mounted.
const procRoot = "/proc"

// clockTicks is USER_HZ, the unit of the times in /proc/[pid]/stat: 100 on
// every Linux architecture's user ABI.
const clockTicks = 100

// pageSize is the size of a memory page, the unit of rss in
// /proc/[pid]/stat.
var pageSize = uint64(os.Getpagesize())

// reader reads small kernel files into a buffer it reuses: one read
// costs open, read and close, and no allocation.
type reader struct {
	buf []byte
}

// read returns the content of path (at most 64 KiB), valid until the next
// read.
func (r *reader) read(path string) ([]byte, error) {
	if r.buf == nil {
		r.buf = make([]byte, 16<<10)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= 64<<10 {
				break
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		n += m
	}
	return r.buf[:n], nil
}

// field returns the value of the line "key:<spaces>value" of a
// /proc/[pid]/status or /proc/meminfo text, without its spaces.
func field(text []byte, key string) []byte {
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		if len(line) > len(key) && line[len(key)] == ':' && string(line[:len(key)]) == key {
			return bytes.TrimSpace(line[len(key)+1:])
		}
	}
	return nil
}

// kb reads a "123 kB" value of meminfo or status, in KiB (ok false when
// absent).
func kb(text []byte, key string) (uint64, bool) {
	v := field(text, key)
	v = bytes.TrimSuffix(v, []byte(" kB"))
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil
}

// isNotExist reports a process that ended while it was read.
func isNotExist(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH)
}

// pids lists the processes' ids, in the order of /proc.
func pids() ([]int, error) {
	f, err := os.Open(procRoot)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}
