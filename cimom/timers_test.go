package cimom

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// timerStream subscribes to an event query and sends its events (and its
// error, as an event with Class "error: ...") to a channel until the test
// ends. hold, when set, is called with each event before the next is read.
func timerStream(t *testing.T, svc Services, query string, hold func(Event)) <-chan Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	seq, err := svc.ExecNotificationQuery(ctx, "WQL", query, NotificationOptions{})
	if err != nil {
		cancel()
		t.Fatalf("ExecNotificationQuery(%q): %v", query, err)
	}
	out := make(chan Event, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range seq {
			if err != nil {
				out <- Event{Class: "error: " + err.Error()}
				return
			}
			out <- ev
			if hold != nil {
				hold(ev)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// timerOf is a timer event's TimerId and NumFirings.
func timerOf(t *testing.T, ev Event) (string, uint32) {
	t.Helper()
	if ev.Class != TimerEventClass || !ev.Live || ev.Progress {
		t.Fatalf("event %+v: want an extrinsic __TimerEvent", ev)
	}
	o := ev.Object()
	id, err := o.Get("TimerId")
	if err != nil {
		t.Fatal(err)
	}
	n, err := o.Get("NumFirings")
	if err != nil {
		t.Fatal(err)
	}
	return id.V.(string), n.V.(uint32)
}

// intervalTimer writes an __IntervalTimerInstruction.
func (r *testRepo) intervalTimer(id string, ms uint32, skip bool) string {
	r.t.Helper()
	return r.put(r.inst(IntervalTimerClass, "TimerId", id, "IntervalBetweenEvents", ms, "SkipIfPassed", skip), 0)
}

// untilTimer reads events until one of timer id comes, and returns the
// others read before it.
func untilTimer(t *testing.T, evs <-chan Event, id string) (Event, []string) {
	t.Helper()
	var before []string
	for {
		ev := nextEvent(t, evs)
		got, _ := timerOf(t, ev)
		if got == id {
			return ev, before
		}
		before = append(before, got)
	}
}

// onlyTimer reads events until one of timer id comes, then checks that
// the next four are of it too: a timer stopped before id was written
// fires no more (what names what stopped it).
func onlyTimer(t *testing.T, evs <-chan Event, id, what string) {
	t.Helper()
	untilTimer(t, evs, id)
	for range 4 {
		if got, _ := timerOf(t, nextEvent(t, evs)); got != id {
			t.Fatalf("an event of %s after %s", got, what)
		}
	}
}

// TestTimerEvents: an __IntervalTimerInstruction makes __TimerEvent every
// interval in its namespace, selected by TimerId; deleting it stops it;
// an __AbsoluteTimerInstruction fires once; a subscription that does not
// read gets the firings it missed as NumFirings (none with SkipIfPassed);
// bad instructions are refused and change nothing.
func TestTimerEvents(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	evs := timerStream(t, r.svc, "SELECT * FROM __TimerEvent WHERE TimerId = 't1' OR TimerId = 't3' OR TimerId = 'abs'", nil)
	r.intervalTimer("t1", 50, false)
	r.intervalTimer("t2", 50, false) // not selected
	for range 3 {
		ev := nextEvent(t, evs)
		if id, n := timerOf(t, ev); id != "t1" || n < 1 {
			t.Fatalf("event of %s with NumFirings %d, want t1", id, n)
		}
		if !strings.EqualFold(ev.Namespace, "root/cimv2") || ev.Rev <= 0 || strings.Contains(ev.ID(), ".") {
			t.Errorf("event namespace %s, rev %d, id %s", ev.Namespace, ev.Rev, ev.ID())
		}
		if o := ev.Object(); o.Class != TimerEventClass || !o.IsA("__Event") {
			t.Errorf("object %s, derivation %v", o.Class, o.Derivation)
		}
	}
	// Deleted, t1 stops: once t3 (written after the delete) fires, no t1
	// may follow.
	if err := r.svc.DeleteInstance(ctx, `__IntervalTimerInstruction.TimerId="t1"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	r.intervalTimer("t3", 50, false)
	onlyTimer(t, evs, "t3", "its instruction was deleted")
	if err := r.svc.DeleteInstance(ctx, `__IntervalTimerInstruction.TimerId="t3"`, 0, nil); err != nil {
		t.Fatal(err)
	}

	// An absolute timer fires once, at its time; one written with a time
	// passed fires at once, unless SkipIfPassed.
	soon := cim.DatetimeFromTime(time.Now().Add(100 * time.Millisecond))
	r.put(r.inst(AbsoluteTimerClass, "TimerId", "abs", "EventDateTime", soon), 0)
	untilTimer(t, evs, "abs")
	past := cim.DatetimeFromTime(time.Now().Add(-time.Hour))
	r.put(r.inst(AbsoluteTimerClass, "TimerId", "abs", "EventDateTime", past), FlagUpdateOnly)
	untilTimer(t, evs, "abs")
	r.put(r.inst(AbsoluteTimerClass, "TimerId", "abs", "EventDateTime", past, "SkipIfPassed", true), FlagUpdateOnly)
	r.intervalTimer("t3", 50, false) // written after: its events come after any of abs
	if _, before := untilTimer(t, evs, "t3"); len(before) != 0 {
		t.Errorf("a passed absolute timer with SkipIfPassed fired: %v", before)
	}

	// NumFirings: a subscription that does not read for three firings
	// (counted by another) gets them as one event.
	for _, skip := range []bool{false, true} {
		id := fmt.Sprintf("slow-%v", skip)
		blocked, release := make(chan struct{}), make(chan struct{})
		first := true
		slow := timerStream(t, r.svc, "SELECT * FROM __TimerEvent WHERE TimerId = '"+id+"'", func(Event) {
			if first {
				first = false
				close(blocked)
				<-release
			}
		})
		fast := timerStream(t, r.svc, "SELECT * FROM __TimerEvent WHERE TimerId = '"+id+"'", nil)
		r.intervalTimer(id, 50, skip)
		nextEvent(t, slow)
		<-blocked
		drain(fast)
		for range 3 {
			nextEvent(t, fast)
		}
		close(release)
		_, n := timerOf(t, nextEvent(t, slow))
		if skip && n != 1 || !skip && n < 2 {
			t.Errorf("SkipIfPassed %v: NumFirings %d after three missed firings", skip, n)
		}
	}

	// Deleting a subclass of the instructions deletes its instances
	// without an event each: their timers stop too.
	r.putClass(class("Site_Timer", IntervalTimerClass, nil))
	r.put(r.inst("Site_Timer", "TimerId", "sub", "IntervalBetweenEvents", uint32(50)), 0)
	sub := timerStream(t, r.svc, "SELECT * FROM __TimerEvent WHERE TimerId = 'sub' OR TimerId = 'after'", nil)
	untilTimer(t, sub, "sub")
	if err := r.svc.DeleteClass(ctx, "Site_Timer", 0, nil); err != nil {
		t.Fatal(err)
	}
	r.intervalTimer("after", 50, false)
	onlyTimer(t, sub, "after", "its class was deleted")

	// Bad instructions: refused, nothing written.
	before := r.snapshot()
	for _, c := range []struct {
		o     *cim.Object
		want  cim.Status
		param string
	}{
		{r.inst(IntervalTimerClass, "TimerId", "bad", "IntervalBetweenEvents", uint32(0)), cim.EInvalidParameter, "IntervalBetweenEvents"},
		{r.inst(IntervalTimerClass, "TimerId", "bad"), cim.EInvalidParameter, "IntervalBetweenEvents"},
		{r.inst(AbsoluteTimerClass, "TimerId", "bad"), cim.EInvalidParameter, "EventDateTime"},
		{r.inst(AbsoluteTimerClass, "TimerId", "bad", "EventDateTime", cim.IntervalFromDuration(time.Hour)), cim.EInvalidParameter, "EventDateTime"},
	} {
		_, err := r.svc.PutInstance(ctx, c.o, 0, nil)
		wantStatus(t, err, c.want)
		if e := cim.AsError(err); e.Parameter != c.param {
			t.Errorf("parameter %q, want %q (%v)", e.Parameter, c.param, err)
		}
	}
	if !sameSnapshot(before, r.snapshot()) {
		t.Error("a refused timer instruction changed the store")
	}
}

// drain empties a channel of what it holds now.
func drain(ch <-chan Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestTimersResumeAndStop: the timer instructions are in the repository,
// so that a CIMOM opened again on it raises their events; Close stops
// the timers and ends the subscriptions (no goroutine of theirs is left).
func TestTimersResumeAndStop(t *testing.T) {
	skipOnEtcd(t, "reopens the embedded store")
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*bolt.DB, *CIMOM) {
		db, err := bolt.Open(dir+"/repo.db", bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db, c
	}
	db, c := open()
	svc := mustConnect(t, c, "root/cimv2", admin)
	r := &testRepo{t: t, db: db, c: c, svc: svc}
	r.intervalTimer("kept", 50, false)
	if c.timersRunning() {
		t.Error("the timer service runs with no subscription to timer events")
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seq, err := svc.ExecNotificationQuery(sctx, "WQL", "SELECT * FROM __TimerEvent", NotificationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	n := 0
	go func() {
		// Told once the range is over: the iterator has returned, and
		// left the hub, when the error it yielded has been taken.
		var end error
		for ev, err := range seq {
			if err != nil {
				end = err
				break
			}
			if ev.Class == TimerEventClass {
				n++
			}
		}
		ended <- end
	}()
	for !c.timersRunning() || c.xhub.subscribers() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	// Close ends the subscription with WBEM_E_SHUTTING_DOWN and stops the
	// timers.
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c.timersRunning() { // Close waited for them
		t.Error("the timer service runs after Close returned")
	}
	select {
	case err := <-ended:
		wantStatus(t, err, cim.EShuttingDown)
	case <-time.After(30 * time.Second):
		t.Fatal("the subscription did not end at Close")
	}
	if c.timersRunning() || c.xhub.subscribers() != 0 {
		t.Errorf("after Close: timers running %v, %d subscribers at the hub", c.timersRunning(), c.xhub.subscribers())
	}
	if leaked := timerGoroutines(); leaked != "" {
		t.Errorf("goroutines left after Close:\n%s", leaked)
	}
	db.Close()

	// Opened again, the instruction's timer runs.
	db, c = open()
	defer db.Close()
	defer c.Close(ctx)
	svc = mustConnect(t, c, "root/cimv2", admin)
	evs := timerStream(t, svc, "SELECT * FROM __TimerEvent WHERE TimerId = 'kept'", nil)
	for range 2 {
		if id, _ := timerOf(t, nextEvent(t, evs)); id != "kept" {
			t.Fatalf("event of %s", id)
		}
	}
}

// timerGoroutines returns the stacks of goroutines of the timer service
// and of extrinsic subscriptions.
func timerGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "cimom.(*CIMOM).runTimer") || strings.Contains(g, "cimom.(*CIMOM).followTimers") || strings.Contains(g, "extrinsicLoop") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestExtrinsicWithFeed: a query FROM __Event receives the feed's events
// and timer events; a timer event's Rev is a bookmark (no later than the
// feed's events delivered), so that its id resumes without loss.
func TestExtrinsicWithFeed(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	evs := timerStream(t, r.svc, "SELECT * FROM __Event", nil)
	r.intervalTimer("mix", 50, false)
	var sawTimer, sawCreation bool
	var lastFeed int64
	for !sawTimer || !sawCreation {
		ev := nextEvent(t, evs)
		switch {
		case strings.HasPrefix(ev.Class, "error"):
			t.Fatal(ev.Class)
		case ev.Live:
			sawTimer = true
			if ev.Rev >= lastFeed && lastFeed > 0 {
				t.Errorf("timer event with Rev %d after the feed's event of revision %d: not a bookmark", ev.Rev, lastFeed)
			}
			if !sawCreation {
				r.put(r.inst("Item", "Id", "x"), 0)
			}
		default:
			if ev.Class == "__InstanceCreationEvent" && ev.Target.Class == "Item" {
				sawCreation = true
			}
			lastFeed = ev.Rev
		}
	}
}

// TestExtrinsicStopAndRangeAgain: a consumer that stops ranging over a
// query merging the feed's events and timer events ends it at once,
// even with no write to wake the feed's reader, leaving no goroutine;
// ranging again subscribes again.
func TestExtrinsicStopAndRangeAgain(t *testing.T) {
	r := newRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq, err := r.svc.ExecNotificationQuery(ctx, "WQL", "SELECT * FROM __Event", NotificationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.intervalTimer("stop", 50, false)
	for pass := range 2 {
		done := make(chan error, 1)
		go func() {
			n := 0
			for ev, err := range seq {
				if err != nil {
					done <- err
					return
				}
				if ev.Live {
					if n++; n == 2 {
						break
					}
				}
			}
			done <- nil
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("pass %d: %v", pass, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("pass %d: the range did not end after its consumer stopped", pass)
		}
		// The loop's feed reader has closed its channel when the range
		// ends; give it the moment it needs to return.
		leaked := timerGoroutines()
		for deadline := time.Now().Add(5 * time.Second); strings.Contains(leaked, "extrinsicLoop") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			leaked = timerGoroutines()
		}
		if strings.Contains(leaked, "extrinsicLoop") {
			t.Fatalf("pass %d: goroutines left:\n%s", pass, leaked)
		}
	}
}

// TestTimerClassesDeclaredAtStart: a namespace without the timer and
// extrinsic event classes (a repository made before them) gets them
// when wbemd serves the repository.
func TestTimerClassesDeclaredAtStart(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	// The classes' records taken out of the store, as in a repository
	// made before them (system classes cannot be deleted otherwise).
	var ops []store.Op
	for _, cls := range extrinsicClasses() {
		ops = append(ops, store.Delete(classKey("root/cimv2", cls.Class)), store.Delete(subKey("root/cimv2", cls.Superclass, cls.Class)))
	}
	if _, err := r.c.commit(ctx, nil, ops); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.GetObject(ctx, IntervalTimerClass, 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Fatalf("deleted: %v", err)
	}
	if err := r.c.ServeInterop(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{IntervalTimerClass, AbsoluteTimerClass, TimerEventClass, QueueOverflowEventClass} {
		cls, err := r.svc.GetObject(ctx, class, 0, nil)
		if err != nil {
			t.Fatalf("%s after ServeInterop: %v", class, err)
		}
		if class == IntervalTimerClass {
			if _, err := cls.Get("TimerId"); err != nil || !cls.IsA(TimerInstructionClass) {
				t.Errorf("%s: %v, derivation %v", class, err, cls.Derivation)
			}
		}
	}
	r.intervalTimer("back", 50, false)
}
