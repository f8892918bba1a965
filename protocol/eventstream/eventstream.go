// Package eventstream is wbemd's event door: the events of an event query
// as Server-Sent Events over HTTP, for any client (curl, a browser's
// EventSource, `wbem watch`).
//
//	GET /api/v1/events?namespace=root/cimv2&query=URL-ENCODED-WQL[&from=REV][&heartbeat=SECONDS]
//
// Each event is one SSE message:
//
//	id: <revision>.<index of the event within its revision>   (<revision> alone for
//	    events found by polling a provider's class and for __AggregateEvent)
//	event: <event class, e.g. __InstanceCreationEvent>
//	data: <the event object in the JSON form of package cim/cimjson>
//
// While no event comes, a heartbeat every heartbeat seconds (default 15)
// carries a bookmark: every event up to that revision has been sent.
//
//	id: <revision>
//	event: progress
//	data: {"revision": <revision>}
//
// A client resumes where it stopped with the Last-Event-ID header (as
// EventSource does by itself) or from=REV: after the event "rev.index",
// or after every event of revision "rev". When the change feed no longer
// holds the revisions a resume needs, the stream sends one error message
// and ends:
//
//	event: error
//	data: {"status": 2147749985, "name": "WBEM_E_QUEUE_OVERFLOW", "message": "...", "oldest": <oldest revision held>}
//
// A query or request that fails before the stream starts is answered
// with an HTTP error status (400 for a bad query, 403 access denied, 404
// unknown namespace) and the JSON body {"status", "name", "message",
// "position": {"line", "column"}} (position only for query errors).
// validate=1 checks the query and answers 204 without subscribing; a
// method other than GET is 405.
//
// The door decodes and encodes only: the query, the rights and the
// guarantees are cimom's (Services.ExecNotificationQuery).
package eventstream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/wql"
)

// Path is where wbemd mounts the door.
const Path = "/api/v1/events"

// DefaultHeartbeat is the interval of heartbeats while no event comes.
const DefaultHeartbeat = 15 * time.Second

// minHeartbeat bounds the heartbeat a client may ask for.
const minHeartbeat = 100 * time.Millisecond

// Operation is the name the door reports to the access log and metrics.
const Operation = "ExecNotificationQuery"

// Handler serves the event stream. Make one with New.
type Handler struct {
	conn      cimom.Connector
	log       *slog.Logger
	heartbeat time.Duration
	encoded   encodings // the latest events' JSON, for every stream

	ctx    context.Context // ends every stream on Close
	cancel context.CancelFunc
}

// Options configure a Handler.
type Options struct {
	// Logger receives the streams' failures; nil logs nothing.
	Logger *slog.Logger
	// Heartbeat is the default interval of heartbeats (DefaultHeartbeat
	// when 0).
	Heartbeat time.Duration
}

// New returns the event stream door over conn. Serve it behind the HTTP
// stack with no operation timeout (a stream lasts as long as its client
// wants it).
func New(conn cimom.Connector, opts Options) *Handler {
	h := &Handler{conn: conn, log: opts.Logger, heartbeat: opts.Heartbeat}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.heartbeat <= 0 {
		h.heartbeat = DefaultHeartbeat
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// Door declares the door to the HTTP stack.
func (h *Handler) Door() httpstack.Door {
	return httpstack.Door{Name: "events", MetricsPrefix: "Events.", Operations: []string{Operation}}
}

// Close ends every open stream (at shutdown: streams never end by
// themselves).
func (h *Handler) Close() { h.cancel() }

// errorBody is the JSON of an error.
type errorBody struct {
	Status   uint32    `json:"status"`
	Name     string    `json:"name"`
	Message  string    `json:"message"`
	Position *position `json:"position,omitempty"`
	Oldest   int64     `json:"oldest,omitempty"`
}

type position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func bodyOf(err error) errorBody {
	ce := cim.AsError(err)
	b := errorBody{Status: uint32(ce.Status), Name: ce.Status.String(), Message: ce.Description}
	if b.Message == "" {
		b.Message = ce.Error()
	}
	var we *wql.Error
	if errors.As(err, &we) {
		b.Position = &position{we.Pos.Line, we.Pos.Col}
	}
	var ce2 *cimom.CompactedError
	if errors.As(err, &ce2) {
		b.Oldest = ce2.Oldest
	}
	return b
}

// httpStatus maps a refusal to an HTTP status.
func httpStatus(st cim.Status) int {
	switch st {
	case cim.EAccessDenied:
		return http.StatusForbidden
	case cim.EInvalidNamespace:
		return http.StatusNotFound
	case cim.EShuttingDown:
		return http.StatusServiceUnavailable
	case cim.EFailed, cim.ECriticalError, cim.EOutOfMemory, cim.ETransportFailure:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// refuse answers a request with its error, before any event.
func (h *Handler) refuse(w http.ResponseWriter, rec *httpstack.Record, err error) {
	h.refuseWith(w, rec, httpStatus(cim.StatusOf(err)), err)
}

func (h *Handler) refuseWith(w http.ResponseWriter, rec *httpstack.Record, code int, err error) {
	b := bodyOf(err)
	rec.Fail(cim.Status(b.Status), b.Message)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(b)
}

// resumePoint reads where a stream starts: Last-Event-ID or from=.
func resumePoint(r *http.Request) (int64, func(*cimom.Event) bool, error) {
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("from")
	}
	if id == "" {
		return 0, func(*cimom.Event) bool { return false }, nil
	}
	return cimom.ResumeAfter(id)
}

// ServeHTTP answers GET /api/v1/events.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httpstack.RecordFrom(r.Context())
	q := r.URL.Query()
	ns := q.Get("namespace")
	if ns == "" {
		ns = "root/cimv2"
	}
	rec.SetOperation(Operation, ns)
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		h.refuseWith(w, rec, http.StatusMethodNotAllowed, cim.Errorf(cim.ENotSupported, "the event stream answers GET only"))
		return
	}
	p, ok := httpstack.PrincipalFrom(r.Context())
	if !ok {
		httpstack.Unauthorized(w)
		return
	}
	query := q.Get("query")
	if query == "" {
		h.refuse(w, rec, cim.Errorf(cim.EInvalidParameter, "query= is required: an event query such as SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Class'").WithParam("query"))
		return
	}
	language := q.Get("language")
	if language == "" {
		language = "WQL"
	}
	heartbeat := h.heartbeat
	if s := q.Get("heartbeat"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f*float64(time.Second) < float64(minHeartbeat) || f > 3600 {
			h.refuse(w, rec, cim.Errorf(cim.EInvalidParameter, "heartbeat=%s: want seconds between %g and 3600", s, minHeartbeat.Seconds()).WithParam("heartbeat"))
			return
		}
		heartbeat = time.Duration(f * float64(time.Second))
	}
	from, seen, err := resumePoint(r)
	if err != nil {
		h.refuse(w, rec, err)
		return
	}
	// The stream ends with the client, or at Close.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()
	svc, err := h.conn.Connect(ctx, ns, p)
	if err != nil {
		h.refuse(w, rec, err)
		return
	}
	if q.Get("validate") == "1" {
		if err := svc.ValidateEventQuery(ctx, language, query); err != nil {
			h.refuse(w, rec, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	seq, err := svc.ExecNotificationQuery(ctx, language, query, cimom.NotificationOptions{From: from, Progress: heartbeat})
	if err != nil {
		h.refuse(w, rec, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	// The events are read on their own goroutine and written here; the
	// writer flushes when it has caught up, so that a replay goes out in
	// large writes and a live event at once.
	type item struct {
		ev  cimom.Event
		err error
	}
	items := make(chan item, 1024)
	go func() {
		defer close(items)
		for ev, err := range seq {
			select {
			case items <- item{ev, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		for range items {
		}
	}()
	bw := bufio.NewWriterSize(w, 64<<10)
	var msg []byte // one message, the buffer reused for every event
	for it := range items {
		if it.err != nil {
			if ctx.Err() != nil {
				return // the client left, or wbemd is closing
			}
			b := bodyOf(it.err)
			rec.Fail(cim.Status(b.Status), b.Message)
			data, _ := json.Marshal(b)
			bw.WriteString("event: error\ndata: ")
			bw.Write(data)
			bw.WriteString("\n\n")
			break
		}
		ev := &it.ev
		if seen(ev) {
			continue // delivered before the resume
		}
		msg = append(msg[:0], "id: "...)
		msg = ev.AppendID(msg)
		if ev.Progress {
			msg = append(msg, "\nevent: progress\ndata: {\"revision\":"...)
			msg = strconv.AppendInt(msg, ev.Rev, 10)
			msg = append(msg, "}\n\n"...)
		} else {
			msg = append(msg, "\nevent: "...)
			msg = append(msg, ev.Class...)
			msg = append(msg, "\ndata: "...)
			msg = h.encoded.appendJSON(msg, ev)
			msg = append(msg, "\n\n"...)
		}
		bw.Write(msg)
		if len(items) == 0 || bw.Buffered() > 48<<10 {
			if err := bw.Flush(); err != nil {
				return
			}
			if flusher != nil && len(items) == 0 {
				flusher.Flush()
			}
		}
	}
	if err := bw.Flush(); err == nil && flusher != nil {
		flusher.Flush()
	}
}

// encodings keeps the JSON of the latest events the streams delivered, so
// that the streams of one event encode it once, as the watch cache of
// Kubernetes' API server serializes an object once per format. An event
// of the change feed is known by its instances (shared by every
// subscription that delivers it), its class and namespace, its place in
// the feed and its time; events of no place in the feed (polled,
// extrinsic, aggregates, progress reports) are encoded by each stream.
type encodings struct {
	mu    sync.Mutex
	json  map[encodingKey][]byte
	order []encodingKey // the keys held, oldest at next once full
	next  int
	made  atomic.Uint64 // events encoded, shared or not
}

type encodingKey struct {
	target, previous *cim.Object
	class, ns        string
	rev, time        int64
	index            int
}

// encodingsHeld is how many events' JSON encodings keeps.
const encodingsHeld = 512

// appendJSON appends the JSON of ev's object (cimjson) to dst.
func (c *encodings) appendJSON(dst []byte, ev *cimom.Event) []byte {
	if ev.Target == nil || ev.Progress || ev.Polled || ev.Live || ev.Extrinsic != nil || ev.Properties != nil ||
		ev.Representative != nil || ev.Provider != "" || ev.NumberOfEvents != 0 {
		c.made.Add(1)
		return cimjson.Append(dst, ev.Object())
	}
	k := encodingKey{target: ev.Target, previous: ev.Previous, class: ev.Class, ns: ev.Namespace, rev: ev.Rev, time: ev.Time.UnixNano(), index: ev.Index}
	c.mu.Lock()
	b, ok := c.json[k]
	c.mu.Unlock()
	if ok {
		return append(dst, b...)
	}
	c.made.Add(1)
	b = cimjson.Append(nil, ev.Object())
	c.mu.Lock()
	if _, ok := c.json[k]; !ok {
		if c.json == nil {
			c.json = make(map[encodingKey][]byte, encodingsHeld)
		}
		if len(c.order) < encodingsHeld {
			c.order = append(c.order, k)
		} else {
			delete(c.json, c.order[c.next])
			c.order[c.next] = k
			c.next = (c.next + 1) % encodingsHeld
		}
		c.json[k] = b
	}
	c.mu.Unlock()
	return append(dst, b...)
}
