package wsman

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/wql"
)

// Enumeration modes (wsman:EnumerationMode).
const (
	modeObject = iota
	modeEPR
	modeObjectAndEPR
)

// enumContext is an open enumeration: the cimom enumerator, what was read
// ahead of it, and how its items are written. Its lock is held by the one
// request that uses it (see enumtable).
type enumContext struct {
	sync.Mutex
	id       string
	e        cimom.Enumerator
	pending  []*cim.Object // read ahead of e
	done     bool          // e has delivered everything
	err      error         // a failure to report on the next Pull
	finished bool          // the last batch was sent with the context
	mode     int
	res      *resource
	soap     string
	life     time.Duration
	// An event subscription's (eventing.go): its events, and what its
	// PullResponses carry.
	events        *eventEnum
	sendBookmarks bool
	heartbeats    bool
	mark          bookmark // the bookmark after the last event sent
	push          bool     // a push subscription: its events are sent, not pulled
	durable       *durable // a subscription kept across restarts (durable.go), or nil
}

// Close releases the enumerator (enumtable calls it with the lock held);
// a stored subscription is deleted, or kept when wbemd stops.
func (ec *enumContext) Close() {
	ec.e.Close()
	ec.pending = nil
	ec.durable.end()
}

// getEnum returns the open enumeration id of the request's caller,
// locked. A Pull or Release whose ResourceURI is not the enumeration's is
// refused and leaves the enumeration as it was (DSP0226 1.2 §8.4:
// the ResourceURI of a Pull and a Release is the Enumerate's; WinRM
// answers wsen:InvalidEnumerationContext).
func (h *Handler) getEnum(req *request, id string) (*enumContext, error) {
	ec, ok := h.enums.Get(id, req.p.Name)
	if !ok {
		return nil, newFault(faultInvalidEnumContext, "the enumeration context %q is not valid: released, expired, finished or never opened", id)
	}
	if env := req.env; env.hasURI && env.resourceURI != ec.res.uri {
		ec.Unlock()
		return nil, newFault(faultInvalidEnumContext, "the enumeration context %q belongs to %s, not %s", id, ec.res.uri, env.resourceURI)
	}
	return ec, nil
}

// fetch returns the next object, nil at the end, or timedOut when the
// deadline passed first.
func (ec *enumContext) fetch(ctx context.Context, deadline time.Time) (o *cim.Object, timedOut bool, err error) {
	for len(ec.pending) == 0 {
		if ec.done {
			return nil, false, nil
		}
		wait := cimom.Infinite
		if !deadline.IsZero() {
			if wait = time.Until(deadline); wait <= 0 {
				return nil, true, nil
			}
		}
		objs, st, err := ec.e.Next(ctx, wait, 32)
		if err != nil {
			return nil, false, err
		}
		ec.pending = append(ec.pending[:0], objs...)
		if st == cim.SFalse {
			ec.done = true
		}
		if st == cim.STimedOut && len(objs) == 0 {
			return nil, true, nil
		}
	}
	o = ec.pending[0]
	ec.pending[0] = nil
	ec.pending = ec.pending[1:]
	return o, false, nil
}

// unread puts an object back in front.
func (ec *enumContext) unread(o *cim.Object) {
	ec.pending = append([]*cim.Object{o}, ec.pending...)
}

// atEnd reports whether nothing is left, reading one object ahead if it
// must. It does not wait past deadline: an undecided end is "not yet".
func (ec *enumContext) atEnd(ctx context.Context, deadline time.Time) bool {
	if len(ec.pending) > 0 {
		return false
	}
	if ec.done {
		return true
	}
	if deadline.IsZero() {
		// a peek must not hold the answer for long
		deadline = time.Now().Add(2 * time.Second)
	}
	o, _, err := ec.fetch(ctx, deadline)
	if err != nil {
		ec.err = err
		return false
	}
	if o == nil {
		return ec.done
	}
	ec.unread(o)
	return false
}

// enumerate answers an Enumerate: it opens the enumeration, and answers
// with its context or, optimized, with its first items (streamed).
func (h *Handler) enumerate(ctx context.Context, w http.ResponseWriter, req *request, r enumerateRequest) error {
	ec := &enumContext{res: req.res, soap: req.env.soap, life: r.life, mode: r.mode}
	if ec.life <= 0 {
		if ec.life = h.EnumerationExpiry; ec.life <= 0 {
			ec.life = DefaultEnumExpiry
		}
	}
	// The enumeration outlives this request: its Pulls come later.
	e, err := h.openEnumeration(context.WithoutCancel(ctx), req, r.filter)
	if err != nil {
		return err
	}
	ec.e = e
	limit := h.MaxEnumerations
	if limit <= 0 {
		limit = DefaultMaxEnumerations
	}
	id, err := h.enums.Add(ec, "uuid:", req.p.Name, ec.life, limit)
	if err != nil {
		e.Close()
		return newFault(faultQuotaLimit, "%d enumerations are open: release some, or let them expire", limit)
	}
	ec.id = id
	ec.Lock()
	defer ec.Unlock()
	if !r.optimized {
		o := answer(req, actEnumerate+"Response")
		o.s("<wsen:EnumerateResponse><wsen:Expires>" + formatDuration(ec.life) + "</wsen:Expires><wsen:EnumerationContext>" + ec.id + "</wsen:EnumerationContext></wsen:EnumerateResponse>")
		o.tail()
		writeAnswer(w, req.env.soap, o.b)
		return nil
	}
	return h.batch(ctx, w, req, ec, r.max, 0, time.Time{}, true)
}

// pull answers a Pull.
func (h *Handler) pull(ctx context.Context, w http.ResponseWriter, req *request, r pullRequest) error {
	var deadline time.Time
	if r.maxTime > 0 {
		deadline = time.Now().Add(r.maxTime)
	} else if req.env.timeout > 0 {
		deadline = time.Now().Add(req.env.timeout)
	}
	ec, err := h.getEnum(req, r.context)
	if err != nil {
		return err
	}
	defer ec.Unlock()
	if ec.push {
		return newFault(faultInvalidEnumContext, "%s is a push subscription: its events are sent to its NotifyTo address", r.context)
	}
	if ec.durable != nil {
		// This Pull acknowledges the events sent before it; the table
		// restarted the expiry.
		ec.durable.setExpires(time.Now().Add(ec.life))
		ec.durable.setMark(ec.mark)
	}
	if ec.err != nil {
		err := ec.err
		h.forget(ec)
		return err
	}
	if ec.finished {
		h.forget(ec)
		o := answer(req, actPull+"Response")
		o.s("<wsen:PullResponse><wsen:EndOfSequence/></wsen:PullResponse>")
		o.tail()
		writeAnswer(w, req.env.soap, o.b)
		return nil
	}
	return h.batch(ctx, w, req, ec, r.max, r.maxChars, deadline, false)
}

// Close releases every open enumeration (their enumerators hold the
// CIMOM open); call it before closing the CIMOM.
func (h *Handler) Close() {
	h.closing.Store(true) // kept subscriptions survive; others end with SourceShuttingDown
	h.enums.CloseAll()
}

// forget drops an enumeration whose lock the caller holds.
func (h *Handler) forget(ec *enumContext) { h.enums.Forget(ec.id) }

// release answers a Release.
func (h *Handler) release(_ context.Context, req *request, id string) (*out, error) {
	ec, err := h.getEnum(req, id)
	if err != nil {
		return nil, err
	}
	h.forget(ec)
	ec.Unlock()
	o := answer(req, actRelease+"Response")
	o.tail()
	return o, nil
}

// spillAt is how much of a batch is held before the answer starts to
// stream: a batch that ends below it is sent whole, so that the last one
// carries no EnumerationContext; a longer one streams, and if it turns
// out to be the last, the context stays open for one final, empty Pull.
const spillAt = 64 << 10

// batch writes one Enumerate (optimized) or Pull answer with up to max
// items, within the envelope limit, and streams it once it passes
// spillAt.
func (h *Handler) batch(ctx context.Context, w http.ResponseWriter, req *request, ec *enumContext, max, maxChars int, deadline time.Time, enumerate bool) error {
	action, open, close, items, itemsEnd, eos := actPull+"Response", "<wsen:PullResponse>", "</wsen:PullResponse>", "<wsen:Items>", "</wsen:Items>", "<wsen:EndOfSequence/>"
	if enumerate {
		action, open, close, items, itemsEnd, eos = actEnumerate+"Response", "<wsen:EnumerateResponse>", "</wsen:EnumerateResponse>", "<wsman:Items>", "</wsman:Items>", "<wsman:EndOfSequence/>"
	}
	ctxElem := "<wsen:EnumerationContext>" + ec.id + "</wsen:EnumerationContext>"
	prefix := answer(req, action)
	prefix.s(open)
	fixed := len(prefix.b) + len(ctxElem) + len(items) + len(itemsEnd) + len(eos) + len(close) + len(tailText)
	enc := encoder{res: ec.res}
	var buf, item out
	var bw *bufio.Writer
	count, size, chars := 0, fixed, 0
	for count < max {
		o, timedOut, err := ec.fetch(ctx, deadline)
		if err != nil {
			if count == 0 {
				h.forget(ec)
				return err
			}
			ec.err = err
			break
		}
		if timedOut {
			if count == 0 && ec.events != nil && ec.heartbeats {
				break // a heartbeat: an empty answer
			}
			if count == 0 {
				return newFault(faultTimedOut, "no item was ready within the operation timeout; the enumeration stays open")
			}
			break
		}
		if o == nil {
			break
		}
		item.b = item.b[:0]
		if err := enc.item(&item, o, ec.mode); err != nil {
			if count == 0 {
				h.forget(ec)
				return err
			}
			ec.err = err
			break
		}
		if size+len(item.b) > req.maxSize || maxChars > 0 && chars+len(item.b) > maxChars {
			ec.unread(o)
			if count == 0 {
				if maxChars > 0 && len(item.b) > maxChars {
					return newFault(faultCharacterLimit, "the next item (%d characters) exceeds MaxCharacters %d; the enumeration stays open", len(item.b), maxChars)
				}
				return newFault(faultEncodingLimit, "the next item (%d bytes) does not fit the envelope limit of %d bytes; the enumeration stays open", len(item.b), req.maxSize)
			}
			break
		}
		size += len(item.b)
		chars += len(item.b)
		count++
		if ec.events != nil {
			ec.mark = ec.events.sent(o)
		}
		if bw != nil {
			bw.Write(item.b)
			continue
		}
		buf.b = append(buf.b, item.b...)
		if len(buf.b) >= spillAt && count < max && ec.events == nil { // an event answer is whole: its headers come last
			// Start streaming: the context goes first, so it must stay.
			w.Header().Set("Content-Type", contentType(req.env.soap))
			w.WriteHeader(http.StatusOK)
			bw = bufio.NewWriterSize(w, 32<<10)
			bw.Write(prefix.b)
			bw.WriteString(ctxElem)
			bw.WriteString(items)
			bw.Write(buf.b)
			buf.b = nil
		}
	}
	end := ec.events == nil && ec.err == nil && ec.atEnd(ctx, deadline)
	if ec.events != nil {
		prefix.b = ec.eventHeaders(prefix.b, count == 0)
	}
	if bw != nil {
		bw.WriteString(itemsEnd)
		if end {
			bw.WriteString(eos)
			ec.finished = true
		}
		bw.WriteString(close)
		bw.WriteString(tailText)
		return bw.Flush()
	}
	o := prefix
	if !end {
		o.s(ctxElem)
	}
	if count > 0 || enumerate {
		o.s(items)
		o.b = append(o.b, buf.b...)
		o.s(itemsEnd)
	}
	if end {
		o.s(eos)
		h.forget(ec)
	}
	o.s(close)
	o.tail()
	writeAnswer(w, req.env.soap, o.b)
	return nil
}

// item writes one enumeration item in the mode of the enumeration.
func (enc *encoder) item(o *out, inst *cim.Object, mode int) error {
	switch mode {
	case modeEPR:
		return enc.instanceEPR(o, inst)
	case modeObjectAndEPR:
		o.s(`<wsman:Item xmlns:p="`)
		o.attrText(enc.res.classURI(inst.Namespace, inst.Class))
		o.s(`">`)
		enc.instance(o, inst, "p", false, 0)
		if err := enc.instanceEPR(o, inst); err != nil {
			return err
		}
		o.s("</wsman:Item>")
		return nil
	}
	enc.instance(o, inst, "p", true, 0)
	return nil
}

// openEnumeration starts the cimom enumeration a request asks for: all
// instances of the class (as wsmb:PolymorphismMode asks, DSP0227 1.1
// §8.2), or the result of its filter.
func (h *Handler) openEnumeration(ctx context.Context, req *request, filter *elem) (cimom.Enumerator, error) {
	svc, res, poly := req.svc, req.res, req.env.polymorphism
	if filter == nil {
		if res.all {
			return nil, newFault(faultFilteringRequired, "the all-classes URI %s needs a WQL or association filter", res.uri)
		}
		if len(res.keys) > 0 {
			return selectorFilter(ctx, svc, res, res.keys)
		}
		flags := cimom.FlagForwardOnly
		switch poly {
		case polyNone: // the class's own instances
			flags |= cimom.FlagShallow
		case polyExcludeSubclassProperties: // every instance, with the class's properties
			cls, err := getClass(ctx, svc, res.class)
			if err != nil {
				return nil, err
			}
			q := &wql.Select{From: cls.Class}
			for _, p := range cls.Properties {
				if !strings.HasPrefix(p.Name, "__") {
					q.Props = append(q.Props, &wql.Prop{Path: []string{p.Name}})
				}
			}
			if len(q.Props) == 0 {
				q.Star = true
			}
			return svc.ExecQuery(ctx, "WQL", wql.Format(q), cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
		}
		e, err := svc.CreateInstanceEnum(ctx, res.class, flags, nil)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
	dialect, _ := filter.attr("", "Dialect")
	dialect = strings.TrimSpace(dialect)
	switch dialect {
	case dialectWQL:
		return svc.ExecQuery(ctx, "WQL", filter.trimmed(), cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
	case dialectCQL: // DSP0227 1.1 §8.1 (the CQL filter dialect), DSP0202
		return svc.ExecQuery(ctx, "DMTF:CQL", filter.trimmed(), cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
	case dialectSel:
		if res.all {
			return nil, newFault(faultCannotProcessFilter, "a selector filter needs a class resource URI, not %s", res.uri)
		}
		set := filter.kid(nsWSMan, "SelectorSet")
		if set == nil {
			return nil, newFault(faultCannotProcessFilter, "the selector filter holds no wsman:SelectorSet")
		}
		sels, err := selectorsOf(set)
		if err != nil {
			return nil, err
		}
		var keys []selector
		for _, s := range sels {
			if !strings.EqualFold(s.name, "__cimnamespace") {
				keys = append(keys, s)
			}
		}
		return selectorFilter(ctx, svc, res, keys)
	case dialectAsc:
		return h.assocFilter(ctx, req, filter)
	case "":
		return nil, newFault(faultFilterDialect, "a filter without a Dialect is XPath 1.0, which is not supported; use %s", dialectWQL)
	}
	return nil, newFault(faultFilterDialect, "filter dialect %s is not supported (supported: %s, %s, %s, %s)", dialect, dialectWQL, dialectCQL, dialectSel, dialectAsc)
}

// selectorFilter enumerates the instances of the class whose properties
// equal the selectors (DSP0227's SelectorFilter), as a WQL query built as
// a syntax tree and printed by wql.Format.
func selectorFilter(ctx context.Context, svc cimom.Services, res *resource, sels []selector) (cimom.Enumerator, error) {
	cls, err := getClass(ctx, svc, res.class)
	if err != nil {
		return nil, err
	}
	conds := make([]wql.Expr, 0, len(sels))
	for _, s := range sels {
		prop, ok := cls.Property(s.name)
		if !ok || strings.HasPrefix(s.name, "__") {
			return nil, newFault(faultUnexpectedSelectors, "class %s has no property %s", cls.Class, s.name)
		}
		v, err := selectorValue(ctx, svc, prop, s)
		if err != nil {
			return nil, err
		}
		c, err := wql.Equal(prop.Name, v)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	q := &wql.Select{Star: true, From: cls.Class, Where: wql.And(conds...)}
	return svc.ExecQuery(ctx, "WQL", wql.Format(q), cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
}

// assocFilter answers DSP0227's association filter: AssociatedInstances
// (ASSOCIATORS OF) or AssociationInstances (REFERENCES OF) of an object,
// with the class and role restrictions. The object's EPR may name another
// namespace than the request's (its __cimnamespace selector): the
// association is then followed in the object's namespace, opened for the
// caller (DSP0227 1.1 §8.3.1: the filter's Object identifies the source
// instance, its namespace included).
func (h *Handler) assocFilter(ctx context.Context, req *request, filter *elem) (cimom.Enumerator, error) {
	svc := req.svc
	spec := filter.kid(nsWSMB, "AssociatedInstances")
	refs := false
	if spec == nil {
		spec, refs = filter.kid(nsWSMB, "AssociationInstances"), true
	}
	if spec == nil {
		return nil, newFault(faultCannotProcessFilter, "the association filter holds neither wsmb:AssociatedInstances nor wsmb:AssociationInstances")
	}
	obj := spec.kid(nsWSMB, "Object")
	if obj == nil {
		return nil, newFault(faultCannotProcessFilter, "the association filter names no wsmb:Object")
	}
	path, err := eprPath(ctx, svc, obj)
	if err != nil {
		return nil, err
	}
	if op, perr := cim.ParsePath(path); perr == nil && op.Namespace != "" && !strings.EqualFold(op.Namespace, req.res.ns) {
		if svc, err = h.Connector.Connect(ctx, op.Namespace, req.p); err != nil {
			return nil, err
		}
		op.Namespace, op.Server = "", ""
		path = op.RelPath()
	}
	q := &wql.Assoc{Path: path, References: refs,
		ResultClass: spec.kid(nsWSMB, "ResultClassName").trimmed(),
		Role:        spec.kid(nsWSMB, "Role").trimmed()}
	if !refs {
		q.AssocClass = spec.kid(nsWSMB, "AssociationClassName").trimmed()
		q.ResultRole = spec.kid(nsWSMB, "ResultRole").trimmed()
	}
	return svc.Associators(ctx, q, cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
}
