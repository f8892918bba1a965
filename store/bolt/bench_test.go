package bolt

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store"
)

func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "b.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

var benchValue = make([]byte, 250)

// BenchmarkTxnSerial: one durable single-put transaction at a time.
func BenchmarkTxnSerial(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte(fmt.Sprintf("k%09d", i)), benchValue)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txns/s")
}

// BenchmarkTxnPaced measures the latency of single-put transactions sent
// at a steady rate, each from a goroutine of its own (as a server's
// clients send them): p50 and p99 in microseconds, and the transactions a
// commit carried. b.N is not used: each rate runs 3 seconds.
//
//	go test -run '^$' -bench TxnPaced -benchtime 1x ./store/bolt
func BenchmarkTxnPaced(b *testing.B) {
	for _, rate := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			db := benchDB(b)
			ctx := context.Background()
			n := 3 * rate
			lat := make([]time.Duration, n)
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			var wg sync.WaitGroup
			for i := range n {
				<-tick.C
				wg.Go(func() {
					start := time.Now()
					if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte(fmt.Sprintf("k%09d", i)), benchValue)}); err != nil {
						b.Error(err)
					}
					lat[i] = time.Since(start)
				})
			}
			wg.Wait()
			slices.Sort(lat)
			st := db.Stats()
			b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(st.Txns)/float64(st.Commits), "txns/commit")
		})
	}
}

// BenchmarkTxn16Writers: sixteen goroutines committing concurrently share
// fsyncs through group commit.
func BenchmarkTxn16Writers(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	var wg sync.WaitGroup
	per := b.N/16 + 1
	b.ResetTimer()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte(fmt.Sprintf("k%02d%09d", w, i)), benchValue)}); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.ReportMetric(float64(per*16)/b.Elapsed().Seconds(), "txns/s")
}

// BenchmarkTxnBulk: one durable transaction of 20,000 puts.
func BenchmarkTxnBulk(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	const n = 20_000
	for i := 0; i < b.N; i++ {
		ops := make([]store.Op, n)
		for j := range ops {
			ops[j] = store.Put([]byte(fmt.Sprintf("b%03d/%09d", i, j)), benchValue)
		}
		if _, err := db.Txn(ctx, nil, ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkScan: reading 100,000 keys of 250 bytes in order, in one Range
// (one snapshot) and with store.Chunked (a snapshot per 256 keys), as open
// enumerations read them.
func BenchmarkScan(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	const n = 100_000
	for i := 0; i < n; i += 10_000 {
		ops := make([]store.Op, 10_000)
		for j := range ops {
			ops[j] = store.Put([]byte(fmt.Sprintf("s%09d", i+j)), benchValue)
		}
		if _, err := db.Txn(ctx, nil, ops); err != nil {
			b.Fatal(err)
		}
	}
	scans := map[string]func() iter.Seq2[store.KV, error]{
		"Range":   func() iter.Seq2[store.KV, error] { return db.Range(ctx, nil, nil) },
		"Chunked": func() iter.Seq2[store.KV, error] { return store.Chunked(ctx, db, nil, nil, 0) },
	}
	for _, name := range []string{"Range", "Chunked"} {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				got := 0
				for _, err := range scans[name]() {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("%d keys, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
