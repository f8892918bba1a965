package cimom

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchEventQuery selects every Bench creation, testing a member of the
// target so that the WHERE clause is evaluated on each event.
const benchEventQuery = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Bench' AND TargetInstance.Seq >= 0"

// BenchmarkEventsWrites measures creates by 16 writers with 0 and with 10
// active event queries (ExecNotificationQuery, each reading every event):
// the ratio of the two puts/s is what subscribers cost writers. The
// writers hand their instances over (HandOver), as the doors do.
func BenchmarkEventsWrites(b *testing.B) {
	for _, subs := range []int{0, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
			defer r.close()
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range subs {
				seq, err := r.svc.ExecNotificationQuery(ctx, "WQL", benchEventQuery, NotificationOptions{})
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
					}
				}()
			}
			var n atomic.Int64
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.svc.PutInstance(HandOver(ctx), r.instance("p", int(n.Add(1))), FlagCreateOnly, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
			b.StopTimer()
			cancel()
			wg.Wait()
		})
	}
}

// BenchmarkEventsWritesPairs measures what BenchmarkEventsWrites does,
// on one repository and in alternation: each round is 12 slices of 250 ms
// of creates by 16 writers, with no event query and with 10 (ABBA order,
// so that a drift of the machine's speed weighs on both alike), and its
// ratio is the puts of the slices with queries over the puts of the
// slices without. It reports the median ratio of the b.N rounds and logs
// each one (-test.v), and the process's CPU time per put on each side
// (user and system, getrusage): steadier than the throughput on a shared
// machine, it tells what the events cost in work rather than in waiting.
//
//	go test -run '^$' -bench EventsWritesPairs -benchtime 5x -v ./cimom
//
// It runs twice: with writers that hand their instances over (HandOver),
// as the doors do, and with writers that keep them (an in-process caller
// of PutInstance), whose events carry instances decoded anew.
func BenchmarkEventsWritesPairs(b *testing.B) {
	b.Run("instances=handed", func(b *testing.B) { eventsWritesPairs(HandOver(context.Background()), b) })
	b.Run("instances=kept", func(b *testing.B) { eventsWritesPairs(context.Background(), b) })
}

// eventsWritesPairs is BenchmarkEventsWritesPairs with the writers' puts
// under putCtx.
func eventsWritesPairs(putCtx context.Context, b *testing.B) {
	const nslices, slice, writers = 12, 250 * time.Millisecond, 16
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
	defer r.close()
	ctx := context.Background()
	var seq atomic.Int64
	puts := func(d time.Duration) int64 {
		var n atomic.Int64
		end := time.Now().Add(d)
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for time.Now().Before(end) {
					if _, err := r.svc.PutInstance(putCtx, r.instance("p", int(seq.Add(1))), FlagCreateOnly, nil); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return n.Load()
	}
	withQueries := func(d time.Duration) int64 {
		qctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range 10 {
			events, err := r.svc.ExecNotificationQuery(qctx, "WQL", benchEventQuery, NotificationOptions{})
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() {
				for _, err := range events {
					if err != nil {
						return
					}
				}
			})
		}
		n := puts(d)
		cancel()
		wg.Wait()
		return n
	}
	var ratios, cpuRatios []float64
	var cpuNone, cpuTen time.Duration
	var putsNone, putsTen int64
	b.ResetTimer()
	for i := range b.N {
		var none, ten int64
		var noneCPU, tenCPU time.Duration
		for j := range nslices {
			t := cpuTime(b)
			if j%4 == 0 || j%4 == 3 {
				none += puts(slice)
				noneCPU += cpuTime(b) - t
			} else {
				ten += withQueries(slice)
				tenCPU += cpuTime(b) - t
			}
		}
		ratios = append(ratios, float64(ten)/float64(none))
		perNone, perTen := noneCPU.Seconds()*1e6/float64(none), tenCPU.Seconds()*1e6/float64(ten)
		cpuRatios = append(cpuRatios, perTen/perNone)
		cpuNone, cpuTen, putsNone, putsTen = cpuNone+noneCPU, cpuTen+tenCPU, putsNone+none, putsTen+ten
		b.Logf("round %d: %.0f puts/s without event queries, %.0f with 10: %.2f; CPU %.1f and %.1f µs a put: %.2f", i+1,
			float64(none)/(nslices/2*slice.Seconds()), float64(ten)/(nslices/2*slice.Seconds()), ratios[i], perNone, perTen, cpuRatios[i])
	}
	slices.Sort(ratios)
	slices.Sort(cpuRatios)
	b.ReportMetric(ratios[len(ratios)/2], "ten/none")
	b.ReportMetric(cpuRatios[len(cpuRatios)/2], "cpu-ten/none")
	b.ReportMetric(cpuNone.Seconds()*1e6/float64(putsNone), "cpu-µs/put-none")
	b.ReportMetric(cpuTen.Seconds()*1e6/float64(putsTen), "cpu-µs/put-ten")
}

// BenchmarkEventsLatency measures the time from the return of a create
// (its commit) to its event reaching an event query's consumer, with
// writes paced at 10 and at 1,000 per second (5 seconds of each, each put
// on its own goroutine; b.N is
// not used): p50 and p99 in microseconds. Ten other queries read every
// event at the same time.
func BenchmarkEventsLatency(b *testing.B) {
	for _, rate := range []int{10, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			r := openBench(b, filepath.Join(b.TempDir(), "r.db"), false)
			defer r.close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			for range 10 {
				seq, err := r.svc.ExecNotificationQuery(ctx, "WQL", benchEventQuery, NotificationOptions{})
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
					}
				}()
			}
			seq, err := r.svc.ExecNotificationQuery(ctx, "WQL", benchEventQuery, NotificationOptions{})
			if err != nil {
				b.Fatal(err)
			}
			n := 5 * rate
			committed := make([]atomic.Int64, n) // UnixNano of each put's return
			received := make([]int64, n)
			done := make(chan struct{})
			go func() {
				defer close(done)
				got := 0
				for ev, err := range seq {
					if err != nil {
						return
					}
					now := time.Now().UnixNano()
					v, _ := ev.Target.Get("Seq")
					i := int(v.V.(uint32))
					if i < n {
						received[i] = now
						got++
					}
					if got == n {
						return
					}
				}
			}()
			b.ResetTimer()
			tick := time.NewTicker(time.Second / time.Duration(rate))
			var puts sync.WaitGroup
			for i := range n {
				<-tick.C
				puts.Go(func() { // a put takes longer than 1 ms (it waits for its sync): they overlap
					if _, err := r.svc.PutInstance(ctx, r.instance("l", i), FlagCreateOnly, nil); err != nil {
						b.Error(err)
					}
					committed[i].Store(time.Now().UnixNano())
				})
			}
			tick.Stop()
			puts.Wait()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				b.Fatal("events missing")
			}
			b.StopTimer()
			lat := make([]int64, n)
			for i := range n {
				lat[i] = max(0, received[i]-committed[i].Load())
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[n/2])/1e3, "p50-µs")
			b.ReportMetric(float64(lat[n*99/100])/1e3, "p99-µs")
			cancel()
			wg.Wait()
		})
	}
}

// BenchmarkEventsReplay measures a replay from an old revision: an event
// query from before a bulk load of 100,000 instances reads their events
// from the store's feed (they are out of the ring), as the event stream
// does for a `wbem watch --from`. Reported in events/s.
func BenchmarkEventsReplay(b *testing.B) {
	const n = 100_000
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), true)
	defer r.close()
	ctx := context.Background()
	from, err := r.db.Rev(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r.load(b, n)
	b.ResetTimer()
	for range b.N {
		cctx, cancel := context.WithCancel(ctx)
		seq, err := r.svc.ExecNotificationQuery(cctx, "WQL", benchEventQuery, NotificationOptions{From: from})
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for ev, err := range seq {
			if err != nil {
				b.Fatal(err)
			}
			ev.Object()
			if got++; got == n {
				break
			}
		}
		cancel()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventMatch measures the test of one event against an event
// query whose WHERE clause names members of the target alone: evaluated
// on the target itself (rebased), and on an object holding the target, as
// a clause that names other members of the event is (wrapped).
func BenchmarkEventMatch(b *testing.B) {
	r := openBench(b, filepath.Join(b.TempDir(), "r.db"), true)
	defer r.close()
	eq, err := r.svc.(*services).compileEventQuery(context.Background(), "WQL", benchEventQuery)
	if err != nil {
		b.Fatal(err)
	}
	ev := &Event{Class: "__InstanceCreationEvent", Target: r.instance("p", 5)}
	for _, variant := range []string{"rebased", "wrapped"} {
		b.Run(variant, func(b *testing.B) {
			if variant == "wrapped" {
				for k, d := range eq.deliv {
					d.onTarget = nil
					eq.deliv[k] = d
				}
			}
			for range b.N {
				if !eq.match(ev) {
					b.Fatal("the event does not match")
				}
			}
		})
	}
}
