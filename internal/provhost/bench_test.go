package provhost_test

import (
	"context"
	"testing"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
)

// BenchmarkGetInstance is GetObject of a provider instance through a
// host process, in process (no protocol door).
func BenchmarkGetInstance(b *testing.B) {
	h := newHarness(&testing.T{}, provhost.Options{}, testSchema)
	_ = h
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.svc.GetObject(ctx, `Test_Other.Name="x"`, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
}

var _ = cimom.FlagShallow
