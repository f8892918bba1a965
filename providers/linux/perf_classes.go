package linux

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/wbemd/wbemd/provider"
)

func perfClasses() map[string]*provider.Class {
	cpu := func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		prev, last := stats.rates()
		var names []string
		for n := range last.cpus {
			if n != "" {
				names = append(names, n)
			}
		}
		sort.Slice(names, func(i, j int) bool {
			a, _ := strconv.Atoi(names[i])
			b, _ := strconv.Atoi(names[j])
			return a < b
		})
		secs := last.at.Sub(prev.at).Seconds()
		for _, n := range append(names, "") {
			if err := send(perfProcessor(n, percents(prev.cpus[n], last.cpus[n]), last, secs, prev)); err != nil {
				return err
			}
		}
		return nil
	}
	mem := single(perfMemory)
	cpuLoad := func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		prev, last := stats.rates()
		m := thisMachine()
		for _, c := range readCPUInfo() {
			n := strconv.Itoa(c.Number)
			if err := send(linuxProcessor(m, c, percents(prev.cpus[n], last.cpus[n]))); err != nil {
				return err
			}
		}
		return nil
	}
	csProcessor := func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		m := thisMachine()
		for _, c := range readCPUInfo() {
			if err := send(provider.Instance{"GroupComponent": m.csPath(), "PartComponent": linuxProcessorPath(m, c.Number)}); err != nil {
				return err
			}
		}
		return nil
	}
	return map[string]*provider.Class{
		"Win32_PerfFormattedData_PerfOS_Processor": {Enumerate: cpu, Query: cpu, Get: getFrom(cpu)},
		"Win32_PerfFormattedData_PerfOS_Memory":    {Enumerate: mem, Get: getFrom(mem)},
		linuxCPU:                                   {Enumerate: cpuLoad, Get: getFrom(cpuLoad)},
		"Linux_CSProcessor":                        {Enumerate: csProcessor, Get: getFrom(csProcessor)},
	}
}

// perfProcessor is one Win32_PerfFormattedData_PerfOS_Processor: cpu n
// ("" for _Total) between two samples secs apart.
func perfProcessor(n string, p cpuPercents, last sample, secs float64, prev sample) provider.Instance {
	name := n
	if n == "" {
		name = "_Total"
	}
	inst := provider.Instance{
		"Name": name, "PercentProcessorTime": p.Processor, "PercentIdleTime": p.Idle, "PercentUserTime": p.User,
		"PercentPrivilegedTime": p.Privileged, "PercentInterruptTime": p.Interrupt, "PercentDPCTime": p.DPC,
		"Frequency_Object": uint64(0), "Frequency_PerfTime": uint64(1e9), "Frequency_Sys100NS": uint64(1e7),
		"Timestamp_Object": uint64(0), "Timestamp_PerfTime": uint64(last.at.UnixNano()),
		"Timestamp_Sys100NS": uint64(last.at.UnixNano()/100 + 116444736000000000),
	}
	if n == "" && secs > 0 && last.intr >= prev.intr {
		inst["InterruptsPersec"] = uint32(float64(last.intr-prev.intr)/secs + 0.5)
	}
	return inst
}

func perfMemory() provider.Instance {
	m := readMemInfo(&reader{})
	prev, last := stats.rates()
	secs := last.at.Sub(prev.at).Seconds()
	rate := func(keys ...string) uint32 {
		var d uint64
		for _, k := range keys {
			if last.vm[k] >= prev.vm[k] {
				d += last.vm[k] - prev.vm[k]
			}
		}
		if secs <= 0 {
			return 0
		}
		return uint32(float64(d)/secs + 0.5)
	}
	inst := provider.Instance{
		"Name": nil, "AvailableBytes": m.Available * 1024, "AvailableKBytes": m.Available, "AvailableMBytes": m.Available / 1024,
		"CommittedBytes": m.Committed * 1024, "CommitLimit": m.CommitLimit * 1024,
		"CacheBytes": (m.Cached + m.Buffers) * 1024, "FreeAndZeroPageListBytes": m.Free * 1024,
		"PageFaultsPersec": rate("pgfault"), "PageReadsPersec": rate("pgmajfault"),
		"PagesInputPersec": rate("pswpin"), "PagesOutputPersec": rate("pswpout"), "PagesPersec": rate("pswpin", "pswpout"),
		"PageWritesPersec":   rate("pswpout"),
		"Frequency_PerfTime": uint64(1e9), "Frequency_Sys100NS": uint64(1e7), "Timestamp_PerfTime": uint64(time.Now().UnixNano()),
	}
	if m.CommitLimit > 0 {
		inst["PercentCommittedBytesInUse"] = uint32(m.Committed * 100 / m.CommitLimit)
	}
	return inst
}

func linuxProcessorPath(m machine, n int) string {
	return path(linuxCPU, "SystemCreationClassName", linuxCS, "SystemName", m.Host, "CreationClassName", linuxCPU, "DeviceID", strconv.Itoa(n))
}

func linuxProcessor(m machine, c cpuInfo, p cpuPercents) provider.Instance {
	width := uint16(64)
	if osArchitecture(uname().Machine) == "32-bit" {
		width = 32
	}
	inst := provider.Instance{
		"SystemCreationClassName": linuxCS, "SystemName": m.Host, "CreationClassName": linuxCPU, "DeviceID": strconv.Itoa(c.Number),
		"Name": c.Model, "ElementName": c.Model, "Caption": "CPU " + strconv.Itoa(c.Number), "Description": c.Model,
		"Family": uint16(1), "OtherFamilyDescription": c.Vendor, "Stepping": c.Stepping, "LoadPercentage": uint16(p.Processor),
		"CurrentClockSpeed": uint32(c.MHz + 0.5), "DataWidth": width, "AddressWidth": width, "CPUStatus": uint16(1),
		"EnabledState": uint16(2), "OperationalStatus": []uint16{2},
	}
	if c.MaxMHz > 0 {
		inst["MaxClockSpeed"] = uint32(c.MaxMHz)
	}
	if c.Cores > 0 {
		inst["NumberOfEnabledCores"] = uint16(c.Cores)
	}
	return inst
}
