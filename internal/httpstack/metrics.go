package httpstack

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// buckets are the latency histogram's upper bounds, in seconds.
var buckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// series counts the requests of one operation: a latency histogram whose
// total is the request count.
type series struct {
	counts [len(buckets) + 1]atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	nanos  atomic.Uint64                   // the sum of the latencies
}

func (s *series) observe(took time.Duration) {
	sec := took.Seconds()
	i := sort.SearchFloat64s(buckets[:], sec)
	s.counts[i].Add(1)
	s.nanos.Add(uint64(took))
}

// count adds a finished request to its door's metrics.
func (o *Observer) count(rec *Record, took time.Duration) {
	d := rec.door
	if d.ops == nil {
		return
	}
	s := d.ops[rec.op]
	if s == nil {
		s = d.other
	}
	s.observe(took)
	if rec.failed {
		o.mu.Lock()
		o.errors[rec.status]++
		o.mu.Unlock()
	}
}

// WriteMetrics writes the request metrics in Prometheus's text format:
// wbemd_requests_total and wbemd_request_duration_seconds by operation
// (the operations that have been asked for), wbemd_errors_total by WBEM
// status.
func (o *Observer) WriteMetrics(w io.Writer) {
	type labeled struct {
		label  string
		counts [len(buckets) + 1]uint64
		n      uint64
		sum    float64
	}
	var all []labeled
	o.mu.Lock()
	for _, d := range o.doors {
		add := func(op string, s *series) {
			l := labeled{label: d.prefix + op, sum: time.Duration(s.nanos.Load()).Seconds()}
			for i := range s.counts {
				l.counts[i] = s.counts[i].Load()
				l.n += l.counts[i]
			}
			if l.n > 0 {
				all = append(all, l)
			}
		}
		for op, s := range d.ops {
			add(op, s)
		}
		if d.other != nil {
			add(Other, d.other)
		}
	}
	errs := make(map[string]uint64, len(o.errors))
	for st, n := range o.errors {
		errs[st.String()] += n
	}
	o.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].label < all[j].label })

	fmt.Fprintln(w, "# HELP wbemd_requests_total CIM operations served, by operation.")
	fmt.Fprintln(w, "# TYPE wbemd_requests_total counter")
	for _, l := range all {
		fmt.Fprintf(w, "wbemd_requests_total{operation=%q} %d\n", l.label, l.n)
	}
	fmt.Fprintln(w, "# HELP wbemd_request_duration_seconds Time to answer a CIM operation.")
	fmt.Fprintln(w, "# TYPE wbemd_request_duration_seconds histogram")
	for _, l := range all {
		var cum uint64
		for i, b := range buckets {
			cum += l.counts[i]
			fmt.Fprintf(w, "wbemd_request_duration_seconds_bucket{operation=%q,le=%q} %d\n", l.label, strconv.FormatFloat(b, 'f', -1, 64), cum)
		}
		fmt.Fprintf(w, "wbemd_request_duration_seconds_bucket{operation=%q,le=\"+Inf\"} %d\n", l.label, l.n)
		fmt.Fprintf(w, "wbemd_request_duration_seconds_sum{operation=%q} %g\n", l.label, l.sum)
		fmt.Fprintf(w, "wbemd_request_duration_seconds_count{operation=%q} %d\n", l.label, l.n)
	}
	fmt.Fprintln(w, "# HELP wbemd_errors_total CIM operations that failed, by WBEM status.")
	fmt.Fprintln(w, "# TYPE wbemd_errors_total counter")
	names := make([]string, 0, len(errs))
	for st := range errs {
		names = append(names, st)
	}
	sort.Strings(names)
	for _, st := range names {
		fmt.Fprintf(w, "wbemd_errors_total{status=%q} %d\n", st, errs[st])
	}
}
