package linux

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// uname is uname(2) as strings.
type unameInfo struct {
	Sysname, Nodename, Release, Version, Machine string
}

func uname() unameInfo {
	var u syscall.Utsname
	syscall.Uname(&u)
	s := func(a [65]int8) string {
		b := make([]byte, 0, len(a))
		for _, c := range a {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		return string(b)
	}
	return unameInfo{s(u.Sysname), s(u.Nodename), s(u.Release), s(u.Version), s(u.Machine)}
}

// hostname is the kernel's host name (gethostname(2)).
func hostname() string {
	h, _ := os.Hostname()
	return h
}

// osRelease reads /etc/os-release (or /usr/lib/os-release): its
// variables, unquoted.
func osRelease() map[string]string {
	out := map[string]string{}
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		if b, err = os.ReadFile("/usr/lib/os-release"); err != nil {
			return out
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		out[k] = v
	}
	return out
}

// bootTime is btime of /proc/stat: the boot, in seconds since the epoch
// (read again at most once a second; a clock step moves it).
func bootTime() int64 { return bootNow.get() }

var bootNow = recent[int64]{read: readBootTime}

func readBootTime() int64 {
	b, err := (&reader{}).read(procRoot + "/stat")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, _ := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return n
		}
	}
	return 0
}

// memInfo is what the built-ins read of /proc/meminfo, in KiB.
type memInfo struct {
	Total, Free, Available, Buffers, Cached, SwapTotal, SwapFree uint64
	CommitLimit, Committed                                       uint64
}

func readMemInfo(r *reader) memInfo {
	b, _ := r.read(procRoot + "/meminfo")
	var m memInfo
	m.Total, _ = kb(b, "MemTotal")
	m.Free, _ = kb(b, "MemFree")
	m.Available, _ = kb(b, "MemAvailable")
	m.Buffers, _ = kb(b, "Buffers")
	m.Cached, _ = kb(b, "Cached")
	m.SwapTotal, _ = kb(b, "SwapTotal")
	m.SwapFree, _ = kb(b, "SwapFree")
	m.CommitLimit, _ = kb(b, "CommitLimit")
	m.Committed, _ = kb(b, "Committed_AS")
	return m
}

// readUint reads a file holding one decimal number.
func readUint(r *reader, path string) (uint64, bool) {
	b, err := r.read(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	return n, err == nil
}

// readText reads a file holding one line of text ("" when it cannot).
func readText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// utmp record layout (glibc, every 64-bit and 32-bit Linux ABI alike):
// 384 bytes; ut_type is a short at 0, ut_user 32 bytes at 44.
const (
	utmpSize        = 384
	utmpUserProcess = 7
)

// loggedInUsers counts the USER_PROCESS records of utmp whose process
// runs: the sessions who and psutil.users() list.
func loggedInUsers() int {
	b, err := os.ReadFile("/var/run/utmp")
	if err != nil {
		return 0
	}
	n := 0
	for off := 0; off+utmpSize <= len(b); off += utmpSize {
		rec := b[off : off+utmpSize]
		if binary.LittleEndian.Uint16(rec[0:2]) != utmpUserProcess || rec[44] == 0 {
			continue
		}
		pid := int(int32(binary.LittleEndian.Uint32(rec[4:8])))
		if pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			continue
		}
		n++
	}
	return n
}

// countProcesses counts the processes (the numeric entries of /proc).
func countProcesses() int {
	ps, _ := pids()
	return len(ps)
}

// timeZoneMinutes is the local time's offset from UTC, in minutes.
func timeZoneMinutes(t time.Time) int16 {
	_, off := t.Zone()
	return int16(off / 60)
}

// osArchitecture is WMI's OSArchitecture: "64-bit" or "32-bit".
func osArchitecture(machine string) string {
	switch machine {
	case "x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "riscv64", "mips64", "loongarch64", "sparc64":
		return "64-bit"
	}
	return "32-bit"
}

// maxProcessMemoryKB is the user address space of a process, in KiB:
// the architecture's (47 bits on x86-64, 48 on arm64), or RLIMIT_AS when
// smaller.
func maxProcessMemoryKB() uint64 {
	bits := uint(47)
	switch runtime.GOARCH {
	case "arm64", "riscv64", "loong64", "ppc64", "ppc64le", "s390x":
		bits = 48
	case "386", "arm", "mips", "mipsle":
		bits = 32
	}
	limit := uint64(1) << bits
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_AS, &rl) == nil && rl.Cur < limit {
		limit = rl.Cur
	}
	return limit / 1024
}
