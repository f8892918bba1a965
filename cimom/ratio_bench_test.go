package cimom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// The ratio benchmarks run two or more operations alternately in one loop
// and report each one's CPU time and their ratios: on a shared machine the
// load moves both sides alike, so a ratio from one run means more than two
// figures from two runs. Their µs figures are CPU time.

// alternate runs each of ops once per iteration, in turn, and returns the
// CPU time the process spent in each (user and system, from getrusage:
// on a loaded machine wall time mostly measures the other processes). A
// first round, not counted, warms the caches.
func alternate(b *testing.B, ops ...func()) []time.Duration {
	spent := make([]time.Duration, len(ops))
	for _, op := range ops {
		op()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, op := range ops {
			t := cpuTime(b)
			op()
			spent[j] += cpuTime(b) - t
		}
	}
	return spent
}

// cpuTime is the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQueryRangeRatio reads a 100-row range on an Indexed property
// written in both orders and a 100-row key prefix, alternately; the issue's
// target is range/prefix ≤ 2 either way.
func BenchmarkQueryRangeRatio(b *testing.B) {
	n := benchN()
	r := openBench(b, queryBenchFile(b, n), true)
	defer r.close()
	m := n / 2
	queries := []string{
		fmt.Sprintf("SELECT * FROM QB WHERE Num >= %d AND Num < %d", m, m+100),
		fmt.Sprintf("SELECT * FROM QB WHERE Num < %d AND Num >= %d", m+100, m),
		fmt.Sprintf("SELECT * FROM QB WHERE Id LIKE 'q%05d%%'", n/200),
	}
	var ops []func()
	for _, q := range queries {
		ops = append(ops, func() {
			if got := runQuery(b, r.svc, q); got != 100 {
				b.Fatalf("%s: %d results, want 100", q, got)
			}
		})
	}
	t := alternate(b, ops...)
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(per(t[0]), "cpu-µs/range-low-first")
	b.ReportMetric(per(t[1]), "cpu-µs/range-high-first")
	b.ReportMetric(per(t[2]), "cpu-µs/key-prefix")
	b.ReportMetric(t[0].Seconds()/t[2].Seconds(), "low-first/prefix")
	b.ReportMetric(t[1].Seconds()/t[2].Seconds(), "high-first/prefix")
}

// BenchmarkNamesRatio enumerates the benchmark repository for names
// (KeysOnlyContext) and for whole instances, each path formatted as a door
// does,
// alternately; the target is names/s ≥ 2× instances/s.
func BenchmarkNamesRatio(b *testing.B) {
	n := benchN()
	r := openBench(b, benchFile(b, n), true)
	defer r.close()
	enum := func(wctx *Context, path bool) func() {
		return func() {
			e, err := r.svc.CreateInstanceEnum(b.Context(), "Bench", FlagForwardOnly, wctx)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			count := 0
			for o, err := range All(b.Context(), e) {
				if err != nil {
					b.Fatal(err)
				}
				if path {
					if v, _ := o.SystemProperty("__RELPATH"); v.IsNull() {
						b.Fatal("no path")
					}
				}
				count++
			}
			if count != n {
				b.Fatalf("enumerated %d of %d", count, n)
			}
		}
	}
	t := alternate(b, enum(KeysOnlyContext(), true), enum(nil, true))
	rate := func(d time.Duration) float64 { return float64(b.N*n) / d.Seconds() }
	b.ReportMetric(rate(t[0]), "names/cpu-s")
	b.ReportMetric(rate(t[1]), "instances/cpu-s")
	b.ReportMetric(t[1].Seconds()/t[0].Seconds(), "names/instances")
}

// assocBenchFile returns a repository of n instances of AB { [Key] string
// Id; } and n links AL { [Key] AB ref A; [Key] AB ref B; } joining each
// instance to the next (a ring), and 8 more from a0: a0 has 10 references.
// It is built once per size through the bulk path (PutInstances) and kept
// in the temporary directory.
func assocBenchFile(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("wbemd-abench-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	r := openBench(b, path+".tmp", true)
	ctx := context.Background()
	ab := class("AB", "", nil, prop("Id", cim.TypeString, qTrue("Key")))
	al := class("AL", "", []cim.Qualifier{qTrue("Association")},
		cim.Property{Name: "A", Type: cim.TypeReference, RefClass: "AB", Qualifiers: []cim.Qualifier{qTrue("Key")}},
		cim.Property{Name: "B", Type: cim.TypeReference, RefClass: "AB", Qualifiers: []cim.Qualifier{qTrue("Key")}})
	for _, c := range []*cim.Object{ab, al} {
		if err := r.svc.PutClass(ctx, c, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	abc, _ := r.svc.GetObject(ctx, "AB", 0, nil)
	alc, _ := r.svc.GetObject(ctx, "AL", 0, nil)
	id := func(i int) string { return fmt.Sprintf("a%d", i) }
	link := func(from, to int) *cim.Object {
		o, _ := alc.SpawnInstance()
		o.Put("A", cim.Value{Type: cim.TypeReference, V: fmt.Sprintf(`AB.Id="%s"`, id(from))})
		o.Put("B", cim.Value{Type: cim.TypeReference, V: fmt.Sprintf(`AB.Id="%s"`, id(to))})
		return o
	}
	const batch = 10_000
	var objs []*cim.Object
	flush := func() {
		if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, objs, 0); err != nil {
			b.Fatal(err)
		}
		objs = objs[:0]
	}
	for i := 0; i < n; i++ {
		o, _ := abc.SpawnInstance()
		o.Put("Id", cim.Value{Type: cim.TypeString, V: id(i)})
		objs = append(objs, o)
		if len(objs) == batch {
			flush()
		}
	}
	flush()
	for i := 0; i < n; i++ {
		objs = append(objs, link(i, (i+1)%n))
		if len(objs) == batch {
			flush()
		}
	}
	for i := 2; i < 10; i++ {
		objs = append(objs, link(0, i))
	}
	flush()
	r.close()
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkAssocRatio answers ASSOCIATORS OF an object with 10 references
// in a repository of 1,000 instances (and 1,000 links) and in one of
// WBEMD_BENCH_N, alternately; the target is large/small ≤ 2.
func BenchmarkAssocRatio(b *testing.B) {
	small := openBench(b, assocBenchFile(b, 1000), true)
	defer small.close()
	large := openBench(b, assocBenchFile(b, benchN()), true)
	defer large.close()
	const q = `ASSOCIATORS OF {AB.Id="a0"}`
	t := alternate(b,
		func() {
			if got := runQuery(b, small.svc, q); got != 10 {
				b.Fatalf("%d associators, want 10", got)
			}
		},
		func() {
			if got := runQuery(b, large.svc, q); got != 10 {
				b.Fatalf("%d associators, want 10", got)
			}
		})
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(per(t[0]), "cpu-µs/at-1000")
	b.ReportMetric(per(t[1]), "cpu-µs/at-N")
	b.ReportMetric(t[1].Seconds()/t[0].Seconds(), "N/1000")
}

// BenchmarkAssocScan answers the AssocRatio query at WBEMD_BENCH_N by
// scanning (ForceScan), as wbemd did before the reverse-reference index.
func BenchmarkAssocScan(b *testing.B) {
	large := openBench(b, assocBenchFile(b, benchN()), true)
	defer large.close()
	wctx := NewContext()
	wctx.SetValue(ForceScan, true)
	ctx := context.Background()
	t := alternate(b, func() {
		e, err := large.svc.ExecQuery(ctx, "WQL", `ASSOCIATORS OF {AB.Id="a0"}`, FlagForwardOnly, wctx)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range All(ctx, e) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		e.Close()
		if n != 10 {
			b.Fatalf("%d associators, want 10", n)
		}
	})
	b.ReportMetric(float64(t[0].Microseconds())/float64(b.N), "cpu-µs/query")
}

// BenchmarkLookupRatio runs a key lookup and an indexed equality (100
// rows) in the query benchmark's repository of WBEMD_BENCH_N instances and
// in one of 10,000, alternately; the target at 10,000,000 is N/10k
// ≤ 2 for both.
func BenchmarkLookupRatio(b *testing.B) {
	const small = 10_000
	n := benchN()
	rs := openBench(b, queryBenchFile(b, small), true)
	defer rs.close()
	rl := openBench(b, queryBenchFile(b, n), true)
	defer rl.close()
	key := func(r *benchRepo, n int) func() {
		q := fmt.Sprintf("SELECT * FROM QB WHERE Id = 'q%07d'", n/2)
		return func() {
			if got := runQuery(b, r.svc, q); got != 1 {
				b.Fatalf("%s: %d results", q, got)
			}
		}
	}
	idx := func(r *benchRepo, n int) func() {
		q := fmt.Sprintf("SELECT * FROM QB WHERE Grp = 'G%05d'", n/200)
		return func() {
			if got := runQuery(b, r.svc, q); got != 100 {
				b.Fatalf("%s: %d results", q, got)
			}
		}
	}
	t := alternate(b, key(rs, small), key(rl, n), idx(rs, small), idx(rl, n))
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(per(t[0]), "cpu-µs/key-10k")
	b.ReportMetric(per(t[1]), "cpu-µs/key-N")
	b.ReportMetric(per(t[2]), "cpu-µs/index-10k")
	b.ReportMetric(per(t[3]), "cpu-µs/index-N")
	b.ReportMetric(t[1].Seconds()/t[0].Seconds(), "key-N/10k")
	b.ReportMetric(t[3].Seconds()/t[2].Seconds(), "index-N/10k")
}

// BenchmarkEnumerateScale enumerates the query benchmark's repository (QB,
// WBEMD_BENCH_N instances) and reports the peak heap in use, sampled every
// 65,536 instances: a flat heap whatever N.
func BenchmarkEnumerateScale(b *testing.B) {
	n := benchN()
	r := openBench(b, queryBenchFile(b, n), true)
	defer r.close()
	ctx := context.Background()
	var peak uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := r.svc.CreateInstanceEnum(ctx, "QB", FlagForwardOnly, nil)
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for _, err := range All(ctx, e) {
			if err != nil {
				b.Fatal(err)
			}
			if count++; count%65536 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		e.Close()
		if count != n {
			b.Fatalf("enumerated %d of %d", count, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "instances/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
