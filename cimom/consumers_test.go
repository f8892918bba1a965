package cimom

import (
	"context"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestWMISubscriptionModel: __EventFilter, the standard consumers and
// __FilterToConsumerBinding are checked when they are written (a bad one
// stores nothing), only administrators create consumers and bindings,
// and ConsumerBindings reads a binding with its filter, consumer and
// creator.
func TestWMISubscriptionModel(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	if err := r.c.ServeInterop(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	sub := mustConnect(t, r.c, SubscriptionNamespace, admin)
	spawn := func(class string, kv ...any) *cim.Object {
		t.Helper()
		cls, err := sub.GetObject(ctx, class, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := cls.SpawnInstance()
		for i := 0; i < len(kv); i += 2 {
			p, ok := o.Property(kv[i].(string))
			if !ok {
				t.Fatalf("%s has no %s", class, kv[i])
			}
			v, err := cim.NewValue(p.Type, kv[i+1])
			if err != nil {
				t.Fatal(err)
			}
			p.Value = v
		}
		return o
	}
	refuse := func(svc Services, o *cim.Object, want cim.Status, param string) {
		t.Helper()
		before := r.snapshot()
		_, err := svc.PutInstance(ctx, o, 0, nil)
		wantStatus(t, err, want)
		if e := cim.AsError(err); param != "" && e.Parameter != param {
			t.Errorf("%s: parameter %q, want %q (%v)", o.Class, e.Parameter, param, err)
		}
		if !sameSnapshot(before, r.snapshot()) {
			t.Errorf("a refused %s changed the store", o.Class)
		}
	}
	refuse(sub, spawn(EventFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent WHERE", "EventNamespace", "root/cimv2"), cim.EInvalidQuery, "Query")
	refuse(sub, spawn(EventFilterClass, "Name", "f", "Query", "SELECT * FROM Item", "EventNamespace", "root/cimv2"), cim.ENotEventClass, "Query")
	refuse(sub, spawn(EventFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent", "QueryLanguage", "DMTF:CQL"), cim.EInvalidQueryType, "QueryLanguage")
	refuse(sub, spawn(EventFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent", "EventNamespace", "root/nowhere"), cim.EInvalidNamespace, "EventNamespace")
	refuse(sub, spawn(LogFileConsumerClass, "Name", "l", "Filename", "relative.log"), cim.EInvalidParameter, "Filename")
	refuse(sub, spawn(CommandConsumerClass, "Name", "c"), cim.EInvalidParameter, "CommandLineTemplate")

	fpath, err := sub.PutInstance(ctx, spawn(EventFilterClass, "Name", "f", "EventNamespace", "root/cimv2",
		"Query", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'"), FlagCreateOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	refuse(sub, spawn(BindingClass, "Filter", fpath, "Consumer", `LogFileEventConsumer.Name="missing"`), cim.EInvalidParameter, "Consumer")
	refuse(sub, spawn(BindingClass, "Filter", `__EventFilter.Name="missing"`, "Consumer", `LogFileEventConsumer.Name="missing"`), cim.EInvalidParameter, "Filter")
	lpath, err := sub.PutInstance(ctx, spawn(LogFileConsumerClass, "Name", "l", "Filename", "/tmp/wbemd-test.log", "Text", "%TargetInstance.Name%"), FlagCreateOnly, nil)
	if err != nil {
		t.Fatal(err)
	}

	// alice may write root/subscription, but is no administrator.
	sd, err := sub.GetSD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sd.DACL = append(sd.DACL, ACE{Trustee: "alice", Mask: RightEnable | RightFullWrite | RightPartialWrite | RightWriteProvider | RightSubscribe})
	if err := sub.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}
	alice := mustConnect(t, r.c, SubscriptionNamespace, Principal{Name: "alice"})
	refuse(alice, spawn(CommandConsumerClass, "Name", "c", "CommandLineTemplate", "/bin/true"), cim.EAccessDenied, "")
	refuse(alice, spawn(BindingClass, "Filter", fpath, "Consumer", lpath), cim.EAccessDenied, "")

	if _, err := sub.PutInstance(ctx, spawn(BindingClass, "Filter", fpath, "Consumer", lpath), FlagCreateOnly, nil); err != nil {
		t.Fatal(err)
	}
	bindings, err := r.c.ConsumerBindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bindings) != 1 {
		t.Fatalf("%d bindings, want 1", len(bindings))
	}
	b := bindings[0]
	if b.State != StateEnabled || b.Filter.SourceNamespace != "root/cimv2" || b.Filter.QueryLanguage != "WQL" ||
		b.Consumer == nil || !b.Consumer.IsA(LogFileConsumerClass) || b.Creator.Name != admin.Name || b.Namespace != SubscriptionNamespace || b.Created == 0 {
		t.Errorf("binding %+v", b)
	}
	// The system classes are in every namespace, as in WMI.
	cimv2 := mustConnect(t, r.c, "root/cimv2", admin)
	for _, class := range []string{EventFilterClass, EventConsumerClass, BindingClass} {
		if _, err := cimv2.GetObject(ctx, class, 0, nil); err != nil {
			t.Errorf("%s in root/cimv2: %v", class, err)
		}
	}
}
