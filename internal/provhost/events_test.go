package provhost_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
	"github.com/wbemd/wbemd/provider"
)

// eventsSchema declares Test_Gadget, served by the event provider
// TestEvents, its extrinsic event Test_GadgetAlarm, and Test_Unlisted,
// which the provider serves but its EventQueryList does not name.
const eventsSchema = `#pragma namespace("root/cimv2")
[Dynamic, Provider("TestEvents")]
class Test_Gadget {
	[Key] string Name;
	uint32 Size;
	[Static] uint32 Raise([In] string Kind, [In] string Name, [In] uint32 Level);
	[Static] uint32 Queries([Out] string Queries[], [Out] uint32 Pid);
	[Static] uint32 Crash();
	[Static] uint32 Burst([In] uint32 Count);
};
[Dynamic, Provider("TestEvents")]
class Test_Unlisted { [Key] string Name; };
class Test_GadgetAlarm : __ExtrinsicEvent { string Name; uint32 Level; };
class Test_Quiet : __ExtrinsicEvent { string Name; };
class Test_GadgetTick : __ExtrinsicEvent { uint32 N; };
instance of __Win32Provider as $E {
	Name = "TestEvents";
	Command = "%[1]s";
	Environment = {"WBEMD_TEST_PROVIDER=events"};
};
instance of __InstanceProviderRegistration { provider = $E; SupportsGet = FALSE; };
instance of __MethodProviderRegistration { provider = $E; };
instance of __EventProviderRegistration {
	provider = $E;
	EventQueryList = {"SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Test_Gadget'",
		"SELECT * FROM Test_GadgetAlarm", "SELECT * FROM Test_GadgetTick"};
};
`

// eventsProvider is TestEvents: its Raise method raises the event Kind
// names (good ones and ones wbemd must drop), Queries answers the active
// event queries and the host's pid, and Crash ends the host. While a
// query of Test_GadgetTick is active it raises one every 50 ms (a source
// started by NewQuery and stopped by CancelQuery).
func eventsProvider() *provider.Provider {
	p := &provider.Provider{Name: "TestEvents"}
	var mu sync.Mutex
	tickers := map[uint64]chan struct{}{}
	p.Events = &provider.Events{
		NewQuery: func(q *provider.EventQuery) {
			if !strings.EqualFold(q.Query.Class, "Test_GadgetTick") {
				return
			}
			stop := make(chan struct{})
			mu.Lock()
			tickers[q.ID] = stop
			mu.Unlock()
			go func() {
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					case <-t.C:
						p.Raise(q.Namespace, provider.Instance{"__CLASS": "Test_GadgetTick", "N": n})
					}
				}
			}()
		},
		CancelQuery: func(q *provider.EventQuery) {
			mu.Lock()
			if stop := tickers[q.ID]; stop != nil {
				close(stop)
				delete(tickers, q.ID)
			}
			mu.Unlock()
		},
	}
	gadget := func(name string) provider.Instance {
		return provider.Instance{"__CLASS": "Test_Gadget", "Name": name, "Size": 1}
	}
	events := map[string]func(name string, level int64) provider.Instance{
		"create": func(n string, _ int64) provider.Instance { return provider.CreationEvent(gadget(n)) },
		"modify": func(n string, _ int64) provider.Instance {
			return provider.ModificationEvent(gadget(n), provider.Instance{"__CLASS": "Test_Gadget", "Name": n, "Size": 0})
		},
		"delete": func(n string, _ int64) provider.Instance { return provider.DeletionEvent(gadget(n)) },
		"alarm": func(n string, l int64) provider.Instance {
			return provider.Instance{"__CLASS": "Test_GadgetAlarm", "Name": n, "Level": l}
		},
		"unknown-class": func(string, int64) provider.Instance { return provider.Instance{"__CLASS": "No_Such_Event"} },
		"not-covered": func(n string, _ int64) provider.Instance {
			return provider.CreationEvent(provider.Instance{"__CLASS": "Test_Unlisted", "Name": n})
		},
		"not-listed": func(n string, _ int64) provider.Instance {
			return provider.Instance{"__CLASS": "Test_Quiet", "Name": n}
		},
		"no-target": func(string, int64) provider.Instance { return provider.Instance{"__CLASS": "__InstanceCreationEvent"} },
		"no-keys": func(string, int64) provider.Instance {
			return provider.CreationEvent(provider.Instance{"__CLASS": "Test_Gadget", "Size": 1})
		},
		"bad-type": func(n string, _ int64) provider.Instance {
			return provider.CreationEvent(provider.Instance{"__CLASS": "Test_Gadget", "Name": n, "Size": "big"})
		},
		"not-event": func(n string, _ int64) provider.Instance { return gadget(n) },
		"abstract":  func(string, int64) provider.Instance { return provider.Instance{"__CLASS": "__ExtrinsicEvent"} },
		"parent-class": func(n string, _ int64) provider.Instance {
			return provider.Instance{"__CLASS": "__InstanceOperationEvent", "TargetInstance": gadget(n)}
		},
	}
	p.Classes = map[string]*provider.Class{"Test_Gadget": {
		Enumerate: func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error { return nil },
		Methods: map[string]provider.Method{
			"Raise": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				make := events[r.In.String("Kind")]
				if make == nil {
					return nil, cim.Errorf(cim.EInvalidParameter, "no kind %s", r.In.String("Kind"))
				}
				level, _ := r.In.Int("Level")
				return provider.Instance{"ReturnValue": 0}, p.Raise(r.Namespace, make(r.In.String("Name"), level))
			},
			"Queries": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				qs := []string{}
				for _, q := range p.Queries() {
					qs = append(qs, fmt.Sprintf("%s %s: %s", q.Namespace, q.Query.Class, q.Text))
				}
				slices.Sort(qs)
				return provider.Instance{"ReturnValue": 0, "Queries": qs, "Pid": os.Getpid()}, nil
			},
			"Burst": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				n, _ := r.In.Int("Count")
				for i := range n {
					if err := p.Raise(r.Namespace, provider.Instance{"__CLASS": "Test_GadgetAlarm", "Name": "burst", "Level": i}); err != nil {
						return nil, err
					}
				}
				return provider.Instance{"ReturnValue": 0}, nil
			},
			"Crash": func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				os.Exit(3)
				return nil, nil
			},
		},
	}}
	return p
}

// logBuffer collects what a supervisor logs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	os.Stderr.Write(p)
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// subscriber is a running ExecNotificationQuery.
type subscriber struct {
	events chan cimom.Event
	errs   chan error
	cancel context.CancelFunc
}

func subscribe(t *testing.T, svc cimom.Services, query string) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	seq, err := svc.ExecNotificationQuery(ctx, "WQL", query, cimom.NotificationOptions{})
	if err != nil {
		cancel()
		t.Fatalf("ExecNotificationQuery %s: %v", query, err)
	}
	s := &subscriber{events: make(chan cimom.Event, 64), errs: make(chan error, 1), cancel: cancel}
	go func() {
		for ev, err := range seq {
			if err != nil {
				s.errs <- err
				return
			}
			s.events <- ev
		}
	}()
	t.Cleanup(cancel)
	return s
}

// next returns the next event, failing after 20 s.
func (s *subscriber) next(t *testing.T) cimom.Event {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case err := <-s.errs:
		t.Fatalf("the subscription ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20 s")
	}
	return cimom.Event{}
}

// none checks that no event arrives within d.
func (s *subscriber) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Fatalf("unexpected event %s %v", ev.Class, ev.Object())
	case err := <-s.errs:
		t.Fatalf("the subscription ended: %v", err)
	case <-time.After(d):
	}
}

// queries answers the provider's active queries and its host's pid.
func (h *harness) queries() ([]string, uint32) {
	h.t.Helper()
	out, err := h.call("Test_Gadget", "Queries")
	if err != nil {
		h.t.Fatalf("Queries: %v", err)
	}
	q, _ := out.Get("Queries")
	pid, _ := out.Get("Pid")
	qs, _ := q.V.([]string)
	return qs, pid.V.(uint32)
}

// waitQueries waits until the provider's active queries are want.
func (h *harness) waitQueries(want ...string) uint32 {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, pid := h.queries()
		if slices.Equal(got, want) {
			return pid
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("active queries %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) raise(kind, name string, level uint32) {
	h.t.Helper()
	var args *cim.Object = &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass, Properties: []cim.Property{
		{Name: "Kind", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: kind}},
		{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: name}},
		{Name: "Level", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: level}},
	}}
	if _, err := h.svc.ExecMethod(context.Background(), "Test_Gadget", "Raise", args, 0, nil); err != nil {
		h.t.Fatalf("Raise %s: %v", kind, err)
	}
}

// TestEventProvider: a real provider process registered with an
// __EventProviderRegistration feeds subscriptions without WITHIN, with
// intrinsic and extrinsic events; it is told which queries are active and
// when they end; events that do not fit are logged precisely and dropped;
// a crash of its host ends no subscription (the host starts again and is
// told the active queries again).
func TestEventProvider(t *testing.T) {
	logs := &logBuffer{}
	h := newHarness(t, provhost.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		StableAfter: time.Millisecond}, testSchema, eventsSchema)
	const (
		created = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Test_Gadget'"
		alarms  = "SELECT * FROM Test_GadgetAlarm WHERE Level > 2"
	)
	ctx := context.Background()

	// Queries the registration does not cover keep their errors.
	for _, c := range []struct {
		query string
		want  cim.Status
	}{
		{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Test_Unlisted'", cim.EssRegistrationTooPrecise},
		{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Test_Item'", cim.EssRegistrationTooPrecise},
		{"SELECT * FROM Test_Quiet", cim.EInvalidClass},
	} {
		if err := h.svc.ValidateEventQuery(ctx, "WQL", c.query); cim.StatusOf(err) != c.want {
			t.Errorf("%s: %v, want %v", c.query, err, c.want)
		}
	}

	// No WITHIN: the provider raises them.
	sub := subscribe(t, h.svc, created)
	pid := h.waitQueries("root/cimv2 __InstanceCreationEvent: " + created)
	h.raise("create", "g1", 0)
	ev := sub.next(t)
	if name, _ := ev.Target.Get("Name"); ev.Class != "__InstanceCreationEvent" || name.V != "g1" || ev.Provider != "TestEvents" || ev.Target.Namespace != "root/cimv2" {
		t.Fatalf("event %s %v from %q", ev.Class, ev.Object(), ev.Provider)
	}
	if !ev.Target.IsA("Test_Gadget") || ev.Rev == 0 || ev.ID() != fmt.Sprint(ev.Rev) {
		t.Errorf("event target %s, rev %d, id %s", ev.Target.Class, ev.Rev, ev.ID())
	}
	// A modification is not a creation: the query filters it out.
	h.raise("modify", "g1", 0)

	// Events that do not fit are dropped, each with its reason logged.
	bad := map[string]string{
		"unknown-class": "class No_Such_Event does not exist",
		"not-covered":   "__InstanceCreationEvent of Test_Unlisted: the provider's EventQueryList does not cover it",
		"not-listed":    "Test_Quiet: the provider's EventQueryList does not cover it",
		"no-target":     "__InstanceCreationEvent has no TargetInstance",
		"no-keys":       "TargetInstance (Test_Gadget) has no complete keys",
		"bad-type":      "a JSON string cannot be a uint32 value",
		"not-event":     "Test_Gadget is not an event class a provider raises",
		"abstract":      "class __ExtrinsicEvent is abstract",
		"parent-class":  "class __InstanceOperationEvent is abstract",
	}
	for kind := range bad {
		h.raise(kind, "bad", 0)
	}
	h.raise("create", "g2", 0)
	ev = sub.next(t)
	if name, _ := ev.Target.Get("Name"); name.V != "g2" {
		t.Fatalf("after the bad events: %s %v", ev.Class, ev.Object())
	}
	for kind, want := range bad {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("%s: the log lacks %q", kind, want)
		}
	}
	if n := strings.Count(logs.String(), "provider event dropped"); n != len(bad) {
		t.Errorf("%d events logged as dropped, want %d:\n%s", n, len(bad), logs.String())
	}

	// An extrinsic event class of the provider is subscribable, and the
	// query's WHERE applies.
	alarm := subscribe(t, h.svc, alarms)
	h.waitQueries("root/cimv2 Test_GadgetAlarm: "+alarms, "root/cimv2 __InstanceCreationEvent: "+created)
	h.raise("alarm", "low", 1)
	h.raise("alarm", "high", 5)
	ev = alarm.next(t)
	o := ev.Object()
	if name, _ := o.Get("Name"); ev.Class != "Test_GadgetAlarm" || name.V != "high" || !o.IsA("__ExtrinsicEvent") {
		t.Fatalf("alarm %s %v", ev.Class, o)
	}
	if tc, _ := o.Get("TIME_CREATED"); tc.IsNull() {
		t.Errorf("alarm without TIME_CREATED: %v", o)
	}
	if rev, _ := o.Get(cimom.RevisionProperty); rev.V != ev.Rev {
		t.Errorf("alarm Revision %v, event Rev %d", rev.V, ev.Rev)
	}
	sub.none(t, 200*time.Millisecond) // the alarms are not creations

	// Cancelling a subscription tells the provider.
	alarm.cancel()
	h.waitQueries("root/cimv2 __InstanceCreationEvent: " + created)

	// A crash of the host ends no subscription: the host starts again,
	// is told the active query, and its events arrive.
	if _, err := h.call("Test_Gadget", "Crash"); cim.StatusOf(err) != cim.EProviderFailure {
		t.Fatalf("Crash: %v", err)
	}
	newPid := h.waitQueries("root/cimv2 __InstanceCreationEvent: " + created)
	if newPid == pid {
		t.Fatalf("the host did not restart (pid %d)", pid)
	}
	h.raise("create", "g3", 0)
	ev = sub.next(t)
	if name, _ := ev.Target.Get("Name"); name.V != "g3" {
		t.Fatalf("after the crash: %s %v", ev.Class, ev.Object())
	}
	// Other providers were not disturbed.
	if _, err := h.call("Test_Item", "Echo", "Text", "still here"); err != nil {
		t.Errorf("another provider after the crash: %v", err)
	}
	sub.cancel()
	h.waitQueries()
}

// TestEventProviderRegistration: an __EventProviderRegistration is
// checked when written: a malformed EventQueryList is
// WBEM_E_INVALID_PROVIDER_REGISTRATION naming the property, and nothing
// is written.
func TestEventProviderRegistration(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema, eventsSchema)
	ctx := context.Background()
	cls, err := h.svc.GetObject(ctx, "__EventProviderRegistration", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		list []string
		want string
	}{
		{nil, "is empty"},
		{[]string{"SELECT * FROM"}, "EventQueryList[0]"},
		{[]string{"SELECT * FROM __InstanceCreationEvent"}, "TargetInstance ISA"},
		{[]string{"SELECT * FROM __ClassCreationEvent"}, "not __ClassCreationEvent"},
		{[]string{"SELECT * FROM __ExtrinsicEvent"}, "not __ExtrinsicEvent itself"},
		{[]string{"SELECT * FROM __TimerEvent"}, "not __TimerEvent"}, // wbemd's own
		{[]string{"SELECT * FROM __EventQueueOverflowEvent"}, "not __EventQueueOverflowEvent"},
		{[]string{"SELECT * FROM Test_Nothing"}, "class Test_Nothing does not exist"},
		{[]string{"SELECT * FROM Test_Repo"}, "not an event"},
		{[]string{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Test_Nothing'"}, "class Test_Nothing does not exist"},
		{[]string{"SELECT * FROM Test_GadgetAlarm GROUP WITHIN 5"}, "GROUP WITHIN"},
	} {
		inst, _ := cls.SpawnInstance()
		inst.Put("provider", cim.Value{Type: cim.TypeReference, V: `__Win32Provider.Name="TestItems"`})
		v := cim.Null(cim.TypeString.ArrayOf())
		if c.list != nil {
			v = cim.Value{Type: cim.TypeString.ArrayOf(), V: c.list}
		}
		inst.Put("EventQueryList", v)
		_, err := h.svc.PutInstance(ctx, inst, 0, nil)
		e := cim.AsError(err)
		if e == nil || e.Status != cim.EInvalidProviderRegistration || !strings.Contains(e.Description, c.want) || e.Parameter != "EventQueryList" {
			t.Errorf("%q: %v, want INVALID_PROVIDER_REGISTRATION with %q", c.list, err, c.want)
		}
	}
	if _, err := h.svc.GetObject(ctx, `__EventProviderRegistration.provider="__Win32Provider.Name=\"TestItems\""`, 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("a refused registration was written: %v", err)
	}
}

// TestProviderEventRights: a subscriber to provider events needs
// WBEM_RIGHT_SUBSCRIBE and the read right (WBEM_ENABLE) on the namespace
// for every event: losing the read right ends the stream with
// WBEM_E_ACCESS_DENIED at the next event.
func TestProviderEventRights(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema, eventsSchema)
	ctx := context.Background()
	setDave := func(mask cimom.Rights) {
		t.Helper()
		sd := &cimom.SecurityDescriptor{Owner: cimom.GroupAdministrators, Group: cimom.GroupAdministrators, Protected: true, DACL: []cimom.ACE{
			{Trustee: cimom.GroupAdministrators, Mask: cimom.RightEnable | cimom.RightSubscribe | cimom.RightMethodExecute | cimom.RightFullWrite | cimom.RightPartialWrite | cimom.RightWriteProvider | cimom.RightWriteDAC | cimom.RightReadControl, Flags: cimom.ACEContainerInherit},
			{Trustee: "dave", Mask: mask},
		}}
		if err := h.svc.SetSD(ctx, sd); err != nil {
			t.Fatal(err)
		}
	}
	setDave(cimom.RightEnable)
	dave, err := h.om.Connect(ctx, "root/cimv2", cimom.Principal{Name: "dave"})
	if err != nil {
		t.Fatal(err)
	}
	const created = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Test_Gadget'"
	if _, err := dave.ExecNotificationQuery(ctx, "WQL", created, cimom.NotificationOptions{}); cim.StatusOf(err) != cim.EAccessDenied {
		t.Fatalf("without WBEM_RIGHT_SUBSCRIBE: %v, want WBEM_E_ACCESS_DENIED", err)
	}
	setDave(cimom.RightEnable | cimom.RightSubscribe)
	sub := subscribe(t, dave, created)
	h.waitQueries("root/cimv2 __InstanceCreationEvent: " + created)
	h.raise("create", "seen", 0)
	if ev := sub.next(t); ev.Target == nil {
		t.Fatalf("event %+v", ev)
	}
	setDave(cimom.RightSubscribe) // may no longer read the namespace
	h.raise("create", "hidden", 0)
	select {
	case ev := <-sub.events:
		t.Fatalf("dave got %v after losing the read right", ev.Object())
	case err := <-sub.errs:
		if cim.StatusOf(err) != cim.EAccessDenied {
			t.Fatalf("the stream ended with %v, want WBEM_E_ACCESS_DENIED", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stream did not end")
	}
	h.waitQueries() // its end cancelled the query at the provider
}

// setEnabled writes __Win32Provider.Enabled of TestEvents.
func (h *harness) setEnabled(enabled bool) {
	h.t.Helper()
	ctx := context.Background()
	reg, err := h.svc.GetObject(ctx, `__Win32Provider.Name="TestEvents"`, 0, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	reg.Put("Enabled", cim.Value{Type: cim.TypeBoolean, V: enabled})
	if _, err := h.svc.PutInstance(ctx, reg, cimom.FlagUpdateOnly, nil); err != nil {
		h.t.Fatal(err)
	}
}

// drain reads the events that arrive within d and returns how many.
func (s *subscriber) drain(t *testing.T, d time.Duration) int {
	t.Helper()
	n := 0
	timeout := time.After(d)
	for {
		select {
		case <-s.events:
			n++
		case err := <-s.errs:
			t.Fatalf("the subscription ended: %v", err)
		case <-timeout:
			return n
		}
	}
}

// TestEventProviderDisabled: the events of a disabled provider are
// dropped and its subscriptions stay open; enabling it again (after an
// administrator disabled it, or after crashes disabled its host) makes
// its events flow to them again, the host started again by itself.
func TestEventProviderDisabled(t *testing.T) {
	logs := &logBuffer{}
	h := newHarness(t, provhost.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		CrashLimit: 1}, testSchema, eventsSchema)
	sub := subscribe(t, h.svc, "SELECT * FROM Test_GadgetTick")
	if ev := sub.next(t); ev.Class != "Test_GadgetTick" {
		t.Fatalf("event %s", ev.Class)
	}
	// An administrator disables it: its events are dropped.
	h.setEnabled(false)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "the provider is disabled") {
		if time.Now().After(deadline) {
			t.Fatalf("no event dropped as disabled:\n%s", logs.String())
		}
		sub.drain(t, 100*time.Millisecond)
	}
	sub.drain(t, 200*time.Millisecond)
	sub.none(t, 500*time.Millisecond)
	h.setEnabled(true)
	sub.next(t)

	// Crashes disable its host (CrashLimit 1): no host, no events; the
	// subscription stays open. Enabled again, the host starts by itself.
	if _, err := h.call("Test_Gadget", "Crash"); cim.StatusOf(err) != cim.EProviderFailure {
		t.Fatalf("Crash: %v", err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		st := ""
		for _, s := range h.sup.Statuses() {
			if s.Name == "TestEvents" {
				st = s.State
			}
		}
		if st == "disabled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host's state is %q, want disabled", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for { // wbemd records it: Enabled is FALSE
		reg, err := h.svc.GetObject(context.Background(), `__Win32Provider.Name="TestEvents"`, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := reg.Get("Enabled"); v.V == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the disabled host's registration still says Enabled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sub.drain(t, 200*time.Millisecond)
	sub.none(t, 500*time.Millisecond)
	h.setEnabled(true) // as wbem provider enable
	if ev := sub.next(t); ev.Class != "Test_GadgetTick" {
		t.Fatalf("event %s", ev.Class)
	}
	sub.cancel()
	h.waitQueries()
}

// TestEventProviderNotIdle: a host whose provider has an active event
// query is not stopped after ClearAfter without calls; once the query
// ends, it is.
func TestEventProviderNotIdle(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema, eventsSchema)
	h.rootPut(cimom.ObjectProviderCacheControlClass, "ClearAfter", interval(300*time.Millisecond))
	sub := subscribe(t, h.svc, "SELECT * FROM Test_GadgetTick")
	sub.next(t)
	pidOf := func() int {
		for _, s := range h.sup.Statuses() {
			if s.Name == "TestEvents" {
				return s.PID
			}
		}
		return 0
	}
	pid := pidOf()
	if n := sub.drain(t, 2*time.Second); n == 0 || pidOf() != pid || pid == 0 {
		t.Fatalf("after 2 s without calls: %d events, host %d then %d", n, pid, pidOf())
	}
	sub.cancel()
	waitGone(t, uint32(pid))
}

// BenchmarkProviderEvents: events a provider raises (Test_GadgetAlarm,
// as fast as Raise takes them) through the wire, wbemd's check and an
// ExecNotificationQuery with a WHERE on the event, to its consumer.
func BenchmarkProviderEvents(b *testing.B) {
	h := newHarness(b, provhost.Options{Logger: slog.New(slog.DiscardHandler)}, testSchema, eventsSchema)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const query = "SELECT * FROM Test_GadgetAlarm WHERE Level >= 0"
	seq, err := h.svc.ExecNotificationQuery(ctx, "WQL", query, cimom.NotificationOptions{})
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		n := 0
		close(started)
		for ev, err := range seq {
			if err != nil {
				got <- err
				return
			}
			if ev.Class == "Test_GadgetAlarm" {
				if n++; n == b.N {
					got <- nil
					return
				}
			}
		}
	}()
	<-started
	for deadline := time.Now().Add(20 * time.Second); ; {
		out, err := h.call("Test_Gadget", "Queries")
		if err != nil {
			b.Fatal(err)
		}
		if q, _ := out.Get("Queries"); len(q.V.([]string)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the query did not reach the provider")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := h.call("Test_Gadget", "Burst", "Count", uint32(b.N)); err != nil {
		b.Fatal(err)
	}
	if err := <-got; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// TestProviderEventOverflow: a subscriber that stops reading holds the
// provider back for at most a second, then ends with
// WBEM_E_QUEUE_OVERFLOW; another subscriber reading the same events gets
// every one, in order.
func TestProviderEventOverflow(t *testing.T) {
	h := newHarness(t, provhost.Options{}, testSchema, eventsSchema)
	const query = "SELECT * FROM Test_GadgetAlarm"
	stuck := subscribe(t, h.svc, query)
	reader := subscribe(t, h.svc, query+" WHERE Level >= 0")
	h.waitQueries("root/cimv2 Test_GadgetAlarm: "+query, "root/cimv2 Test_GadgetAlarm: "+query+" WHERE Level >= 0")
	const n = 5000
	burst := make(chan error, 1)
	go func() {
		_, err := h.svc.ExecMethod(context.Background(), "Test_Gadget", "Burst", &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass,
			Properties: []cim.Property{{Name: "Count", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(n)}}}}, 0, nil)
		burst <- err
	}()
	for i := range n {
		ev := reader.next(t)
		if level, _ := ev.Extrinsic.Get("Level"); level.V != uint32(i) {
			t.Fatalf("event %d has Level %v", i, level.V)
		}
	}
	if err := <-burst; err != nil {
		t.Fatalf("Burst: %v", err)
	}
	got := 0
	for {
		select {
		case <-stuck.events:
			got++
			continue
		case err := <-stuck.errs:
			if cim.StatusOf(err) != cim.EQueueOverflow || got >= n {
				t.Fatalf("the stuck subscriber: %v after %d events", err, got)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("the stuck subscriber did not end (%d events)", got)
		}
		break
	}
}
