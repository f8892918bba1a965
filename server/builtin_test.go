package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// wbemObject runs wbem -o json through d's local socket (as root) and
// decodes the object, or the array of objects, it prints.
func wbemObjects(t *testing.T, d *daemon, args ...string) []map[string]any {
	t.Helper()
	out, err := runWbem(nil, append([]string{"--repo", d.repo, "-o", "json"}, args...)...)
	if err != nil {
		t.Fatalf("wbem %v: %v\n%s", args, err, out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("wbem %v: %v\n%s", args, err, out)
	}
	switch x := v.(type) {
	case []any:
		var objs []map[string]any
		for _, o := range x {
			objs = append(objs, o.(map[string]any))
		}
		return objs
	case map[string]any:
		return []map[string]any{x}
	}
	t.Fatalf("wbem %v: not an object: %s", args, out)
	return nil
}

// reader runs the independent reader (testdata/linux_reader.py: psutil
// and Python's standard library) for a process and a mount point.
func independentReader(t *testing.T, pid int, mount string) map[string]any {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "testdata/linux_reader.py", strconv.Itoa(pid), mount)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("linux_reader.py (needs python3-psutil; scripts/test.sh installs it): %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// num reads a JSON number (or a decimal string, as uint64 values may
// be) as a float64.
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// checker compares an instance's values with expected ones and
// remembers which properties it checked, so that a test can require that
// every non-NULL value was compared.
type checker struct {
	t       *testing.T
	what    string
	inst    map[string]any
	checked map[string]bool
}

func newChecker(t *testing.T, what string, inst map[string]any) *checker {
	return &checker{t: t, what: what, inst: inst, checked: map[string]bool{}}
}

// eq: the property's value, as text, is want's.
func (c *checker) eq(prop string, want any) {
	c.t.Helper()
	c.checked[prop] = true
	got := c.inst[prop]
	if x, ok := want.(float64); ok && x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		want = strconv.FormatFloat(x, 'f', -1, 64)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		c.t.Errorf("%s.%s = %v, the independent reader says %v", c.what, prop, got, want)
	}
}

// near: the property's number is within tol of want.
func (c *checker) near(prop string, want, tol float64) {
	c.t.Helper()
	c.checked[prop] = true
	got, ok := num(c.inst[prop])
	if !ok || math.Abs(got-want) > tol {
		c.t.Errorf("%s.%s = %v, the independent reader says %v (tolerance %v)", c.what, prop, c.inst[prop], want, tol)
	}
}

// time: the datetime property is within tol of want (seconds since the
// epoch).
func (c *checker) time(prop string, want, tol float64) {
	c.t.Helper()
	c.checked[prop] = true
	s, _ := c.inst[prop].(string)
	dt, err := cim.ParseDatetime(s)
	tm, ok := dt.Time()
	if err != nil || !ok {
		c.t.Errorf("%s.%s = %q: not a datetime", c.what, prop, s)
		return
	}
	got := float64(tm.UnixNano()) / 1e9
	if math.Abs(got-want) > tol {
		c.t.Errorf("%s.%s = %s (%.3f), the independent reader says %.3f (tolerance %v s)", c.what, prop, s, got, want, tol)
	}
}

// done fails for every non-NULL value that was not compared.
func (c *checker) done() {
	c.t.Helper()
	for k, v := range c.inst {
		if v != nil && !strings.HasPrefix(k, "__") && !c.checked[k] {
			c.t.Errorf("%s.%s = %v was not compared with the independent reader", c.what, k, v)
		}
	}
}

func f(v any) float64 {
	x, _ := num(v)
	return x
}

// TestBuiltinValues compares every value of Win32_OperatingSystem,
// Linux_OperatingSystem, the Win32_Process of a process the test started,
// and Win32_LogicalDisk and Linux_FileSystem of "/" with an independent
// reader (psutil, Python's standard library, ps and df), within stated
// tolerances for values that move.
func TestBuiltinValues(t *testing.T) {
	d := startDaemon(t)
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	pid := sleeper.Process.Pid
	time.Sleep(100 * time.Millisecond) // sleep has executed

	wos := wbemObjects(t, d, "get", "Win32_OperatingSystem=@")[0]
	los := wbemObjects(t, d, "enum", "Linux_OperatingSystem")[0]
	proc := wbemObjects(t, d, "get", fmt.Sprintf(`Win32_Process.Handle="%d"`, pid))[0]
	disk := wbemObjects(t, d, "get", `Win32_LogicalDisk.DeviceID="/"`)[0]
	lfs := wbemObjects(t, d, "query", `SELECT * FROM Linux_FileSystem WHERE Name = '/'`)[0]
	ref := independentReader(t, pid, "/")
	mem := 0.05 * f(ref["mem_total"]) / 1024 // memory moves: 5% of the total, in KB

	// Both operating system classes.
	for _, o := range []struct {
		c     *checker
		win   bool
		class string
	}{{newChecker(t, "Win32_OperatingSystem", wos), true, "Win32_OperatingSystem"}, {newChecker(t, "Linux_OperatingSystem", los), false, "Linux_OperatingSystem"}} {
		c := o.c
		c.eq("Caption", ref["pretty_name"])
		c.eq("Name", ref["pretty_name"])
		c.eq("Description", fmt.Sprintf("%s %s %s %s", ref["system"], ref["release"], ref["version"], ref["machine"]))
		c.eq("CSName", ref["hostname"])
		c.eq("CreationClassName", o.class)
		c.eq("OSType", 36)
		c.eq("Distributed", false)
		c.eq("CurrentTimeZone", ref["utcoffset_minutes"])
		c.eq("TotalVisibleMemorySize", f(ref["mem_total"])/1024)
		c.near("FreePhysicalMemory", f(ref["mem_available"])/1024, mem)
		c.eq("TotalSwapSpaceSize", f(ref["swap_total"])/1024)
		c.eq("SizeStoredInPagingFiles", f(ref["swap_total"])/1024)
		c.near("FreeSpaceInPagingFiles", f(ref["swap_free"])/1024, mem)
		c.eq("TotalVirtualMemorySize", (f(ref["mem_total"])+f(ref["swap_total"]))/1024)
		c.near("FreeVirtualMemory", (f(ref["mem_available"])+f(ref["swap_free"]))/1024, 2*mem)
		c.time("LastBootUpTime", f(ref["boot_time"]), 1)
		c.time("LocalDateTime", f(ref["now"]), 10)
		c.eq("MaxNumberOfProcesses", ref["pid_max"])
		c.near("NumberOfProcesses", f(ref["pids"]), 30)
		c.eq("NumberOfUsers", ref["users"])
		addressBits := 47.0
		if ref["machine"] == "aarch64" {
			addressBits = 48
		}
		maxMem := math.Pow(2, addressBits)
		if rl := f(ref["rlimit_as"]); rl > 0 && rl < maxMem {
			maxMem = rl
		}
		c.eq("MaxProcessMemorySize", maxMem/1024)
		if o.win {
			c.eq("Status", "OK")
			c.eq("CSCreationClassName", "Win32_ComputerSystem")
			c.eq("Version", ref["version_id"])
			c.eq("BuildNumber", ref["release"])
			c.eq("BuildType", ref["version"])
			arch := "32-bit"
			if strings.Contains(fmt.Sprint(ref["machine"]), "64") {
				arch = "64-bit"
			}
			c.eq("OSArchitecture", arch)
			c.eq("Manufacturer", ref["name"])
			c.eq("SerialNumber", ref["machine_id"])
			c.eq("SystemDrive", "/")
			c.eq("SystemDevice", ref["disk"].(map[string]any)["device"])
			c.eq("BootDevice", ref["disk"].(map[string]any)["device"])
			c.eq("CodeSet", "65001")
			c.eq("Primary", true)
			c.eq("PortableOperatingSystem", false)
			c.eq("Debug", false)
			cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
			c.eq("DataExecutionPrevention_Available", hasFlag(cpuinfo, "nx"))
			c.eq("PAEEnabled", hasFlag(cpuinfo, "pae"))
		} else {
			c.eq("CSCreationClassName", "Linux_ComputerSystem")
			c.eq("ElementName", ref["pretty_name"])
			c.eq("Version", ref["release"])
			c.eq("NumberOfLicensedUsers", 0)
			c.eq("EnabledState", 2)
			c.eq("RequestedState", 12)
			c.eq("OperationalStatus", "[2]")
			c.eq("HealthState", 5)
			c.eq("EnabledDefault", 2)        // the class's default
			c.eq("TransitioningToState", 12) // the class's default
			if rl := f(ref["rlimit_nproc"]); rl >= 0 && rl < 1<<32 {
				c.eq("MaxProcessesPerUser", rl)
			}
		}
		if birth := statBirth(t, "/"); birth > 0 {
			c.time("InstallDate", birth, 1)
		}
		c.done()
	}

	// The process the test started.
	p := ref["proc"].(map[string]any)
	c := newChecker(t, "Win32_Process", proc)
	c.eq("Handle", pid)
	c.eq("ProcessId", pid)
	c.eq("ParentProcessId", os.Getpid())
	c.eq("Name", p["name"])
	c.eq("Caption", p["name"])
	c.eq("Description", p["name"])
	c.eq("CommandLine", strings.Join(anyStrings(p["cmdline"]), " "))
	c.eq("ExecutablePath", p["exe"])
	c.eq("CreationClassName", "Win32_Process")
	c.eq("CSCreationClassName", "Win32_ComputerSystem")
	c.eq("CSName", ref["hostname"])
	c.eq("OSCreationClassName", "Win32_OperatingSystem")
	c.eq("OSName", ref["pretty_name"])
	c.time("CreationDate", f(p["create_time"]), 0.02)
	c.near("KernelModeTime", f(p["system_time"])*1e7, 0.05e7)
	c.near("UserModeTime", f(p["user_time"])*1e7, 0.05e7)
	c.near("WorkingSetSize", f(p["rss"]), 256<<10)
	c.eq("VirtualSize", p["vms"])
	c.eq("PeakVirtualSize", f(p["vm_peak_kb"])*1024)
	c.near("PeakWorkingSetSize", f(p["vm_hwm_kb"]), 256)
	private := f(p["rss_anon_kb"]) + f(p["vm_swap_kb"])
	c.near("PrivatePageCount", private*1024, 256<<10)
	c.near("PageFileUsage", private, 256)
	c.eq("ThreadCount", p["num_threads"])
	c.eq("HandleCount", p["num_fds"])
	c.eq("Priority", 20-f(p["nice"]))
	c.eq("SessionId", p["sid"])
	state := map[string]int{"running": 3, "sleeping": 6, "disk-sleep": 4, "stopped": 8, "zombie": 7}
	c.eq("ExecutionState", state[fmt.Sprint(p["status"])])
	faults, err := exec.Command("ps", "-o", "min_flt=,maj_flt=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var minflt, majflt float64
	fmt.Sscan(string(faults), &minflt, &majflt)
	c.near("PageFaults", minflt+majflt, 50)
	c.done()

	// "/" as a logical disk and a file system, against psutil and df.
	dk := ref["disk"].(map[string]any)
	dfOut, err := exec.Command("df", "-B1", "--output=size,avail,fstype", "/").Output()
	if err != nil {
		t.Fatal(err)
	}
	df := strings.Fields(strings.Split(strings.TrimSpace(string(dfOut)), "\n")[1])
	for _, x := range []struct {
		c    *checker
		size string
		free string
	}{{newChecker(t, "Win32_LogicalDisk", disk), "Size", "FreeSpace"}, {newChecker(t, "Linux_FileSystem", lfs), "FileSystemSize", "AvailableSpace"}} {
		c := x.c
		c.eq(x.size, dk["total"])
		c.eq(x.size, df[0])
		c.near(x.free, f(dk["free"]), 0.01*f(dk["total"]))
		c.near(x.free, f(df[1]), 0.01*f(dk["total"]))
		c.eq("BlockSize", dk["frsize"])
		c.eq("Caption", "/")
		c.eq("Name", "/")
		if x.size == "Size" {
			c.eq("DeviceID", "/")
			c.eq("FileSystem", dk["fstype"])
			c.eq("FileSystem", df[2])
			c.eq("NumberOfBlocks", dk["blocks"])
			c.eq("MaximumComponentLength", dk["namemax"])
			c.eq("DriveType", 3)
			c.eq("MediaType", 12)
			c.eq("Description", "Local Fixed Disk")
			access := 3
			if dk["ro"] == true {
				access = 1
			}
			c.eq("Access", access)
			c.eq("Compressed", false)
			c.eq("Status", "OK")
			c.eq("CreationClassName", "Win32_LogicalDisk")
			c.eq("SystemCreationClassName", "Win32_ComputerSystem")
			c.eq("SystemName", ref["hostname"])
			c.eq("VolumeName", diskLink(t, "label", fmt.Sprint(dk["device"])))
			c.eq("VolumeSerialNumber", diskLink(t, "uuid", fmt.Sprint(dk["device"])))
		} else {
			c.eq("Root", "/")
			c.eq("ElementName", "/")
			c.eq("FileSystemType", dk["fstype"])
			c.eq("Description", fmt.Sprintf("%s file system on %s", dk["fstype"], dk["device"]))
			c.eq("ReadOnly", dk["ro"])
			c.eq("CaseSensitive", true)
			c.eq("CasePreserved", true)
			c.eq("MaxFileNameLength", dk["namemax"])
			c.near("NumberOfFiles", f(dk["files_used"]), 10000)
			c.eq("PersistenceType", 2)
			c.eq("CSCreationClassName", "Linux_ComputerSystem")
			c.eq("CSName", ref["hostname"])
			c.eq("CreationClassName", "Linux_FileSystem")
			c.eq("EnabledState", 2)
			c.eq("OperationalStatus", "[2]")
			c.eq("EnabledDefault", 2)
			c.eq("RequestedState", 12)
			c.eq("TransitioningToState", 12)
			c.eq("IsFixedSize", 0)     // the class's default
			c.eq("ResizeIncrement", 0) // the class's default
		}
		c.done()
	}
}

func hasFlag(cpuinfo []byte, flag string) bool {
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			for _, x := range strings.Fields(v) {
				if x == flag {
					return true
				}
			}
			return false
		}
	}
	return false
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// statBirth is the birth time of a file by stat(1) (0 when unknown).
func statBirth(t *testing.T, path string) float64 {
	out, err := exec.Command("stat", "-c", "%W", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	return n
}

// diskLink names the /dev/disk/by-KIND link to a device (<nil> when none).
func diskLink(t *testing.T, kind, dev string) any {
	entries, _ := os.ReadDir("/dev/disk/by-" + kind)
	target, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if p, err := filepath.EvalSymlinks(filepath.Join("/dev/disk/by-"+kind, e.Name())); err == nil && p == target {
			return e.Name()
		}
	}
	return nil
}
