package cimom

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// TestIndicationModel: filters, destinations and subscriptions are checked
// when they are written (a bad one stores nothing), a subscription records
// its creator, and its events are those of its filter that the creator
// may read.
func TestIndicationModel(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	if err := r.c.ServeInterop(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	interop := mustConnect(t, r.c, InteropNamespace, admin)
	spawn := func(class string, kv ...any) *cim.Object {
		t.Helper()
		cls, err := interop.GetObject(ctx, class, 0, nil)
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
	refuse := func(o *cim.Object, want cim.Status, param string) {
		t.Helper()
		before := r.snapshot()
		_, err := interop.PutInstance(ctx, o, 0, nil)
		wantStatus(t, err, want)
		if e := cim.AsError(err); param != "" && e.Parameter != param {
			t.Errorf("%s: parameter %q, want %q (%v)", o.Class, e.Parameter, param, err)
		}
		if !sameSnapshot(before, r.snapshot()) {
			t.Errorf("a refused %s changed the store", o.Class)
		}
	}
	refuse(spawn(IndicationFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent WHERE", "QueryLanguage", "WQL"), cim.EInvalidQuery, "Query")
	refuse(spawn(IndicationFilterClass, "Name", "f", "Query", "SELECT * FROM Item", "QueryLanguage", "WQL", "SourceNamespace", "root/cimv2"), cim.ENotEventClass, "Query")
	refuse(spawn(IndicationFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent", "QueryLanguage", "XPath"), cim.EInvalidQueryType, "QueryLanguage")
	refuse(spawn(IndicationFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent", "QueryLanguage", "WQL", "SourceNamespace", "root/nowhere"), cim.EInvalidNamespace, "SourceNamespace")
	refuse(spawn(ListenerDestinationCIMXML, "Name", "d", "Destination", "ftp://x/"), cim.EInvalidParameter, "Destination")
	refuse(spawn(ListenerDestinationCIMXML, "Name", "d"), cim.EInvalidParameter, "Destination")

	filter := spawn(IndicationFilterClass, "Name", "f", "Query", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'",
		"QueryLanguage", "WQL", "SourceNamespace", "root/cimv2")
	fpath, err := interop.PutInstance(ctx, filter, FlagCreateOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A DMTF filter: DMTF's lifecycle indications, in the CQL that WQL holds.
	if _, err := interop.PutInstance(ctx, spawn(IndicationFilterClass, "Name", "cql", "Query", "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA 'Item'",
		"QueryLanguage", "DMTF:CQL", "SourceNamespace", "root/cimv2"), FlagCreateOnly, nil); err != nil {
		t.Errorf("a DMTF:CQL filter: %v", err)
	}
	dpath, err := interop.PutInstance(ctx, spawn(ListenerDestinationCIMXML, "Name", "d", "Destination", "http://127.0.0.1:1/"), FlagCreateOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The deprecated handler class is a destination too.
	if _, err := interop.PutInstance(ctx, spawn("CIM_IndicationHandlerCIMXML", "Name", "old", "Destination", "https://127.0.0.1:2/"), FlagCreateOnly, nil); err != nil {
		t.Errorf("CIM_IndicationHandlerCIMXML: %v", err)
	}
	refuse(spawn("CIM_IndicationHandlerCIMXML", "Name", "old2", "Destination", "mailto:x"), cim.EInvalidParameter, "Destination")
	sub := func(f, d string) *cim.Object {
		o := spawn(IndicationSubscriptionClass)
		o.Put("Filter", cim.Value{Type: cim.TypeReference, V: f})
		o.Put("Handler", cim.Value{Type: cim.TypeReference, V: d})
		return o
	}
	refuse(sub(fpath, `CIM_ListenerDestinationCIMXML.CreationClassName="CIM_ListenerDestinationCIMXML",Name="nope",SystemCreationClassName="CIM_ComputerSystem",SystemName="x"`), cim.EInvalidParameter, "Handler")
	bad := sub(fpath, dpath)
	bad.Put("OnFatalErrorPolicy", cim.Value{Type: cim.TypeUint16, V: uint16(9)})
	refuse(bad, cim.EInvalidParameter, "OnFatalErrorPolicy")

	spath, err := interop.PutInstance(ctx, sub(fpath, dpath), FlagCreateOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	subs, svc, err := r.c.IndicationSubscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].Path != spath || subs[0].Creator.Name != admin.Name || subs[0].Destination != "http://127.0.0.1:1/" ||
		subs[0].Policy != PolicyIgnore || subs[0].State != StateEnabled || subs[0].Created == 0 || subs[0].Filter.SourceNamespace != "root/cimv2" {
		t.Fatalf("subscriptions %+v", subs)
	}
	if svc.DeliveryRetryAttempts != DefaultDeliveryRetryAttempts || svc.DeliveryRetryInterval != DefaultDeliveryRetryInterval {
		t.Errorf("service %+v", svc)
	}

	// The events: an Item's creation, not a Counter's, nor the Item's change.
	r.put(r.inst("Item", "Id", "a"), 0)
	r.put(r.inst("Counter", "N", 1), 0)
	r.put(r.inst("Item", "Id", "a", "Size", 2), 0)
	r.put(r.inst("Item", "Id", "b"), 0)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	events, err := r.c.IndicationEvents(cctx, &subs[0], subs[0].Created, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for e, err := range events {
		if err != nil {
			t.Fatal(err)
		}
		v, _ := e.Target.Get("Id")
		got = append(got, e.Class+":"+v.V.(string))
		if len(got) == 2 {
			break
		}
	}
	if len(got) != 2 || got[0] != "__InstanceCreationEvent:a" || got[1] != "__InstanceCreationEvent:b" {
		t.Errorf("events %v", got)
	}

	// The creator record goes with the subscription.
	if err := r.c.SetSubscriptionState(ctx, spath, StateDisabled); err != nil {
		t.Fatal(err)
	}
	if subs, _, _ := r.c.IndicationSubscriptions(ctx); len(subs) != 1 || subs[0].State != StateDisabled || subs[0].Created == 0 {
		t.Errorf("after disabling: %+v", subs)
	}
	// A filter or destination in use is not deleted.
	for _, p := range []string{fpath, dpath} {
		before := r.snapshot()
		err := interop.DeleteInstance(ctx, p, 0, nil)
		wantStatus(t, err, cim.EFailed)
		if !strings.Contains(err.Error(), "delete the subscription first") || !sameSnapshot(before, r.snapshot()) {
			t.Errorf("deleting %s in use: %v", p, err)
		}
	}
	if err := r.c.RemoveSubscription(ctx, spath); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fpath, dpath} {
		if err := interop.DeleteInstance(ctx, p, 0, nil); err != nil {
			t.Errorf("deleting %s once unused: %v", p, err)
		}
	}
	for kv, err := range r.db.Range(ctx, []byte{'e', 0}, []byte{'e', 1}) {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("creator record %q left after the delete", kv.Key)
	}
}
