package indication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// worker delivers one subscription's events.
type worker struct {
	m   *Manager
	sub cimom.IndicationSubscription
	out consumer
	log *slog.Logger
	cur cursor
	// degraded is set while Ignore keeps retrying past the attempts (the
	// subscription is Enabled Degraded).
	degraded bool
	// unsaved counts the deliveries the stored cursor lacks; saved is
	// when it was last written.
	unsaved int
	saved   time.Time
}

// The cursor is written after every delivery that comes saveEvery after
// the last write, after saveBatch unsaved deliveries, at each progress
// report (idleSave when idle), and when the worker stops: a kill loses at
// most that much, which is sent again with the same SequenceNumbers.
const (
	saveEvery = 50 * time.Millisecond
	saveBatch = 256
	idleSave  = time.Second
)

// save writes the cursor if deliveries are unsaved.
func (w *worker) save(ctx context.Context) error {
	if w.unsaved == 0 {
		return nil
	}
	if err := saveCursor(ctx, w.m.Store, w.sub.Key, w.cur); err != nil {
		return err
	}
	w.unsaved, w.saved = 0, time.Now()
	return nil
}

// flush writes the unsaved cursor when the worker stops, even if ctx
// ended.
func (w *worker) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.save(fctx); err != nil {
		w.log.Warn("indication delivery: saving the cursor at stop failed; the last deliveries will be sent again", "err", err)
	}
}

// errStop ends a worker whose subscription the policy disabled or removed.
var errStop = errors.New("indication: subscription stopped")

// run delivers until ctx ends or the subscription stops.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		err := w.pass(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, errStop):
			return
		case err == nil: // the events ended without a reason: read them again
			if !sleep(ctx, time.Second) {
				return
			}
		case cim.StatusOf(err) == cim.EQueueOverflow:
			w.lost(ctx, err)
			if w.sub.Consumer == nil {
				return
			}
			// A WMI binding has no state to disable: it goes on from
			// the current revision, the loss logged.
		case cim.StatusOf(err) == cim.EAccessDenied:
			w.log.Error("indication subscription disabled: its creator may no longer subscribe to the filter's namespace", "creator", w.sub.Creator.Name, "err", err)
			w.setState(ctx, cimom.StateDisabled)
			return
		default:
			w.log.Error("indication delivery: reading the events failed; trying again", "err", err)
			if !sleep(ctx, w.m.settings().DeliveryRetryInterval) {
				return
			}
		}
	}
}

// pass reads the events from the cursor and delivers them, until an error.
func (w *worker) pass(ctx context.Context) error {
	cur, err := loadCursor(ctx, w.m.Store, &w.sub)
	if err != nil {
		return err
	}
	w.cur, w.unsaved = cur, 0
	defer w.flush(ctx)
	events, err := w.m.OM.IndicationEvents(ctx, &w.sub, cur.from(), idleSave)
	if err != nil {
		return err
	}
	skip := cur.N
	for e, err := range events {
		if err != nil {
			return err
		}
		if e.Progress {
			if err := w.save(ctx); err != nil {
				return err
			}
			continue
		}
		if e.Rev == cur.Rev && skip > 0 && !e.Live {
			skip--
			continue
		}
		if err := w.deliver(ctx, &e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// deliver exports one event, with retries and the policy; on success it
// advances and saves the cursor.
func (w *worker) deliver(ctx context.Context, e *cimom.Event) error {
	ind := e.Object()
	ind.Properties = slices.Clone(ind.Properties) // the embedded objects stay shared (read-only)
	put := func(name string, t cim.Type, v any) {
		if _, ok := ind.Property(name); ok {
			return
		}
		ind.Properties = append(ind.Properties, cim.Property{Name: name, Type: t, Value: cim.Value{Type: t, V: v}})
	}
	if e.Live {
		put("IndicationIdentifier", cim.TypeString, fmt.Sprintf("wbemd:%d:x%d", e.Rev, w.cur.Seq))
	} else {
		put("IndicationIdentifier", cim.TypeString, fmt.Sprintf("wbemd:%d:%d", e.Rev, w.nth(e.Rev)))
	}
	put("IndicationTime", cim.TypeDatetime, cim.DatetimeFromTime(e.Time))
	put("SequenceContext", cim.TypeString, w.cur.Context)
	put("SequenceNumber", cim.TypeSint64, w.cur.Seq)
	for failures := 0; ; {
		err := w.out.consume(ctx, w.cur.Seq, ind)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failures++
		s := w.m.settings()
		if failures > s.DeliveryRetryAttempts {
			switch w.sub.Policy {
			case cimom.PolicyDisable:
				w.log.Error("indication delivery failed: the subscription is disabled (OnFatalErrorPolicy Disable); enable it to resume from its cursor",
					"seq", w.cur.Seq, "rev", e.Rev, "attempts", failures, "err", err)
				w.flush(ctx)
				w.setState(ctx, cimom.StateDisabled)
				return errStop
			case cimom.PolicyRemove:
				w.log.Error("indication delivery failed: the subscription is removed (OnFatalErrorPolicy Remove)",
					"seq", w.cur.Seq, "rev", e.Rev, "attempts", failures, "err", err)
				w.unsaved = 0 // the cursor goes with the subscription
				if err := w.m.OM.RemoveSubscription(ctx, w.sub.Path); err != nil {
					w.log.Error("indication subscription: removing it failed", "err", err)
				}
				return errStop
			}
			if !w.degraded {
				w.log.Warn("indication delivery failing: the subscription is Enabled Degraded and keeps trying (OnFatalErrorPolicy Ignore); nothing is skipped",
					"seq", w.cur.Seq, "rev", e.Rev, "attempts", failures, "err", err)
				w.degraded = true
				w.setState(ctx, cimom.StateEnabledDegraded)
			}
		} else {
			w.log.Info("indication delivery failed; retrying", "seq", w.cur.Seq, "rev", e.Rev, "attempt", failures, "err", err)
		}
		if !sleep(ctx, s.DeliveryRetryInterval) {
			return ctx.Err()
		}
	}
	if e.Live {
		w.cur.Seq++ // not in the feed: the cursor's place in it stays
	} else {
		w.cur.advance(e.Rev)
	}
	w.unsaved++
	if w.unsaved >= saveBatch || time.Since(w.saved) >= saveEvery {
		if err := w.save(ctx); err != nil {
			return err
		}
	}
	if w.degraded {
		w.degraded = false
		w.log.Info("indication delivery recovered", "seq", w.cur.Seq-1)
		w.setState(ctx, cimom.StateEnabled)
	}
	return nil
}

// nth is the index, among the subscription's events of revision rev, of
// the event being delivered.
func (w *worker) nth(rev int64) int {
	if rev == w.cur.Rev {
		return w.cur.N
	}
	return 0
}

// lost handles a cursor the feed no longer holds: a log line, a new
// SequenceContext from the current revision, and the subscription
// disabled.
func (w *worker) lost(ctx context.Context, err error) {
	rev, rerr := w.m.OM.Rev(ctx)
	if rerr != nil {
		w.log.Error("indication delivery: the change feed no longer holds the subscription's events, and the current revision is unknown", "err", err, "rev_err", rerr)
		return
	}
	if w.sub.Consumer != nil {
		w.log.Error("event consumer delivery: the change feed no longer holds the binding's undelivered events; they are lost, and delivery goes on from the current revision (__EventQueueOverflowEvent raised)",
			"from_rev", w.cur.Rev, "restart_rev", rev, "err", err)
		consumer := ""
		if p, perr := w.sub.Consumer.ObjectPath(); perr == nil {
			consumer = p.RelPath()
		}
		w.m.OM.RaiseQueueOverflow(w.sub.Namespace, consumer, w.cur.from(), rev)
	} else {
		w.log.Error("indication delivery: the change feed no longer holds the subscription's undelivered events; the subscription is disabled, and enabling it delivers from the current revision with a new SequenceContext",
			"from_rev", w.cur.Rev, "seq", w.cur.Seq, "restart_rev", rev, "err", err)
	}
	if err := saveCursor(ctx, w.m.Store, w.sub.Key, newCursor(&w.sub, rev)); err != nil {
		w.log.Error("indication delivery: saving the new cursor failed", "err", err)
		return
	}
	w.setState(ctx, cimom.StateDisabled)
}

// setState writes the subscription's SubscriptionState.
func (w *worker) setState(ctx context.Context, state uint16) {
	if w.sub.Consumer != nil {
		return // a WMI binding has no state: its worker logs
	}
	if err := w.m.OM.SetSubscriptionState(ctx, w.sub.Path, state); err != nil && ctx.Err() == nil {
		w.log.Error("indication subscription: writing SubscriptionState failed", "state", state, "err", err)
	}
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// client is the default HTTP client of exports.
var client = &http.Client{}
