package bolt

import (
	"context"
	"fmt"
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
