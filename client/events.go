package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
)

// EventsPath is the path of wbemd's event stream (package
// protocol/eventstream).
const EventsPath = "/api/v1/events"

// StreamEvent is one message of the event stream: an event (Event is its
// class, Data the event object as JSON) or a heartbeat (Event
// "progress"). ID is the resume point: "rev.index", or "rev" for a
// heartbeat.
type StreamEvent struct {
	ID    string
	Event string
	Data  []byte
}

// Rev returns the revision of the message's ID.
func (m *StreamEvent) Rev() int64 {
	rev, _, _ := strings.Cut(m.ID, ".")
	n, _ := strconv.ParseInt(rev, 10, 64)
	return n
}

// StreamOptions are the options of Events.
type StreamOptions struct {
	// From is where the stream resumes: "" for the events of later
	// writes, a revision ("120": after every event of revision 120), or
	// an event's ID ("121.3": after that event).
	From string
	// Heartbeat is the interval of heartbeats while no event comes (0:
	// the server's default).
	Heartbeat time.Duration
	// Validate checks the query without subscribing: the stream is empty.
	Validate bool
	// Language is the query's language: "WQL" (the default) or
	// "DMTF:CQL"; the server refuses others (WBEM_E_INVALID_QUERY_TYPE).
	Language string
}

// Events opens the server's event stream for an event query in the
// connection's namespace. A refusal (a bad query, a missing right) is
// returned as a *cim.Error with the server's status; an error message of
// the stream (WBEM_E_QUEUE_OVERFLOW when the resume point is gone) ends
// the iteration as a *cim.Error, whose Description names the oldest
// revision the server holds.
func (c *Client) Events(ctx context.Context, query string, opts StreamOptions) (iter.Seq2[StreamEvent, error], error) {
	v := url.Values{"namespace": {c.ns}, "query": {query}}
	if opts.From != "" {
		v.Set("from", opts.From)
	}
	if opts.Heartbeat > 0 {
		v.Set("heartbeat", strconv.FormatFloat(opts.Heartbeat.Seconds(), 'f', -1, 64))
	}
	if opts.Validate {
		v.Set("validate", "1")
	}
	if opts.Language != "" {
		v.Set("language", opts.Language)
	}
	tlsConf, err := tlsConfig(c.opts)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: tlsConf, DisableCompression: true}
	if c.opts.Socket != "" {
		sock := c.opts.Socket
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+EventsPath+"?"+v.Encode(), nil)
	if err != nil {
		return nil, cim.Errorf(cim.EInvalidParameter, "event stream request: %v", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.opts.Socket == "" {
		req.Header.Set("Authorization", c.authorization())
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, cim.Errorf(cim.ETransportFailure, "event stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer tr.CloseIdleConnections()
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNoContent {
			return func(func(StreamEvent, error) bool) {}, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, streamError(resp.StatusCode, body)
	}
	return func(yield func(StreamEvent, error) bool) {
		defer tr.CloseIdleConnections()
		defer resp.Body.Close()
		err := readStream(resp.Body, func(m StreamEvent) bool { return yield(m, nil) })
		switch {
		case err == errStreamStopped:
		case ctx.Err() != nil:
			yield(StreamEvent{}, cim.Errorf(cim.ECallCancelled, "event stream: %v", ctx.Err()))
		default:
			yield(StreamEvent{}, err)
		}
	}, nil
}

// errStreamStopped is readStream's answer when its consumer stopped.
var errStreamStopped = errors.New("client: event stream consumer stopped")

// readStream reads Server-Sent Events from r and hands each message
// (not the comments, nor the empty ones) to yield, until yield returns
// false (errStreamStopped), the stream's "error" message (its error), or
// the end of r (WBEM_E_TRANSPORT_FAILURE: a stream ends only with an
// error).
func readStream(r io.Reader, yield func(StreamEvent) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var m StreamEvent
	var long []byte // a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(line) > 64<<20 {
				return cim.Errorf(cim.ETransportFailure, "event stream: a line longer than 64 MiB")
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if err != nil {
			if err != io.EOF || len(line) > 0 {
				return cim.Errorf(cim.ETransportFailure, "event stream: %v", err)
			}
			return cim.Errorf(cim.ETransportFailure, "event stream: the server ended the stream")
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if m.Event == "error" {
				return streamError(0, m.Data)
			}
			if m.Event != "" || m.Data != nil {
				m.Data = bytes.Clone(m.Data)
				if !yield(m) {
					return errStreamStopped
				}
			}
			m = StreamEvent{}
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			m.ID = string(value)
		case "event":
			m.Event = string(value)
		case "data":
			if m.Data != nil {
				m.Data = append(m.Data, '\n')
			}
			m.Data = append(m.Data, value...)
		}
	}
}

// streamBody is the JSON of the stream's errors.
type streamBody struct {
	Status   uint32 `json:"status"`
	Name     string `json:"name"`
	Message  string `json:"message"`
	Position *struct {
		Line   int `json:"line"`
		Column int `json:"column"`
	} `json:"position"`
	Oldest int64 `json:"oldest"`
}

// streamError turns the stream's JSON error into a *cim.Error.
func streamError(code int, body []byte) error {
	var b streamBody
	if err := json.Unmarshal(body, &b); err != nil || b.Status == 0 {
		return cim.Errorf(cim.ETransportFailure, "event stream: HTTP %d: %s", code, strings.TrimSpace(string(body)))
	}
	e := &cim.Error{Status: cim.Status(b.Status), Description: b.Message, Operation: "ExecNotificationQuery"}
	if b.Oldest > 0 {
		e.Err = &cimom.CompactedError{Oldest: b.Oldest}
	}
	return e
}

// ExecNotificationQuery subscribes through the server's event stream
// (the CIM-XML protocol has no such operation). The events carry their
// class, namespace, revision, index and time, and their embedded objects
// (Target, Previous; an aggregate's NumberOfEvents and Representative)
// decoded against the server's classes; an object whose class the
// server no longer has is left nil.
func (c *Client) ExecNotificationQuery(ctx context.Context, language, query string, opts cimom.NotificationOptions) (iter.Seq2[cimom.Event, error], error) {
	from := ""
	if opts.From > 0 {
		from = strconv.FormatInt(opts.From, 10)
	}
	seq, err := c.Events(ctx, query, StreamOptions{From: from, Heartbeat: opts.Progress, Language: language})
	if err != nil {
		return nil, err
	}
	classes := map[string]*cim.Object{}
	lookup := func(name string) (*cim.Object, error) {
		if cls, ok := classes[cim.Fold(name)]; ok {
			return cls, nil
		}
		cls, err := c.GetObject(ctx, name, 0, nil)
		if err != nil {
			return nil, err
		}
		classes[cim.Fold(name)] = cls
		return cls, nil
	}
	return func(yield func(cimom.Event, error) bool) {
		for m, err := range seq {
			if err != nil {
				yield(cimom.Event{}, err)
				return
			}
			ev := cimom.Event{Namespace: c.ns, Rev: m.Rev(), Time: time.Now()}
			if m.Event == "progress" {
				ev.Progress = true
			} else {
				if _, idx, ok := strings.Cut(m.ID, "."); ok {
					ev.Index, _ = strconv.Atoi(idx)
				} else if extrinsicEvent(m.Event) {
					ev.Live = true
					ev.Properties = extrinsicProperties(m.Data, lookup)
				} else {
					ev.Polled = true // or an aggregate: no place in the feed
				}
				decodeEvent(&ev, m.Data, lookup)
				ev.Class = m.Event
			}
			if !yield(ev, nil) {
				return
			}
		}
	}, nil
}

// extrinsicEvent reports whether an event class is one of the extrinsic
// events wbemd raises (cimom.Event.Live).
func extrinsicEvent(class string) bool {
	for _, c := range []string{cimom.TimerEventClass, cimom.EventDroppedEventClass, cimom.QueueOverflowEventClass} {
		if cim.EqualFold(class, c) {
			return true
		}
	}
	return false
}

// extrinsicProperties are an extrinsic event's own properties, decoded
// against the server's class (none when it cannot be decoded).
func extrinsicProperties(data []byte, lookup cimjson.ClassLookup) []cim.Property {
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return nil
	}
	delete(members, cimom.RevisionProperty) // wbemd's, not the class's
	own, err := json.Marshal(members)
	if err != nil {
		return nil
	}
	o, err := cimjson.Decode(own, "", lookup)
	if err != nil {
		return nil
	}
	var out []cim.Property
	for _, p := range o.Properties {
		switch p.Name {
		case "SECURITY_DESCRIPTOR", "TIME_CREATED", cimom.RevisionProperty:
		default:
			out = append(out, p)
		}
	}
	return out
}

// fileTimeEpoch is TIME_CREATED's 1601 in 100 ns units before 1970.
const fileTimeEpoch = 116444736000000000

// decodeEvent fills an event from the JSON of its object.
func decodeEvent(ev *cimom.Event, data []byte, lookup cimjson.ClassLookup) {
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil {
		return
	}
	object := func(name string) *cim.Object {
		raw, ok := members[name]
		if !ok || string(raw) == "null" {
			return nil
		}
		o, err := cimjson.Decode(raw, "", lookup)
		if err != nil {
			return nil
		}
		return o
	}
	json.Unmarshal(members["__CLASS"], &ev.Class)
	var ns string
	if json.Unmarshal(members["__NAMESPACE"], &ns) == nil && ns != "" {
		ev.Namespace = strings.ReplaceAll(ns, "\\", "/")
	}
	for _, name := range []string{"TargetInstance", "SourceInstance", "TargetClass", "TargetNamespace"} {
		if o := object(name); o != nil {
			ev.Target = o
		}
	}
	for _, name := range []string{"PreviousInstance", "PreviousClass", "PreviousNamespace"} {
		if o := object(name); o != nil {
			ev.Previous = o
		}
	}
	var ft uint64
	if json.Unmarshal(members["TIME_CREATED"], &ft) == nil && ft > fileTimeEpoch {
		ev.Time = time.Unix(0, int64(ft-fileTimeEpoch)*100)
	}
	if raw, ok := members["NumberOfEvents"]; ok {
		json.Unmarshal(raw, &ev.NumberOfEvents)
		if rep, ok := members["Representative"]; ok && string(rep) != "null" {
			r := &cimom.Event{Namespace: ev.Namespace, Rev: ev.Rev}
			decodeEvent(r, rep, lookup)
			ev.Representative = r
		}
	}
}

// ValidateEventQuery checks an event query through the server's event
// stream, without subscribing.
func (c *Client) ValidateEventQuery(ctx context.Context, language, query string) error {
	_, err := c.Events(ctx, query, StreamOptions{Validate: true, Language: language})
	return err
}
