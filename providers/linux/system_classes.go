package linux

import (
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/provider"
)

func systemClasses() map[string]*provider.Class {
	enumOS := single(func() provider.Instance { return win32OperatingSystem(thisMachine(), time.Now()) })
	enumLOS := single(func() provider.Instance { return linuxOperatingSystem(thisMachine(), time.Now()) })
	enumCS := single(func() provider.Instance { return win32ComputerSystem(thisMachine()) })
	enumLCS := single(func() provider.Instance { return linuxComputerSystem(thisMachine()) })
	enumRunning := single(func() provider.Instance {
		m := thisMachine()
		return provider.Instance{"Antecedent": m.osPath(), "Dependent": m.csPath()}
	})
	return map[string]*provider.Class{
		win32OS:           {Enumerate: enumOS, Get: getFrom(enumOS)},
		linuxOS:           {Enumerate: enumLOS, Get: getFrom(enumLOS)},
		win32CS:           {Enumerate: enumCS, Get: getFrom(enumCS)},
		linuxCS:           {Enumerate: enumLCS, Get: getFrom(enumLCS)},
		"Linux_RunningOS": {Enumerate: enumRunning, Get: getFrom(enumRunning)},
	}
}

// osValues are the operating system's values both classes share.
type osValues struct {
	u                                     unameInfo
	mem                                   memInfo
	boot                                  time.Time
	procs, users                          int
	pidMax                                uint64
	installed                             time.Time
	hasInstalled                          bool
	machineID, rootDevice, architecture   string
	totalVirtual, freeVirtual, maxProcMem uint64
}

func readOS() osValues {
	r := &reader{}
	v := osValues{u: uname(), mem: readMemInfo(r), boot: time.Unix(bootTime(), 0), procs: countProcesses(), users: loggedInUsers()}
	v.pidMax, _ = readUint(r, procRoot+"/sys/kernel/pid_max")
	v.installed, v.hasInstalled = birthTime("/")
	v.machineID = readText("/etc/machine-id")
	v.architecture = osArchitecture(v.u.Machine)
	v.totalVirtual = v.mem.Total + v.mem.SwapTotal
	v.freeVirtual = v.mem.Available + v.mem.SwapFree
	v.maxProcMem = maxProcessMemoryKB()
	if root, _ := findMount("/"); root != nil {
		v.rootDevice = root.Source
	}
	return v
}

func win32OperatingSystem(m machine, now time.Time) provider.Instance {
	v := readOS()
	inst := provider.Instance{
		"Caption": m.OSName, "Description": strings.Join([]string{v.u.Sysname, v.u.Release, v.u.Version, v.u.Machine}, " "),
		"Name": m.OSName, "Status": "OK", "CreationClassName": win32OS, "CSCreationClassName": win32CS, "CSName": m.Host,
		"CurrentTimeZone": timeZoneMinutes(now), "Distributed": false,
		"FreePhysicalMemory": v.mem.Available, "TotalVisibleMemorySize": v.mem.Total,
		"FreeSpaceInPagingFiles": v.mem.SwapFree, "SizeStoredInPagingFiles": v.mem.SwapTotal, "TotalSwapSpaceSize": v.mem.SwapTotal,
		"TotalVirtualMemorySize": v.totalVirtual, "FreeVirtualMemory": v.freeVirtual,
		"LastBootUpTime": datetime(v.boot), "LocalDateTime": datetime(now),
		"MaxNumberOfProcesses": uint32(v.pidMax), "MaxProcessMemorySize": v.maxProcMem,
		"NumberOfProcesses": uint32(v.procs), "NumberOfUsers": uint32(v.users), "OSType": uint16(36),
		"Version": m.rel["VERSION_ID"], "BuildNumber": v.u.Release, "BuildType": v.u.Version,
		"OSArchitecture": v.architecture, "Manufacturer": m.rel["NAME"], "SerialNumber": v.machineID,
		"SystemDrive": "/", "SystemDevice": v.rootDevice, "BootDevice": v.rootDevice, "CodeSet": "65001",
		"Primary": true, "PortableOperatingSystem": false, "Debug": false,
		"DataExecutionPrevention_Available": cpuFlag("nx"), "PAEEnabled": cpuFlag("pae"),
	}
	if v.hasInstalled {
		inst["InstallDate"] = datetime(v.installed)
	}
	return inst
}

func linuxOperatingSystem(m machine, now time.Time) provider.Instance {
	v := readOS()
	inst := provider.Instance{
		"CSCreationClassName": linuxCS, "CSName": m.Host, "CreationClassName": linuxOS, "Name": m.OSName,
		"ElementName": m.OSName, "Caption": m.OSName, "Description": strings.Join([]string{v.u.Sysname, v.u.Release, v.u.Version, v.u.Machine}, " "),
		"OSType": uint16(36), "Version": v.u.Release, "CurrentTimeZone": timeZoneMinutes(now), "Distributed": false,
		"LastBootUpTime": datetime(v.boot), "LocalDateTime": datetime(now),
		"NumberOfLicensedUsers": uint32(0), "NumberOfUsers": uint32(v.users), "NumberOfProcesses": uint32(v.procs),
		"MaxNumberOfProcesses": uint32(v.pidMax), "MaxProcessMemorySize": v.maxProcMem,
		"TotalSwapSpaceSize": v.mem.SwapTotal, "TotalVirtualMemorySize": v.totalVirtual, "FreeVirtualMemory": v.freeVirtual,
		"FreePhysicalMemory": v.mem.Available, "TotalVisibleMemorySize": v.mem.Total,
		"SizeStoredInPagingFiles": v.mem.SwapTotal, "FreeSpaceInPagingFiles": v.mem.SwapFree,
		"EnabledState": uint16(2), "RequestedState": uint16(12), "OperationalStatus": []uint16{2}, "HealthState": uint16(5),
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(rlimitNproc, &rl) == nil && rl.Cur < 1<<32 {
		inst["MaxProcessesPerUser"] = uint32(rl.Cur)
	}
	if v.hasInstalled {
		inst["InstallDate"] = datetime(v.installed)
	}
	return inst
}

func win32ComputerSystem(m machine) provider.Instance {
	r := &reader{}
	mem := readMemInfo(r)
	cpus := readCPUInfo()
	rc := readResolvConf()
	domain, workgroup := rc.Domain, ""
	if domain == "" {
		domain, workgroup = "WORKGROUP", "WORKGROUP"
	}
	inst := provider.Instance{
		"Name": m.Host, "Caption": m.Host, "DNSHostName": m.Host, "Domain": domain, "PartOfDomain": false, "DomainRole": uint16(0),
		"CreationClassName": win32CS, "Status": "OK", "Description": "AT/AT COMPATIBLE", "BootupState": "Normal boot",
		"SystemType": systemType(uname().Machine), "TotalPhysicalMemory": mem.Total * 1024,
		"NumberOfProcessors": uint32(packages(cpus)), "NumberOfLogicalProcessors": uint32(len(cpus)),
		"HypervisorPresent": cpuFlag("hypervisor"), "CurrentTimeZone": timeZoneMinutes(time.Now()),
		"Manufacturer": dmi("sys_vendor"), "Model": dmi("product_name"), "SystemFamily": dmi("product_family"),
		"SystemSKUNumber": dmi("product_sku"),
	}
	if workgroup != "" {
		inst["Workgroup"] = workgroup
	}
	return inst
}

func linuxComputerSystem(m machine) provider.Instance {
	return provider.Instance{
		"CreationClassName": linuxCS, "Name": m.Host, "ElementName": m.Host, "Caption": m.Host, "NameFormat": "IP",
		"Description": "A computer running Linux", "EnabledState": uint16(2), "RequestedState": uint16(12),
		"OperationalStatus": []uint16{2}, "HealthState": uint16(5), "PrimaryOwnerContact": nil,
	}
}

// systemType is Win32_ComputerSystem.SystemType for a uname machine.
func systemType(machine string) string {
	switch machine {
	case "x86_64":
		return "x64-based PC"
	case "aarch64":
		return "ARM64-based PC"
	case "i386", "i486", "i586", "i686":
		return "X86-based PC"
	}
	return machine
}

// dmi reads a value of /sys/class/dmi/id (nil when the machine has none).
func dmi(name string) any {
	if s := readText("/sys/class/dmi/id/" + name); s != "" {
		return s
	}
	return nil
}

// cpuFlag reports whether the first CPU of /proc/cpuinfo has flag.
func cpuFlag(flag string) bool {
	cpus := readCPUInfo()
	return len(cpus) > 0 && slices.Contains(strings.Fields(cpus[0].Flags), flag)
}

// birthTime is the creation time of a file (statx(2) STATX_BTIME).
func birthTime(path string) (time.Time, bool) {
	var st statx
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return time.Time{}, false
	}
	const statxBtime = 0x800
	atFdcwd := -100
	_, _, e := syscall.Syscall6(sysStatx, uintptr(atFdcwd), uintptr(unsafePointer(p)), 0, statxBtime, uintptr(unsafePointer(&st)), 0)
	if e != 0 || st.Mask&statxBtime == 0 || st.Btime.Sec == 0 {
		return time.Time{}, false
	}
	return time.Unix(st.Btime.Sec, int64(st.Btime.Nsec)), true
}

// rlimitNproc is RLIMIT_NPROC (the syscall package does not name it).
const rlimitNproc = 6

// statx is struct statx (statx(2)): 256 bytes, the size the kernel
// writes whatever the mask.
type statx struct {
	Mask       uint32
	Blksize    uint32
	Attributes uint64
	Nlink      uint32
	UID, GID   uint32
	Mode       uint16
	_          uint16
	Ino        uint64
	Size       uint64
	Blocks     uint64
	AttrMask   uint64
	Atime      statxTime
	Btime      statxTime
	Ctime      statxTime
	Mtime      statxTime
	_          [16]uint64
}

type statxTime struct {
	Sec  int64
	Nsec uint32
	_    int32
}
