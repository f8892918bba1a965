package server

import (
	"fmt"
	"io"
	"net/http"
	"runtime"

	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store"
)

// metrics serves /metrics in Prometheus's text format: the requests
// (by operation and WBEM status, from the filters' Observer), the heap and
// the store (the engine-neutral figures of store.Statser, when the engine
// keeps them).
type metrics struct {
	requests *httpstack.Observer
	st       store.Store
	extra    []func(io.Writer) // more metrics (the providers'), set before serving
}

func newMetrics(st store.Store, requests *httpstack.Observer) *metrics {
	return &metrics{requests: requests, st: st}
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m.write(w)
}

func (m *metrics) write(w io.Writer) {
	m.requests.WriteMetrics(w)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintln(w, "# HELP wbemd_heap_inuse_bytes Go heap in use.")
	fmt.Fprintln(w, "# TYPE wbemd_heap_inuse_bytes gauge")
	fmt.Fprintf(w, "wbemd_heap_inuse_bytes %d\n", ms.HeapInuse)
	for _, f := range m.extra {
		f(w)
	}
	statser, ok := m.st.(store.Statser)
	if !ok {
		return
	}
	st := statser.Stats()
	fmt.Fprintln(w, "# HELP wbemd_store_bytes Size of the repository in its store (the embedded engine: the B+tree file and its write-ahead log).")
	fmt.Fprintln(w, "# TYPE wbemd_store_bytes gauge")
	fmt.Fprintf(w, "wbemd_store_bytes %d\n", st.Bytes)
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
}

// healthz answers /healthz: "ok", or 503 with the store's fault when the
// engine reports one (store.Healther: the embedded engine after a failed
// disk write turns read-only until it is reopened).
func healthz(st store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := st.(store.Healther); ok {
			if err := h.Health(); err != nil {
				http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
}
