package linux

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuTimes are the clock ticks of one line of /proc/stat ("cpu" or
// "cpuN"): user, nice, system, idle, iowait, irq, softirq, steal.
type cpuTimes [8]uint64

// sample is one reading of /proc/stat and /proc/vmstat.
type sample struct {
	at       time.Time
	cpus     map[string]cpuTimes // "" for the total, "0", "1", ... for each CPU
	intr     uint64
	vm       map[string]uint64
	complete bool
}

func takeSample(r *reader) sample {
	s := sample{at: time.Now(), cpus: map[string]cpuTimes{}, vm: map[string]uint64{}}
	if b, err := r.read(procRoot + "/stat"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			f := strings.Fields(string(line))
			if len(f) < 2 {
				continue
			}
			switch {
			case strings.HasPrefix(f[0], "cpu"):
				var t cpuTimes
				for i := 0; i < len(t) && i+1 < len(f); i++ {
					t[i], _ = strconv.ParseUint(f[i+1], 10, 64)
				}
				s.cpus[strings.TrimPrefix(f[0], "cpu")] = t
			case f[0] == "intr":
				s.intr, _ = strconv.ParseUint(f[1], 10, 64)
			}
		}
		s.complete = true
	}
	if b, err := r.read(procRoot + "/vmstat"); err == nil {
		for _, line := range bytes.Split(b, []byte("\n")) {
			if k, v, ok := strings.Cut(string(line), " "); ok {
				s.vm[k], _ = strconv.ParseUint(v, 10, 64)
			}
		}
	}
	return s
}

// sampler keeps the last two samples, taken every interval by a
// goroutine, so that rates answer at once (a request never waits for a
// sample).
type sampler struct {
	mu         sync.Mutex
	prev, last sample
	once       sync.Once
	interval   time.Duration
}

var stats = &sampler{interval: time.Second}

// rates returns the two samples rates are computed from. Before the
// sampler has two, the first is the boot (all zeros): the rates are then
// the averages since boot.
func (s *sampler) rates() (prev, last sample) {
	s.once.Do(func() {
		r := &reader{}
		s.last = takeSample(r)
		go func() {
			t := time.NewTicker(s.interval)
			for range t.C {
				next := takeSample(&reader{})
				s.mu.Lock()
				s.prev, s.last = s.last, next
				s.mu.Unlock()
			}
		}()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	prev = s.prev
	if !prev.complete {
		prev = sample{at: time.Unix(bootTime(), 0), cpus: map[string]cpuTimes{}, vm: map[string]uint64{}}
	}
	return prev, s.last
}

// cpuPercents are the shares of one CPU's (or all CPUs') time between two
// samples, in percent.
type cpuPercents struct {
	User, Privileged, Interrupt, DPC, Idle, Processor uint64
}

func percents(a, b cpuTimes) cpuPercents {
	d := func(i int) float64 {
		if b[i] < a[i] {
			return 0
		}
		return float64(b[i] - a[i])
	}
	total := 0.0
	for i := range b {
		total += d(i)
	}
	if total == 0 {
		return cpuPercents{Idle: 100}
	}
	pct := func(v float64) uint64 { return uint64(v*100/total + 0.5) }
	idle := d(3) + d(4)
	return cpuPercents{User: pct(d(0) + d(1)), Privileged: pct(d(2)), Interrupt: pct(d(5)), DPC: pct(d(6)),
		Idle: pct(idle), Processor: pct(total - idle)}
}

// cpuInfo is what /proc/cpuinfo says of one logical CPU.
type cpuInfo struct {
	Number               int
	Vendor, Model        string
	MHz                  float64
	PhysicalID, Cores    int
	Family, ModelNumber  string
	Stepping, Flags      string
	MaxMHz               uint64 // from cpufreq; 0 when unknown
	CoreID, AddressSizes string
}

func readCPUInfo() []cpuInfo {
	b, err := os.ReadFile(procRoot + "/cpuinfo")
	if err != nil {
		return nil
	}
	var out []cpuInfo
	for _, block := range strings.Split(string(b), "\n\n") {
		c := cpuInfo{Number: -1, PhysicalID: -1}
		for _, line := range strings.Split(block, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "processor":
				c.Number, _ = strconv.Atoi(v)
			case "vendor_id", "CPU implementer":
				if c.Vendor == "" {
					c.Vendor = v
				}
			case "model name", "Processor", "cpu model":
				c.Model = v
			case "cpu MHz":
				c.MHz, _ = strconv.ParseFloat(v, 64)
			case "physical id":
				c.PhysicalID, _ = strconv.Atoi(v)
			case "cpu cores":
				c.Cores, _ = strconv.Atoi(v)
			case "cpu family":
				c.Family = v
			case "model":
				c.ModelNumber = v
			case "stepping":
				c.Stepping = v
			case "flags", "Features":
				c.Flags = v
			case "core id":
				c.CoreID = v
			}
		}
		if c.Number < 0 {
			continue
		}
		if khz, ok := readUint(&reader{}, "/sys/devices/system/cpu/cpu"+strconv.Itoa(c.Number)+"/cpufreq/cpuinfo_max_freq"); ok {
			c.MaxMHz = khz / 1000
		}
		out = append(out, c)
	}
	return out
}

// packages counts the physical processors (distinct physical ids; 1 when
// cpuinfo does not say).
func packages(cpus []cpuInfo) int {
	ids := map[int]bool{}
	for _, c := range cpus {
		ids[c.PhysicalID] = true
	}
	if len(ids) == 0 {
		return 1
	}
	return len(ids)
}
