package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
)

// benchServer runs wbemd in this process (the built-in providers' host is
// this test binary) and connects to root/cimv2 through its local socket,
// as `wbem` does.
func benchServer(b *testing.B) cimom.Services {
	b.Helper()
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
// alternating pairs, one pair an iteration, each pair made of five full
// enumerations of Win32_Process through the local socket, five runs of
// `ps -eo pid,ppid,user,rss,vsz,stat,lstart,args` and fifty reads of one
// Win32_Process by key (GetObject), in turns so that both sides see the
// same machine. It logs every pair and reports the median ratios:
// wbemd/ps (target at most 1.0) and full enumeration/by key (target at
// least 10).
//
//	go test -run '^$' -bench ProcessPairs -benchtime=6x -v ./server
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
	const reps, keyReps = 5, 50
	var psRatios, keyRatios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		start := time.Now()
		for range reps {
			n = enum()
		}
		wbemd := time.Since(start) / reps
		start = time.Now()
		for range reps {
			if err := exec.Command("ps", "-eo", "pid,ppid,user,rss,vsz,stat,lstart,args").Run(); err != nil {
				b.Fatal(err)
			}
		}
		ps := time.Since(start) / reps
		start = time.Now()
		for range keyReps {
			if _, err := svc.GetObject(ctx, self, 0, nil); err != nil {
				b.Fatal(err)
			}
		}
		byKey := time.Since(start) / keyReps
		psRatios = append(psRatios, float64(wbemd)/float64(ps))
		keyRatios = append(keyRatios, float64(wbemd)/float64(byKey))
		b.Logf("pair %d: %d processes: wbemd %v, ps %v, ratio %.2f; by key %v, %.0fx a full enumeration",
			i+1, n, wbemd.Round(time.Microsecond), ps.Round(time.Microsecond), psRatios[i], byKey.Round(time.Microsecond), keyRatios[i])
	}
	median := func(x []float64) float64 {
		s := slices.Clone(x)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(median(psRatios), "wbemd/ps")
	b.ReportMetric(median(keyRatios), "enum/bykey")
}
