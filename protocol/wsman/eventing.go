package wsman

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// WS-Eventing (DSP0226 §10) in the Pull delivery mode: a Subscribe opens
// an event subscription that is read like an enumeration, by Pulls of its
// EnumerationContext; Renew, GetStatus and Unsubscribe address it by the
// wse:Identifier of its SubscriptionManager (the same id). Its events come
// from the change feed from the revision of a wsman:Bookmark (the
// "earliest" bookmark: the oldest the feed holds), or from the Subscribe;
// with wsman:SendBookmarks every PullResponse carries the bookmark after
// its last event. A Pull that finds no event within its MaxTime (or the
// operation timeout) answers wsman:TimedOut, or with wsman:Heartbeats an
// empty PullResponse with a wsman:Heartbeat header.

// EventSource says where the change feed stands, for bookmarks
// (*cimom.CIMOM implements it); the events themselves come from the
// caller's Services.ExecNotificationQuery.
type EventSource interface {
	// EarliestRevision is the oldest bookmark the feed can resume from.
	EarliestRevision(ctx context.Context) (int64, error)
	// Rev is the current revision.
	Rev(ctx context.Context) (int64, error)
}

// eventEnum is a subscription's events as an enumerator: a goroutine
// reads the event iterator into a channel, and Next takes what is ready.
type eventEnum struct {
	items  chan eventItem
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	marks   map[*cim.Object]bookmark // the bookmark after each object handed out
	idle    bookmark                 // the bookmark when nothing is pending
	skipRev int64                    // a bookmark inside a revision: its events...
	skip    int                      // ... to pass over
}

// eventItem is one event or the error that ended the events.
type eventItem struct {
	e   cimom.Event
	err error
}

// after is the place after an event, given the place before it.
func after(prev bookmark, rev int64) bookmark {
	if prev.rev == rev {
		return bookmark{rev: rev, n: prev.n + 1}
	}
	return bookmark{rev: rev, n: 1}
}

// Next returns the events ready, waiting up to timeout for the first.
func (ee *eventEnum) Next(ctx context.Context, timeout time.Duration, count int) ([]*cim.Object, cim.Status, error) {
	var out []*cim.Object
	var timer <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	for len(out) < count {
		var it eventItem
		if len(out) == 0 {
			select {
			case it = <-ee.items:
			case <-timer:
				return nil, cim.STimedOut, nil
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
		} else {
			select {
			case it = <-ee.items:
			default:
				return out, cim.STimedOut, nil
			}
		}
		if it.err != nil {
			if len(out) > 0 {
				go func() { ee.items <- it }() // the error comes with the next call
				return out, cim.STimedOut, nil
			}
			return nil, 0, it.err
		}
		ee.mu.Lock()
		if it.e.Progress {
			if it.e.Rev > ee.idle.rev || ee.idle.n > 0 && it.e.Rev >= ee.idle.rev {
				ee.idle = bookmark{rev: it.e.Rev}
			}
			ee.mu.Unlock()
			continue
		}
		if it.e.Live { // no event of the feed: the bookmark stays
			o := it.e.Object()
			ee.marks[o] = ee.idle
			ee.mu.Unlock()
			out = append(out, o)
			continue
		}
		ee.idle = after(ee.idle, it.e.Rev)
		if ee.skip > 0 && it.e.Rev == ee.skipRev {
			ee.skip--
			ee.mu.Unlock()
			continue
		}
		ee.skip = 0
		o := it.e.Object()
		ee.marks[o] = ee.idle
		ee.mu.Unlock()
		out = append(out, o)
	}
	return out, cim.SNoError, nil
}

// sent records that o was sent and returns the bookmark after it.
func (ee *eventEnum) sent(o *cim.Object) bookmark {
	ee.mu.Lock()
	defer ee.mu.Unlock()
	b := ee.marks[o]
	delete(ee.marks, o)
	return b
}

// current is the bookmark when every event handed out was sent.
func (ee *eventEnum) current() bookmark {
	ee.mu.Lock()
	defer ee.mu.Unlock()
	return ee.idle
}

// Reset is not supported: events are read once.
func (ee *eventEnum) Reset() error {
	return cim.Errorf(cim.ENotSupported, "an event subscription cannot be reset")
}

// Clone is not supported: events are read once.
func (ee *eventEnum) Clone() (cimom.Enumerator, error) {
	return nil, cim.Errorf(cim.ENotSupported, "an event subscription cannot be cloned")
}

// Close stops the reading.
func (ee *eventEnum) Close() error {
	ee.cancel()
	<-ee.done
	return nil
}

// subscribe answers a Subscribe: it opens the subscription, and answers
// with its SubscriptionManager, expiry and EnumerationContext.
func (h *Handler) subscribe(ctx context.Context, req *request, r subscribeRequest) (*out, error) {
	if h.Events == nil {
		return nil, newFault(faultActionNotSupported, "this server has no event source")
	}
	life := r.life
	if life <= 0 {
		if life = h.EnumerationExpiry; life <= 0 {
			life = DefaultEnumExpiry
		}
	}
	from := r.bookmark
	switch {
	case r.hasBookmark && from.earliest:
		rev, err := h.Events.EarliestRevision(ctx)
		if err != nil {
			return nil, err
		}
		from = bookmark{rev: rev}
	case r.hasBookmark:
		earliest, err := h.Events.EarliestRevision(ctx)
		if err != nil {
			return nil, err
		}
		if from.rev < earliest || from.n > 0 && from.rev-1 < earliest {
			return nil, newFault(faultInvalidBookmark, "the bookmark %s is older than the events the server holds: the earliest is %d (or use %s)", from, earliest, bookmarkEarliest)
		}
	default:
		rev, err := h.Events.Rev(ctx)
		if err != nil {
			return nil, err
		}
		from = bookmark{rev: rev}
	}
	start := from.rev
	if from.n > 0 {
		start-- // the events of from.rev again, the first n passed over
	}
	// The subscription outlives this request: its Pulls come later.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	language := "WQL"
	if r.dialect == dialectCQL {
		language = "DMTF:CQL"
	}
	events, err := req.svc.ExecNotificationQuery(sctx, language, r.query, cimom.NotificationOptions{From: start, Progress: r.heartbeats})
	if err != nil {
		cancel()
		if st := cim.StatusOf(err); st == cim.EInvalidQuery || st == cim.ENotEventClass || st == cim.EInvalidQueryType {
			return nil, newFault(faultEventFilter, "%s", cim.AsError(err).Description)
		}
		if cim.StatusOf(err) == cim.EInvalidParameter && r.hasBookmark {
			return nil, newFault(faultInvalidBookmark, "%s", cim.AsError(err).Description)
		}
		return nil, err
	}
	sp := &spec{URI: req.res.uri, Namespace: req.res.ns, SOAP: req.env.soap, Locale: req.env.locale(), Language: language, Query: r.query,
		Mode: r.mode, NotifyTo: r.notifyTo, EndTo: r.endTo, MaxElements: r.maxElements, Heartbeats: r.heartbeats, SendBookmarks: r.sendBookmarks, Life: life, Node: h.Node}
	ec := h.open(sctx, cancel, events, req.res, sp, start, from, nil)
	limit := h.maxEnumerations()
	id, err := h.enums.Add(ec, "uuid:", req.p.Name, life, limit)
	if err != nil {
		ec.events.Close()
		return nil, newFault(faultQuotaLimit, "%d enumerations and subscriptions are open: release some, or let them expire", limit)
	}
	ec.id = id
	if h.Subscriptions != nil {
		// Kept across restarts: written before the answer, which is the
		// first the subscriber hears of it.
		b, err := json.Marshal(sp)
		if err != nil {
			h.enums.Remove(id)
			return nil, fmt.Errorf("wsman: subscription: %w", err)
		}
		cur := cimom.EventingCursor{Rev: from.rev, N: from.n, Expires: time.Now().Add(life)}
		rec := &cimom.EventingSubscription{ID: id, Creator: req.p, Spec: b, Cursor: cur}
		if err := h.Subscriptions.PutEventingSubscription(ctx, rec); err != nil {
			h.enums.Remove(id)
			return nil, err
		}
		d := &durable{st: h.Subscriptions, id: id, created: rec.Created, closing: &h.closing, log: h.log(), cur: cur, saved: cur, savedAt: time.Now()}
		ec.Lock()
		ec.durable = d
		ec.Unlock()
	}
	h.startPush(sctx, ec, sp)
	o := answer(req, actSubscribe+"Response")
	o.s(`<wse:SubscribeResponse xmlns:wse="` + nsWSE + `"><wse:SubscriptionManager><wsa:Address>` + anonymous +
		`</wsa:Address><wsa:ReferenceParameters><wse:Identifier>` + id + `</wse:Identifier></wsa:ReferenceParameters></wse:SubscriptionManager><wse:Expires>` +
		formatDuration(life) + `</wse:Expires>`)
	if r.mode == deliveryPull {
		o.s(`<wsen:EnumerationContext>` + id + `</wsen:EnumerationContext>`)
	}
	o.s(`</wse:SubscribeResponse>`)
	o.tail()
	return o, nil
}

// newEventEnum starts reading events after revision start, passing over
// the events of a bookmark inside a revision; the reader stops with sctx.
func newEventEnum(sctx context.Context, cancel context.CancelFunc, events iter.Seq2[cimom.Event, error], start int64, from bookmark) *eventEnum {
	ee := &eventEnum{items: make(chan eventItem, 64), cancel: cancel, done: make(chan struct{}), marks: map[*cim.Object]bookmark{},
		idle: bookmark{rev: start}, skipRev: from.rev, skip: from.n}
	go func() {
		defer close(ee.done)
		for e, err := range events {
			select {
			case ee.items <- eventItem{e, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ee
}

// open makes the enumeration context of a subscription whose events are
// read after revision start, from the bookmark from.
func (h *Handler) open(sctx context.Context, cancel context.CancelFunc, events iter.Seq2[cimom.Event, error], res *resource, sp *spec, start int64, from bookmark, d *durable) *enumContext {
	ee := newEventEnum(sctx, cancel, events, start, from)
	return &enumContext{res: res, soap: sp.SOAP, life: sp.Life, e: ee, events: ee, sendBookmarks: sp.SendBookmarks, heartbeats: sp.Heartbeats > 0,
		mark: from, push: sp.Mode != deliveryPull, durable: d}
}

// startPush starts the sender of a push subscription (ec.id set).
func (h *Handler) startPush(sctx context.Context, ec *enumContext, sp *spec) {
	if sp.Mode == deliveryPull {
		return
	}
	client := h.PushClient
	if client == nil {
		client = http.DefaultClient
	}
	p := &pusher{h: h, ec: ec, id: ec.id, mode: sp.Mode, to: sp.NotifyTo, max: sp.MaxElements, beat: sp.Heartbeats, endTo: sp.EndTo, client: client, log: h.log()}
	go p.run(sctx)
}

// log is the handler's logger.
func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

// maxEnumerations is the bound of open enumerations and subscriptions.
func (h *Handler) maxEnumerations() int {
	if h.MaxEnumerations > 0 {
		return h.MaxEnumerations
	}
	return DefaultMaxEnumerations
}

// subscription returns the open subscription id of the caller, locked.
func (h *Handler) subscription(req *request, id string) (*enumContext, error) {
	ec, ok := h.enums.Get(id, req.p.Name)
	if !ok || ec.events == nil {
		if ok {
			ec.Unlock()
		}
		return nil, newFault(faultUnableToRenew, "the subscription %q is not open: unsubscribed, expired, ended or never made", id)
	}
	ec.durable.setExpires(time.Now().Add(ec.life)) // the table's expiry restarted
	return ec, nil
}

// renew answers a Renew: the subscription lives for the new expiry.
func (h *Handler) renew(_ context.Context, req *request, r renewRequest) (*out, error) {
	ec, err := h.subscription(req, r.id)
	if err != nil {
		return nil, err
	}
	life := r.life
	if life <= 0 {
		life = ec.life
	}
	ec.life = life
	ec.Unlock()
	if !h.enums.SetLife(r.id, req.p.Name, life) {
		return nil, newFault(faultUnableToRenew, "the subscription %q ended", r.id)
	}
	ec.durable.setExpires(time.Now().Add(life))
	o := answer(req, actRenewSub+"Response")
	o.s(`<wse:RenewResponse xmlns:wse="` + nsWSE + `"><wse:Expires>` + formatDuration(life) + `</wse:Expires></wse:RenewResponse>`)
	o.tail()
	return o, nil
}

// getStatus answers a GetStatus: the subscription's expiry.
func (h *Handler) getStatus(_ context.Context, req *request, id string) (*out, error) {
	ec, err := h.subscription(req, id)
	if err != nil {
		return nil, err
	}
	life := ec.life
	ec.Unlock()
	o := answer(req, actGetStatusSub+"Response")
	o.s(`<wse:GetStatusResponse xmlns:wse="` + nsWSE + `"><wse:Expires>` + formatDuration(life) + `</wse:Expires></wse:GetStatusResponse>`)
	o.tail()
	return o, nil
}

// unsubscribe answers an Unsubscribe: the subscription ends.
func (h *Handler) unsubscribe(_ context.Context, req *request, id string) (*out, error) {
	ec, err := h.subscription(req, id)
	if err != nil {
		return nil, err
	}
	h.forget(ec)
	ec.Unlock()
	o := answer(req, actUnsubscribe+"Response")
	o.tail()
	return o, nil
}

// eventHeaders adds to the start of a PullResponse of a subscription
// (its header complete) wsman:Heartbeat when it holds no event, and
// wsman:Bookmark with SendBookmarks.
func (ec *enumContext) eventHeaders(b []byte, heartbeat bool) []byte {
	var h []byte
	if heartbeat {
		h = append(h, "<wsman:Heartbeat/>"...)
	}
	if ec.sendBookmarks {
		mark := ec.mark
		if len(ec.pending) == 0 {
			mark = ec.events.current() // progress reports move it on
		}
		h = append(h, "<wsman:Bookmark>"...)
		h = append(h, mark.String()...)
		h = append(h, "</wsman:Bookmark>"...)
	}
	i := bytes.LastIndex(b, []byte("</s:Header>"))
	if i < 0 || len(h) == 0 {
		return b
	}
	return append(b[:i], append(h, b[i:]...)...)
}
