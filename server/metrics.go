package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/store/bolt"
)

// metrics counts requests for /metrics, in Prometheus's text format:
// requests and latency per operation, errors per status.
type metrics struct {
	mu       sync.Mutex
	requests map[string]uint64     // operation -> count
	latency  map[string]*histogram // operation -> seconds
	errors   map[string]uint64     // status -> count
	storeFn  func() (int64, error) // store file size
	commits  func() bolt.Stats     // the store's group commits
	extra    []func(io.Writer)     // more metrics (the providers')
}

// buckets are the latency histogram's upper bounds, in seconds.
var buckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	n      uint64
}

func newMetrics(storePath string, commits func() bolt.Stats) *metrics {
	return &metrics{requests: map[string]uint64{}, latency: map[string]*histogram{}, errors: map[string]uint64{}, commits: commits,
		storeFn: func() (int64, error) {
			st, err := os.Stat(storePath)
			if err != nil {
				return 0, err
			}
			size := st.Size()
			if log, err := os.Stat(storePath + "-wal"); err == nil {
				size += log.Size()
			}
			return size, nil
		}}
}

// observe records one operation.
func (m *metrics) observe(op string, took time.Duration, status string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[op]++
	h := m.latency[op]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets)+1)}
		m.latency[op] = h
	}
	s := took.Seconds()
	i := sort.SearchFloat64s(buckets, s)
	h.counts[i]++
	h.sum += s
	h.n++
	if status != "" {
		m.errors[status]++
	}
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m.write(w)
}

func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := func(mp map[string]uint64) []string {
		var out []string
		for k := range mp {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	fmt.Fprintln(w, "# HELP wbemd_requests_total CIM operations served, by operation.")
	fmt.Fprintln(w, "# TYPE wbemd_requests_total counter")
	for _, op := range keys(m.requests) {
		fmt.Fprintf(w, "wbemd_requests_total{operation=%q} %d\n", op, m.requests[op])
	}
	fmt.Fprintln(w, "# HELP wbemd_request_duration_seconds Time to answer a CIM operation.")
	fmt.Fprintln(w, "# TYPE wbemd_request_duration_seconds histogram")
	for _, op := range keys(m.requests) {
		h := m.latency[op]
		var cum uint64
		for i, b := range buckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "wbemd_request_duration_seconds_bucket{operation=%q,le=%q} %d\n", op, strings.TrimRight(strings.TrimRight(fmt.Sprintf("%f", b), "0"), "."), cum)
		}
		fmt.Fprintf(w, "wbemd_request_duration_seconds_bucket{operation=%q,le=\"+Inf\"} %d\n", op, h.n)
		fmt.Fprintf(w, "wbemd_request_duration_seconds_sum{operation=%q} %g\n", op, h.sum)
		fmt.Fprintf(w, "wbemd_request_duration_seconds_count{operation=%q} %d\n", op, h.n)
	}
	fmt.Fprintln(w, "# HELP wbemd_errors_total CIM operations that failed, by WBEM status.")
	fmt.Fprintln(w, "# TYPE wbemd_errors_total counter")
	for _, st := range keys(m.errors) {
		fmt.Fprintf(w, "wbemd_errors_total{status=%q} %d\n", st, m.errors[st])
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintln(w, "# HELP wbemd_heap_inuse_bytes Go heap in use.")
	fmt.Fprintln(w, "# TYPE wbemd_heap_inuse_bytes gauge")
	fmt.Fprintf(w, "wbemd_heap_inuse_bytes %d\n", ms.HeapInuse)
	if size, err := m.storeFn(); err == nil {
		fmt.Fprintln(w, "# HELP wbemd_store_bytes Size of the repository's files: the B+tree and its write-ahead log.")
		fmt.Fprintln(w, "# TYPE wbemd_store_bytes gauge")
		fmt.Fprintf(w, "wbemd_store_bytes %d\n", size)
	}
	st := m.commits()
	fmt.Fprintln(w, "# HELP wbemd_store_commits_total Store group commits (a write-ahead log record, or a large batch's B+tree commit), each synced to disk before its requests are answered.")
	fmt.Fprintln(w, "# TYPE wbemd_store_commits_total counter")
	fmt.Fprintf(w, "wbemd_store_commits_total %d\n", st.Commits)
	fmt.Fprintln(w, "# HELP wbemd_store_txns_total Store write requests committed; divided by wbemd_store_commits_total, the mean number that shared one commit.")
	fmt.Fprintln(w, "# TYPE wbemd_store_txns_total counter")
	fmt.Fprintf(w, "wbemd_store_txns_total %d\n", st.Txns)
	fmt.Fprintln(w, "# HELP wbemd_store_commit_seconds_total Time spent committing store write transactions, disk sync included.")
	fmt.Fprintln(w, "# TYPE wbemd_store_commit_seconds_total counter")
	fmt.Fprintf(w, "wbemd_store_commit_seconds_total %g\n", st.CommitTime.Seconds())
	fmt.Fprintln(w, "# HELP wbemd_store_checkpoints_total Checkpoints: B+tree commits that moved the write-ahead log's writes into the repository file.")
	fmt.Fprintln(w, "# TYPE wbemd_store_checkpoints_total counter")
	fmt.Fprintf(w, "wbemd_store_checkpoints_total %d\n", st.Checkpoints)
	for _, f := range m.extra {
		f(w)
	}
}
