package cimxml

import (
	"context"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// maxOpenEnumerations bounds the pull enumerations open at once.
const maxOpenEnumerations = 1024

// pullContext is an open enumeration of a pull operation. Its lock is
// held by the one request that uses it (see enumtable).
type pullContext struct {
	sync.Mutex
	e       cimom.Enumerator
	pending []*cim.Object // read ahead to tell the end
	paths   bool          // results are paths
	ns      string
	opts    options
}

// Close releases the enumerator (enumtable calls it with the lock held).
func (pc *pullContext) Close() { pc.e.Close() }

// Close releases every open pull enumeration (their enumerators hold the
// CIMOM open); call it before closing the CIMOM.
func (h *Handler) Close() { h.pulls.CloseAll() }

// errNoContext answers a pull or close of a context that is not open.
var errNoContext = &codeError{errInvalidEnumerationContext, "the enumeration context is not valid (closed, expired or never opened)"}

// open starts a pull enumeration and answers with its first batch.
func open(ctx context.Context, e env, r openRequest, w *writer) error {
	var en cimom.Enumerator
	var err error
	flags := cimom.FlagForwardOnly
	switch {
	case r.assoc != nil:
		en, err = e.svc.Associators(ctx, r.assoc, flags, nil)
	case r.query != nil:
		en, err = e.svc.ExecQuery(ctx, r.query.lang, r.query.query, flags, nil)
	default:
		en, err = e.svc.CreateInstanceEnum(ctx, r.class, flags, nil)
	}
	if err != nil {
		return err
	}
	pc := &pullContext{e: en, paths: r.paths, ns: e.ns, opts: r.opts}
	id, err := e.h.pulls.Add(pc, "", e.p.Name, r.timeout, maxOpenEnumerations)
	if err != nil {
		en.Close()
		return cim.Errorf(cim.EQuotaViolation, "more than %d enumerations are open", maxOpenEnumerations)
	}
	pc.Lock()
	defer pc.Unlock()
	return e.h.deliver(ctx, pc, id, r.max, w)
}

// pull answers PullInstancesWithPath, PullInstancePaths and PullInstances.
func pull(ctx context.Context, e env, r pullRequest, w *writer) error {
	pc, ok := e.h.pulls.Get(r.id, e.p.Name)
	if !ok {
		return errNoContext
	}
	defer pc.Unlock()
	if r.paths != pc.paths {
		return &codeError{errInvalidEnumerationContext, r.method + " does not match the operation that opened the enumeration"}
	}
	return e.h.deliver(ctx, pc, r.id, r.max, w)
}

// closeEnumeration answers CloseEnumeration.
func closeEnumeration(_ context.Context, e env, id string, _ *writer) error {
	pc, ok := e.h.pulls.Get(id, e.p.Name)
	if !ok {
		return errNoContext
	}
	e.h.pulls.Forget(id)
	pc.Unlock()
	return nil
}

// deliver writes up to max results, then EndOfSequence and the context;
// pc's lock is held.
func (h *Handler) deliver(ctx context.Context, pc *pullContext, id string, max int, w *writer) error {
	// Read one object more than asked for, to tell whether the sequence
	// ends with this answer.
	objs := pc.pending
	pc.pending = nil
	end := false
	for len(objs) <= max {
		batch, st, err := pc.e.Next(ctx, cimom.Infinite, max+1-len(objs))
		if err != nil {
			h.pulls.Forget(id)
			return err
		}
		objs = append(objs, batch...)
		if st == cim.SFalse {
			end = true
			break
		}
	}
	if len(objs) > max {
		pc.pending, objs, end = objs[max:], objs[:max], false
	}
	if len(objs) > 0 {
		w.s("<IRETURNVALUE>")
		for _, o := range objs {
			path := pathOfObject(o)
			path.Server = h.server()
			if path.Namespace == "" {
				path.Namespace = pc.ns
			}
			if pc.paths {
				w.objectPath(path)
				continue
			}
			w.instanceWithPath(path, o, pc.opts)
		}
		w.s("</IRETURNVALUE>")
	}
	if end {
		h.pulls.Forget(id)
		id = ""
	}
	w.endOfSequence(end, id)
	return nil
}
