package cimxml

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// BenchmarkGetInstanceHTTP measures GetInstance through the CIM-XML
// client and handler over real HTTP keep-alive connections, 8 at a time.
func BenchmarkGetInstanceHTTP(b *testing.B) {
	url := benchServer(b)
	ctx := context.Background()
	c, err := Dial(ctx, url, "root/sample", ClientOptions{User: "admin", Password: "pw", MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
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
	url := benchServer(b)
	ctx := context.Background()
	c, err := Dial(ctx, url, "root/sample", ClientOptions{User: "admin", Password: "pw", MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	cls, _ := c.GetObject(ctx, "Sample_Disk", 0, nil)
	var n atomicCounter
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o, _ := cls.SpawnInstance()
			o.Put("Name", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("d%d", n.next())})
			o.Put("Model", cim.Value{Type: cim.TypeString, V: "bench"})
			if _, err := c.PutInstance(ctx, o, cimom.FlagCreateOnly, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }
