// Package wire is the protocol between wbemd and a provider host process:
// frames of JSON messages over one stream socket. PROVIDERS.md documents it
// for provider authors in any language; this package is its Go codec, used
// by wbemd (internal/provhost) and by the Go SDK (package provider).
//
// A frame is a 4-byte big-endian length N followed by N bytes holding one
// JSON object, a Message. Every message has a "type"; calls and their
// answers carry the call's "id". Objects (instances, keys, parameters)
// travel in the flat JSON form of package cimjson; wbemd types them against
// the class when it receives them.
//
// Everything a host sends is untrusted: Reader bounds frame sizes and
// reports malformed frames as errors, never panics, and Check validates a
// message's fields for its type.
package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Version is the protocol version this package speaks.
const Version = 1

// DefaultMaxFrame is the largest frame a reader accepts unless told
// otherwise (16 MiB).
const DefaultMaxFrame = 16 << 20

// Message types. The first group goes from wbemd to a host, the second
// from a host to wbemd; "hello" goes both ways.
const (
	TypeHello     = "hello"     // version negotiation (both directions)
	TypeGet       = "get"       // GetObject of an instance: keys
	TypeEnumerate = "enumerate" // instances of class: streamed items, then a result
	TypeQuery     = "query"     // instances of class matching query: streamed
	TypePut       = "put"       // create or update instance
	TypeDelete    = "delete"    // delete the instance at keys
	TypeInvoke    = "invoke"    // run method on the class or the instance at keys
	TypeCancel    = "cancel"    // stop call id: its answer is no longer read
	TypeMore      = "more"      // call id may stream count more items
	// TypeNewQuery tells an event provider that a subscription whose
	// event query its __EventProviderRegistration covers became active
	// (query id, provider, namespace, query, text); TypeCancelQuery that
	// query id ended. Query ids are their own numbering, not call ids.
	TypeNewQuery    = "newQuery"
	TypeCancelQuery = "cancelQuery"

	TypeInstance = "instance" // one streamed item of call id
	TypeResult   = "result"   // call id succeeded (its last message)
	TypeError    = "error"    // call id failed with status (its last message)
	// TypeEvent is an event an event provider raises (provider,
	// namespace, event): not an answer to a call, so it has no id.
	TypeEvent = "event"
)

// Message is one frame's content. Which fields a type uses is listed in
// PROVIDERS.md and enforced by Check; unknown fields are ignored so that a
// later minor revision can add some.
type Message struct {
	Type string `json:"type"`
	ID   uint64 `json:"id,omitempty"`

	// hello: Versions (wbemd's offer) and Version (the host's choice),
	// Providers (the provider names a host serves), Restarted (the host
	// replaces one that failed), MaxFrame (the largest frame wbemd reads).
	Versions  []int    `json:"versions,omitempty"`
	Version   int      `json:"version,omitempty"`
	Providers []string `json:"providers,omitempty"`
	Restarted bool     `json:"restarted,omitempty"`
	MaxFrame  int      `json:"maxFrame,omitempty"`

	// Calls: the provider and namespace, the class the call is about,
	// the class whose Provider qualifier binds the provider (Class or
	// an ancestor: the top of a put chain), and the remaining time in
	// milliseconds.
	Provider      string `json:"provider,omitempty"`
	Namespace     string `json:"namespace,omitempty"`
	Class         string `json:"class,omitempty"`
	ProviderClass string `json:"providerClass,omitempty"`
	TimeoutMS     int64  `json:"timeoutMs,omitempty"`
	// Caller is who the call is made for: every call from wbemd carries
	// it (wbemd calls no provider for an unauthenticated request).
	Caller *Caller `json:"caller,omitempty"`

	// Path is the target's object path as text and Keys its key
	// properties as a flat JSON object (get, delete, invoke on an
	// instance; absent for a static method).
	Path string          `json:"path,omitempty"`
	Keys json.RawMessage `json:"keys,omitempty"`

	// Instance: put's instance; a get's result; a streamed item; a put's
	// result when the provider changed the instance (it may assign keys).
	Instance json.RawMessage `json:"instance,omitempty"`
	// put: CreateOnly, UpdateOnly and Properties (a partial update).
	CreateOnly bool     `json:"createOnly,omitempty"`
	UpdateOnly bool     `json:"updateOnly,omitempty"`
	Properties []string `json:"properties,omitempty"`

	// invoke: Method, its in-parameters (In); the result's Out holds
	// ReturnValue and the out-parameters.
	Method string          `json:"method,omitempty"`
	In     json.RawMessage `json:"in,omitempty"`
	Out    json.RawMessage `json:"out,omitempty"`

	// query: the parsed query. newQuery: the subscription's event query
	// (Class is its event class), and Text the query as WQL text.
	Query *Query `json:"query,omitempty"`
	Text  string `json:"text,omitempty"`

	// event: the event object in cimjson's flat form, naming its class in
	// "__CLASS": an __InstanceCreationEvent, __InstanceModificationEvent
	// or __InstanceDeletionEvent with TargetInstance (and
	// PreviousInstance), or an instance of a subclass of __ExtrinsicEvent.
	// Namespace is where it is raised ("" for every namespace in which
	// the provider has an active query).
	Event json.RawMessage `json:"event,omitempty"`

	// enumerate and query: Window is how many items the host may send
	// before wbemd grants more; more: Count grants that many.
	Window int `json:"window,omitempty"`
	Count  int `json:"count,omitempty"`

	// error: the WBEM status ("WBEM_E_NOT_FOUND" or "0x80041002") and a
	// description.
	Status      string `json:"status,omitempty"`
	Description string `json:"description,omitempty"`
}

// Caller is the authenticated principal a call is made for, and the Unix
// account wbemd maps it to. A provider that acts on the machine for the
// caller (starts or signals a process, starts a service) acts as Unix and
// refuses when Unix is absent; it never acts as its own identity instead.
type Caller struct {
	Name   string   `json:"name"`             // the wbemd user ("root" for the Unix superuser)
	Groups []string `json:"groups,omitempty"` // the wbemd user's groups
	Admin  bool     `json:"admin,omitempty"`  // root or a member of Administrators
	Remote bool     `json:"remote,omitempty"` // the request came over the network
	// Unix is the Unix account of the same name; nil when there is none.
	Unix *UnixUser `json:"unix,omitempty"`
}

// UnixUser is a Unix account: its name, user and group ids, and the ids
// of the groups it is a member of (the primary group included).
type UnixUser struct {
	Name   string   `json:"name"`
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	Home   string   `json:"home,omitempty"`
}

// Query is a WQL data query in a form a provider can read without a WQL
// parser: the class, the selected properties (nil for *), and the WHERE
// clause as a tree (nil when absent). wbemd filters the results again, so
// a provider may return more than the query matches, never less.
type Query struct {
	Class      string   `json:"class"`
	Properties []string `json:"properties,omitempty"`
	Where      *Cond    `json:"where,omitempty"`
}

// Cond is a node of a WHERE clause: exactly one of And, Or, Not, or a
// condition on Property (Op with Value, IsNull, or Isa).
type Cond struct {
	And []*Cond `json:"and,omitempty"`
	Or  []*Cond `json:"or,omitempty"`
	Not *Cond   `json:"not,omitempty"`

	Property string `json:"property,omitempty"` // dotted for embedded objects
	// Op is one of = <> < > <= >= LIKE; Value is a string, number,
	// boolean or null.
	Op     string `json:"op,omitempty"`
	Value  any    `json:"value,omitempty"`
	IsNull *bool  `json:"isNull,omitempty"` // true: IS NULL; false: IS NOT NULL
	Isa    string `json:"isa,omitempty"`
}

// Writer writes frames; it is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write encodes m as one frame and flushes it.
func (w *Writer) Write(m *Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("wire: encode %s: %w", m.Type, err)
	}
	return w.WriteRaw(body)
}

// WriteRaw writes body, which must be one JSON object, as a frame.
func (w *Writer) WriteRaw(body []byte) error { return w.WriteBatch([][]byte{body}) }

// WriteBatch writes each body as a frame, then flushes once.
func (w *Writer) WriteBatch(bodies [][]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, body := range bodies {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
		if _, err := w.w.Write(hdr[:]); err != nil {
			return fmt.Errorf("wire: write: %w", err)
		}
		if _, err := w.w.Write(body); err != nil {
			return fmt.Errorf("wire: write: %w", err)
		}
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("wire: write: %w", err)
	}
	return nil
}

// ErrFrameTooLarge is wrapped by the error of a frame longer than the
// reader's limit.
var ErrFrameTooLarge = errors.New("frame too large")

// Reader reads frames.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
	n   int64 // frames read, for error messages
}

// NewReader returns a Reader on r that rejects frames longer than max
// bytes (DefaultMaxFrame when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadRaw returns the next frame's body, valid until the next call. At a
// clean end between frames it returns io.EOF; a frame cut short is
// io.ErrUnexpectedEOF.
func (r *Reader) ReadRaw() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("wire: frame %d: header cut short: %w", r.n+1, err)
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	r.n++
	if int64(n) > int64(r.max) {
		return nil, fmt.Errorf("wire: frame %d: %d bytes, more than the limit of %d: %w", r.n, n, r.max, ErrFrameTooLarge)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("wire: frame %d: body cut short: %w", r.n, err)
	}
	return r.buf, nil
}

// Read returns the next message, decoded and checked (see Decode).
func (r *Reader) Read() (*Message, error) {
	body, err := r.ReadRaw()
	if err != nil {
		return nil, err
	}
	m, err := Decode(body)
	if err != nil {
		return nil, fmt.Errorf("wire: frame %d: %w", r.n, err)
	}
	return m, nil
}

// Decode parses one frame's body and checks it (Check). The message's
// raw fields are copies: they stay valid after the frame's buffer is
// reused.
func Decode(body []byte) (*Message, error) {
	if m := decodeItem(body); m != nil {
		return m, nil
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("not a JSON message: %w", err)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Check reports a message whose fields do not fit its type. A type this
// version does not know passes: readers ignore such messages.
func (m *Message) Check() error {
	need := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%s message without %s", m.Type, what)
		}
		return nil
	}
	isObject := func(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '{' }
	switch m.Type {
	case "":
		return errors.New("message without a type")
	case TypeHello:
		return need(m.Version > 0 || len(m.Versions) > 0, "a version")
	case TypeGet, TypeDelete:
		if err := need(m.ID != 0 && m.Provider != "" && m.Class != "", "id, provider and class"); err != nil {
			return err
		}
		return need(isObject(m.Keys), "keys")
	case TypeEnumerate, TypeQuery:
		if err := need(m.ID != 0 && m.Provider != "" && m.Class != "" && m.Window > 0, "id, provider, class and window"); err != nil {
			return err
		}
		return need(m.Type != TypeQuery || m.Query != nil, "a query")
	case TypePut:
		if err := need(m.ID != 0 && m.Provider != "" && m.Class != "", "id, provider and class"); err != nil {
			return err
		}
		return need(isObject(m.Instance), "an instance")
	case TypeInvoke:
		if err := need(m.ID != 0 && m.Provider != "" && m.Class != "" && m.Method != "", "id, provider, class and method"); err != nil {
			return err
		}
		return need(m.Keys == nil || isObject(m.Keys), "keys as an object")
	case TypeCancel:
		return need(m.ID != 0, "an id")
	case TypeMore:
		return need(m.ID != 0 && m.Count > 0, "an id and a positive count")
	case TypeNewQuery:
		if err := need(m.ID != 0 && m.Provider != "" && m.Namespace != "", "id, provider and namespace"); err != nil {
			return err
		}
		return need(m.Query != nil && m.Query.Class != "", "a query naming its event class")
	case TypeCancelQuery:
		return need(m.ID != 0, "an id")
	case TypeEvent:
		if err := need(m.Provider != "", "a provider"); err != nil {
			return err
		}
		return need(isObject(m.Event), "an event object")
	case TypeInstance:
		return need(m.ID != 0 && isObject(m.Instance), "an id and an instance")
	case TypeResult:
		if err := need(m.ID != 0, "an id"); err != nil {
			return err
		}
		if m.Instance != nil && !isObject(m.Instance) || m.Out != nil && !isObject(m.Out) {
			return fmt.Errorf("result message whose instance or out is not a JSON object")
		}
	case TypeError:
		// Id 0 is an error of the host itself, before or instead of
		// its hello (an executable that cannot start).
		return need(m.Status != "", "a status")
	}
	return nil
}

// itemPrefix and itemMiddle frame a streamed item as every encoder of the
// message writes it: {"type":"instance","id":N,"instance":{...}}.
const (
	itemPrefix = `{"type":"instance","id":`
	itemMiddle = `,"instance":`
)

// decodeItem decodes a streamed item written in exactly that form, the
// bulk of an enumeration's frames, without encoding/json's reflection;
// nil for any other body, which Decode reads the general way. It takes
// only what json.Unmarshal reads into the same message (FuzzDecodeItem).
func decodeItem(body []byte) *Message {
	rest, ok := bytes.CutPrefix(body, []byte(itemPrefix))
	if !ok {
		return nil
	}
	n := 0
	for n < len(rest) && n < 20 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || rest[0] == '0' {
		return nil
	}
	id, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	if err != nil {
		return nil
	}
	inst, ok := bytes.CutPrefix(rest[n:], []byte(itemMiddle))
	if !ok || len(inst) < 3 || inst[0] != '{' || inst[len(inst)-1] != '}' {
		return nil
	}
	inst = inst[:len(inst)-1] // the message's closing brace
	if inst[len(inst)-1] != '}' || !json.Valid(inst) {
		return nil
	}
	return &Message{Type: TypeInstance, ID: id, Instance: append(json.RawMessage(nil), inst...)}
}
