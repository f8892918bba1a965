package cimom

import (
	"fmt"
	"testing"
	"time"
)

// The ratio benchmarks run two or more operations alternately in one loop
// and report each one's time and their ratios: on a shared machine the
// load moves both sides alike, so a ratio from one run means more than two
// figures from two runs.

// alternate runs each of ops once per iteration, in turn, and returns the
// total time spent in each.
func alternate(b *testing.B, ops ...func()) []time.Duration {
	spent := make([]time.Duration, len(ops))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, op := range ops {
			t := time.Now()
			op()
			spent[j] += time.Since(t)
		}
	}
	return spent
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
	b.ReportMetric(per(t[0]), "µs/range-low-first")
	b.ReportMetric(per(t[1]), "µs/range-high-first")
	b.ReportMetric(per(t[2]), "µs/key-prefix")
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
	b.ReportMetric(rate(t[0]), "names/s")
	b.ReportMetric(rate(t[1]), "instances/s")
	b.ReportMetric(t[1].Seconds()/t[0].Seconds(), "names/instances")
}
