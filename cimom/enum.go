package cimom

import (
	"context"
	"iter"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// source produces the objects of an enumeration, streaming.
type source = iter.Seq2[*cim.Object, error]

// enumerator implements Enumerator over a source.
//
// Synchronous enumerators pull from the source as Next asks. With
// FlagReturnImmediately a producer goroutine fills a bounded buffer, so
// Next can time out (WBEM_S_TIMEDOUT) while results are pending. Unless
// forward-only, the objects handed out are kept so that Reset and Clone
// work (WMI's bidirectional enumerators keep everything too); forward-only
// enumerators keep nothing, which is what lets them stream any size.
type enumerator struct {
	forwardOnly bool
	async       bool
	release     func()

	mu   sync.Mutex
	kept []*cim.Object // bidirectional: everything pulled so far
	pos  int           // bidirectional: the next index in kept to return

	// synchronous pulling
	next func() (*cim.Object, error, bool)
	stop func()

	// asynchronous delivery
	ch     chan item
	cancel context.CancelFunc

	done   bool
	err    error
	closed bool
}

type item struct {
	o   *cim.Object
	err error
}

// asyncBuffer bounds how far a semisynchronous producer runs ahead.
const asyncBuffer = 1024

// newEnumerator returns an enumerator over src. release runs once when the
// enumerator finishes or is closed (it ends the CIMOM's in-flight count).
func newEnumerator(ctx context.Context, src source, flags Flags, release func()) *enumerator {
	e := &enumerator{forwardOnly: flags&FlagForwardOnly != 0, async: flags&FlagReturnImmediately != 0, release: release}
	if e.async {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		e.ch, e.cancel = make(chan item, asyncBuffer), cancel
		go func() {
			defer close(e.ch)
			for o, err := range src {
				select {
				case e.ch <- item{o, err}:
				case <-pctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
	} else {
		e.next, e.stop = iter.Pull2(src)
	}
	return e
}

func (e *enumerator) finish(err error) {
	if e.done {
		return
	}
	e.done, e.err = true, err
	if e.stop != nil {
		e.stop()
	}
	if e.release != nil {
		e.release()
		e.release = nil
	}
}

// pull gets the next object from the source; ok is false at the end.
func (e *enumerator) pull(ctx context.Context, deadline <-chan time.Time) (o *cim.Object, timedOut bool, err error) {
	if e.done {
		return nil, false, e.err
	}
	if e.async {
		select {
		case it, ok := <-e.ch:
			if !ok {
				e.finish(nil)
				return nil, false, nil
			}
			if it.err != nil {
				e.finish(fail("Next", it.err))
				return nil, false, e.err
			}
			return it.o, false, nil
		case <-deadline:
			return nil, true, nil
		case <-ctx.Done():
			return nil, false, fail("Next", ctx.Err())
		}
	}
	o, err, ok := e.next()
	if !ok {
		e.finish(nil)
		return nil, false, nil
	}
	if err != nil {
		e.finish(fail("Next", err))
		return nil, false, e.err
	}
	return o, false, nil
}

func (e *enumerator) Next(ctx context.Context, timeout time.Duration, count int) ([]*cim.Object, cim.Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, 0, errClosed()
	}
	if count <= 0 {
		return nil, 0, cim.Errorf(cim.EInvalidParameter, "count must be positive").WithParam("uCount")
	}
	var deadline <-chan time.Time
	switch {
	case timeout == 0:
		c := make(chan time.Time)
		close(c)
		deadline = c
	case timeout > 0:
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	out := make([]*cim.Object, 0, min(count, 256))
	for len(out) < count {
		o, timedOut, err := e.take(ctx, deadline)
		if err != nil {
			return out, 0, err
		}
		if timedOut {
			return out, cim.STimedOut, nil
		}
		if o == nil {
			return out, cim.SFalse, nil
		}
		out = append(out, o)
	}
	return out, cim.SNoError, nil
}

// take returns the next object (nil at the end): one kept by a
// bidirectional enumerator that was reset, else one pulled from the
// source, which a bidirectional enumerator keeps.
func (e *enumerator) take(ctx context.Context, deadline <-chan time.Time) (o *cim.Object, timedOut bool, err error) {
	if !e.forwardOnly && e.pos < len(e.kept) {
		e.pos++
		return e.kept[e.pos-1], false, nil
	}
	o, timedOut, err = e.pull(ctx, deadline)
	if o != nil && !e.forwardOnly {
		e.kept = append(e.kept, o)
		e.pos++
	}
	return o, timedOut, err
}

// all yields the remaining objects one by one, each as the source gives
// it (for All): what Next would give, without batches.
func (e *enumerator) all(ctx context.Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		for {
			e.mu.Lock()
			var o *cim.Object
			var err error
			if e.closed {
				err = errClosed()
			} else {
				o, _, err = e.take(ctx, nil)
			}
			e.mu.Unlock()
			if err != nil {
				yield(nil, err)
				return
			}
			if o == nil || !yield(o, nil) {
				return
			}
		}
	}
}

// errClosed is the error of a call on a closed enumerator.
func errClosed() error {
	return cim.Errorf(cim.EInvalidOperation, "the enumerator is closed")
}

func (e *enumerator) Reset() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.forwardOnly {
		return cim.Errorf(cim.EInvalidOperation, "a forward-only enumerator cannot be reset")
	}
	e.pos = 0
	return nil
}

// Clone drains the rest of the source into the kept objects, then gives
// the clone its own cursor over them.
func (e *enumerator) Clone() (Enumerator, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.forwardOnly {
		return nil, cim.Errorf(cim.EInvalidOperation, "a forward-only enumerator cannot be cloned")
	}
	for !e.done {
		o, _, err := e.pull(context.Background(), nil)
		if err != nil {
			return nil, err
		}
		if o != nil {
			e.kept = append(e.kept, o)
		}
	}
	return &enumerator{kept: e.kept, pos: e.pos, done: true, err: e.err}, nil
}

func (e *enumerator) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.cancel != nil {
		e.cancel()
		// Let the producer see the cancellation and exit.
		for range e.ch {
		}
	}
	e.finish(nil)
	e.kept = nil
	return nil
}

// openEnum starts an enumeration under the drain gate: the call stays in
// flight until the enumerator ends or is closed.
func (s *services) openEnum(ctx context.Context, op string, flags Flags, open func() (source, error)) (Enumerator, error) {
	if err := s.c.enter(); err != nil {
		return nil, fail(op, err)
	}
	src, err := open()
	if err != nil {
		s.c.leave()
		return nil, fail(op, err)
	}
	return newEnumerator(ctx, src, flags, s.c.leave), nil
}

// sliceSource yields a fixed list.
func sliceSource(objs []*cim.Object) source {
	return func(yield func(*cim.Object, error) bool) {
		for _, o := range objs {
			if !yield(o, nil) {
				return
			}
		}
	}
}

// NewEnumerator returns an Enumerator over src with the semantics of
// flags (FlagForwardOnly, FlagReturnImmediately), for other
// implementations of Services (the CIM-XML client).
func NewEnumerator(ctx context.Context, src iter.Seq2[*cim.Object, error], flags Flags) Enumerator {
	return newEnumerator(ctx, src, flags, func() {})
}
