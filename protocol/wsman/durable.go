package wsman

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// WS-Eventing subscriptions that survive a restart of wbemd. With a
// Handler's Subscriptions set, a Subscribe writes the subscription (its
// creator, filter, delivery mode and addresses, expiry) and its cursor to
// the store before it is answered; the cursor then follows delivery:
//
//   - Pull: a Pull acknowledges the events of the PullResponses before
//     it, so the cursor is the bookmark after the last event sent when
//     the Pull arrives (a PullResponse lost with wbemd comes again);
//   - Push, PushWithAck, Events: the bookmark after the last message the
//     receiver accepted (HTTP 2xx, and wsman:Ack with PushWithAck).
//
// The cursor is written at most every saveEvery while it moves, and when
// wbemd stops; a kill repeats at most what moved it in the last
// saveEvery. Restore, at start, reopens every stored subscription under
// its identifier (its EnumerationContext in the Pull mode) from its
// cursor: the change feed is the buffer, so its events written while
// wbemd was down, or not yet delivered when it stopped, are delivered, in
// revision order. One that expired meanwhile is deleted. Unsubscribe,
// expiry and an end of the subscription (a fault ending a Pull
// subscription, a push subscription's delivery failure) delete it.

// SubscriptionStore keeps WS-Eventing subscriptions across restarts
// (*cimom.CIMOM implements it).
type SubscriptionStore interface {
	// PutEventingSubscription writes a new subscription and its cursor.
	PutEventingSubscription(ctx context.Context, s *cimom.EventingSubscription) error
	// SaveEventingCursor writes the cursor of a subscription still
	// stored (written at revision created).
	SaveEventingCursor(ctx context.Context, id string, created int64, cur cimom.EventingCursor) error
	// DeleteEventingSubscription deletes a subscription and its cursor.
	DeleteEventingSubscription(ctx context.Context, id string) error
	// EventingSubscriptions reads every stored subscription.
	EventingSubscriptions(ctx context.Context) ([]cimom.EventingSubscription, error)
}

// spec is what wbemd keeps of a subscription besides its creator and
// cursor (cimom.EventingSubscription.Spec).
type spec struct {
	URI           string        `json:"uri"` // the Subscribe's resource URI
	Namespace     string        `json:"ns"`  // the resource's namespace
	SOAP          string        `json:"soap"`
	Locale        string        `json:"locale,omitempty"`
	Language      string        `json:"language"`
	Query         string        `json:"query"`
	Mode          string        `json:"mode"`
	NotifyTo      string        `json:"notifyTo,omitempty"`
	EndTo         string        `json:"endTo,omitempty"`
	MaxElements   int           `json:"maxElements,omitempty"`
	Heartbeats    time.Duration `json:"heartbeats,omitempty"`
	SendBookmarks bool          `json:"sendBookmarks,omitempty"`
	Life          time.Duration `json:"life"`
	Node          string        `json:"node,omitempty"` // the Handler.Node that serves it
}

// decodeSpec reads a stored subscription's spec and checks it as the
// Subscribe that made it was checked: bytes read back from the store are
// not trusted.
func decodeSpec(b []byte) (*spec, *resource, error) {
	var sp spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, nil, fmt.Errorf("wsman: stored subscription: %w", err)
	}
	res, err := parseResource(sp.URI, []selector{{name: "__cimnamespace", text: sp.Namespace}}, sp.Namespace)
	if err != nil {
		return nil, nil, fmt.Errorf("wsman: stored subscription: %w", err)
	}
	switch {
	case sp.Language != "WQL" && sp.Language != "DMTF:CQL":
		return nil, nil, fmt.Errorf("wsman: stored subscription: query language %q", sp.Language)
	case sp.Life <= 0 || sp.Heartbeats < 0:
		return nil, nil, fmt.Errorf("wsman: stored subscription: expiry %v, heartbeats %v", sp.Life, sp.Heartbeats)
	case sp.SOAP != nsSOAP12 && sp.SOAP != nsSOAP11:
		return nil, nil, fmt.Errorf("wsman: stored subscription: SOAP namespace %q", sp.SOAP)
	}
	switch sp.Mode {
	case deliveryPull:
		if sp.NotifyTo != "" || sp.EndTo != "" {
			return nil, nil, fmt.Errorf("wsman: stored subscription: a Pull subscription with NotifyTo %q, EndTo %q", sp.NotifyTo, sp.EndTo)
		}
	case deliveryPush, deliveryPushWithAck, deliveryEvents:
		if !httpURL(sp.NotifyTo) || sp.EndTo != "" && !httpURL(sp.EndTo) {
			return nil, nil, fmt.Errorf("wsman: stored subscription: NotifyTo %q, EndTo %q", sp.NotifyTo, sp.EndTo)
		}
		if sp.MaxElements <= 0 {
			return nil, nil, fmt.Errorf("wsman: stored subscription: MaxElements %d", sp.MaxElements)
		}
	default:
		return nil, nil, fmt.Errorf("wsman: stored subscription: delivery mode %q", sp.Mode)
	}
	return &sp, res, nil
}

// saveEvery is the most often a moving cursor is written.
const saveEvery = 50 * time.Millisecond

// durable writes one subscription's cursor.
type durable struct {
	st      SubscriptionStore
	id      string
	created int64
	closing *atomic.Bool // the handler's: stopping wbemd keeps the subscription
	log     *slog.Logger

	mu      sync.Mutex
	cur     cimom.EventingCursor
	saved   cimom.EventingCursor
	savedAt time.Time
	timer   *time.Timer
	gone    bool
}

// setMark records that every event up to b was delivered.
func (d *durable) setMark(b bookmark) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cur.Rev, d.cur.N = b.rev, b.n
	d.note()
}

// setExpires records the subscription's expiry.
func (d *durable) setExpires(t time.Time) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cur.Expires = t
	d.note()
}

// note writes the cursor if it changed and the last write is saveEvery
// old, or arranges a write within saveEvery (d.mu held). An expiry that
// moved by less than a second is not a change.
func (d *durable) note() {
	changed := d.cur.Rev != d.saved.Rev || d.cur.N != d.saved.N || d.cur.Expires.Sub(d.saved.Expires).Abs() >= time.Second
	if !changed || d.gone {
		return
	}
	if wait := saveEvery - time.Since(d.savedAt); wait > 0 {
		if d.timer == nil {
			d.timer = time.AfterFunc(wait, d.flush)
		}
		return
	}
	d.save()
}

// save writes the cursor (d.mu held).
func (d *durable) save() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.st.SaveEventingCursor(ctx, d.id, d.created, d.cur); err != nil {
		d.log.Warn("WS-Eventing: writing a subscription's cursor failed; after a restart its last events come again", "subscription", d.id, "err", err)
		return
	}
	d.saved, d.savedAt = d.cur, time.Now()
}

// flush writes the cursor if it changed.
func (d *durable) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if !d.gone && d.cur != d.saved {
		d.save()
	}
}

// end is the end of the subscription in this process: when wbemd stops
// its cursor is written, else (unsubscribed, expired, ended) it is
// deleted.
func (d *durable) end() {
	if d == nil {
		return
	}
	if d.closing.Load() {
		d.flush()
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone = true
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.st.DeleteEventingSubscription(ctx, d.id); err != nil {
		d.log.Error("WS-Eventing: deleting an ended subscription failed; it comes back at the next start", "subscription", d.id, "err", err)
	}
}

// Restore reopens the WS-Eventing subscriptions kept in Subscriptions
// (call it once, before serving): each from its cursor, under its
// identifier, for its creator; one that expired is deleted. Only this
// node's are reopened (Handler.Node): on a store shared by several wbemd
// nodes, a subscription lives in the node that made it, as enumeration
// contexts do, and the others only delete it once it expired. A
// subscription whose events cannot be read any more (its namespace gone,
// its creator's right revoked, its cursor older than the change feed)
// ends as it would have while wbemd ran: at its next Pull with the fault,
// or with SubscriptionEnd at its EndTo.
func (h *Handler) Restore(ctx context.Context) error {
	h.init()
	if h.Subscriptions == nil || h.Events == nil {
		return nil
	}
	subs, err := h.Subscriptions.EventingSubscriptions(ctx)
	if err != nil {
		return fmt.Errorf("wsman: restoring WS-Eventing subscriptions: %w", err)
	}
	log := h.log()
	restored := 0
	for i := range subs {
		s := &subs[i]
		sp, res, err := decodeSpec(s.Spec)
		left := time.Until(s.Cursor.Expires)
		if err == nil && sp.Node != h.Node && left > 0 {
			continue // another node's, on a shared store: it reopens it when it starts
		}
		if err != nil || left <= 0 {
			if err != nil {
				log.Error("WS-Eventing: a stored subscription is not readable: deleted", "subscription", s.ID, "err", err)
			} else {
				log.Info("WS-Eventing: a subscription expired while wbemd was stopped: deleted", "subscription", s.ID, "expired", s.Cursor.Expires)
			}
			if err := h.Subscriptions.DeleteEventingSubscription(ctx, s.ID); err != nil {
				return fmt.Errorf("wsman: restoring WS-Eventing subscriptions: %w", err)
			}
			continue
		}
		from := bookmark{rev: s.Cursor.Rev, n: s.Cursor.N}
		start := from.rev
		if from.n > 0 {
			start--
		}
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		var events iter.Seq2[cimom.Event, error]
		svc, err := h.Connector.Connect(sctx, sp.Namespace, s.Creator)
		if err == nil {
			events, err = cimom.Localized(svc, sp.Locale).ExecNotificationQuery(sctx, sp.Language, sp.Query, cimom.NotificationOptions{From: start, Progress: sp.Heartbeats})
		}
		if err != nil {
			log.Warn("WS-Eventing: a restored subscription cannot read its events; it ends at its next Pull or delivery", "subscription", s.ID, "err", err)
			events = failed(err)
		}
		d := &durable{st: h.Subscriptions, id: s.ID, created: s.Created, closing: &h.closing, log: log, cur: s.Cursor, saved: s.Cursor, savedAt: time.Now()}
		ec := h.open(sctx, cancel, events, res, sp, start, from, d)
		if err := h.enums.Restore(s.ID, ec, s.Creator.Name, sp.Life, left, h.maxEnumerations()); err != nil {
			ec.events.Close()
			return fmt.Errorf("wsman: restoring WS-Eventing subscription %s: %w", s.ID, err)
		}
		ec.id = s.ID
		h.startPush(sctx, ec, sp)
		restored++
	}
	if len(subs) > 0 {
		log.Info("WS-Eventing subscriptions restored", "restored", restored, "stored", len(subs))
	}
	return nil
}

// failed is an event sequence that is one error.
func failed(err error) iter.Seq2[cimom.Event, error] {
	return func(yield func(cimom.Event, error) bool) {
		yield(cimom.Event{}, cim.AsError(err))
	}
}
