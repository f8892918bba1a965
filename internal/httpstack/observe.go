package httpstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// HeaderRequestID is the answer header that carries the request id.
const HeaderRequestID = "X-Request-Id"

// Other is the metrics label of every operation name a door did not
// declare, so that names chosen by clients cannot grow the metrics.
const Other = "other"

// A Door describes a front door to the filters.
type Door struct {
	// Name names the door in access logs ("cimxml", "wsman").
	Name string
	// MetricsPrefix is put before the door's operation names in metric
	// labels ("WSMan." makes "WSMan.Get").
	MetricsPrefix string
	// Operations are the names the door reports with SetOperation; each
	// gets its own metrics label, any other name (or none) counts under
	// MetricsPrefix+Other. A door that declares none is logged but not
	// counted.
	Operations []string
	// Anonymous, when set, admits the requests for which it is true
	// without valid credentials (see Authenticate).
	Anonymous func(r *http.Request) bool
}

// door is a Door as observed: its metrics series by operation.
type door struct {
	name   string
	prefix string
	ops    map[string]*series // read-only once made
	other  *series
}

// Observer logs every request of the doors it observes (one access log
// line each) and counts them for /metrics. One Observer serves every door
// of a daemon.
type Observer struct {
	log    *slog.Logger
	text   io.Writer     // if set, where access lines go without slog (WriteText)
	idBase string        // the request ids' random prefix
	seq    atomic.Uint64 // the request ids' sequence

	mu     sync.Mutex
	doors  map[string]*door
	errors map[cim.Status]uint64 // failed operations by WBEM status
}

// NewObserver returns an Observer that logs to log (slog.Default() if
// nil).
func NewObserver(log *slog.Logger) *Observer {
	if log == nil {
		log = slog.Default()
	}
	var b [4]byte
	rand.Read(b[:])
	return &Observer{log: log, idBase: hex.EncodeToString(b[:]) + "-", doors: map[string]*door{}, errors: map[cim.Status]uint64{}}
}

// register returns the observed door named d.Name, made by the first
// registration of that name: later ones share its counters and its
// declared operations.
func (o *Observer) register(d Door) *door {
	o.mu.Lock()
	defer o.mu.Unlock()
	if od := o.doors[d.Name]; od != nil {
		return od
	}
	od := &door{name: d.Name, prefix: d.MetricsPrefix}
	if len(d.Operations) > 0 {
		od.ops = make(map[string]*series, len(d.Operations))
		for _, op := range d.Operations {
			od.ops[op] = &series{}
		}
		od.other = &series{}
	}
	o.doors[d.Name] = od
	return od
}

// Observe gives each request to h a Record in its context and a request
// id in the X-Request-Id header of its answer; once h returns (or
// panics), it writes the request's access log line and counts it.
func (o *Observer) Observe(d Door, h http.Handler) http.Handler {
	od := o.register(d)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := withRecord(r)
		rec.door = od
		rec.started = time.Now()
		rec.id = o.nextID()
		rec.idHeader[0] = rec.id
		w.Header()[HeaderRequestID] = rec.idHeader[:]
		rec.w.ResponseWriter = w
		done := false
		defer func() { o.finish(r, rec, !done) }()
		h.ServeHTTP(&rec.w, r)
		done = true
	})
}

// nextID returns a new request id: a random prefix per Observer and a
// sequence number.
func (o *Observer) nextID() string {
	var b [32]byte
	return string(strconv.AppendUint(append(b[:0], o.idBase...), o.seq.Add(1), 10))
}

// finish logs and counts a request that h has answered, or abandoned by
// panicking (the http.ErrAbortHandler of a stream cut short).
func (o *Observer) finish(r *http.Request, rec *Record, aborted bool) {
	took := time.Since(rec.started)
	o.count(rec, took)
	code := rec.w.code
	if code == 0 && !aborted {
		code = http.StatusOK // net/http's answer when the handler wrote nothing
	}
	level := slog.LevelInfo
	if code >= 500 || aborted {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !o.log.Enabled(ctx, level) {
		return
	}
	var buf [16]slog.Attr
	attrs := append(buf[:0], slog.String("id", rec.id), slog.String("door", rec.door.name), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr), slog.String("user", rec.principal.Name),
		slog.String("op", rec.op), slog.String("namespace", rec.namespace), slog.Int("code", code))
	if rec.failed {
		attrs = append(attrs, slog.String("status", rec.status.String()), slog.String("error", rec.detail))
	}
	if aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	attrs = append(attrs, slog.Int64("bytes", rec.w.bytes), slog.Duration("duration", took))
	if o.text == nil {
		o.log.LogAttrs(ctx, level, "request", attrs...)
		return
	}
	line := linePool.Get().(*[]byte)
	*line = appendAccessText((*line)[:0], time.Now(), level, "request", attrs)
	o.text.Write(*line)
	linePool.Put(line)
}

// linePool holds the buffers of access lines written by the Observer.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// WriteText makes o write its access lines itself to w, in the format of
// slog.NewTextHandler(w, nil) and at the levels its log enables, instead
// of through its log (accessline.go): w must be the writer of o's log,
// whose handler must be such a TextHandler, and must take each Write as
// one line (as os.File and the daemon's batched log writer do).
func (o *Observer) WriteText(w io.Writer) { o.text = w }
