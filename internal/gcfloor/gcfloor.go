// Package gcfloor keeps the Go collector's heap goal above a floor while
// the live heap is small: wbemd's daemon sets it at start (its
// --gc-min-heap), and benchmarks that run wbemd in their own process set
// the same, so that they measure wbemd as it runs.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Default is the floor wbemd's daemon runs with unless told otherwise
// (--gc-min-heap).
const Default = 32 << 20

// The collector's floor. Go starts a collection when the heap has grown
// by GOGC percent over what the last one left live, with a goal of at
// least 4 MiB: a wbemd serving requests keeps well under 1 MiB live, so
// every few thousand requests' garbage starts a collection, and
// collecting made up 7-9% of its CPU under load (BENCHMARKS.md, issue 12).
// The floor raises the percent while the live heap is small, so that the
// goal is never below the floor, and gives the collector back its own
// percent once the live heap reaches half the floor: the memory this
// costs is bounded by the floor, whatever the repository holds, unlike a
// fixed GOGC of 400 that multiplies every heap.

// Set keeps the collector's heap goal at least floor bytes, with percent
// (GOGC) above it, for the rest of the process. It re-evaluates after every collection, from
// a finalizer: the runtime calls it on its own goroutine, once a cycle.
// A floor of 0 or less does nothing.
func Set(floor int64, percent int) {
	if floor <= 0 || percent < 0 {
		return
	}
	t := &gcTuner{floor: floor, percent: percent, set: percent}
	t.arm()
}

// gcTuner is the state of Set.
type gcTuner struct {
	floor   int64
	percent int // the operator's GOGC
	set     int // the percent last given to the runtime
	sample  [1]metrics.Sample
}

// sentinel is collected by each cycle; its finalizer tunes and re-arms.
// It holds a pointer so that the runtime allocates it on its own (tiny
// pointer-free objects may share a block that is never freed).
type sentinel struct{ t *gcTuner }

func (t *gcTuner) arm() {
	runtime.SetFinalizer(&sentinel{t}, func(s *sentinel) {
		s.t.tune()
		s.t.arm()
	})
}

// tune sets the percent that makes the next goal max(floor, live×(1+percent/100)).
func (t *gcTuner) tune() {
	t.sample[0].Name = "/gc/heap/live:bytes"
	metrics.Read(t.sample[:])
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	p := floorPercent(t.floor, int64(t.sample[0].Value.Uint64()), t.percent)
	// Moves under a tenth are not worth telling the runtime.
	if d := p - t.set; d*10 > t.set || -d*10 > t.set {
		t.set = p
		debug.SetGCPercent(p)
	}
}

// floorPercent is the GOGC that makes a heap of live bytes grow to at
// least floor before the next collection, and never less than percent.
func floorPercent(floor, live int64, percent int) int {
	if live <= 0 {
		live = 1 << 20
	}
	p := (floor - live) * 100 / live
	if p < int64(percent) {
		return percent
	}
	return int(min(p, 100_000))
}
