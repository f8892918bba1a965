package bolt

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"sync"
	"testing"

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
