package cimom

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkPutInstance16Writers10Subscribers is BenchmarkPutInstance16Writers
// with ten subscriptions reading every event: compare the two for what
// subscriptions cost the writers (the events are decoded once, by the
// feed reader, and shared).
func BenchmarkPutInstance16Writers10Subscribers(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
	defer r.close()
	ctx, cancel := context.WithCancel(context.Background())
	var received atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		seq, err := r.c.Subscribe(ctx, SubscribeOptions{Namespace: "root/cimv2", Principal: admin})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, err := range seq {
				if err != nil {
					return
				}
				received.Add(1)
			}
		}()
	}
	var n atomic.Int64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.svc.PutInstance(ctx, r.instance("p", int(n.Add(1))), FlagCreateOnly, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	b.StopTimer()
	cancel()
	wg.Wait()
}
