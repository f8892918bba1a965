package wsman

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// benchClient is an HTTP client with 8 keep-alive connections.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 8, MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8}}
}

// BenchmarkGet measures WS-Transfer Get of one instance over real HTTP
// with 8 keep-alive connections used at once (8 goroutines on 2 cores).
func BenchmarkGet(b *testing.B) {
	url, _ := newServer(b, nil)
	env, _ := msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}}.build()
	c := benchClient()
	b.SetParallelism(8 / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", url, strings.NewReader(env))
			req.SetBasicAuth("admin", "pw")
			req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
			rsp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode != 200 || n < 500 {
				b.Errorf("HTTP %d, %d bytes", rsp.StatusCode, n)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// counter counts the occurrences of a pattern in a stream and keeps
// its first 4 KiB, without holding the rest.
type counter struct {
	pat   []byte
	head  []byte
	carry []byte
	n     int
}

func (c *counter) Write(p []byte) (int, error) {
	if len(c.head) < 4096 {
		c.head = append(c.head, p[:min(len(p), 4096-len(c.head))]...)
	}
	buf := append(c.carry, p...)
	c.n += strings.Count(string(buf), string(c.pat))
	keep := len(c.pat) - 1
	if len(buf) < keep {
		keep = len(buf)
	}
	c.carry = append(c.carry[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// BenchmarkEnumerate100k enumerates 100,000 instances with Enumerate and
// Pulls, and reports the peak Go heap in use (client and server share the
// process), sampled every 5 ms while the answers stream. "pywinrm" pulls
// as pywinrm does (MaxEnvelopeSize 153600, MaxElements 1000); "one-pull"
// takes all 100,000 in one Pull answer of about 30 MB.
func BenchmarkEnumerate100k(b *testing.B) {
	const total = 100000
	url, h := newServer(b, nil)
	ctx := context.Background()
	cls := &cim.Object{Genus: cim.GenusClass, Class: "Bench_Item", Properties: []cim.Property{
		{Name: "ID", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32), Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}},
		{Name: "Label", Type: cim.TypeString, Value: cim.Null(cim.TypeString)},
		{Name: "Size", Type: cim.TypeUint64, Value: cim.Null(cim.TypeUint64)},
	}}
	svc, err := h.Connector.Connect(ctx, sampleNS, cimom.Principal{Name: "root"})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.PutClass(ctx, cls, cimom.FlagCreateOnly, nil); err != nil {
		b.Fatal(err)
	}
	cls, _ = svc.GetObject(ctx, "Bench_Item", 0, nil)
	for i := 0; i < total; i += 5000 {
		batch := make([]*cim.Object, 0, 5000)
		for j := i; j < i+5000; j++ {
			inst, _ := cls.SpawnInstance()
			inst.Put("ID", cim.Value{Type: cim.TypeUint32, V: uint32(j)})
			inst.Put("Label", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("item number %d of the benchmark", j)})
			inst.Put("Size", cim.Value{Type: cim.TypeUint64, V: uint64(j) * 4096})
			batch = append(batch, inst)
		}
		if _, err := h.Connector.(*cimom.CIMOM).PutInstances(ctx, sampleNS, cimom.Principal{Name: "root"}, batch, cimom.FlagCreateOnly); err != nil {
			b.Fatal(err)
		}
	}
	uri := dmtf + "Bench_Item"
	c := benchClient()
	send := func(env string) *counter {
		req, _ := http.NewRequest("POST", url, strings.NewReader(env))
		req.SetBasicAuth("admin", "pw")
		rsp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		cn := &counter{pat: []byte("<p:ID>")}
		io.Copy(cn, rsp.Body)
		rsp.Body.Close()
		if rsp.StatusCode != 200 {
			b.Fatalf("HTTP %d\n%s", rsp.StatusCode, cn.head)
		}
		return cn
	}
	ctxRE := regexp.MustCompile(`<wsen:EnumerationContext>([^<]+)<`)
	for _, c := range []struct {
		name, limits string
		max          int
	}{
		{"pywinrm", `<wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize>`, 1000},
		{"one-pull", `<wsman:MaxEnvelopeSize s:mustUnderstand="true">1073741824</wsman:MaxEnvelopeSize>`, total},
	} {
		b.Run(c.name, func(b *testing.B) {
			runtime.GC()
			var peak atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ms runtime.MemStats
				t := time.NewTicker(5 * time.Millisecond)
				defer t.Stop()
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			}()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				env, _ := msg{action: actEnumerate, uri: uri, headers: c.limits, body: "<wsen:Enumerate/>"}.build()
				cn := send(env)
				got, pulls := 0, 0
				for {
					m := ctxRE.FindSubmatch(cn.head)
					if m == nil {
						break
					}
					env, _ := msg{action: actPull, uri: uri, headers: c.limits, body: fmt.Sprintf("<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext><wsen:MaxElements>%d</wsen:MaxElements></wsen:Pull>", m[1], c.max)}.build()
					cn = send(env)
					got += cn.n
					pulls++
				}
				if got != total {
					b.Fatalf("%d instances in %d pulls, want %d", got, pulls, total)
				}
				b.ReportMetric(float64(pulls), "pulls")
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "instances/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}
