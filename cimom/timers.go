package cimom

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// Timer instructions are repository instances, as in WMI: an instance of
// __IntervalTimerInstruction (IntervalBetweenEvents milliseconds) or
// __AbsoluteTimerInstruction (EventDateTime) in a namespace makes wbemd
// raise __TimerEvent there, with the instruction's TimerId, every
// interval or once at the time; deleting it stops the timer, changing it
// starts it again. The timer service reads every namespace's
// instructions and follows their changes through the change feed; it
// starts with the first subscription to timer events, so that a CIMOM
// nobody asks for timer events from reads none, and stops at Close.
// Timer events go through the hub (extrinsic.go) to the subscriptions of
// the namespace: NumFirings counts the firings a subscription had not
// taken yet (1 normally), and with SkipIfPassed those firings are
// skipped instead.

// timerService runs the timers of every namespace.
type timerService struct {
	mu     sync.Mutex
	closed bool
	cancel context.CancelFunc
	done   chan struct{}
}

// startTimers starts the timer service unless it runs or the CIMOM
// closed.
func (c *CIMOM) startTimers() {
	t := &c.timers
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done != nil || t.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	go func() {
		defer close(t.done)
		c.runTimers(ctx)
	}()
}

// stopTimers stops the timer service and its timers, and waits for them.
func (c *CIMOM) stopTimers() {
	t := &c.timers
	t.mu.Lock()
	t.closed = true
	cancel, done := t.cancel, t.done
	t.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// timersRunning reports whether the timer service runs (for tests).
func (c *CIMOM) timersRunning() bool {
	t := &c.timers
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		return false
	}
	select {
	case <-t.done:
		return false
	default:
		return true
	}
}

// runTimers follows the timer instructions until ctx ends.
func (c *CIMOM) runTimers(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.followTimers(ctx)
		if ctx.Err() != nil || cim.StatusOf(err) == cim.EShuttingDown {
			return
		}
		if err == errTimerClassChanged {
			continue
		}
		c.log.Error("timer events: following the timer instructions failed; reading them again", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// errTimerClassChanged ends followTimers when a timer instruction class
// changed or was deleted: the instances it deleted raised no events of
// their own, so the instructions are read again.
var errTimerClassChanged = errors.New("cimom: a timer instruction class changed")

// runningTimer is a started timer.
type runningTimer struct {
	ns     string // folded
	cancel context.CancelFunc
	done   chan struct{}
}

// timerKey names a timer: its namespace and TimerId, folded.
func timerKey(ns, id string) string { return cim.Fold(ns) + "\x00" + cim.Fold(id) }

// followTimers starts the timers of every namespace's instructions, then
// starts, restarts and stops them as the change feed reports their
// instructions' changes, until ctx ends or reading fails. Its timers stop
// when it returns.
func (c *CIMOM) followTimers(ctx context.Context) error {
	running := map[string]*runningTimer{}
	stop := func(key string) {
		if r := running[key]; r != nil {
			r.cancel()
			<-r.done
			delete(running, key)
		}
	}
	defer func() {
		for key := range running {
			stop(key)
		}
	}()
	start := func(ns string, inst *cim.Object, created bool) {
		id := strOf(inst, "TimerId")
		key := timerKey(ns, id)
		stop(key)
		tctx, cancel := context.WithCancel(ctx)
		r := &runningTimer{ns: cim.Fold(ns), cancel: cancel, done: make(chan struct{})}
		running[key] = r
		go func() {
			defer close(r.done)
			c.runTimer(tctx, ns, inst, created)
		}()
	}
	rev, err := c.st.Rev(ctx)
	if err != nil {
		return err
	}
	names, err := c.Namespaces(ctx)
	if err != nil {
		return err
	}
	for _, ns := range names {
		insts, err := c.timerInstructions(ctx, ns)
		if err != nil {
			return err
		}
		for _, inst := range insts {
			start(ns, inst, false)
		}
	}
	events, err := c.Subscribe(ctx, SubscribeOptions{Namespace: "root", Deep: true, From: rev, Principal: self, Classes: []string{TimerInstructionClass, namespaceClass}, Match: func(e *Event) bool {
		t := e.Target
		return t != nil && (t.IsA(TimerInstructionClass) || (e.Class == "__NamespaceDeletionEvent" && t.IsA(namespaceClass)))
	}})
	if err != nil {
		return err
	}
	for e, err := range events {
		if err != nil {
			return err
		}
		switch {
		case e.Progress:
		case e.Class == "__ClassDeletionEvent" || e.Class == "__ClassModificationEvent":
			return errTimerClassChanged
		case e.Class == "__ClassCreationEvent":
		case e.Class == "__NamespaceDeletionEvent":
			gone := cim.Fold(e.Namespace + "/" + strOf(e.Target, "Name"))
			for key, r := range running {
				if r.ns == gone || (len(r.ns) > len(gone) && r.ns[:len(gone)] == gone && r.ns[len(gone)] == '/') {
					stop(key)
				}
			}
		case e.Class == "__InstanceDeletionEvent":
			stop(timerKey(e.Namespace, strOf(e.Target, "TimerId")))
		default: // created or modified: (re)started
			start(e.Namespace, e.Target, true)
		}
	}
	return ctx.Err()
}

// timerInstructions reads the timer instructions of a namespace (none in
// a namespace without the class: a repository opened without
// ServeInterop, made before wbemd had timers).
func (c *CIMOM) timerInstructions(ctx context.Context, ns string) ([]*cim.Object, error) {
	s, err := c.connect(ctx, ns, self)
	if err != nil {
		if cim.StatusOf(err) == cim.EInvalidNamespace {
			return nil, nil // deleted since it was listed
		}
		return nil, err
	}
	e, err := s.CreateInstanceEnum(ctx, TimerInstructionClass, 0, nil)
	if err != nil {
		if st := cim.StatusOf(err); st == cim.EInvalidClass || st == cim.ENotFound || st == cim.EInvalidNamespace {
			return nil, nil
		}
		return nil, err
	}
	var out []*cim.Object
	for inst, err := range All(ctx, e) {
		if err != nil {
			return nil, err
		}
		out = append(out, inst)
	}
	return out, nil
}

// runTimer raises the events of one instruction until ctx ends: every
// IntervalBetweenEvents milliseconds from its start, or once at
// EventDateTime. An absolute time already passed is raised at once when
// the instruction was just written (created) and SkipIfPassed is FALSE;
// found passed when the service starts, it is not raised again (wbemd
// keeps no record of firings, and the time passed either while wbemd
// was stopped or before, when it fired).
func (c *CIMOM) runTimer(ctx context.Context, ns string, inst *cim.Object, created bool) {
	id := strOf(inst, "TimerId")
	skip := false
	if v, err := inst.Get("SkipIfPassed"); err == nil && !v.IsNull() {
		skip, _ = v.V.(bool)
	}
	fire := func() {
		c.xhub.raise(xTimer, Event{Class: TimerEventClass, Namespace: ns, Time: c.opts.Now(), Live: true, Properties: []cim.Property{
			{Name: "TimerId", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: id}}}}, cim.Fold(id), skip)
	}
	interval, at, err := timerSchedule(inst)
	if err != nil {
		c.log.Warn("timer events: a timer instruction is not run", "namespace", ns, "timer", id, "err", err)
		return
	}
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fire()
			}
		}
	}
	wait := time.Until(at)
	if wait <= 0 {
		if created && !skip {
			fire()
		}
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		fire()
	}
}

// timerSchedule reads an instruction: its interval (an interval timer)
// or its time (an absolute timer).
func timerSchedule(inst *cim.Object) (interval time.Duration, at time.Time, err error) {
	if v, err := inst.Get("IntervalBetweenEvents"); err == nil {
		ms, _ := v.V.(uint32)
		if v.IsNull() || ms == 0 {
			return 0, at, cim.Errorf(cim.EInvalidParameter, "IntervalBetweenEvents must be a number of milliseconds above 0").WithParam("IntervalBetweenEvents")
		}
		return time.Duration(ms) * time.Millisecond, at, nil
	}
	if v, err := inst.Get("EventDateTime"); err == nil {
		d, _ := v.V.(cim.Datetime)
		t, ok := d.Time()
		if v.IsNull() || d.IsInterval() || !ok {
			return 0, at, cim.Errorf(cim.EInvalidParameter, "EventDateTime must be a date and time (not an interval, without wildcards)").WithParam("EventDateTime")
		}
		return 0, t, nil
	}
	return 0, at, cim.Errorf(cim.EInvalidParameter, "%s is neither an %s nor an %s", inst.Class, IntervalTimerClass, AbsoluteTimerClass)
}

// timerPut checks a timer instruction before it is written; handled is
// false for other classes.
func timerPut(ci *classInfo, inst *cim.Object) (handled bool, err error) {
	if !ci.cls.IsA(TimerInstructionClass) {
		return false, nil
	}
	if !ci.cls.IsA(IntervalTimerClass) && !ci.cls.IsA(AbsoluteTimerClass) {
		return true, cim.Errorf(cim.EInvalidClass, "%s: wbemd runs the instructions of %s and %s", inst.Class, IntervalTimerClass, AbsoluteTimerClass)
	}
	_, _, err = timerSchedule(inst)
	return true, err
}
