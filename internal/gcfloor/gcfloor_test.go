package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestFloorPercent: the percent makes the goal the floor while the live
// heap is under half of it, and is the operator's percent above.
func TestFloorPercent(t *testing.T) {
	for _, c := range []struct {
		floor, live int64
		percent     int
		want        int
	}{
		{32 << 20, 1 << 20, 100, 3100},
		{32 << 20, 16 << 20, 100, 100},
		{32 << 20, 8 << 20, 100, 300},
		{32 << 20, 64 << 20, 100, 100},
		{32 << 20, 8 << 20, 400, 400},
		{32 << 20, 0, 100, 3100},
		{1 << 40, 1, 100, 100_000},
	} {
		if got := floorPercent(c.floor, c.live, c.percent); got != c.want {
			t.Errorf("floorPercent(%d, %d, %d) = %d, want %d", c.floor, c.live, c.percent, got, c.want)
		}
	}
}

// TestSet: with a floor, the runtime's percent is raised after a
// collection of a small heap, so that fewer collections run for the same
// garbage.
func TestSet(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	collections := func() uint32 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.NumGC
	}
	churn := func() uint32 {
		n := collections()
		var keep []byte
		for range 20_000 {
			keep = make([]byte, 4096)
		}
		_ = keep
		return collections() - n
	}
	without := churn()
	Set(64<<20, 100)
	runtime.GC() // the finalizer tunes after this cycle
	var set int
	for range 100 {
		runtime.Gosched()
		set = debug.SetGCPercent(-1)
		debug.SetGCPercent(set)
		if set > 100 {
			break
		}
		runtime.GC()
	}
	if set <= 100 {
		t.Fatalf("percent after a collection with a 64 MiB floor: %d", set)
	}
	with := churn()
	if with*4 > without {
		t.Errorf("collections for 80 MiB of garbage: %d with the floor, %d without", with, without)
	}
}
