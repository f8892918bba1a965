package client

import (
	"context"
	"testing"

	"github.com/wbemd/wbemd/cimom"
)

// BenchmarkEnumerateNamesHTTP measures EnumerateInstanceNames of 5,000
// instances through the CIM-XML client and handler over real HTTP, the
// client decoding every name (b.N enumerations).
func BenchmarkEnumerateNamesHTTP(b *testing.B) {
	url := sampleServer(b)
	ctx := context.Background()
	c, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw", MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
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
