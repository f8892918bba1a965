package cimom

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// TestEventQueryErrors: each of MS-WMI's errors for an event query, with
// the position of the offending clause.
func TestEventQueryErrors(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx := context.Background()
	cases := []struct{ lang, q, want string }{
		{"WQL", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'", ""},
		{"WQL", "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA 'Item' AND SourceInstance.Size > 2", ""},
		{"WQL", "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Dyn'", ""},
		{"XQL", "SELECT * FROM __InstanceCreationEvent", "WBEM_E_INVALID_QUERY_TYPE"},
		{"DMTF:CQL", "SELECT * FROM CIM_InstCreation WITHIN 5", "WBEM_E_INVALID_QUERY 1:32"},
		{"WQL", "SELECT * FROM Item", "WBEM_E_NOT_EVENT_CLASS 1:15"},
		{"WQL", "SELECT * FROM __InstanceCreationEvent GROUP BY TargetInstance.Id", "WBEM_E_MISSING_GROUP_WITHIN 1:45"},
		{"WQL", "SELECT * FROM __InstanceCreationEvent WITHIN 0.5 WHERE TargetInstance ISA 'Item'", "WBEMESS_E_REGISTRATION_TOO_PRECISE 1:1"},
		{"WQL", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Dyn'", "WBEMESS_E_REGISTRATION_TOO_PRECISE 1:45"},
		{"WQL", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Nope'", "WBEM_E_INVALID_CLASS 1:45"},
		{"WQL", "SELECT * FROM Nope_Event", "WBEM_E_INVALID_CLASS 1:15"},
		{"WQL", "SELECT * FROM __TimerEvent WHERE TimerId = 't'", ""},
		{"WQL", "SELECT * FROM __EventDroppedEvent", ""},
		{"WQL", "SELECT * FROM __TimerEvent WHERE TargetInstance ISA 'Item'", "WBEM_E_INVALID_PROPERTY 1:34"},
		{"WQL", "SELECT * FROM __ExtrinsicEvent WHERE IntendedConsumer = 'x'", "WBEM_E_INVALID_PROPERTY 1:38"},
		{"WQL", "SELECT * FROM __AggregateEvent", "WBEM_E_NOT_EVENT_CLASS 1:15"},
		{"WQL", "SELECT * FROM __Event WHERE TargetInstance ISA 'Item'", "WBEM_E_INVALID_PROPERTY 1:29"},
		{"WQL", "SELECT * FROM __InstanceCreationEvent WHERE", "WBEM_E_INVALID_QUERY 1:44"},
		{"WQL", "SELECT * FROM __InstanceCreationEvent WHERE Nope = 1", "WBEM_E_INVALID_PROPERTY 1:45"},
	}
	for _, c := range cases {
		err := r.svc.ValidateEventQuery(ctx, c.lang, c.q)
		got := ""
		if err != nil {
			ce := cim.AsError(err)
			got = ce.Status.String()
			if at, _, ok := strings.Cut(ce.Description, ": "); ok && strings.Contains(at, ":") && !strings.Contains(at, " ") {
				got += " " + at
			}
		}
		if got != c.want {
			t.Errorf("ValidateEventQuery(%s, %q) = %q (%v), want %q", c.lang, c.q, got, err, c.want)
		}
		if _, err2 := r.svc.ExecNotificationQuery(ctx, c.lang, c.q, NotificationOptions{}); c.want != "" && cim.StatusOf(err2) != cim.StatusOf(err) {
			t.Errorf("ExecNotificationQuery(%q): %v, ValidateEventQuery: %v", c.q, err2, err)
		}
	}
	// A principal who may read but not subscribe is denied.
	rootSvc := mustConnect(t, r.c, "root/cimv2", admin)
	sd, err := rootSvc.GetSD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	withBob := *sd
	withBob.DACL = append([]ACE{{Trustee: "bob", Mask: RightEnable}}, sd.DACL...)
	if err := rootSvc.SetSD(ctx, &withBob); err != nil {
		t.Fatal(err)
	}
	bob := mustConnect(t, r.c, "root/cimv2", Principal{Name: "bob"})
	if err := bob.ValidateEventQuery(ctx, "WQL", cases[0].q); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("bob without WBEM_RIGHT_SUBSCRIBE: %v, want WBEM_E_ACCESS_DENIED", err)
	}
	if _, err := bob.ExecNotificationQuery(ctx, "WQL", cases[0].q, NotificationOptions{}); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("bob without WBEM_RIGHT_SUBSCRIBE: %v, want WBEM_E_ACCESS_DENIED", err)
	}
}

// TestEventQueryFeed: an event query selects the feed's events by class
// and WHERE (on TargetInstance and PreviousInstance), renames them for
// DMTF's classes, and groups them.
func TestEventQueryFeed(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := storeRev(t, r.db)
	lang := "WQL"
	next := func(q string) Event {
		t.Helper()
		seq, err := r.svc.ExecNotificationQuery(ctx, lang, q, NotificationOptions{From: start})
		if err != nil {
			t.Fatal(err)
		}
		for ev, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		t.Fatal("no event")
		return Event{}
	}
	r.put(r.inst("Item", "Id", "a", "Size", 1), 0)
	r.put(r.inst("Item", "Id", "b", "Size", 5), 0)
	r.put(r.inst("Item", "Id", "a", "Size", 7), 0)
	ev := next("SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item' AND TargetInstance.Size > 2")
	if ev.Class != "__InstanceCreationEvent" || ev.Target.Class != "Item" {
		t.Fatalf("event %+v", ev)
	}
	if v, _ := ev.Target.Get("Id"); v.V != "b" {
		t.Fatalf("first creation with Size > 2 is %v, want b", v.V)
	}
	ev = next("SELECT * FROM CIM_InstModification WHERE SourceInstance ISA 'Item' AND PreviousInstance.Size = 1")
	o := ev.Object()
	if ev.Class != "CIM_InstModification" || o.Class != "CIM_InstModification" {
		t.Fatalf("event class %s, object %s", ev.Class, o.Class)
	}
	src, _ := o.Get("SourceInstance")
	if s, _ := src.V.(*cim.Object).Get("Size"); s.V != uint32(7) {
		t.Fatalf("SourceInstance.Size = %v", s.V)
	}
	if rv, _ := o.Get(RevisionProperty); rv.V != ev.Rev {
		t.Fatalf("Revision %v, event Rev %d", rv.V, ev.Rev)
	}
	if !o.IsA("CIM_Indication") {
		t.Fatalf("derivation %v", o.Derivation)
	}
	ev = next("SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Item' GROUP WITHIN 1 BY TargetInstance.Id HAVING NumberOfEvents > 1")
	if ev.Class != "__AggregateEvent" || ev.NumberOfEvents != 2 || ev.Representative == nil {
		t.Fatalf("aggregate %+v", ev)
	}
	if id, _ := ev.Representative.Target.Get("Id"); id.V != "a" {
		t.Fatalf("group of %v", id.V)
	}
	// An indication filter in DMTF CQL (DSP0202): the same tree, the same
	// matching.
	lang = "DMTF:CQL"
	ev = next("SELECT * FROM CIM_InstCreation c WHERE c.SourceInstance ISA Item AND c.SourceInstance.Size > 2")
	if src, _ := ev.Object().Get("SourceInstance"); ev.Class != "CIM_InstCreation" || src.V.(*cim.Object).Class != "Item" {
		t.Fatalf("CQL event %+v", ev)
	} else if id, _ := src.V.(*cim.Object).Get("Id"); id.V != "b" {
		t.Fatalf("first CQL creation with Size > 2 is %v, want b", id.V)
	}
}

// FuzzResumeAfter: any text is a resume point or WBEM_E_INVALID_PARAMETER;
// an event's ID reads back to a subscription from before its revision
// that sees it as delivered, and the next event of its revision as new.
func FuzzResumeAfter(f *testing.F) {
	for _, s := range []string{"12", "12.3", "0", "x", "1.", ".1", "-1", "9223372036854775807.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		from, seen, err := ResumeAfter(id)
		if err != nil {
			if cim.StatusOf(err) != cim.EInvalidParameter {
				t.Fatalf("%q: %v", id, err)
			}
			return
		}
		if from < 0 {
			t.Fatalf("%q: from %d", id, from)
		}
		ev := Event{Rev: from + 1, Index: 0}
		if strings.Contains(id, ".") {
			back, _, _ := ResumeAfter(ev.ID())
			if back != from {
				t.Fatalf("%q: %s reads back as from %d, not %d", id, ev.ID(), back, from)
			}
		} else if seen(&ev) {
			t.Fatalf("%q: an event after the revision is seen", id)
		}
	})
}
