package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider/wire"
)

// WireFD is the file descriptor on which wbemd gives a host its end of the
// wire: a connected stream socket.
const WireFD = 3

// Serve serves providers on the wire wbemd opened (file descriptor 3)
// until wbemd closes it, then returns nil.
func Serve(providers ...*Provider) error {
	// The wire is read and written through Go's network poller, as a
	// non-blocking descriptor: a read blocked in the kernel would hold one
	// of the process's Ps, so that a goroutine the handlers wake (the
	// writer of their answers) could wait behind a busy handler until the
	// runtime takes that P back, milliseconds later (BENCHMARKS.md).
	if err := syscall.SetNonblock(WireFD, true); err != nil {
		return fmt.Errorf("provider: no wire on file descriptor 3 (this program is started by wbemd): %w", err)
	}
	f := os.NewFile(WireFD, "wbemd-wire")
	if f == nil {
		return errors.New("provider: no wire on file descriptor 3: this program is started by wbemd")
	}
	if _, err := f.Stat(); err != nil {
		return fmt.Errorf("provider: no wire on file descriptor 3 (this program is started by wbemd): %w", err)
	}
	defer f.Close()
	return ServeConn(f, providers...)
}

// ServeConn serves providers on rw (one end of the wire) until it ends.
func ServeConn(rw io.ReadWriter, providers ...*Provider) error {
	s := &server{
		r:       wire.NewReader(rw, wire.DefaultMaxFrame),
		out:     make(chan []byte, 256),
		calls:   map[uint64]*call{},
		byName:  map[string]*Provider{},
		flushed: make(chan struct{}),
	}
	s.queries = map[uint64]*EventQuery{}
	for _, p := range providers {
		s.byName[strings.ToLower(p.Name)] = p
		s.names = append(s.names, p.Name)
		p.evMu.Lock()
		p.srv = s
		p.evMu.Unlock()
	}
	s.w = wire.NewWriter(rw)
	go s.writeLoop()
	err := s.readLoop()
	s.mu.Lock()
	for _, c := range s.calls {
		c.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	// The wire is over: every active query ends, and Raise refuses.
	s.qmu.Lock()
	var ids []uint64
	for id := range s.queries {
		ids = append(ids, id)
	}
	s.qmu.Unlock()
	for _, id := range ids {
		s.cancelQuery(id)
	}
	for _, p := range providers {
		p.evMu.Lock()
		if p.srv == s {
			p.srv = nil
		}
		p.evMu.Unlock()
	}
	s.outMu.Lock()
	s.closed = true
	close(s.out)
	s.outMu.Unlock()
	<-s.flushed
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

type server struct {
	r      *wire.Reader
	names  []string
	byName map[string]*Provider

	out     chan []byte // frames queued for writeLoop, in order
	flushed chan struct{}
	queued  atomic.Int64 // frames put in out and not yet written
	wmu     sync.Mutex   // held while frames are written
	w       *wire.Writer
	werr    error // the wire failed (held by wmu)

	mu    sync.Mutex
	calls map[uint64]*call
	wg    sync.WaitGroup

	eventState
}

// call is a request being served.
type call struct {
	cancel context.CancelFunc
	credit chan struct{} // one token per item the call may still send

	mu    sync.Mutex
	order []string // the key order of the last item (see appendInstance)
}

// Frames reach the wire in the order they are put. A sender whose frame
// has none queued before it, and finds the wire free, writes it itself;
// otherwise the frame is queued, and writeLoop writes what piles up in
// batches, so that a busy wire costs few system calls. Writing in the
// sender saves a hand-off per frame to the writer's goroutine, which on a
// machine of few busy cores waited 0.1 to 1.7 ms to run while the sender
// read on (BENCHMARKS.md), and wbemd waited for the first instances of a
// stream as long.

// put writes or queues a frame.
func (s *server) put(body []byte) {
	if s.wmu.TryLock() {
		if s.queued.Load() == 0 {
			s.write([][]byte{body})
			s.wmu.Unlock()
			return
		}
		s.wmu.Unlock()
	}
	s.queued.Add(1)
	s.out <- body
}

// write writes frames, holding wmu; after a failure it drops them (the
// wire is gone: the senders must not block).
func (s *server) write(frames [][]byte) {
	if s.werr != nil {
		return
	}
	if err := s.w.WriteBatch(frames); err != nil {
		s.werr = err
		slog.Error("provider: write to wbemd", "err", err)
	}
}

// writeLoop writes the queued frames, up to 256 at a time.
func (s *server) writeLoop() {
	defer close(s.flushed)
	for body := range s.out {
		batch := [][]byte{body}
		for len(s.out) > 0 && len(batch) < 256 {
			if b, ok := <-s.out; ok {
				batch = append(batch, b)
			}
		}
		s.wmu.Lock()
		s.write(batch)
		s.queued.Add(-int64(len(batch)))
		s.wmu.Unlock()
	}
}

func (s *server) send(m *wire.Message) {
	body, err := json.Marshal(m)
	if err != nil {
		body, _ = json.Marshal(&wire.Message{Type: wire.TypeError, ID: m.ID, Status: cim.EProviderFailure.String(),
			Description: fmt.Sprintf("the provider's answer does not encode as JSON: %v", err)})
	}
	s.enqueue(body)
}

func (s *server) readLoop() error {
	for {
		m, err := s.r.Read()
		if err != nil {
			return err
		}
		switch m.Type {
		case wire.TypeHello:
			if !contains(m.Versions, wire.Version) {
				s.send(&wire.Message{Type: wire.TypeError, Status: cim.EProviderLoadFailure.String(),
					Description: fmt.Sprintf("wbemd offers wire versions %v; this provider speaks %d", m.Versions, wire.Version)})
				continue
			}
			s.send(&wire.Message{Type: wire.TypeHello, Version: wire.Version, Providers: s.names})
		case wire.TypeCancel:
			s.mu.Lock()
			if c := s.calls[m.ID]; c != nil {
				c.cancel()
			}
			s.mu.Unlock()
		case wire.TypeMore:
			s.mu.Lock()
			c := s.calls[m.ID]
			s.mu.Unlock()
			if c != nil {
			grant:
				for range m.Count {
					select {
					case c.credit <- struct{}{}:
					default:
						break grant // more than the window: wbemd's mistake, ignored
					}
				}
			}
		case wire.TypeNewQuery:
			s.newQuery(m)
		case wire.TypeCancelQuery:
			s.cancelQuery(m.ID)
		case wire.TypeGet, wire.TypeEnumerate, wire.TypeQuery, wire.TypePut, wire.TypeDelete, wire.TypeInvoke:
			s.start(m)
		}
	}
}

// start runs one call in its own goroutine.
func (s *server) start(m *wire.Message) {
	ctx, cancel := context.WithCancel(context.Background())
	if m.TimeoutMS > 0 {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(m.TimeoutMS)*time.Millisecond)
	}
	c := &call{cancel: cancel}
	if m.Window > 0 {
		c.credit = make(chan struct{}, m.Window)
		for range m.Window {
			c.credit <- struct{}{}
		}
	}
	s.mu.Lock()
	if _, dup := s.calls[m.ID]; dup {
		s.mu.Unlock()
		cancel()
		return
	}
	s.calls[m.ID] = c
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		answer := s.serve(ctx, m, c)
		s.mu.Lock()
		delete(s.calls, m.ID)
		s.mu.Unlock()
		s.send(answer)
	}()
}

// serve runs the handler of m and returns the call's last message.
func (s *server) serve(ctx context.Context, m *wire.Message, c *call) (answer *wire.Message) {
	defer func() {
		if p := recover(); p != nil {
			slog.Error("provider: handler panicked", "provider", m.Provider, "class", m.Class, "type", m.Type, "panic", p, "stack", string(debug.Stack()))
			answer = errorMessage(m.ID, fmt.Errorf("the provider panicked: %v", p))
		}
	}()
	p := s.byName[strings.ToLower(m.Provider)]
	if p == nil {
		return errorMessage(m.ID, cim.Errorf(cim.EProviderNotFound, "this host serves no provider %s", m.Provider))
	}
	cls := findClass(p, m.Class)
	if cls == nil && m.ProviderClass != "" {
		cls = findClass(p, m.ProviderClass)
	}
	notCapable := func(what string) *wire.Message {
		return errorMessage(m.ID, cim.Errorf(cim.EProviderNotCapable, "provider %s does not %s %s", p.Name, what, m.Class))
	}
	if cls == nil {
		return notCapable("serve")
	}
	r := &Request{Provider: m.Provider, Namespace: m.Namespace, Class: m.Class, ProviderClass: m.ProviderClass, Path: m.Path,
		CreateOnly: m.CreateOnly, UpdateOnly: m.UpdateOnly, Properties: m.Properties, Method: m.Method, Query: m.Query,
		Caller: m.Caller}
	for _, f := range []struct {
		raw json.RawMessage
		dst *Instance
	}{{m.Keys, &r.Keys}, {m.Instance, &r.Instance}, {m.In, &r.In}} {
		if f.raw == nil {
			continue
		}
		inst, err := decodeInstance(f.raw)
		if err != nil {
			return errorMessage(m.ID, cim.Errorf(cim.EInvalidParameter, "wbemd sent an object that does not decode: %v", err))
		}
		*f.dst = inst
	}
	result := &wire.Message{Type: wire.TypeResult, ID: m.ID}
	var err error
	switch m.Type {
	case wire.TypeGet:
		if cls.Get == nil {
			return notCapable("get instances of")
		}
		var inst Instance
		if inst, err = cls.Get(ctx, r); err == nil {
			if inst == nil {
				err = cim.Errorf(cim.ENotFound, "no instance %s", m.Path)
			} else if result.Instance, err = encodeInstance(inst); err != nil {
				err = fmt.Errorf("the instance does not encode as JSON: %w", err)
			}
		}
	case wire.TypeEnumerate, wire.TypeQuery:
		handler := cls.Enumerate
		if m.Type == wire.TypeQuery && cls.Query != nil {
			handler = cls.Query
		}
		if handler == nil {
			return notCapable("enumerate")
		}
		err = handler(ctx, r, func(inst Instance) error { return s.item(ctx, m.ID, c, inst) })
	case wire.TypePut:
		if cls.Put == nil {
			return notCapable("put instances of")
		}
		var inst Instance
		if inst, err = cls.Put(ctx, r); err == nil && inst != nil {
			if result.Instance, err = encodeInstance(inst); err != nil {
				err = fmt.Errorf("the instance does not encode as JSON: %w", err)
			}
		}
	case wire.TypeDelete:
		if cls.Delete == nil {
			return notCapable("delete instances of")
		}
		err = cls.Delete(ctx, r)
	case wire.TypeInvoke:
		method := findMethod(cls, m.Method)
		if method == nil {
			return errorMessage(m.ID, cim.Errorf(cim.EMethodNotImplemented, "provider %s does not implement %s.%s", p.Name, m.Class, m.Method))
		}
		var out Instance
		if out, err = method(ctx, r); err == nil {
			if out == nil {
				out = Instance{}
			}
			if result.Out, err = encodeInstance(out); err != nil {
				err = fmt.Errorf("the out-parameters do not encode as JSON: %w", err)
			}
		}
	}
	if err != nil {
		return errorMessage(m.ID, err)
	}
	return result
}

// item streams one instance of call id, waiting for credit.
func (s *server) item(ctx context.Context, id uint64, c *call, inst Instance) error {
	select {
	case <-c.credit:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The frame is written as json.Marshal would write the message, the
	// instance in place, without marshalling it a second time.
	frame := make([]byte, 0, 32*len(inst)+48)
	frame = append(frame, `{"type":"instance","id":`...)
	frame = strconv.AppendUint(frame, id, 10)
	frame = append(frame, `,"instance":`...)
	c.mu.Lock()
	frame, order, err := appendInstance(frame, inst, c.order)
	if order != nil {
		c.order = order
	}
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("an instance does not encode as JSON: %w", err)
	}
	frame = append(frame, '}')
	s.put(frame)
	return nil
}

func errorMessage(id uint64, err error) *wire.Message {
	var ce *cim.Error
	if errors.As(err, &ce) {
		return &wire.Message{Type: wire.TypeError, ID: id, Status: ce.Status.String(), Description: ce.Description}
	}
	st := cim.EProviderFailure
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		st = cim.ECallCancelled
	}
	return &wire.Message{Type: wire.TypeError, ID: id, Status: st.String(), Description: err.Error()}
}

func decodeInstance(raw json.RawMessage) (Instance, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var inst Instance
	if err := d.Decode(&inst); err != nil {
		return nil, err
	}
	return inst, nil
}

func findClass(p *Provider, name string) *Class { return lookupFold(p.Classes, name) }

func findMethod(c *Class, name string) Method { return lookupFold(c.Methods, name) }

// lookupFold finds name in m, exactly or else without regard to case.
func lookupFold[V any](m map[string]V, name string) V {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	var zero V
	return zero
}

func contains(vs []int, v int) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
