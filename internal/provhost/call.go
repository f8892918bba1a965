package provhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider/wire"
)

// pending is a call waiting for its answers. Its channel holds every
// message the host may send before wbemd reads one (the stream window
// and the last message), so the reader never waits for a caller.
type pending struct {
	ch        chan *wire.Message
	mu        sync.Mutex
	cancelled bool
	grace     *time.Timer // after a cancel: the host must finish the call before it fires
}

func (pd *pending) stopGrace() {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.grace != nil {
		pd.grace.Stop()
	}
}

// deliver hands m to its call. An answer to a call that is over is
// dropped; more messages than the call allowed is an error of the host.
func (p *process) deliver(m *wire.Message) error {
	last := m.Type == wire.TypeResult || m.Type == wire.TypeError
	p.mu.Lock()
	pd := p.calls[m.ID]
	if pd != nil && last {
		delete(p.calls, m.ID)
	}
	p.mu.Unlock()
	if pd == nil {
		return nil
	}
	pd.mu.Lock()
	cancelled := pd.cancelled
	pd.mu.Unlock()
	if cancelled {
		if last {
			pd.stopGrace()
		}
		return nil
	}
	switch m.Type {
	case wire.TypeInstance, wire.TypeResult, wire.TypeError:
	default:
		return fmt.Errorf("it answered call %d with a %q message", m.ID, m.Type)
	}
	select {
	case pd.ch <- m:
		return nil
	default:
		return fmt.Errorf("it sent more items for call %d than it was allowed", m.ID)
	}
}

// callHandle is one call in flight on a process.
type callHandle struct {
	p        *process
	id       uint64
	pd       *pending
	provider string
	timeout  time.Duration
	deadline time.Time
	timer    *time.Timer
	window   int
	taken    int // items read since the last grant
	ended    bool
}

// begin sends request m (its ID is assigned here) with a deadline of
// timeout; window > 0 makes it a stream of that many items in flight.
func (p *process) begin(ctx context.Context, m *wire.Message, provider string, timeout time.Duration, window int) (*callHandle, error) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, timedOut(provider, timeout)
	}
	pd := &pending{ch: make(chan *wire.Message, window+2)}
	p.mu.Lock()
	if p.reason != nil {
		p.mu.Unlock()
		return nil, p.reason
	}
	p.nextID++
	id := p.nextID
	p.calls[id] = pd
	p.inflight++
	p.lastUsed = time.Now()
	p.mu.Unlock()
	m.ID, m.TimeoutMS, m.Window = id, timeout.Milliseconds()+1, window
	c := &callHandle{p: p, id: id, pd: pd, provider: provider, timeout: timeout, deadline: time.Now().Add(timeout),
		timer: time.NewTimer(timeout), window: window}
	if err := p.w.Write(m); err != nil {
		// The host is gone (or going): the call did not reach it.
		c.end()
		p.kill(fmt.Errorf("its wire failed: %v", err))
		<-p.done
		return nil, errUndelivered
	}
	return c, nil
}

// errUndelivered is the error of a call that never reached its host: it
// may go to the next host.
var errUndelivered = errors.New("the call did not reach the host")

func timedOut(provider string, after time.Duration) error {
	e := cim.Errorf(cim.EProviderTimedOut, "provider %s did not answer within %v", provider, after.Round(time.Millisecond))
	e.Provider = provider
	return e
}

// next returns the call's next message: an item, or its last message
// (result or error, after which the call is over). It ends the call with
// PROVIDER_TIMED_OUT at the deadline and with ctx's error when the caller
// goes away, telling the host to cancel it either way.
func (c *callHandle) next(ctx context.Context) (*wire.Message, error) {
	if c.ended {
		return nil, cim.Errorf(cim.EProviderFailure, "call %d is over", c.id)
	}
	select {
	case m := <-c.pd.ch:
		return c.took(m)
	default:
	}
	select {
	case m := <-c.pd.ch:
		return c.took(m)
	case <-c.p.done:
		select {
		case m := <-c.pd.ch: // answered just before it ended
			return c.took(m)
		default:
		}
		c.end()
		return nil, c.p.reason
	case <-c.timer.C:
		c.cancel()
		return nil, timedOut(c.provider, c.timeout)
	case <-ctx.Done():
		c.cancel()
		return nil, callerGone(ctx)
	}
}

// callerGone is the error of a call whose caller went away.
func callerGone(ctx context.Context) error {
	return &cim.Error{Status: cim.ECallCancelled, Description: "the call was cancelled: " + ctx.Err().Error(), Err: ctx.Err()}
}

func (c *callHandle) took(m *wire.Message) (*wire.Message, error) {
	if m.Type != wire.TypeInstance {
		c.end()
		if m.Type == wire.TypeError && m.Status == cim.ECallCancelled.String() && !time.Now().Before(c.deadline) {
			// The host's own deadline, a moment before wbemd's timer.
			return nil, timedOut(c.provider, c.timeout)
		}
		return m, nil
	}
	if c.window == 0 {
		c.cancel()
		return nil, cim.Errorf(cim.EProviderFailure, "provider %s streamed an instance for a call that has one answer", c.provider)
	}
	c.taken++
	if c.taken >= (c.window+1)/2 {
		c.p.w.Write(&wire.Message{Type: wire.TypeMore, ID: c.id, Count: c.taken})
		c.taken = 0
	}
	return m, nil
}

// end forgets a call that is over.
func (c *callHandle) end() { c.close(true) }

// close marks the call over; forget removes it from the process's calls.
// It reports whether the call was still waiting for its last message.
func (c *callHandle) close(forget bool) (open bool) {
	if c.ended {
		return false
	}
	c.ended = true
	c.timer.Stop()
	p := c.p
	p.mu.Lock()
	_, open = p.calls[c.id]
	if forget {
		delete(p.calls, c.id)
	}
	p.inflight--
	p.lastUsed = time.Now()
	p.mu.Unlock()
	return open
}

// cancel ends a call before its last message: the host is told, and a
// host that has not finished the call after the cancel grace is killed
// (a provider that ignores cancellation would hold its resources for
// ever).
func (c *callHandle) cancel() {
	if !c.close(false) {
		return // over, or its last message is in: nothing to cancel
	}
	p := c.p
	grace := p.slot.sup.opts.CancelGrace
	c.pd.mu.Lock()
	c.pd.cancelled = true
	c.pd.grace = time.AfterFunc(grace, func() {
		p.mu.Lock()
		_, still := p.calls[c.id]
		delete(p.calls, c.id)
		p.mu.Unlock()
		if still {
			p.kill(fmt.Errorf("it did not finish call %d within %v of its cancellation", c.id, grace))
		}
	})
	c.pd.mu.Unlock()
	p.w.Write(&wire.Message{Type: wire.TypeCancel, ID: c.id})
}
