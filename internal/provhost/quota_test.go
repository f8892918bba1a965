package provhost_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
)

// rss is this process's resident set in bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func u64(v uint64) cim.Value { return cim.Value{Type: cim.TypeUint64, V: v} }
func u32(v uint32) cim.Value { return cim.Value{Type: cim.TypeUint32, V: v} }

// TestMemoryQuota: a provider that allocates without bound is stopped at
// MemoryPerHost (QUOTA_VIOLATION with the kernel's cgroups; with rlimits
// its allocation fails and it dies: PROVIDER_FAILURE); wbemd's own memory
// does not grow with it, and the next call starts a new host.
func TestMemoryQuota(t *testing.T) {
	for _, mode := range []string{provhost.LimitsAuto, provhost.LimitsRlimit} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, provhost.Options{Limits: mode}, testSchema)
			// RLIMIT_DATA counts a Go program's data and bss too: this
			// test binary needs about 128 MiB to start.
			quota := uint64(64 << 20)
			if h.sup.LimitsMode() == provhost.LimitsRlimit {
				if raceEnabled {
					t.Skip("the race detector's runtime does not start under RLIMIT_DATA")
				}
				quota = 256 << 20
			}
			h.rootPut(cimom.QuotaConfigurationClass, "MemoryPerHost", u64(quota))
			before := rss(t)
			_, err := h.call("Test_Item", "Alloc", "MiB", uint32(0))
			want := cim.EQuotaViolation
			if h.sup.LimitsMode() == provhost.LimitsRlimit {
				want = cim.EProviderFailure
			}
			wantStatus(t, err, want, "TestItems")
			grew := rss(t) - before
			t.Logf("limits %s: %v; wbemd's resident set grew by %d KiB while the host allocated up to its %d MiB quota", h.sup.LimitsMode(), err, grew>>10, quota>>20)
			if grew > int64(quota/2) {
				t.Errorf("wbemd grew by %d bytes", grew)
			}
			if _, err := h.call("Test_Item", "Alloc", "MiB", uint32(8)); err != nil {
				t.Errorf("a reasonable allocation after the quota stop: %v", err)
			}
		})
	}
}

// TestThreadAndHandleQuotas: ThreadsPerHost stops a host that makes
// threads without bound (cgroup pids); HandlesPerHost makes opening more
// files fail in the provider (RLIMIT_NOFILE).
func TestThreadAndHandleQuotas(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema)
	h.rootPut(cimom.QuotaConfigurationClass, "ThreadsPerHost", u32(32), "HandlesPerHost", u32(64))
	_, err := h.call("Test_Item", "Files", "Count", uint32(100))
	if err == nil || !strings.Contains(err.Error(), "too many open files") {
		t.Errorf("100 files with HandlesPerHost 64: %v", err)
	}
	if h.sup.LimitsMode() == provhost.LimitsRlimit {
		t.Skip("threads are not limited without cgroups")
	}
	_, err = h.call("Test_Item", "Threads", "Count", uint32(100))
	wantStatus(t, err, cim.EQuotaViolation, "TestItems")
	if !strings.Contains(err.Error(), "ThreadsPerHost") {
		t.Errorf("the error does not name the quota: %v", err)
	}
}

// TestProcessLimit: ProcessLimitAllHosts bounds the hosts running at once.
func TestProcessLimit(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema)
	h.rootPut(cimom.QuotaConfigurationClass, "ProcessLimitAllHosts", u32(1))
	h.whoami()
	_, err := h.svc.GetObject(t.Context(), `Test_Other.Name="x"`, 0, nil)
	wantStatus(t, err, cim.EQuotaViolation, "TestOther")
}
