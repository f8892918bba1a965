package indication

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// TestPermanentTimerAndOverflowEvents: a permanent subscription receives
// the __TimerEvent of an __IntervalTimerInstruction; a binding whose
// undelivered events the change feed no longer holds raises an
// __EventQueueOverflowEvent naming its consumer and the revisions lost,
// which an administrator's ExecNotificationQuery and another binding
// (FROM __EventDroppedEvent, polymorphic) receive.
func TestPermanentTimerAndOverflowEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sub, err := f.om.Connect(ctx, cimom.SubscriptionNamespace, root)
	if err != nil {
		t.Fatal(err)
	}
	create := func(class string, kv ...any) string {
		t.Helper()
		cls, err := sub.GetObject(ctx, class, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := cls.SpawnInstance()
		f.set(o, kv...)
		p, err := sub.PutInstance(ctx, o, cimom.FlagCreateOnly, nil)
		if err != nil {
			t.Fatalf("create %s: %v", class, err)
		}
		return p
	}
	bind := func(name, eventNS, query, file, text string) string {
		t.Helper()
		kv := []any{"Name", name, "Query", query}
		if eventNS != "" {
			kv = append(kv, "EventNamespace", eventNS)
		}
		filter := create(cimom.EventFilterClass, kv...)
		consumer := create(cimom.LogFileConsumerClass, "Name", name, "Filename", file, "Text", text)
		create(cimom.BindingClass, "Filter", filter, "Consumer", consumer)
		return consumer
	}
	lines := func(file string) []string {
		b, _ := os.ReadFile(file)
		return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
	}
	dir := t.TempDir()

	// Timer events to a log file.
	timerLog := filepath.Join(dir, "timer.log")
	bind("timer", "", "SELECT * FROM __TimerEvent WHERE TimerId = 'p1'", timerLog, "%TimerId% %NumFirings%")
	create(cimom.IntervalTimerClass, "TimerId", "p1", "IntervalBetweenEvents", uint32(50))
	create(cimom.IntervalTimerClass, "TimerId", "p2", "IntervalBetweenEvents", uint32(50))
	f.eventually("three timer events logged", func() bool { return len(lines(timerLog)) >= 3 })
	for _, l := range lines(timerLog) {
		id, n, _ := strings.Cut(l, "_")
		if k, err := strconv.Atoi(n); id != "p1" || err != nil || k < 1 {
			t.Errorf("timer log line %q, want p1 and NumFirings", l)
		}
	}

	// An overflow: watched by an administrator's query and by a binding.
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seq, err := sub.ExecNotificationQuery(qctx, "WQL", "SELECT * FROM __EventQueueOverflowEvent", cimom.NotificationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	direct := make(chan cimom.Event, 16)
	go func() {
		defer close(direct)
		for ev, err := range seq {
			if err != nil {
				return
			}
			direct <- ev
		}
	}()
	droppedLog := filepath.Join(dir, "dropped.log")
	bind("dropped", "", "SELECT * FROM __EventDroppedEvent", droppedLog, "%IntendedConsumer% %LostAfterRevision% %ResumedAfterRevision%")
	later := filepath.Join(dir, "later") // missing until the loss: the consumer fails
	slow := bind("slow", "root/cimv2", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'", filepath.Join(later, "slow.log"), "%TargetInstance.Id%")
	f.item("first")
	first, _ := f.db.Rev(ctx)
	f.eventually("the slow consumer failing", func() bool { return strings.Contains(f.log.String(), "later") })
	// Past the ring of 16, and past what a subscription reading the
	// store holds (256 events) in case a new subscription sent it there.
	for i := range 600 {
		f.item(fmt.Sprint("more", i))
	}
	rev, _ := f.db.Rev(ctx)
	if err := f.db.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	var ev cimom.Event
	select {
	case ev = <-direct:
	case <-time.After(30 * time.Second):
		t.Fatalf("no __EventQueueOverflowEvent\nlog:\n%s", f.log)
	}
	o := ev.Object()
	get := func(name string) any {
		v, err := o.Get(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v.V
	}
	if ev.Class != cimom.QueueOverflowEventClass || !ev.Live || !o.IsA(cimom.EventDroppedEventClass) || !strings.EqualFold(ev.Namespace, cimom.SubscriptionNamespace) {
		t.Errorf("event %s in %s (extrinsic %v, derivation %v)", ev.Class, ev.Namespace, ev.Live, o.Derivation)
	}
	if c := get("IntendedConsumer"); c != slow {
		t.Errorf("IntendedConsumer %v, want %s", c, slow)
	}
	lost, resumed := get(cimom.LostAfterProperty).(int64), get(cimom.ResumedAfterProperty).(int64)
	// The consumer got "first" (and whatever its stream had read with it)
	// before the loss; what the compaction took was not delivered.
	if lost < first-1 || lost >= rev || resumed < rev {
		t.Errorf("lost after %d, resumed after %d: want from %d (the first item's revision, less one) to below %d (the compaction's), and resumed from it on", lost, resumed, first-1, rev)
	}
	f.eventually("the overflow logged by the __EventDroppedEvent binding", func() bool {
		return len(lines(droppedLog)) == 1
	})
	if l := lines(droppedLog)[0]; !strings.Contains(l, `Name="slow"`) || !strings.HasSuffix(l, fmt.Sprintf("_%d_%d", lost, resumed)) {
		t.Errorf("dropped log line %q", l)
	}
	// The binding goes on: a new item reaches its consumer.
	f.item("after")
	f.eventually("delivery after the loss", func() bool {
		b, _ := os.ReadFile(filepath.Join(later, "slow.log"))
		return strings.Contains(string(b), "after")
	})
	if _, err := sub.ExecNotificationQuery(ctx, "WQL", "SELECT * FROM __EventQueueOverflowEvent WHERE Nope = 1", cimom.NotificationOptions{}); cim.StatusOf(err) != cim.EInvalidProperty {
		t.Errorf("a query on a property the class lacks: %v", err)
	}
}

// TestDMTFTimerIndications: a DMTF subscription (CIM-XML export) whose
// filter selects every __Event receives timer events with contiguous
// SequenceNumbers and distinct IndicationIdentifiers; its cursor's place
// in the change feed does not move for them, so an Item created
// afterwards is still delivered.
func TestDMTFTimerIndications(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	l := newTestListener(t)
	filter := f.create(cimom.IndicationFilterClass, "Name", "timers", "QueryLanguage", "WQL", "SourceNamespace", "root/cimv2",
		"Query", "SELECT * FROM __Event")
	dest := f.create(cimom.ListenerDestinationCIMXML, "Name", "timers", "Destination", l.url)
	f.create(cimom.IndicationSubscriptionClass, "Filter", filter, "Handler", dest, "OnFatalErrorPolicy", cimom.PolicyIgnore)
	cls, err := f.cimv2.GetObject(ctx, cimom.IntervalTimerClass, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := cls.SpawnInstance()
	f.set(o, "TimerId", "d1", "IntervalBetweenEvents", uint32(50))
	if _, err := f.cimv2.PutInstance(ctx, o, 0, nil); err != nil {
		t.Fatal(err)
	}
	got := func() []*cim.Object {
		l.mu.Lock()
		defer l.mu.Unlock()
		return slices.Clone(l.got)
	}
	f.eventually("three timer indications", func() bool {
		n := 0
		for _, ind := range got() {
			if ind.Class == cimom.TimerEventClass {
				n++
			}
		}
		return n >= 3
	})
	f.item("x")
	f.eventually("the Item's indication after the timer's", func() bool {
		for _, ind := range got() {
			if v, err := ind.Get("TargetInstance"); err == nil && !v.IsNull() && v.V.(*cim.Object).Class == "Item" {
				return true
			}
		}
		return false
	})
	ids := map[any]bool{}
	for i, ind := range got() {
		n, _ := ind.Get("SequenceNumber")
		id, _ := ind.Get("IndicationIdentifier")
		if n.V != int64(i) || ids[id.V] {
			t.Errorf("indication %d (%s): SequenceNumber %v, IndicationIdentifier %v (seen: %v)", i, ind.Class, n.V, id.V, ids[id.V])
		}
		ids[id.V] = true
		if ind.Class == cimom.TimerEventClass {
			if v, _ := ind.Get("TimerId"); v.V != "d1" {
				t.Errorf("indication %d: TimerId %v", i, v.V)
			}
		}
	}
}
