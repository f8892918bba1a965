package cimom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wbemd/wbemd/store"
)

// Durable WS-Eventing subscriptions (protocol/wsman). A subscription made
// by a door, rather than written as instances, is kept as two records
// beside those of the indication subscriptions, under a pseudo-namespace
// no namespace name can spell ('#' is not a name character):
//
//	e 0 #ws-eventing 0 <id>    the subscription: its creator and the
//	                           door's description of it (JSON)
//	d 0 #ws-eventing 0 <id>    its delivery cursor (JSON)
//
// As for an indication subscription, the creator is recorded with the
// subscription, the change feed is the buffer, and the cursor says which
// of its events were delivered: after a restart the door reopens every
// subscription from its cursor.
const eventingSpace = "#ws-eventing"

// EventingSubscription is a WS-Eventing subscription as kept in the store.
type EventingSubscription struct {
	// ID is the subscription's identifier (wse:Identifier).
	ID string `json:"id"`
	// Creator is who subscribed: its events are those Creator may read.
	Creator Principal `json:"creator"`
	// Spec is the door's description of the subscription (filter,
	// delivery mode, addresses), opaque to the CIMOM.
	Spec json.RawMessage `json:"spec"`
	// Cursor is its place in its events.
	Cursor EventingCursor `json:"-"`
	// Created is the revision that wrote the subscription (set by
	// PutEventingSubscription and EventingSubscriptions).
	Created int64 `json:"-"`
}

// EventingCursor is a WS-Eventing subscription's place: every event up to
// revision Rev was delivered, and of Rev's the first N; the subscription
// expires at Expires.
type EventingCursor struct {
	Rev     int64     `json:"rev"`
	N       int       `json:"n"`
	Expires time.Time `json:"expires"`
}

func eventingKey(kind byte, id string) []byte { return key(kind, eventingSpace, id) }

// PutEventingSubscription writes a new WS-Eventing subscription and its
// cursor in one transaction.
func (c *CIMOM) PutEventingSubscription(ctx context.Context, s *EventingSubscription) error {
	def, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("cimom: WS-Eventing subscription %s: %w", s.ID, err)
	}
	cur, err := json.Marshal(s.Cursor)
	if err != nil {
		return fmt.Errorf("cimom: WS-Eventing subscription %s: %w", s.ID, err)
	}
	rev, err := txn(ctx, c.st, nil, []store.Op{store.Put(eventingKey('e', s.ID), def), store.Put(eventingKey('d', s.ID), cur)})
	if err != nil {
		return fmt.Errorf("cimom: writing WS-Eventing subscription %s: %w", s.ID, err)
	}
	s.Created = rev
	return nil
}

// SaveEventingCursor writes the cursor of the WS-Eventing subscription id
// written at revision created, if it is still stored: a late write does
// not outlive its delete.
func (c *CIMOM) SaveEventingCursor(ctx context.Context, id string, created int64, cur EventingCursor) error {
	b, err := json.Marshal(cur)
	if err != nil {
		return fmt.Errorf("cimom: cursor of WS-Eventing subscription %s: %w", id, err)
	}
	cmp := []store.Compare{{Key: eventingKey('e', id), ModRev: created}}
	if _, err := txn(ctx, c.st, cmp, []store.Op{store.Put(eventingKey('d', id), b)}); err != nil && !errors.Is(err, store.ErrCompareFailed) {
		return fmt.Errorf("cimom: writing the cursor of WS-Eventing subscription %s: %w", id, err)
	}
	return nil
}

// DeleteEventingSubscription deletes a WS-Eventing subscription and its
// cursor.
func (c *CIMOM) DeleteEventingSubscription(ctx context.Context, id string) error {
	if _, err := txn(ctx, c.st, nil, []store.Op{store.Delete(eventingKey('e', id)), store.Delete(eventingKey('d', id))}); err != nil {
		return fmt.Errorf("cimom: deleting WS-Eventing subscription %s: %w", id, err)
	}
	return nil
}

// EventingSubscriptions reads every stored WS-Eventing subscription with
// its cursor, and deletes the cursors that have no subscription.
func (c *CIMOM) EventingSubscriptions(ctx context.Context) ([]EventingSubscription, error) {
	var subs []EventingSubscription
	p := prefix('e', eventingSpace)
	for kv, err := range c.st.Range(ctx, p, store.PrefixEnd(p)) {
		if err != nil {
			return nil, fmt.Errorf("cimom: reading WS-Eventing subscriptions: %w", err)
		}
		var s EventingSubscription
		if err := json.Unmarshal(kv.Value, &s); err != nil || s.ID != string(kv.Key[len(p):]) {
			c.log.Error("a WS-Eventing subscription record is not readable: deleted", "key", string(kv.Key[len(p):]), "err", err)
			if err := c.DeleteEventingSubscription(ctx, string(kv.Key[len(p):])); err != nil {
				return nil, err
			}
			continue
		}
		s.Created = kv.ModRev
		subs = append(subs, s)
	}
	known := map[string]int{}
	for i, s := range subs {
		known[s.ID] = i
	}
	var orphans []string
	p = prefix('d', eventingSpace)
	for kv, err := range c.st.Range(ctx, p, store.PrefixEnd(p)) {
		if err != nil {
			return nil, fmt.Errorf("cimom: reading WS-Eventing cursors: %w", err)
		}
		id := string(kv.Key[len(p):])
		i, ok := known[id]
		if !ok {
			orphans = append(orphans, id)
			continue
		}
		if err := json.Unmarshal(kv.Value, &subs[i].Cursor); err != nil {
			return nil, fmt.Errorf("cimom: cursor of WS-Eventing subscription %s: %w", id, err)
		}
	}
	for _, id := range orphans {
		if _, err := txn(ctx, c.st, nil, []store.Op{store.Delete(eventingKey('d', id))}); err != nil {
			return nil, fmt.Errorf("cimom: deleting the cursor of WS-Eventing subscription %s: %w", id, err)
		}
	}
	return subs, nil
}
