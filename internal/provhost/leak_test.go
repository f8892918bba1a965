package provhost_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/internal/provhost"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// children counts this process's child processes.
func children(t *testing.T) int {
	entries, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	n := 0
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 1 && f[1] == me {
			n++
		}
	}
	return n
}

// TestRestartsDoNotLeak restarts a host many times, half by unloading it
// and half by killing it, and checks that goroutines, file descriptors
// and child processes come back to where they were. The count is 100
// (20 with the race detector, whose binaries start slowly), or
// $WBEMD_PROVIDER_RESTARTS (10000 for the full run).
func TestRestartsDoNotLeak(t *testing.T) {
	n := 100
	if raceEnabled {
		n = 20
	}
	if s := os.Getenv("WBEMD_PROVIDER_RESTARTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	h := newHarness(t, provhost.Options{CrashLimit: -1, BackoffMax: time.Millisecond}, testSchema)
	cycle := func(i int) {
		if _, err := h.call("Test_Item", "Echo", "Text", "x"); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		if i%2 == 0 {
			if err := h.sup.Unload("root/cimv2", "TestItems"); err != nil {
				t.Fatal(err)
			}
			return
		}
		pid := h.sup.Statuses()[0].PID
		syscall.Kill(pid, syscall.SIGKILL)
		waitGone(t, uint32(pid))
	}
	for i := 0; i < 4; i++ {
		cycle(i)
	}
	settle := func() (int, int) {
		for i := 0; i < 100 && children(t) > 0; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		runtime.GC()
		return runtime.NumGoroutine(), openFDs(t)
	}
	g0, fd0 := settle()
	start := time.Now()
	for i := 0; i < n; i++ {
		cycle(i)
	}
	took := time.Since(start)
	var g1, fd1 int
	for try := 0; try < 50; try++ {
		if g1, fd1 = settle(); g1 <= g0 && fd1 <= fd0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d restarts in %v (%.0f/s); goroutines %d -> %d, file descriptors %d -> %d, children %d",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), g0, g1, fd0, fd1, children(t))
	if g1 > g0 || fd1 > fd0 || children(t) != 0 {
		t.Errorf("leak after %d restarts: goroutines %d -> %d, file descriptors %d -> %d, children %d", n, g0, g1, fd0, fd1, children(t))
	}
	if st := h.sup.Statuses()[0]; st.Restarts < uint64(n) {
		t.Errorf("restarts counted: %d, want at least %d", st.Restarts, n)
	}
}
