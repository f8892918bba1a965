package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
	"github.com/wbemd/wbemd/internal/gcfloor"
)

// benchServer runs wbemd in this process (the built-in providers' host is
// this test binary) and connects to root/cimv2 through its local socket,
// as `wbem` does. The process runs with the collector floor the daemon
// sets by default (--gc-min-heap): wbemd as it runs, and for the client a
// collector that, like a `wbem` run's, seldom collects an enumeration's
// garbage.
func benchServer(b *testing.B) cimom.Services {
	b.Helper()
	floorOnce.Do(func() {
		percent := debug.SetGCPercent(100) // $GOGC, as the daemon reads it
		debug.SetGCPercent(percent)
		gcfloor.Set(gcfloor.Default, percent)
	})
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(dir, SocketFile)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Repo: dir, HTTP: Off, HTTPS: Off, WSManHTTP: Off, WSManHTTPS: Off,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(string, string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		<-done
	})
	svc, err := client.Connect(ctx, "http://localhost", "root/cimv2", client.Options{Socket: sock})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// floorOnce sets the collector floor once for the process.
var floorOnce sync.Once

// drain reads an enumeration to its end and returns its length.
func drain(b *testing.B, open func() (cimom.Enumerator, error)) int {
	e, err := open()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	n := 0
	for _, err := range cimom.All(context.Background(), e) {
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkProcesses compares enumerating every process through wbemd's
// local socket (Win32_Process, every property) with the same machine's
// `ps -eo pid,ppid,user,rss,vsz,stat,lstart,args` (target: wbemd's time
// at most ps's), and reading one process by key with a full enumeration
// (target: at least 10 times the throughput).
//
//	go test -run '^$' -bench Processes -benchtime=50x ./server
func BenchmarkProcesses(b *testing.B) {
	svc := benchServer(b)
	ctx := context.Background()
	drain(b, func() (cimom.Enumerator, error) {
		return svc.CreateInstanceEnum(ctx, "Win32_Process", cimom.FlagForwardOnly, nil)
	}) // the host starts
	b.Run("enumerate/wbemd", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			n = drain(b, func() (cimom.Enumerator, error) {
				return svc.CreateInstanceEnum(ctx, "Win32_Process", cimom.FlagForwardOnly, nil)
			})
		}
		b.ReportMetric(float64(n), "processes")
	})
	b.Run("enumerate/ps", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := exec.Command("ps", "-eo", "pid,ppid,user,rss,vsz,stat,lstart,args").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	self := fmt.Sprint(os.Getpid())
	b.Run("bykey/query", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if n := drain(b, func() (cimom.Enumerator, error) {
				return svc.ExecQuery(ctx, "WQL", "SELECT * FROM Win32_Process WHERE Handle = '"+self+"'", cimom.FlagForwardOnly, nil)
			}); n != 1 {
				b.Fatalf("%d instances", n)
			}
		}
	})
	b.Run("bykey/get", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.GetObject(ctx, `Win32_Process.Handle="`+self+`"`, 0, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProcessPairs measures the two ratios of BenchmarkProcesses in
// alternating pairs, one pair an iteration. A pair is five rounds, each
// round one full enumeration of Win32_Process through the local socket,
// then one run of `ps -eo pid,ppid,user,rss,vsz,stat,lstart,args`, then
// ten reads of one Win32_Process by key (GetObject): the three
// alternate run by run, so that all see the same machine. Each side is
// timed on the wall clock and in CPU time (user and system): wbemd's is
// this process's (server and client) plus its provider host's (its
// threads' run times, see childrenCPU), ps's its own; on a machine
// shared with other work the CPU ratio is the steadier one. Then, for the
// throughput of reads by key against that of full enumerations with the
// machine kept busy, four callers at once read one process by key 30
// times each (GetObject), then query it by key 30 times each (WQL,
// Handle = '...'), and four callers enumerate every process 3 times each
// (in the other order at the next pair). It logs every pair (the mean of
// its rounds) and reports the median ratios: wbemd/ps (target at most
// 1.0), full enumeration/by key one call at a time (a ratio of
// latencies), and reads and queries by key/enumerations per second with
// four callers (the throughputs: target at least 10).
//
//	go test -run '^$' -bench ProcessPairs -benchtime=10x -v ./server
func BenchmarkProcessPairs(b *testing.B) {
	svc := benchServer(b)
	ctx := context.Background()
	enum := func() int {
		return drain(b, func() (cimom.Enumerator, error) {
			return svc.CreateInstanceEnum(ctx, "Win32_Process", cimom.FlagForwardOnly, nil)
		})
	}
	enum() // the host starts
	self := `Win32_Process.Handle="` + fmt.Sprint(os.Getpid()) + `"`
	const rounds, keyReps = 5, 10
	var psRatios, cpuRatios, keyRatios, tputRatios, queryRatios []float64
	// perSecond is how many calls of f four callers make a second, each
	// making each of them.
	perSecond := func(each int, f func()) float64 {
		const callers = 4
		var wg sync.WaitGroup
		start := time.Now()
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					f()
				}
			}()
		}
		wg.Wait()
		return callers * float64(each) / time.Since(start).Seconds()
	}
	get := func() {
		if _, err := svc.GetObject(ctx, self, 0, nil); err != nil {
			b.Error(err)
		}
	}
	byQuery := "SELECT * FROM Win32_Process WHERE Handle = '" + fmt.Sprint(os.Getpid()) + "'"
	query := func() {
		if n := drain(b, func() (cimom.Enumerator, error) {
			return svc.ExecQuery(ctx, "WQL", byQuery, cimom.FlagForwardOnly, nil)
		}); n != 1 {
			b.Errorf("%s: %d instances", byQuery, n)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		var wbemd, ps, byKey, wbemdCPU, hostCPU, psCPU time.Duration
		for range rounds {
			host0 := childrenCPU(b)
			self0 := selfCPU(b)
			start := time.Now()
			n = enum()
			wbemd += time.Since(start)
			self1 := selfCPU(b)
			host1 := childrenCPU(b)
			wbemdCPU += self1 - self0 + host1 - host0
			hostCPU += host1 - host0
			start = time.Now()
			cmd := exec.Command("ps", "-eo", "pid,ppid,user,rss,vsz,stat,lstart,args")
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			ps += time.Since(start)
			psCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			start = time.Now()
			for range keyReps {
				if _, err := svc.GetObject(ctx, self, 0, nil); err != nil {
					b.Fatal(err)
				}
			}
			byKey += time.Since(start)
		}
		var gets, queries, enums float64
		if i%2 == 0 {
			gets, queries, enums = perSecond(30, get), perSecond(30, query), perSecond(3, func() { enum() })
		} else {
			enums, queries, gets = perSecond(3, func() { enum() }), perSecond(30, query), perSecond(30, get)
		}
		tputRatios = append(tputRatios, gets/enums)
		queryRatios = append(queryRatios, queries/enums)
		wbemd, ps, byKey = wbemd/rounds, ps/rounds, byKey/(rounds*keyReps)
		wbemdCPU, hostCPU, psCPU = wbemdCPU/rounds, hostCPU/rounds, psCPU/rounds
		psRatios = append(psRatios, float64(wbemd)/float64(ps))
		cpuRatios = append(cpuRatios, float64(wbemdCPU)/float64(psCPU))
		keyRatios = append(keyRatios, float64(wbemd)/float64(byKey))
		b.Logf("pair %d: %d processes: wbemd %v (CPU %v, of it the provider host %v), ps %v (CPU %v), ratio %.2f (CPU %.2f); by key %v, %.1fx a full enumeration; four callers: %.0f reads by key/s, %.0f queries by key/s, %.0f enumerations/s, %.1fx and %.1fx",
			i+1, n, wbemd.Round(time.Microsecond), wbemdCPU.Round(time.Microsecond), hostCPU.Round(time.Microsecond), ps.Round(time.Microsecond), psCPU.Round(time.Microsecond),
			psRatios[i], cpuRatios[i], byKey.Round(time.Microsecond), keyRatios[i], gets, queries, enums, tputRatios[i], queryRatios[i])
	}
	median := func(x []float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(median(psRatios), "wbemd/ps")
	b.ReportMetric(median(cpuRatios), "wbemd/ps-cpu")
	b.ReportMetric(median(keyRatios), "enum/bykey")
	b.ReportMetric(median(tputRatios), "bykey/enum-4callers")
	b.ReportMetric(median(queryRatios), "query/enum-4callers")
}

// selfCPU is the CPU time (user and system) of this process so far.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the CPU time (user and system) of this process's running
// children (the provider host) so far. A child's is the sum of its
// threads' run times in nanoseconds (/proc/PID/task/TID/schedstat); the
// clock ticks of /proc/PID/stat (10 ms each) are the fallback. Reading
// /proc costs this process CPU: it is called outside the intervals that
// selfCPU measures.
func childrenCPU(b *testing.B) (children time.Duration) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == me {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+2:]))
		if len(f) < 13 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != me {
			continue
		}
		if ns, ok := threadsRunTime(e.Name()); ok {
			children += ns
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		children += time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
	}
	return children
}

// threadsRunTime is the sum of the run times of process pid's threads.
func threadsRunTime(pid string) (time.Duration, bool) {
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return 0, false
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			return 0, false
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}
