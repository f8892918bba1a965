package provhost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/provider/wire"
)

// Event providers. wbemd tells a host which event queries are active
// (newQuery, cancelQuery) and reads the events it raises (event). While a
// provider has an active query its host stays up (no idle stop) and is
// started again after a crash, and the new process is told the active
// queries again; events raised while no process runs are lost (provider
// events are delivered live, at most once).

// entryEvents is an entry's event side.
type entryEvents struct {
	evMu    sync.Mutex
	sink    func([]byte) error       // cimom's check and fan-out, nil when no subscription needs the events
	sinkGen uint64                   // raised by every ProvideEvents
	queries map[uint64]*wire.Message // the active queries, as newQuery messages
}

var _ cimom.HostedEventProvider = (*hosted)(nil)

// ProvideEvents makes raise receive the events the provider raises in
// its namespace (cimom.HostedEventProvider).
func (h *hosted) ProvideEvents(raise func([]byte) error) (stop func()) {
	e := h.e
	e.evMu.Lock()
	e.sinkGen++
	gen := e.sinkGen
	e.sink = raise
	e.evMu.Unlock()
	return func() {
		e.evMu.Lock()
		if e.sinkGen == gen {
			e.sink = nil
		}
		e.evMu.Unlock()
	}
}

// NewQuery tells the provider of an active query, starting its host if
// need be (cimom.HostedEventProvider).
func (h *hosted) NewQuery(ctx context.Context, q *cimom.ProviderEventQuery) (func(), error) {
	h.s.mu.Lock()
	reg, sl := h.e.reg, h.e.slot
	h.s.mu.Unlock()
	m := &wire.Message{Type: wire.TypeNewQuery, ID: h.s.queryIDs.Add(1), Provider: reg.Name, Namespace: q.Namespace,
		Query: queryOf(q.Query), Text: q.Text}
	e := h.e
	e.evMu.Lock()
	if e.queries == nil {
		e.queries = map[uint64]*wire.Message{}
	}
	e.queries[m.ID] = m
	e.evMu.Unlock()
	timeout := h.s.opts.InitTimeout
	if reg.InitializationTimeout > 0 {
		timeout = reg.InitializationTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout+time.Second)
	defer cancel()
	p, err := sl.acquire(sctx)
	if err == nil && !p.serves(reg.Name) {
		err = cim.Errorf(cim.EProviderNotFound, "the host %s started, but does not serve provider %s", reg.Command, reg.Name)
	}
	if err != nil {
		h.cancelQuery(m.ID)
		if sctx.Err() != nil && ctx.Err() == nil {
			err = timedOut(reg.Name, timeout)
		}
		return nil, h.failed(err)
	}
	p.sendQuery(m)
	return func() { h.cancelQuery(m.ID) }, nil
}

// cancelQuery forgets an active query and tells the running host.
func (h *hosted) cancelQuery(id uint64) {
	e := h.e
	e.evMu.Lock()
	delete(e.queries, id)
	e.evMu.Unlock()
	h.s.mu.Lock()
	sl := e.slot
	h.s.mu.Unlock()
	sl.mu.Lock()
	p := sl.proc
	sl.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	sent := p.sentQueries[id]
	delete(p.sentQueries, id)
	p.mu.Unlock()
	if sent {
		p.w.Write(&wire.Message{Type: wire.TypeCancelQuery, ID: id})
	}
}

// sendQuery tells the process of an active query, once.
func (p *process) sendQuery(m *wire.Message) {
	p.mu.Lock()
	if p.reason != nil || p.sentQueries[m.ID] {
		p.mu.Unlock()
		return
	}
	if p.sentQueries == nil {
		p.sentQueries = map[uint64]bool{}
	}
	p.sentQueries[m.ID] = true
	p.mu.Unlock()
	p.w.Write(m) // a failed write ends the process; its successor is told again
}

// sendQueries tells a process just started of the active queries of the
// providers it serves.
func (p *process) sendQueries() {
	for _, m := range p.slot.activeQueries() {
		if p.serves(m.Provider) {
			p.sendQuery(m)
		}
	}
}

// activeQueries returns the active queries of the slot's providers.
func (sl *slot) activeQueries() []*wire.Message {
	sl.mu.Lock()
	entries := make([]*entry, 0, len(sl.providers))
	for _, e := range sl.providers {
		entries = append(entries, e)
	}
	sl.mu.Unlock()
	var out []*wire.Message
	for _, e := range entries {
		e.evMu.Lock()
		for _, m := range e.queries {
			out = append(out, m)
		}
		e.evMu.Unlock()
	}
	return out
}

// revive starts the slot's host again after it ended while event queries
// are active, until one runs, the host is disabled, or wbemd stops.
func (sl *slot) revive() {
	sl.mu.Lock()
	if sl.reviving {
		sl.mu.Unlock()
		return
	}
	sl.reviving = true
	sl.mu.Unlock()
	defer func() {
		sl.mu.Lock()
		sl.reviving = false
		sl.mu.Unlock()
	}()
	s := sl.sup
	for len(sl.activeQueries()) > 0 {
		select {
		case <-s.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.InitTimeout+s.opts.BackoffMax)
		_, err := sl.acquire(ctx)
		cancel()
		switch st := cim.StatusOf(err); {
		case err == nil:
			return
		case st == cim.EProviderDisabled || st == cim.EShuttingDown:
			s.log.Warn("provider host with active event queries not restarted", "host", sl.key, "err", err)
			return
		}
		s.log.Warn("cannot restart a provider host with active event queries", "host", sl.key, "err", err)
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// maxLoggedDrops is how many dropped events a process gets logged one
// by one; after them, one in dropLogEvery.
const (
	maxLoggedDrops = 100
	dropLogEvery   = 1000
)

// event hands an event the host raised to cimom, which checks it; an
// event that does not fit is logged and dropped.
func (p *process) event(m *wire.Message) {
	s := p.slot.sup
	s.mu.Lock()
	p.slot.mu.Lock()
	type target struct {
		e  *entry
		ns string
	}
	var targets []target
	for _, e := range p.slot.providers {
		if cim.EqualFold(e.reg.Name, m.Provider) && (m.Namespace == "" || cim.EqualFold(e.reg.Namespace, m.Namespace)) {
			targets = append(targets, target{e, e.reg.Namespace})
		}
	}
	p.slot.mu.Unlock()
	s.mu.Unlock()
	if len(targets) == 0 || !p.serves(m.Provider) {
		where := "any namespace"
		if m.Namespace != "" {
			where = m.Namespace
		}
		p.dropped(m, fmt.Errorf("it names provider %s, which this host does not serve in %s", m.Provider, where))
		return
	}
	for _, t := range targets {
		t.e.evMu.Lock()
		sink := t.e.sink
		t.e.evMu.Unlock()
		if sink == nil {
			continue // no subscription needs it (any more)
		}
		if err := sink(m.Event); err != nil {
			p.dropped(m, err)
		}
	}
}

// dropped logs an event that was dropped, the first ones each, then one
// in dropLogEvery with the count.
func (p *process) dropped(m *wire.Message, why error) {
	n := p.drops.Add(1)
	if n > maxLoggedDrops && n%dropLogEvery != 0 {
		return
	}
	p.slot.sup.log.Warn("provider event dropped", "host", p.slot.key, "pid", p.pid, "provider", m.Provider,
		"namespace", m.Namespace, "err", why.Error(), "dropped", n)
}
