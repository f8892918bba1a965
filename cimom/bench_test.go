package cimom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store/bolt"
)

// The benchmarks use a class of ten properties (a string key, a uint32
// key, and eight values of mixed types), durable commits unless said
// otherwise, and a real store file. WBEMD_BENCH_N sets the repository size
// of the enumeration and open benchmarks (default 100,000; BENCHMARKS.md
// records 1,000,000).

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("WBEMD_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func benchClass() *cim.Object {
	return class("Bench", "", nil,
		prop("Host", cim.TypeString, qTrue("Key")), prop("Seq", cim.TypeUint32, qTrue("Key")),
		prop("Name", cim.TypeString), prop("Size", cim.TypeUint64), prop("Used", cim.TypeReal64),
		prop("Up", cim.TypeBoolean), prop("Since", cim.TypeDatetime), prop("Tags", cim.TypeString.ArrayOf()),
		prop("Level", cim.TypeSint16), prop("Note", cim.TypeString))
}

type benchRepo struct {
	db  *bolt.DB
	c   *CIMOM
	svc Services
	cls *cim.Object
}

func openBench(b *testing.B, path string, noSync bool) *benchRepo {
	b.Helper()
	db, err := bolt.Open(path, bolt.Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	c, err := Open(context.Background(), db, Options{Server: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := c.Connect(context.Background(), "root/cimv2", admin)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.GetObject(context.Background(), "Bench", 0, nil); err != nil {
		if err := svc.PutClass(context.Background(), benchClass(), 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	cls, _ := svc.GetObject(context.Background(), "Bench", 0, nil)
	return &benchRepo{db: db, c: c, svc: svc, cls: cls}
}

func (r *benchRepo) close() {
	r.c.Close(context.Background())
	r.db.Close()
}

var since = cim.MustParseDatetime("20260101120000.000000+000")

func (r *benchRepo) instance(host string, seq int) *cim.Object {
	o, _ := r.cls.SpawnInstance()
	set := func(name string, v any) {
		p, _ := o.Property(name)
		p.Value, _ = cim.NewValue(p.Type, v)
	}
	set("Host", host)
	set("Seq", uint32(seq))
	set("Name", fmt.Sprintf("disk-%d", seq))
	set("Size", uint64(seq)*4096)
	set("Used", 0.5)
	set("Up", true)
	set("Since", since)
	set("Tags", []string{"a", "b"})
	set("Level", int16(3))
	set("Note", "a benchmark instance")
	return o
}

// load fills the repository with n instances in batches of one transaction.
func (r *benchRepo) load(b *testing.B, n int) {
	b.Helper()
	const batch = 10_000
	for i := 0; i < n; i += batch {
		objs := make([]*cim.Object, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			objs = append(objs, r.instance("h", j))
		}
		if _, err := r.c.PutInstances(context.Background(), "root/cimv2", admin, objs, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutInstanceSerial(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
	defer r.close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.svc.PutInstance(ctx, r.instance("s", i), FlagCreateOnly, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

func BenchmarkPutInstance16Writers(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
	defer r.close()
	ctx := context.Background()
	var seq atomic.Int64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.svc.PutInstance(ctx, r.instance("p", int(seq.Add(1))), FlagCreateOnly, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

func BenchmarkGetObject(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), true)
	defer r.close()
	r.load(b, 10_000)
	ctx := context.Background()
	paths := make([]string, 1024)
	for i := range paths {
		paths[i] = fmt.Sprintf(`Bench.Host="h",Seq=%d`, i*7)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.svc.GetObject(ctx, paths[i&1023], 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// benchFile returns a repository of n instances, built once per size and
// kept under the test cache directory between runs of the same process.
func benchFile(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("wbemd-bench-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	r := openBench(b, path+".tmp", true)
	r.load(b, n)
	r.close()
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

func BenchmarkEnumerateDeep(b *testing.B) {
	n := benchN()
	path := benchFile(b, n)
	r := openBench(b, path, true)
	defer r.close()
	ctx := context.Background()
	var peak uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := r.svc.CreateInstanceEnum(ctx, "Bench", FlagForwardOnly, nil)
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

// BenchmarkEnumerateNames is EnumerateDeep for names (KeysOnlyContext,
// as EnumerateInstanceNames reads them), each result's path formatted as
// a door does; compare its instances/s with EnumerateDeep's.
func BenchmarkEnumerateNames(b *testing.B) {
	n := benchN()
	r := openBench(b, benchFile(b, n), true)
	defer r.close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := r.svc.CreateInstanceEnum(ctx, "Bench", FlagForwardOnly, KeysOnlyContext())
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for o, err := range All(ctx, e) {
			if err != nil {
				b.Fatal(err)
			}
			if v, _ := o.SystemProperty("__RELPATH"); v.IsNull() {
				b.Fatal("no path")
			}
			count++
		}
		e.Close()
		if count != n {
			b.Fatalf("enumerated %d of %d", count, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "instances/s")
}

func BenchmarkOpenRepository(b *testing.B) {
	n := benchN()
	path := benchFile(b, n)
	ctx := context.Background()
	var ms runtime.MemStats
	var heap uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		db, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c, err := Open(ctx, db, Options{})
		if err != nil {
			b.Fatal(err)
		}
		svc, err := c.Connect(ctx, "root/cimv2", admin)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.GetObject(ctx, `Bench.Host="h",Seq=1`, 0, nil); err != nil {
			b.Fatal(err)
		}
		_ = time.Since(start)
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapInuse)
		c.Close(ctx)
		db.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}

func BenchmarkBulkLoad(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
	defer r.close()
	const batch = 20_000
	ctx := context.Background()
	var cpu time.Duration // the process's CPU time in PutInstances (all threads)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		objs := make([]*cim.Object, batch)
		for j := range objs {
			objs[j] = r.instance(fmt.Sprintf("b%d", i), j)
		}
		before := cpuTime(b)
		b.StartTimer()
		if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, objs, FlagCreateOnly); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime(b) - before
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "instances/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*batch), "cpu-µs/instance")
}
