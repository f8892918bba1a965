package linux

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
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
// costs open, read and close, and no allocation. Opening, closing,
// readlink and statx are raw system calls (syscall.RawSyscall), which
// the runtime does not hand its processor off for: they do not wait on
// another process. So are the reads of readNow, for the files that do
// not either; read announces its reads (a process's cmdline, for one,
// waits for that process's memory map, which a process stuck in the
// kernel may hold).
type reader struct {
	buf  []byte
	path []byte // the path of the last call, NUL-terminated
}

// atFDCWD is AT_FDCWD: paths relative to the working directory.
const atFDCWD = ^uintptr(99) // -100

// cpath returns path as a C string in r's buffer, valid until the next
// call; EINVAL when path holds a NUL.
func (r *reader) cpath(path string) (*byte, error) {
	if strings.IndexByte(path, 0) >= 0 {
		return nil, syscall.EINVAL
	}
	r.path = append(append(r.path[:0], path...), 0)
	return &r.path[0], nil
}

// read returns the content of path (at most 64 KiB), valid until the next
// read.
func (r *reader) read(path string) ([]byte, error) { return r.readFile(path, false) }

// readNow is read for a file the kernel writes without waiting on the
// process it describes (/proc/PID/stat and status): its reads are raw.
func (r *reader) readNow(path string) ([]byte, error) { return r.readFile(path, true) }

func (r *reader) readFile(path string, raw bool) ([]byte, error) {
	if r.buf == nil {
		r.buf = make([]byte, 16<<10)
	}
	p, err := r.cpath(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(p)), syscall.O_RDONLY|syscall.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		return nil, &os.PathError{Op: "open", Path: path, Err: e}
	}
	defer syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
	n := 0
	for {
		if n == len(r.buf) {
			if len(r.buf) >= 64<<10 {
				break
			}
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		var m uintptr
		var e syscall.Errno
		if raw {
			m, _, e = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.buf[n])), uintptr(len(r.buf)-n))
		} else {
			m, _, e = syscall.Syscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.buf[n])), uintptr(len(r.buf)-n))
		}
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return nil, &os.PathError{Op: "read", Path: path, Err: e}
		}
		if m == 0 {
			break
		}
		n += int(m)
	}
	return r.buf[:n], nil
}

// readlink returns the target of the symbolic link path ("" when it
// cannot be read).
func (r *reader) readlink(path string) string {
	p, err := r.cpath(path)
	if err != nil {
		return ""
	}
	var buf [4096]byte
	n, _, e := syscall.RawSyscall6(syscall.SYS_READLINKAT, atFDCWD, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 || int(n) >= len(buf) {
		return ""
	}
	return string(buf[:n])
}

// size returns the size statx(2) gives path, or false.
func (r *reader) size(path string) (int64, bool) {
	p, err := r.cpath(path)
	if err != nil {
		return 0, false
	}
	const statxSize = 0x200
	var st statx
	_, _, e := syscall.RawSyscall6(sysStatx, atFDCWD, uintptr(unsafe.Pointer(p)), 0, statxSize, uintptr(unsafe.Pointer(&st)), 0)
	if e != 0 || st.Mask&statxSize == 0 {
		return 0, false
	}
	return int64(st.Size), true
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
func kb(text []byte, key string) (uint64, bool) { return kbValue(field(text, key)) }

// kbValue reads a value in kB ("1234 kB").
func kbValue(v []byte) (uint64, bool) {
	n, err := strconv.ParseUint(string(bytes.TrimSuffix(v, []byte(" kB"))), 10, 64)
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
