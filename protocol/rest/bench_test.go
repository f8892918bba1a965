package rest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/protocol/rest"
	"github.com/wbemd/wbemd/store/bolt"
)

// benchServer serves the JSON door and CIM-XML side by side, behind the
// same filters (an authenticator that checks the user name only, so that
// password hashing does not hide the doors' costs), over real HTTP, on a
// repository on disk with Bench_Item in root/bench.
func benchServer(b *testing.B) (string, *cimom.CIMOM) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	root := cimom.Principal{Name: "root"}
	if _, err := om.CreateNamespace(ctx, "root/bench", root); err != nil {
		b.Fatal(err)
	}
	stack := &httpstack.Stack{Observer: httpstack.NewObserver(slog.New(slog.DiscardHandler)),
		Auth: func(r *http.Request) (cimom.Principal, bool) {
			n, _, ok := r.BasicAuth()
			return cimom.Principal{Name: n}, ok && n == "root"
		}}
	rh := &rest.Handler{Connector: om}
	xh := &cimxml.Handler{Connector: om}
	mux := http.NewServeMux()
	mux.Handle(rest.Prefix, stack.Serve(rh.Door(), rh))
	mux.Handle("/cimom", stack.Serve(xh.Door(), xh))
	srv := httptest.NewServer(mux)
	b.Cleanup(func() { srv.Close(); xh.Close(); om.Close(ctx); db.Close() })
	return srv.URL, om
}

// benchClass makes class (a key ID, a label and a size) with n instances.
func benchClass(b *testing.B, om *cimom.CIMOM, class string, n int) {
	ctx := context.Background()
	root := cimom.Principal{Name: "root"}
	svc, err := om.Connect(ctx, "root/bench", root)
	if err != nil {
		b.Fatal(err)
	}
	cls := &cim.Object{Genus: cim.GenusClass, Class: class, Properties: []cim.Property{
		{Name: "ID", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}},
		{Name: "Label", Type: cim.TypeString, Value: cim.Null(cim.TypeString)},
		{Name: "Size", Type: cim.TypeUint64, Value: cim.Null(cim.TypeUint64)},
	}}
	if err := svc.PutClass(ctx, cls, cimom.FlagCreateOnly, nil); err != nil {
		b.Fatal(err)
	}
	cls, _ = svc.GetObject(ctx, class, 0, nil)
	for i := 0; i < n; i += 5000 {
		batch := make([]*cim.Object, 0, 5000)
		for j := i; j < min(n, i+5000); j++ {
			inst, _ := cls.SpawnInstance()
			inst.Put("ID", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("i%07d", j)})
			inst.Put("Label", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("item number %d of the benchmark", j)})
			inst.Put("Size", cim.Value{Type: cim.TypeUint64, V: uint64(j) * 4096})
			batch = append(batch, inst)
		}
		if _, err := om.PutInstances(ctx, "root/bench", root, batch, cimom.FlagCreateOnly); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClient is an HTTP client with 8 keep-alive connections.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 8, MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8}}
}

// BenchmarkGetInstance measures GetInstance of one instance over real
// HTTP with 8 keep-alive connections used at once, through CIM-XML and
// through the JSON door. "cimxml" and "json" run each door alone (gets/s).
// "alternating" runs windows of b.N gets, one door then the other, six
// times (each door first in three), so that the two doors of a pair see
// nearly the same machine: it reports the median throughput of each and
// the median of the pairs' ratios, json/cimxml.
func BenchmarkGetInstance(b *testing.B) {
	base, om := benchServer(b)
	benchClass(b, om, "Bench_Item", 100)
	xml := `<?xml version="1.0" encoding="utf-8"?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ>` +
		`<IMETHODCALL NAME="GetInstance"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="bench"/></LOCALNAMESPACEPATH>` +
		`<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Bench_Item"><KEYBINDING NAME="ID"><KEYVALUE VALUETYPE="string">i0000042</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>` +
		`</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	doors := []string{"cimxml", "json"}
	get := func(b *testing.B, c *http.Client, door string) bool {
		var req *http.Request
		if door == "json" {
			req, _ = http.NewRequest("GET", base+"/api/v1/namespaces/root%2Fbench/instances/"+url.PathEscape(`Bench_Item.ID="i0000042"`), nil)
		} else {
			req, _ = http.NewRequest("POST", base+"/cimom", strings.NewReader(xml))
			req.Header.Set("Content-Type", "application/xml; charset=utf-8")
			req.Header.Set("CIMOperation", "MethodCall")
			req.Header.Set("CIMMethod", "GetInstance")
			req.Header.Set("CIMObject", "root%2Fbench")
		}
		req.SetBasicAuth("root", "")
		rsp, err := c.Do(req)
		if err != nil {
			b.Error(err)
			return false
		}
		body, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		if rsp.StatusCode != 200 || !strings.Contains(string(body), "i0000042") || strings.Contains(string(body), "<ERROR") {
			b.Errorf("HTTP %d: %.300s", rsp.StatusCode, body)
			return false
		}
		return true
	}
	for _, door := range doors {
		b.Run(door, func(b *testing.B) {
			c := benchClient()
			b.SetParallelism(8 / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !get(b, c, door) {
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
		})
	}
	b.Run("alternating", func(b *testing.B) {
		c := benchClient()
		// window runs n gets through door on 8 connections and returns
		// its throughput.
		window := func(door string, n int) float64 {
			var left atomic.Int64
			left.Store(int64(n))
			var wg sync.WaitGroup
			t0 := time.Now()
			for range 8 {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if !get(b, c, door) {
							return
						}
					}
				})
			}
			wg.Wait()
			return float64(n) / time.Since(t0).Seconds()
		}
		var ratios, xmlRates, jsonRates []float64
		b.ResetTimer()
		for round := range 6 {
			var x, j float64
			if round%2 == 0 {
				x, j = window("cimxml", b.N), window("json", b.N)
			} else {
				j, x = window("json", b.N), window("cimxml", b.N)
			}
			ratios, xmlRates, jsonRates = append(ratios, j/x), append(xmlRates, x), append(jsonRates, j)
		}
		median := func(v []float64) float64 { slices.Sort(v); return (v[len(v)/2-1] + v[len(v)/2]) / 2 }
		b.ReportMetric(median(xmlRates), "cimxml-gets/s")
		b.ReportMetric(median(jsonRates), "json-gets/s")
		b.ReportMetric(median(ratios), "json/cimxml")
	})
}

// BenchmarkFirstPage measures the first page (50 instances) of the
// instance table, as the console asks for it, of a class of 100 and of a
// class of 100,000 instances, with 8 readers at once. Each reader
// alternates between the two classes, so that both see the same machine
// (a loaded one, a store still settling after the load): the benchmark
// reports the p50 and p99 latency of each and the ratio of the p99s, and
// the peak Go heap while the readers run (sampled every 5 ms; client and
// server share the process) beside the heap before.
func BenchmarkFirstPage(b *testing.B) {
	base, om := benchServer(b)
	benchClass(b, om, "Bench_Small", 100)
	benchClass(b, om, "Bench_Large", 100000)
	classes := []string{"Bench_Small", "Bench_Large"}
	c := benchClient()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	var mu sync.Mutex
	lat := make([][]time.Duration, len(classes))
	var next atomic.Uint64
	b.SetParallelism(8 / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([][]time.Duration, len(classes))
		k := int(next.Add(1))
		for pb.Next() {
			k++
			class := classes[k%len(classes)]
			req, _ := http.NewRequest("GET", base+"/api/v1/namespaces/root%2Fbench/classes/"+class+"/instances?limit=50", nil)
			req.SetBasicAuth("root", "")
			t0 := time.Now()
			rsp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			mine[k%len(classes)] = append(mine[k%len(classes)], time.Since(t0))
			if rsp.StatusCode != 200 || strings.Count(string(body), `"ID":`) != 50 {
				b.Errorf("HTTP %d: %.300s", rsp.StatusCode, body)
				return
			}
		}
		mu.Lock()
		for i := range lat {
			lat[i] = append(lat[i], mine[i]...)
		}
		mu.Unlock()
	})
	b.StopTimer()
	close(stop)
	sampler.Wait()
	var p99 [2]float64
	for i, l := range lat {
		if len(l) == 0 {
			return
		}
		slices.Sort(l)
		p99[i] = float64(l[len(l)*99/100].Microseconds())
		b.ReportMetric(p99[i], classes[i]+"-p99-µs")
		b.ReportMetric(float64(l[len(l)/2].Microseconds()), classes[i]+"-p50-µs")
	}
	b.ReportMetric(p99[1]/p99[0], "p99-ratio")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "heap-before-MiB")
}
