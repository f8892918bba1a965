package cimom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// The query benchmarks use a repository of WBEMD_BENCH_N instances (the
// default 100,000; BENCHMARKS.md records 1,000,000) of QB { [Key] string
// Id; [Indexed] string Grp; uint32 Size; string Note; [Indexed] uint32 Num; },
// 100 instances per Grp value, Num and Size the instance's ordinal, and an association QLink with 1,000 links from one instance
// and 2,000 others. The file is built once and kept in the temporary
// directory.

func queryBenchFile(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("wbemd-qbench2-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	r := openBench(b, path+".tmp", true)
	ctx := context.Background()
	qb := class("QB", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Grp", cim.TypeString, qTrue("Indexed")),
		prop("Size", cim.TypeUint32), prop("Note", cim.TypeString), prop("Num", cim.TypeUint32, qTrue("Indexed")))
	link := class("QLink", "", []cim.Qualifier{qTrue("Association")},
		cim.Property{Name: "A", Type: cim.TypeReference, RefClass: "QB", Qualifiers: []cim.Qualifier{qTrue("Key")}},
		cim.Property{Name: "B", Type: cim.TypeReference, RefClass: "QB", Qualifiers: []cim.Qualifier{qTrue("Key")}})
	for _, c := range []*cim.Object{qb, link} {
		if err := r.svc.PutClass(ctx, c, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	qbc, _ := r.svc.GetObject(ctx, "QB", 0, nil)
	lc, _ := r.svc.GetObject(ctx, "QLink", 0, nil)
	const batch = 10_000
	for i := 0; i < n; i += batch {
		objs := make([]*cim.Object, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			o, _ := qbc.SpawnInstance()
			o.Put("Id", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("q%07d", j)})
			o.Put("Grp", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("g%05d", j/100)})
			o.Put("Size", cim.Value{Type: cim.TypeUint32, V: uint32(j)})
			o.Put("Note", cim.Value{Type: cim.TypeString, V: "a query benchmark instance"})
			o.Put("Num", cim.Value{Type: cim.TypeUint32, V: uint32(j)})
			objs = append(objs, o)
		}
		if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, objs, 0); err != nil {
			b.Fatal(err)
		}
	}
	var links []*cim.Object
	add := func(from, to int) {
		o, _ := lc.SpawnInstance()
		o.Put("A", cim.Value{Type: cim.TypeReference, V: fmt.Sprintf(`QB.Id="q%07d"`, from)})
		o.Put("B", cim.Value{Type: cim.TypeReference, V: fmt.Sprintf(`QB.Id="q%07d"`, to)})
		links = append(links, o)
	}
	for i := 1; i <= 1000; i++ {
		add(0, i)
	}
	for i := 0; i < 2000; i++ {
		add(1+i%50, 2000+i)
	}
	if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, links, 0); err != nil {
		b.Fatal(err)
	}
	r.close()
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// runQuery runs a query to the end and returns the result count.
func runQuery(b *testing.B, svc Services, q string) int {
	ctx := context.Background()
	e, err := svc.ExecQuery(ctx, "WQL", q, FlagForwardOnly, nil)
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
	return n
}

func benchQuery(b *testing.B, q string, want int) {
	n := benchN()
	r := openBench(b, queryBenchFile(b, n), true)
	defer r.close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := runQuery(b, r.svc, q); got != want {
			b.Fatalf("%s: %d results, want %d", q, got, want)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/query")
}

func BenchmarkQueryKeyEquality(b *testing.B) {
	benchQuery(b, fmt.Sprintf("SELECT * FROM QB WHERE Id = 'q%07d'", benchN()/2), 1)
}

func BenchmarkQueryIndexEquality(b *testing.B) {
	benchQuery(b, fmt.Sprintf("SELECT * FROM QB WHERE Grp = 'G%05d'", benchN()/200), 100)
}

// The range benchmarks read 100 rows of the middle of the repository: by
// both ends of a range on Num written in either order, by a prefix of the
// key (the yardstick: a range of the instances themselves), by ten
// equalities, and by two indexed conditions of which the planner must
// choose the narrower.

func BenchmarkQueryRangeLowFirst(b *testing.B) {
	m := benchN() / 2
	benchQuery(b, fmt.Sprintf("SELECT * FROM QB WHERE Num >= %d AND Num < %d", m, m+100), 100)
}

func BenchmarkQueryRangeHighFirst(b *testing.B) {
	m := benchN() / 2
	benchQuery(b, fmt.Sprintf("SELECT * FROM QB WHERE Num < %d AND Num >= %d", m+100, m), 100)
}

func BenchmarkQueryKeyPrefix(b *testing.B) {
	benchQuery(b, fmt.Sprintf("SELECT * FROM QB WHERE Id LIKE 'q%05d%%'", benchN()/200), 100)
}

func BenchmarkQueryInList(b *testing.B) {
	m := benchN() / 2
	q := "SELECT * FROM QB WHERE Num = " + fmt.Sprint(m)
	for i := 1; i < 10; i++ {
		q += fmt.Sprintf(" OR Num = %d", m+i*1000)
	}
	benchQuery(b, q, 10)
}

func BenchmarkQueryTwoIndexes(b *testing.B) {
	benchQuery(b, fmt.Sprintf("SELECT * FROM QB WHERE Num >= 0 AND Grp = 'g%05d'", benchN()/200), 100)
}

func BenchmarkQueryAssociators(b *testing.B) {
	benchQuery(b, `ASSOCIATORS OF {QB.Id="q0000000"}`, 1000)
}

func BenchmarkQueryScanFilter(b *testing.B) {
	n := benchN()
	r := openBench(b, queryBenchFile(b, n), true)
	defer r.close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got := runQuery(b, r.svc, "SELECT * FROM QB WHERE Size > 4000000000 OR Note = 'none'"); got != 0 {
			b.Fatalf("%d results", got)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "examined/s")
}
