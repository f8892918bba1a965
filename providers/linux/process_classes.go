package linux

import (
	"context"
	"strconv"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
)

func processClasses() map[string]*provider.Class {
	win := &processClass{build: win32Process}
	lin := &processClass{build: linuxUnixProcess}
	osp := &processClass{build: func(pc *procContext, p *proc) provider.Instance {
		return provider.Instance{"GroupComponent": pc.m.osPath(), "PartComponent": linuxProcessPath(pc.m, p.PID)}
	}}
	return map[string]*provider.Class{
		"Win32_Process": {Get: win.get, Enumerate: win.enumerate, Query: win.query,
			Methods: map[string]provider.Method{"Create": createProcess, "Terminate": terminateProcess, "GetOwner": getOwner}},
		linuxProcess:      {Get: lin.get, Enumerate: lin.enumerate, Query: lin.query},
		"Linux_OSProcess": {Get: getFrom(osp.enumerate), Enumerate: osp.enumerate},
	}
}

// procContext is what the instances of one call share.
type procContext struct {
	m     machine
	btime int64
	r     *reader
	need  procNeeds
	// all: the caller may read every process's executable and open
	// files (an administrator); else only its own processes'.
	all bool
	uid uint32
}

func newProcContext(r *provider.Request) *procContext {
	pc := &procContext{m: thisMachine(), r: &reader{}, need: allNeeds}
	pc.btime = bootTime()
	if c := r.Caller; c != nil {
		pc.all = c.Admin
		if c.Unix != nil {
			pc.uid = c.Unix.UID
			pc.all = pc.all || c.Unix.UID == 0
		}
	}
	if r.Query != nil && len(r.Query.Properties) > 0 {
		pc.need = procNeeds{}
		for _, name := range r.Query.Properties {
			switch name {
			case "ExecutablePath", "ModulePath":
				pc.need.exe = true
			case "HandleCount":
				pc.need.fds = true
			}
		}
	}
	return pc
}

// visible reports whether the caller may see p's executable and open
// files: the kernel shows them to p's owner and to root only, and wbemd
// to an administrator or p's owner.
func (pc *procContext) visible(p *proc) bool { return pc.all || p.UID == pc.uid }

// processClass serves one class of instances made of processes.
type processClass struct {
	build func(pc *procContext, p *proc) provider.Instance
}

func (c *processClass) enumerate(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
	return c.each(ctx, r, nil, send)
}

// query answers a query on Handle (Handle = '123', or an OR of them) by
// reading those processes only; any other query enumerates.
func (c *processClass) query(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
	handles, ok := provider.Equals(r.Query, "Handle")
	if !ok {
		return c.each(ctx, r, nil, send)
	}
	var list []int
	for _, h := range handles {
		if pid, err := strconv.Atoi(h); err == nil && pid > 0 {
			list = append(list, pid)
		}
	}
	if list == nil {
		return nil
	}
	return c.each(ctx, r, list, send)
}

func (c *processClass) each(ctx context.Context, r *provider.Request, list []int, send func(provider.Instance) error) error {
	pc := newProcContext(r)
	if list == nil {
		var err error
		if list, err = pids(); err != nil {
			return err
		}
	}
	// One process at a time, each sent as soon as it is read, so that
	// wbemd encodes (and its client decodes) the first processes while
	// the rest are read: on a machine of few cores, reading with several
	// goroutines took the cores those stages need (BENCHMARKS.md).
	for _, pid := range list {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := readProc(pc.r, pid, pc.need)
		if err == errGone {
			continue
		}
		if err != nil {
			return err
		}
		if err := send(c.build(pc, p)); err != nil {
			return err
		}
	}
	return nil
}

func (c *processClass) get(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	pid, err := strconv.Atoi(r.Keys.String("Handle"))
	if err != nil || pid <= 0 {
		return nil, notFound(r)
	}
	pc := newProcContext(r)
	p, err := readProc(pc.r, pid, pc.need)
	if err == errGone {
		return nil, notFound(r)
	}
	if err != nil {
		return nil, err
	}
	inst := c.build(pc, p)
	if !matches(inst, r.Keys) {
		return nil, notFound(r)
	}
	return inst, nil
}

func linuxProcessPath(m machine, pid int) string {
	return path(linuxProcess, "CSCreationClassName", linuxCS, "CSName", m.Host, "OSCreationClassName", linuxOS,
		"OSName", m.OSName, "CreationClassName", linuxProcess, "Handle", strconv.Itoa(pid))
}

func win32Process(pc *procContext, p *proc) provider.Instance {
	sec, usec := p.startedAt(pc.btime)
	name := p.Name()
	private := (p.RssAnon + p.VmSwap) * 1024
	inst := provider.Instance{
		"Handle": strconv.Itoa(p.PID), "ProcessId": uint32(p.PID), "ParentProcessId": uint32(p.PPID),
		"Name": name, "Caption": name, "Description": name, "CommandLine": p.CommandLine(),
		"CreationClassName": "Win32_Process", "CSCreationClassName": win32CS, "CSName": pc.m.Host,
		"OSCreationClassName": win32OS, "OSName": pc.m.OSName,
		"CreationDate":   datetime(time.Unix(sec, usec*1000)),
		"KernelModeTime": p.STime * (1e7 / clockTicks), "UserModeTime": p.UTime * (1e7 / clockTicks),
		"WorkingSetSize": p.RSS, "VirtualSize": p.VSize, "PeakVirtualSize": p.VmPeak * 1024,
		"PeakWorkingSetSize": uint32(p.VmHWM), "PrivatePageCount": private, "PageFileUsage": uint32(private / 1024),
		"PageFaults": uint32(p.MinFlt + p.MajFlt), "ThreadCount": uint32(p.Threads),
		"Priority": uint32(20 - p.Nice), "SessionId": uint32(p.Session), "ExecutionState": executionState(p.State),
	}
	if p.Args == nil {
		inst["CommandLine"] = nil
	}
	if pc.visible(p) {
		if p.Exe != "" {
			inst["ExecutablePath"] = p.Exe
		}
		if p.FDs >= 0 {
			inst["HandleCount"] = uint32(p.FDs)
		}
	}
	return inst
}

func linuxUnixProcess(pc *procContext, p *proc) provider.Instance {
	sec, usec := p.startedAt(pc.btime)
	name := p.Name()
	inst := provider.Instance{
		"CSCreationClassName": linuxCS, "CSName": pc.m.Host, "OSCreationClassName": linuxOS, "OSName": pc.m.OSName,
		"CreationClassName": linuxProcess, "Handle": strconv.Itoa(p.PID), "Name": name, "ElementName": name, "Caption": name,
		"ParentProcessID": strconv.Itoa(p.PPID), "RealUserID": uint64(p.UID), "ProcessGroupID": uint64(p.PGRP),
		"ProcessSessionID": uint64(p.Session), "ProcessTTY": ttyName(p.TTY), "Parameters": p.Args,
		"ProcessNiceValue": uint32(p.Nice + 20), "Priority": uint32(p.Priority), "ExecutionState": executionState(p.State),
		"CreationDate":   datetime(time.Unix(sec, usec*1000)),
		"KernelModeTime": p.STime * (1000 / clockTicks), "UserModeTime": p.UTime * (1000 / clockTicks),
		"WorkingSetSize": p.RSS, "EnabledState": uint16(2), "OperationalStatus": []uint16{2},
	}
	if p.Args == nil {
		inst["Parameters"] = nil
	}
	if pc.visible(p) && p.Exe != "" {
		inst["ModulePath"] = p.Exe
	}
	return inst
}

// executionState is CIM_Process.ExecutionState for a /proc state letter:
// 3 Running (R), 6 Suspended Ready (S, I: sleeping), 4 Blocked (D),
// 8 Stopped (T, t), 7 Terminated (Z, X).
func executionState(s byte) uint16 {
	switch s {
	case 'R':
		return 3
	case 'S', 'I':
		return 6
	case 'D':
		return 4
	case 'T', 't':
		return 8
	case 'Z', 'X':
		return 7
	}
	return 0
}

// ttyName is the terminal of a tty_nr ("?" for none), as ps names it.
func ttyName(nr int) string {
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major == 4 && minor < 64:
		return "tty" + strconv.Itoa(minor)
	case major >= 136 && major <= 143:
		return "pts/" + strconv.Itoa((major-136)*256+minor)
	case major == 4:
		return "ttyS" + strconv.Itoa(minor-64)
	}
	return strconv.Itoa(major) + "," + strconv.Itoa(minor)
}

// findProcess reads the process of a method's target.
func findProcess(r *provider.Request) (*proc, error) {
	pid, err := strconv.Atoi(r.Keys.String("Handle"))
	if err != nil || pid <= 0 {
		return nil, cim.Errorf(cim.ENotFound, "no process %q", r.Keys.String("Handle"))
	}
	p, err := readProc(&reader{}, pid, procNeeds{})
	if err == errGone {
		return nil, cim.Errorf(cim.ENotFound, "no process %d", pid)
	}
	return p, err
}
