package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
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
}

// Events opens the server's event stream for an event query (WQL) in the
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
		br := bufio.NewReaderSize(resp.Body, 64<<10)
		var m StreamEvent
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				if ctx.Err() != nil {
					yield(StreamEvent{}, cim.Errorf(cim.ECallCancelled, "event stream: %v", ctx.Err()))
				} else if err != io.EOF || len(line) > 0 {
					yield(StreamEvent{}, cim.Errorf(cim.ETransportFailure, "event stream: %v", err))
				} else {
					yield(StreamEvent{}, cim.Errorf(cim.ETransportFailure, "event stream: the server ended the stream"))
				}
				return
			}
			line = bytes.TrimRight(line, "\r\n")
			if len(line) == 0 {
				if m.Event == "error" {
					yield(StreamEvent{}, streamError(0, m.Data))
					return
				}
				if m.Event != "" || m.Data != nil {
					if !yield(m, nil) {
						return
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
	}, nil
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

// ExecNotificationQuery subscribes through the server's event stream.
// The events carry their class, namespace, revision and index, and time;
// Target and Previous are not decoded (a door's client reads the JSON of
// Events instead).
func (c *Client) ExecNotificationQuery(ctx context.Context, language, query string, opts cimom.NotificationOptions) (iter.Seq2[cimom.Event, error], error) {
	if !strings.EqualFold(language, "WQL") {
		return nil, cim.Errorf(cim.EInvalidQueryType, "query language %q: event queries are WQL", language)
	}
	from := ""
	if opts.From > 0 {
		from = strconv.FormatInt(opts.From, 10)
	}
	seq, err := c.Events(ctx, query, StreamOptions{From: from, Heartbeat: opts.Progress})
	if err != nil {
		return nil, err
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
				ev.Class = m.Event
				if _, idx, ok := strings.Cut(m.ID, "."); ok {
					ev.Index, _ = strconv.Atoi(idx)
				}
			}
			if !yield(ev, nil) {
				return
			}
		}
	}, nil
}

// ValidateEventQuery checks an event query through the server's event
// stream, without subscribing.
func (c *Client) ValidateEventQuery(ctx context.Context, language, query string) error {
	if !strings.EqualFold(language, "WQL") {
		return cim.Errorf(cim.EInvalidQueryType, "query language %q: event queries are WQL", language)
	}
	_, err := c.Events(ctx, query, StreamOptions{Validate: true})
	return err
}
