package wsman

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// The push delivery modes of WS-Eventing (DSP0226 §10.2.9): wbemd POSTs
// each event to the subscription's wse:NotifyTo address as a one-way
// message with the action wsman/Event (Push), waits for the receiver's
// wsman:Ack before the next one (PushWithAck), or sends the events that
// are ready together in a wsman:Events message (Events). Every message
// carries the wsman:Bookmark after its last event, so that a receiver
// that subscribes again from it misses nothing. A delivery that fails
// pushAttempts times, a second apart, ends the subscription (logged), as
// does the end of its events (the feed no longer holds them, the
// subscriber lost its rights) and the stop of wbemd when subscriptions
// are not kept (Handler.Subscriptions nil; a kept one goes on after the
// restart); with a wse:EndTo, a wse:SubscriptionEnd message says so there
// (best effort when wbemd stops). Unsubscribe and expiry end it quietly.

const (
	actEvent  = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Event"
	actEvents = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events"
	actAck    = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Ack"
	actHeart  = "http://schemas.dmtf.org/wbem/wsman/1/wsman/Heartbeat"
)

// pushAttempts is how many times one message is tried.
const pushAttempts = 3

// pusher sends one push subscription's events.
type pusher struct {
	h      *Handler
	ec     *enumContext
	id     string
	mode   string
	to     string
	max    int
	beat   time.Duration
	endTo  string
	client *http.Client
	log    *slog.Logger
}

// run sends events until the subscription ends (its context closes the
// event reader, and Next fails).
func (p *pusher) run(ctx context.Context) {
	ee := p.ec.events
	for {
		wait := p.beat
		if wait <= 0 {
			wait = time.Minute
		}
		max := 1
		if p.mode == deliveryEvents {
			max = p.max
		}
		objs, _, err := ee.Next(ctx, wait, max)
		if err != nil && ctx.Err() != nil && p.h.closing.Load() {
			if p.ec.durable == nil { // a kept subscription goes on after the restart
				p.end("SourceShuttingDown", "wbemd is stopping")
			}
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("WS-Eventing push subscription ended", "subscription", p.id, "err", err)
				status := "SourceCancelling"
				if cim.StatusOf(err) == cim.EShuttingDown {
					status = "SourceShuttingDown"
				}
				p.end(status, err.Error())
				p.h.enums.Remove(p.id)
			}
			return
		}
		var msg []byte
		var mark bookmark
		switch {
		case len(objs) == 0 && p.beat > 0:
			mark = ee.current()
			msg = p.message(actHeart, nil, mark)
		case len(objs) == 0:
			continue
		default:
			for _, o := range objs {
				mark = ee.sent(o)
			}
			action := actEvent
			if p.mode == deliveryEvents {
				action = actEvents
			}
			msg = p.message(action, objs, mark)
		}
		if err := p.send(ctx, msg); err != nil {
			if ctx.Err() == nil {
				p.log.Warn("WS-Eventing push subscription ended: its receiver failed", "subscription", p.id, "to", p.to, "attempts", pushAttempts, "err", err)
				p.end("DeliveryFailure", err.Error())
				p.h.enums.Remove(p.id)
			}
			return
		}
		p.ec.durable.setMark(mark) // the receiver has every event up to mark
	}
}

// end sends wse:SubscriptionEnd to EndTo, once, if there is one.
func (p *pusher) end(status, reason string) {
	if p.endTo == "" {
		return
	}
	o := &out{}
	o.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:Envelope xmlns:s="` + nsSOAP12 + `" xmlns:wsa="` + nsWSA + `" xmlns:wse="` + nsWSE +
		`"><s:Header><wsa:To>`)
	o.text(p.endTo)
	o.s(`</wsa:To><wsa:Action s:mustUnderstand="true">` + actSubscriptionEnd + `</wsa:Action><wsa:MessageID>` + newMessageID() +
		`</wsa:MessageID></s:Header><s:Body><wse:SubscriptionEnd><wse:SubscriptionManager><wsa:Address>` + anonymous +
		`</wsa:Address><wsa:ReferenceParameters><wse:Identifier>` + p.id + `</wse:Identifier></wsa:ReferenceParameters></wse:SubscriptionManager><wse:Status>` +
		nsWSE + "/" + status + `</wse:Status><wse:Reason xml:lang="en-US">`)
	o.text(reason)
	o.s("</wse:Reason></wse:SubscriptionEnd>")
	o.tail()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endTo, bytes.NewReader(o.b))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", contentType(nsSOAP12))
	if resp, err := p.client.Do(req); err == nil {
		resp.Body.Close()
	} else {
		p.log.Warn("WS-Eventing: sending SubscriptionEnd failed", "subscription", p.id, "to", p.endTo, "err", err)
	}
}

// message builds one push message.
func (p *pusher) message(action string, objs []*cim.Object, mark bookmark) []byte {
	o := &out{}
	o.s(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:Envelope xmlns:s="` + nsSOAP12 + `" xmlns:wsa="` + nsWSA + `" xmlns:wsman="` + nsWSMan +
		`" xmlns:wse="` + nsWSE + `" xmlns:xsi="` + nsXSI + `" xmlns:cim="` + nsCIM + `"><s:Header><wsa:To>`)
	o.text(p.to)
	o.s(`</wsa:To><wsa:Action s:mustUnderstand="true">` + action + `</wsa:Action><wsa:MessageID>` + newMessageID() + `</wsa:MessageID><wse:Identifier>` + p.id + `</wse:Identifier>`)
	if p.mode == deliveryPushWithAck {
		o.s("<wsman:AckRequested/>")
	}
	if p.ec.sendBookmarks {
		o.s("<wsman:Bookmark>" + mark.String() + "</wsman:Bookmark>")
	}
	o.s("</s:Header><s:Body>")
	enc := encoder{res: p.ec.res}
	if action == actEvents {
		o.s("<wsman:Events>")
	}
	for _, obj := range objs {
		if action == actEvents {
			o.s(`<wsman:Event Action="` + actEvent + `">`)
		}
		enc.item(o, obj, modeObject)
		if action == actEvents {
			o.s("</wsman:Event>")
		}
	}
	if action == actEvents {
		o.s("</wsman:Events>")
	}
	o.tail()
	return o.b
}

// send POSTs a message, pushAttempts times at most; with PushWithAck the
// answer must be a wsman:Ack.
func (p *pusher) send(ctx context.Context, msg []byte) error {
	var err error
	for attempt := 0; attempt < pushAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err = p.post(ctx, msg); err == nil {
			return nil
		}
	}
	return err
}

func (p *pusher) post(ctx context.Context, msg []byte) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodPost, p.to, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType(nsSOAP12))
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the receiver answered HTTP %d", resp.StatusCode)
	}
	if p.mode == deliveryPushWithAck && !bytes.Contains(body, []byte(actAck)) {
		return fmt.Errorf("the receiver's answer is no wsman:Ack")
	}
	return nil
}
