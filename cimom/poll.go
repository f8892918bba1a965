package cimom

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// pollEvents finds the events of a provider's class by polling, as WMI
// does for WITHIN: it enumerates the class (with its subclasses) once,
// then every WITHIN interval enumerates it again and compares. An
// instance only in the new enumeration is created, one only in the old is
// deleted, one in both with other values is modified. Changes undone
// between two polls are not seen, and several modifications within one
// interval are one event. The events of one poll have the repository's
// revision at the poll and their place in it as Index.
func (s *services) pollEvents(ctx context.Context, eq *eventQuery, opts NotificationOptions) iter.Seq2[Event, error] {
	return eventStream(func(yield func(Event, error) bool) error { return s.pollLoop(ctx, eq, opts, yield) })
}

// pollLoop runs a polling subscription until ctx ends or the consumer
// stops.
func (s *services) pollLoop(ctx context.Context, eq *eventQuery, opts NotificationOptions, yield func(Event, error) bool) error {
	snap, err := s.snapshot(ctx, eq.poll.cls.Class)
	if err != nil {
		return err
	}
	tick := time.NewTicker(eq.within)
	defer tick.Stop()
	var idle <-chan time.Time
	var idleT *time.Timer
	if opts.Progress > 0 {
		idleT = time.NewTimer(opts.Progress)
		defer idleT.Stop()
		idle = idleT.C
	}
	for {
		select {
		case <-ctx.Done():
			return cim.Errorf(cim.ECallCancelled, "the subscription ended: %v", ctx.Err())
		case <-idle:
			if err := s.progressReport(ctx, yield); err != nil {
				return err
			}
			idleT.Reset(opts.Progress)
		case <-tick.C:
			if err := s.require(ctx, RightSubscribe); err != nil {
				return err
			}
			rev, err := s.c.st.Rev(ctx)
			if err != nil {
				return err
			}
			next, err := s.snapshot(ctx, eq.poll.cls.Class)
			if err != nil {
				return err
			}
			now, n := s.c.opts.Now(), 0
			emit := func(class string, target, previous *cim.Object) error {
				ev := Event{Class: class, Namespace: s.ns, Target: target, Previous: previous, Time: now, Rev: rev, Index: n, Polled: true}
				n++
				if !eq.match(&ev) {
					return nil
				}
				ev.Class = eq.deliv[class].class
				if !yield(ev, nil) {
					return errStopped
				}
				if idleT != nil {
					idleT.Reset(opts.Progress)
				}
				return nil
			}
			for _, k := range next.order {
				cur := next.objs[k]
				if old, ok := snap.objs[k]; !ok {
					err = emit("__InstanceCreationEvent", cur, nil)
				} else if !cur.CompareTo(old, cim.CompareIgnoreQualifiers|cim.CompareIgnoreFlavor) {
					err = emit("__InstanceModificationEvent", cur, old)
				}
				if err != nil {
					return err
				}
			}
			for _, k := range snap.order {
				if _, ok := next.objs[k]; !ok {
					if err := emit("__InstanceDeletionEvent", snap.objs[k], nil); err != nil {
						return err
					}
				}
			}
			snap = next
		}
	}
}

// pollSnapshot is one enumeration of a polled class, by relative path.
type pollSnapshot struct {
	objs  map[string]*cim.Object
	order []string
}

// snapshot enumerates a class and its subclasses.
func (s *services) snapshot(ctx context.Context, class string) (*pollSnapshot, error) {
	en, err := s.CreateInstanceEnum(ctx, class, FlagForwardOnly, nil)
	if err != nil {
		return nil, err
	}
	defer en.Close()
	snap := &pollSnapshot{objs: map[string]*cim.Object{}}
	for o, err := range All(ctx, en) {
		if err != nil {
			return nil, err
		}
		v, _ := o.SystemProperty("__RELPATH")
		k, _ := v.V.(string)
		k = strings.ToLower(k)
		if _, dup := snap.objs[k]; !dup {
			snap.order = append(snap.order, k)
		}
		snap.objs[k] = o
	}
	return snap, nil
}

// aggregate groups the events of src as GROUP WITHIN: the first event of
// a group (by the values of the BY properties) opens it for the group's
// interval; when it closes, a group whose NumberOfEvents satisfies HAVING
// is delivered as one __AggregateEvent with the first event as
// Representative. Progress reports pass through with a bookmark before
// the first event of any open group.
func (eq *eventQuery) aggregate(ctx context.Context, source func(context.Context) (iter.Seq2[Event, error], error)) iter.Seq2[Event, error] {
	type item struct {
		ev  Event
		err error
	}
	type group struct {
		key   string
		first Event
		last  int64
		n     int
		due   time.Time
	}
	return func(yield func(Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		src, err := source(ctx) // the source ends with the aggregate
		if err != nil {
			yield(Event{}, err)
			return
		}
		items := make(chan item, 256)
		go func() {
			defer close(items)
			for ev, err := range src {
				select {
				case items <- item{ev, err}:
				case <-ctx.Done():
					return
				}
				if err != nil || ctx.Err() != nil {
					return
				}
			}
		}()
		defer func() {
			cancel()
			for range items {
			}
		}()
		var open []*group
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		arm := func() {
			timer.Stop()
			if len(open) > 0 {
				timer.Reset(time.Until(open[0].due))
			}
		}
		flush := func(now time.Time) bool {
			for len(open) > 0 && !open[0].due.After(now) {
				g := open[0]
				open = open[1:]
				first := g.first
				agg := Event{Class: "__AggregateEvent", Namespace: first.Namespace, Time: now, Rev: g.last, Index: first.Index, NumberOfEvents: g.n, Representative: &first}
				if h := eq.q.Group.Having; h != nil && !wql.Match(h, agg.Object()) {
					continue
				}
				if !yield(agg, nil) {
					return false
				}
			}
			arm()
			return true
		}
		for {
			select {
			case it, ok := <-items:
				if !ok {
					return
				}
				if it.err != nil {
					yield(Event{}, it.err)
					return
				}
				ev := it.ev
				if ev.Progress {
					for _, g := range open {
						if g.first.Rev-1 < ev.Rev {
							ev.Rev = g.first.Rev - 1
						}
					}
					if !yield(ev, nil) {
						return
					}
					continue
				}
				key := eq.groupKey(&ev)
				var g *group
				for _, o := range open {
					if o.key == key {
						g = o
						break
					}
				}
				if g == nil {
					g = &group{key: key, first: ev, due: time.Now().Add(eq.group)}
					open = append(open, g)
					if len(open) == 1 {
						arm()
					}
				}
				g.n++
				g.last = ev.Rev
			case <-timer.C:
				if !flush(time.Now()) {
					return
				}
			}
		}
	}
}

// groupKey is the text of the values of an event's GROUP BY properties.
func (eq *eventQuery) groupKey(ev *Event) string {
	if len(eq.q.Group.By) == 0 {
		return ""
	}
	o := ev.Object()
	var b strings.Builder
	for _, p := range eq.q.Group.By {
		v, ok := wql.Resolve(p, o)
		if ok && !v.IsNull() {
			fmt.Fprint(&b, v.V)
		}
		b.WriteByte(0)
	}
	return b.String()
}

// progressReport delivers a progress report at the store's current
// revision, if the principal may still subscribe.
func (s *services) progressReport(ctx context.Context, yield func(Event, error) bool) error {
	if err := s.require(ctx, RightSubscribe); err != nil {
		return err
	}
	rev, err := s.c.st.Rev(ctx)
	if err != nil {
		return err
	}
	if !yield(Event{Namespace: s.ns, Time: s.c.opts.Now(), Rev: rev, Progress: true}, nil) {
		return errStopped
	}
	return nil
}
