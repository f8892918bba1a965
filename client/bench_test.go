package client

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// BenchmarkGetInstanceHTTP measures GetInstance through the CIM-XML
// client and handler over real HTTP keep-alive connections, 8 at a time.
func BenchmarkGetInstanceHTTP(b *testing.B) {
	ctx := context.Background()
	c := benchClient(b)
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetObject(ctx, `Sample_Disk.Name="sda"`, 0, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// BenchmarkCreateInstanceHTTP measures durable CreateInstance the same way.
func BenchmarkCreateInstanceHTTP(b *testing.B) {
	ctx := context.Background()
	c := benchClient(b)
	cls, _ := c.GetObject(ctx, "Sample_Disk", 0, nil)
	var n atomicCounter
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.PutInstance(ctx, benchDisk(cls, n.next()), cimom.FlagCreateOnly, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// BenchmarkEnumerateNamesHTTP measures EnumerateInstanceNames of 5,000
// instances through the CIM-XML client and handler over real HTTP, the
// client decoding every name (b.N enumerations).
func BenchmarkEnumerateNamesHTTP(b *testing.B) {
	ctx := context.Background()
	c := benchClient(b)
	cls, _ := c.GetObject(ctx, "Sample_Disk", 0, nil)
	const n = 5000
	for i := range int64(n) {
		if _, err := c.PutInstance(ctx, benchDisk(cls, i), cimom.FlagCreateOnly, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e, err := c.CreateInstanceEnum(ctx, "Sample_Disk", cimom.FlagForwardOnly, cimom.KeysOnlyContext())
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, err := range cimom.All(ctx, e) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got < n {
			b.Fatalf("%d names", got)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "names/s")
}

// benchClient serves the sample repository over real HTTP and dials it
// with 8 connections.
func benchClient(b *testing.B) *Client {
	c, err := Dial(context.Background(), sampleServer(b), "root/sample", Options{User: "admin", Password: "pw", MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }

// BenchmarkRoundTripFloor measures what a round trip costs here before
// the server does any CIM work, so that BenchmarkGetInstanceHTTP and
// BenchmarkCreateInstanceHTTP can be read against it. The requests and
// answers are theirs, recorded from the real handler; 8 connections at a
// time.
//   - tcp: GetInstance's request written and its answer read over loopback
//     TCP, nothing else;
//   - http: the client's transport against net/http's server, whose
//     handler reads the request and writes the recorded answer;
//   - get: Client.GetObject (the request encoded, the answer decoded into
//     an object) against that server;
//   - create: Client.PutInstance, creating, against that server.
func BenchmarkRoundTripFloor(b *testing.B) {
	ctx := context.Background()
	rec := recordExchanges(b)
	canned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		x := rec[r.Header.Get("CIMMethod")]
		maps.Copy(w.Header(), x.header)
		w.Write(x.body)
	}))
	b.Cleanup(canned.Close)
	get := rec["GetInstance"]
	parallel := func(b *testing.B, f func() error) {
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := f(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trips/s")
	}
	b.Run("tcp", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					buf := make([]byte, len(get.req))
					for {
						if _, err := io.ReadFull(c, buf); err != nil {
							return
						}
						if _, err := c.Write(get.answer); err != nil {
							return
						}
					}
				}()
			}
		}()
		type conn struct {
			net.Conn
			buf []byte
		}
		conns := make(chan conn, 8)
		for range 8 {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			conns <- conn{c, make([]byte, len(get.answer))}
		}
		parallel(b, func() error {
			c := <-conns
			defer func() { conns <- c }()
			if _, err := c.Write(get.req); err != nil {
				return err
			}
			_, err := io.ReadFull(c, c.buf)
			return err
		})
	})
	b.Run("http", func(b *testing.B) {
		tr, err := newTransport(canned.URL, nil, "", 8)
		if err != nil {
			b.Fatal(err)
		}
		parallel(b, func() error {
			rsp, err := tr.roundTrip(ctx, get.req)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, rsp.Body)
			rsp.Body.Close()
			return err
		})
	})
	c, err := Dial(ctx, canned.URL, "root/sample", Options{User: "admin", Password: "pw", MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("get", func(b *testing.B) {
		parallel(b, func() error {
			_, err := c.GetObject(ctx, `Sample_Disk.Name="sda"`, 0, nil)
			return err
		})
	})
	b.Run("create", func(b *testing.B) {
		cls, err := c.GetObject(ctx, "Sample_Disk", 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		var n atomicCounter
		parallel(b, func() error {
			_, err := c.PutInstance(ctx, benchDisk(cls, n.next()), cimom.FlagCreateOnly, nil)
			return err
		})
	})
}

// benchDisk is the instance BenchmarkCreateInstanceHTTP creates.
func benchDisk(cls *cim.Object, n int64) *cim.Object {
	o, _ := cls.SpawnInstance()
	o.Put("Name", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("d%d", n)})
	o.Put("Model", cim.Value{Type: cim.TypeString, V: "bench"})
	return o
}

// recorded is one exchange with the real handler: the request and the
// answer as they cross the wire, and the answer's headers and body.
type recorded struct {
	req, answer []byte
	header      http.Header
	body        []byte
}

// recordExchanges runs a GetInstance and a CreateInstance of the two
// benchmarks once through the real handler and returns the exchanges by
// CIMMethod.
func recordExchanges(b *testing.B) map[string]recorded {
	h := sampleHandler(b)
	var mu sync.Mutex
	recs := map[string]recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, err := httputil.DumpRequest(r, true)
		if err != nil {
			b.Error(err)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		x := recorded{req: dump, header: rec.Header().Clone(), body: rec.Body.Bytes()}
		rsp := rec.Result()
		rsp.ContentLength = int64(len(x.body))
		if x.answer, err = httputil.DumpResponse(rsp, true); err != nil {
			b.Error(err)
		}
		mu.Lock()
		recs[r.Header.Get("CIMMethod")] = x
		mu.Unlock()
		maps.Copy(w.Header(), x.header)
		w.WriteHeader(rec.Code)
		w.Write(x.body)
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL, "root/sample", Options{User: "admin", Password: "pw", MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.GetObject(ctx, `Sample_Disk.Name="sda"`, 0, nil); err != nil {
		b.Fatal(err)
	}
	cls, err := c.GetObject(ctx, "Sample_Disk", 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.PutInstance(ctx, benchDisk(cls, 0), cimom.FlagCreateOnly, nil); err != nil {
		b.Fatal(err)
	}
	for _, m := range []string{"GetInstance", "CreateInstance"} {
		if _, ok := recs[m]; !ok {
			b.Fatalf("no %s was recorded", m)
		}
	}
	return recs
}
