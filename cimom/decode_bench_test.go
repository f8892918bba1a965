package cimom

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// BenchmarkDecodeInstance measures the decoding of one stored instance of
// the benchmark class against the resolved class, as the repository's
// reads and the feed reader do (classInfo.decode), and as cim.DecodeInstance
// does without the class's template.
func BenchmarkDecodeInstance(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), true)
	defer r.close()
	ctx := context.Background()
	rec := cim.EncodeInstance(nil, r.instance("h", 1))
	ci, err := r.c.resolve(ctx, "root/cimv2", "Bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := ci.decode(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("class", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := cim.DecodeInstance(rec, ci.cls); err != nil {
				b.Fatal(err)
			}
		}
	})
}
