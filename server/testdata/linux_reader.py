#!/usr/bin/env python3
"""An independent reader of what wbemd's built-in providers serve: psutil
and the Python standard library. Prints one JSON object for a process id
and a mount point given as arguments (TestBuiltinValues)."""
import json, os, platform, resource, socket, sys, time

import psutil

pid, mount = int(sys.argv[1]), sys.argv[2]
vm, sw = psutil.virtual_memory(), psutil.swap_memory()
rel = platform.freedesktop_os_release()
p = psutil.Process(pid)
with open("/proc/%d/status" % pid) as f:
    status = {k: v.strip() for k, v in (line.split(":", 1) for line in f if ":" in line)}
st = os.statvfs(mount)
part = [x for x in psutil.disk_partitions(all=True) if x.mountpoint == mount][-1]
usage = psutil.disk_usage(mount)
with open("/proc/sys/kernel/pid_max") as f:
    pid_max = int(f.read())
with open("/etc/machine-id") as f:
    machine_id = f.read().strip()
out = {
    "now": time.time(), "boot_time": psutil.boot_time(), "hostname": socket.gethostname(),
    "mem_total": vm.total, "mem_available": vm.available, "swap_total": sw.total, "swap_free": sw.free,
    "users": len(psutil.users()), "pids": len(psutil.pids()), "pid_max": pid_max, "machine_id": machine_id,
    "pretty_name": rel.get("PRETTY_NAME"), "version_id": rel.get("VERSION_ID"), "name": rel.get("NAME"),
    "release": platform.release(), "version": platform.version(), "machine": platform.machine(), "system": platform.system(),
    "utcoffset_minutes": int(-(time.altzone if time.localtime().tm_isdst > 0 else time.timezone) / 60),
    "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0], "rlimit_nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
    "proc": {
        "name": p.name(), "cmdline": p.cmdline(), "ppid": p.ppid(), "create_time": p.create_time(), "exe": p.exe(),
        "num_threads": p.num_threads(), "num_fds": p.num_fds(), "rss": p.memory_info().rss, "vms": p.memory_info().vms,
        "user_time": p.cpu_times().user, "system_time": p.cpu_times().system, "nice": p.nice(), "status": p.status(),
        "uid": p.uids().real, "sid": os.getsid(pid), "pgid": os.getpgid(pid), "terminal": p.terminal(),
        "vm_peak_kb": int(status["VmPeak"].split()[0]), "vm_hwm_kb": int(status["VmHWM"].split()[0]),
        "rss_anon_kb": int(status["RssAnon"].split()[0]), "vm_swap_kb": int(status.get("VmSwap", "0 kB").split()[0]),
    },
    "disk": {
        "total": usage.total, "free": usage.free, "fstype": part.fstype, "device": part.device, "ro": "ro" in part.opts.split(","),
        "frsize": st.f_frsize, "blocks": st.f_blocks, "namemax": st.f_namemax, "files_used": st.f_files - st.f_ffree,
    },
}
json.dump(out, sys.stdout)
