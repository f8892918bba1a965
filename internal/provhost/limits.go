package provhost

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Quotas are the provider host limits of __ProviderHostQuotaConfiguration
// (0: no limit).
type Quotas struct {
	MemoryPerHost        uint64 // bytes of memory per host process
	MemoryAllHosts       uint64 // bytes of memory of all hosts together
	ThreadsPerHost       uint32 // threads (tasks) per host
	HandlesPerHost       uint32 // open files per host (RLIMIT_NOFILE)
	ProcessLimitAllHosts uint32 // host processes running at once
}

// DefaultQuotas are the limits without a __ProviderHostQuotaConfiguration
// instance: the values commonly given for WMI.
var DefaultQuotas = Quotas{MemoryPerHost: 512 << 20, MemoryAllHosts: 1 << 30, ThreadsPerHost: 256, HandlesPerHost: 4096, ProcessLimitAllHosts: 32}

// The ways to enforce quotas (Options.Limits).
const (
	LimitsAuto    = "auto"    // cgroup2 if usable, else cgroup1, else rlimit
	LimitsCgroup2 = "cgroup2" // memory.max, pids.max in a cgroup v2 subtree
	LimitsCgroup1 = "cgroup1" // memory.limit_in_bytes, pids.max in cgroup v1 hierarchies
	LimitsRlimit  = "rlimit"  // RLIMIT_DATA for memory; threads are not limited
)

// confiner makes the kernel enforce the quotas of each host.
type confiner struct {
	mode    string
	parents []string // the all-hosts cgroup of each hierarchy (cgroups only)
	memDir  string   // the all-hosts cgroup of the memory hierarchy
	pidsDir string   // ... of the pids hierarchy ("" without pids)
}

// confinement is one host's: the cgroups it joins and its rlimits.
type confinement struct {
	c       *confiner
	dirs    []string // its cgroups
	procs   []string // their cgroup.procs files
	rlimits map[int]uint64
	mem     string // its memory cgroup ("" in rlimit mode)
	pids    string // its pids cgroup
	// Counters when the host started, to tell a quota kill from a crash.
	memEvents, allEvents, pidsEvents uint64
}

// newConfiner prepares quota enforcement in mode (LimitsAuto picks).
func newConfiner(mode string) (*confiner, error) {
	tag := "wbemd-providers-" + strconv.Itoa(os.Getpid())
	try := func(m string) (*confiner, error) {
		switch m {
		case LimitsCgroup2:
			return cgroup2Confiner(tag)
		case LimitsCgroup1:
			return cgroup1Confiner(tag)
		case LimitsRlimit:
			return &confiner{mode: LimitsRlimit}, nil
		}
		return nil, fmt.Errorf("provhost: unknown limits mode %q (want auto, cgroup2, cgroup1 or rlimit)", m)
	}
	if mode != LimitsAuto && mode != "" {
		return try(mode)
	}
	for _, m := range []string{LimitsCgroup2, LimitsCgroup1} {
		if c, err := try(m); err == nil {
			return c, nil
		}
	}
	return try(LimitsRlimit)
}

// cgroupMounts returns the mount points of cgroup hierarchies: "" names
// the cgroup2 one, others their v1 controllers.
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		switch tail[0] {
		case "cgroup2":
			out[""] = fields[4]
		case "cgroup":
			for _, opt := range strings.Split(tail[2], ",") {
				if opt == "memory" || opt == "pids" {
					out[opt] = fields[4]
				}
			}
		}
	}
	return out, sc.Err()
}

// ownCgroups returns this process's cgroup per hierarchy ("" for v2).
func ownCgroups() (map[string]string, error) { return processCgroups("self") }

// processCgroups returns the cgroup of process pid ("self" for this
// one) per hierarchy wbemd confines hosts in: memory, pids ("" for v2).
func processCgroups(pid string) (map[string]string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			out[""] = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" || c == "pids" {
				out[c] = parts[2]
			}
		}
	}
	return out, nil
}

// CgroupProcs returns the cgroup.procs files of process pid's cgroups in
// the hierarchies wbemd confines hosts in: a process a host starts that
// must outlive the host (a process created for a caller) joins them,
// leaving the host's confinement for wbemd's own (pid is wbemd's, a
// host's parent).
func CgroupProcs(pid int) []string {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil
	}
	groups, err := processCgroups(strconv.Itoa(pid))
	if err != nil {
		return nil
	}
	var out []string
	for h, g := range groups {
		if m, ok := mounts[h]; ok {
			f := filepath.Join(m, g, "cgroup.procs")
			if _, err := os.Stat(f); err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}

// cgroupsOf returns the mount points of the cgroup hierarchies and this
// process's cgroup in each ("" names cgroup2).
func cgroupsOf() (mounts, own map[string]string, err error) {
	if mounts, err = cgroupMounts(); err != nil {
		return nil, nil, err
	}
	own, err = ownCgroups()
	return mounts, own, err
}

func cgroup2Confiner(tag string) (*confiner, error) {
	mounts, own, err := cgroupsOf()
	if err != nil {
		return nil, err
	}
	mnt, ok := mounts[""]
	if !ok || own[""] == "" {
		return nil, errors.New("provhost: no cgroup2 hierarchy")
	}
	base := filepath.Join(mnt, own[""])
	ctrl, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	if have := " " + strings.Join(strings.Fields(string(ctrl)), " ") + " "; !strings.Contains(have, " memory ") || !strings.Contains(have, " pids ") {
		return nil, fmt.Errorf("provhost: cgroup2 %s lacks the memory and pids controllers (has %q)", base, strings.TrimSpace(string(ctrl)))
	}
	enable := func(dir string) error {
		return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0)
	}
	if err := enable(base); errors.Is(err, syscall.EBUSY) {
		// A cgroup with processes cannot hand controllers down: wbemd
		// moves into a leaf of its own first.
		leaf := filepath.Join(base, "wbemd")
		if err := os.Mkdir(leaf, 0o755); err != nil && !os.IsExist(err) {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return nil, err
		}
		err = enable(base)
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	parent := filepath.Join(base, tag)
	removeStale(base)
	if err := os.Mkdir(parent, 0o755); err != nil {
		return nil, err
	}
	if err := enable(parent); err != nil {
		os.Remove(parent)
		return nil, err
	}
	return &confiner{mode: LimitsCgroup2, parents: []string{parent}, memDir: parent, pidsDir: parent}, nil
}

func cgroup1Confiner(tag string) (*confiner, error) {
	mounts, own, err := cgroupsOf()
	if err != nil {
		return nil, err
	}
	if mounts["memory"] == "" || own["memory"] == "" {
		return nil, errors.New("provhost: no cgroup v1 memory hierarchy")
	}
	c := &confiner{mode: LimitsCgroup1}
	for _, ctl := range []string{"memory", "pids"} {
		if mounts[ctl] == "" || own[ctl] == "" {
			continue
		}
		base := filepath.Join(mounts[ctl], own[ctl])
		removeStale(base)
		dir := filepath.Join(base, tag)
		if err := os.Mkdir(dir, 0o755); err != nil {
			c.close()
			return nil, fmt.Errorf("provhost: cgroup v1 %s: %w", ctl, err)
		}
		c.parents = append(c.parents, dir)
		if ctl == "memory" {
			c.memDir = dir
		} else {
			c.pidsDir = dir
		}
	}
	return c, nil
}

// removeStale removes the host cgroups a wbemd that is gone left in base,
// killing what still runs in them.
func removeStale(base string) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), "wbemd-providers-")
		if !ok || !e.IsDir() {
			continue
		}
		if pid, err := strconv.Atoi(name); err == nil && syscall.Kill(pid, 0) == nil && pid != os.Getpid() {
			continue // its wbemd runs
		}
		dir := filepath.Join(base, e.Name())
		kids, _ := os.ReadDir(dir)
		for _, k := range kids {
			if k.IsDir() {
				removeCgroup(filepath.Join(dir, k.Name()))
			}
		}
		removeCgroup(dir)
	}
}

// removeCgroup kills every process of a cgroup and removes it.
func removeCgroup(dir string) {
	for try := 0; try < 100; try++ {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			return
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Remove(dir)
}

// setAll applies the all-hosts quota to the parent cgroup.
func (c *confiner) setAll(q Quotas) error {
	if c.memDir == "" {
		return nil
	}
	if c.mode == LimitsCgroup2 {
		return os.WriteFile(filepath.Join(c.memDir, "memory.max"), []byte(limitText(q.MemoryAllHosts, "max")), 0)
	}
	return os.WriteFile(filepath.Join(c.memDir, "memory.limit_in_bytes"), []byte(limitText(q.MemoryAllHosts, "-1")), 0)
}

func limitText(v uint64, none string) string {
	if v == 0 {
		return none
	}
	return strconv.FormatUint(v, 10)
}

// host prepares the confinement of host number id under q.
func (c *confiner) host(id uint64, q Quotas) (*confinement, error) {
	h := &confinement{c: c, rlimits: map[int]uint64{syscall.RLIMIT_CORE: 0}}
	if q.HandlesPerHost > 0 {
		h.rlimits[syscall.RLIMIT_NOFILE] = uint64(q.HandlesPerHost)
	}
	name := "host-" + strconv.FormatUint(id, 10)
	write := func(dir, file, v string) error {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0); err != nil {
			return fmt.Errorf("provhost: %s: %w", filepath.Join(dir, file), err)
		}
		return nil
	}
	switch c.mode {
	case LimitsRlimit:
		// RLIMIT_DATA bounds private writable memory (heap, anonymous
		// mappings), close to what a host uses; RLIMIT_AS also counts
		// address space reserved but unused, and a Go program reserves
		// more than 512 MiB of it at start.
		if q.MemoryPerHost > 0 {
			h.rlimits[syscall.RLIMIT_DATA] = q.MemoryPerHost
		}
		return h, nil
	case LimitsCgroup2:
		dir := filepath.Join(c.memDir, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		h.dirs, h.procs, h.mem, h.pids = []string{dir}, []string{filepath.Join(dir, "cgroup.procs")}, dir, dir
		err := write(dir, "memory.max", limitText(q.MemoryPerHost, "max"))
		if err == nil {
			err = write(dir, "pids.max", limitText(uint64(q.ThreadsPerHost), "max"))
		}
		if _, serr := os.Stat(filepath.Join(dir, "memory.swap.max")); err == nil && serr == nil {
			err = write(dir, "memory.swap.max", "0")
		}
		if err != nil {
			h.release()
			return nil, err
		}
	case LimitsCgroup1:
		dir := filepath.Join(c.memDir, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		h.dirs, h.procs, h.mem = []string{dir}, []string{filepath.Join(dir, "cgroup.procs")}, dir
		if err := write(dir, "memory.limit_in_bytes", limitText(q.MemoryPerHost, "-1")); err != nil {
			h.release()
			return nil, err
		}
		if c.pidsDir != "" {
			pdir := filepath.Join(c.pidsDir, name)
			if err := os.Mkdir(pdir, 0o755); err != nil {
				h.release()
				return nil, err
			}
			h.dirs, h.procs, h.pids = append(h.dirs, pdir), append(h.procs, filepath.Join(pdir, "cgroup.procs")), pdir
			if err := write(pdir, "pids.max", limitText(uint64(q.ThreadsPerHost), "max")); err != nil {
				h.release()
				return nil, err
			}
		}
	}
	h.memEvents, h.allEvents, h.pidsEvents = h.counters()
	return h, nil
}

// counters reads the events that tell a quota kill: the host's memory
// limit hits, the all-hosts limit hits, and refused thread creations.
func (h *confinement) counters() (mem, all, pids uint64) {
	switch h.c.mode {
	case LimitsCgroup2:
		mem = readKey(filepath.Join(h.mem, "memory.events"), "oom")
		all = readKey(filepath.Join(h.c.memDir, "memory.events.local"), "oom")
		pids = readKey(filepath.Join(h.pids, "pids.events"), "max")
	case LimitsCgroup1:
		mem = readNumber(filepath.Join(h.mem, "memory.failcnt"))
		all = readNumber(filepath.Join(h.c.memDir, "memory.failcnt"))
		if h.pids != "" {
			pids = readKey(filepath.Join(h.pids, "pids.events"), "max")
		}
	}
	return mem, all, pids
}

// violation names the quota a host broke since it started ("" if none
// did, or if the mode cannot tell).
func (h *confinement) violation() string {
	mem, all, pids := h.counters()
	switch {
	case mem > h.memEvents:
		return "MemoryPerHost"
	case all > h.allEvents:
		return "MemoryAllHosts"
	case pids > h.pidsEvents:
		return "ThreadsPerHost"
	}
	return ""
}

// memory returns the host's memory use in bytes (pid's resident set
// when it has no memory cgroup).
func (h *confinement) memory(pid int) uint64 {
	switch h.c.mode {
	case LimitsCgroup2:
		return readNumber(filepath.Join(h.mem, "memory.current"))
	case LimitsCgroup1:
		return readNumber(filepath.Join(h.mem, "memory.usage_in_bytes"))
	}
	return readKey(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:") * 1024
}

// release kills whatever still runs in the host's cgroups and removes them.
func (h *confinement) release() {
	for _, d := range h.dirs {
		removeCgroup(d)
	}
}

// close removes the all-hosts cgroups.
func (c *confiner) close() {
	for _, d := range c.parents {
		removeCgroup(d)
	}
}

func readNumber(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readKey reads the number after key in a "key value" file.
func readKey(path, key string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}
