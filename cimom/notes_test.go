package cimom

import (
	"context"
	"reflect"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestHandOver: under HandOver, the events of a create and of an update
// carry the instance the writer was given, and the update's the instance
// it replaced, without the feed's reader decoding them (it counts them
// noted); without HandOver the event's instance is decoded anew (see
// TestPutInstanceLeavesCallerObject for why). On etcd, which carries no
// note, every instance is decoded. TestMain has every noted instance
// compared with its decoded record (checkNote).
func TestHandOver(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := subscribeChan(ctx, r.c, "root/cimv2", admin, false)
	if err != nil {
		t.Fatal(err)
	}
	r.put(r.inst("Item", "Id", "first", "Size", uint32(1)), FlagCreateOnly)
	<-events // the subscription reads: its ring is on
	handed := HandOver(context.Background())
	put := func(wctx context.Context, in *cim.Object, flags Flags) (Event, uint64) {
		t.Helper()
		before := r.c.feed.ring.noted.Load()
		if _, err := r.svc.PutInstance(wctx, in, flags, nil); err != nil {
			t.Fatal(err)
		}
		ev := <-events
		if want, _ := in.Get("Size"); !reflect.DeepEqual(ev.Target.Properties[1].Value, want) {
			t.Fatalf("%s: Size %v, want %v", ev.Class, ev.Target.Properties[1].Value, want)
		}
		return ev, r.c.feed.ring.noted.Load() - before
	}
	wantNoted := uint64(1)
	if onEtcd() {
		wantNoted = 0
	}
	// The shapes the doors give: spawned with some properties set
	// (WS-Man), the given properties alone (CIM-XML, REST); and spawned
	// with every property set, as the benchmarks do.
	if ev, noted := put(handed, r.inst("Item", "Id", "a", "Size", uint32(7)), FlagCreateOnly); ev.Class != "__InstanceCreationEvent" || noted != wantNoted {
		t.Errorf("a create handed over: %s, %d instances noted, want %d", ev.Class, noted, wantNoted)
	}
	given := &cim.Object{Genus: cim.GenusInstance, Class: "Item", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "a"}},
		{Name: "Size", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(8)}}}}
	ev, noted := put(handed, given, FlagUpdateOnly)
	if v, _ := ev.Previous.Get("Size"); ev.Class != "__InstanceModificationEvent" || v.V != uint32(7) || noted != wantNoted {
		t.Errorf("an update handed over: %s, previous Size %v, %d instances noted, want %d", ev.Class, v.V, noted, wantNoted)
	}
	if ev.Target.Namespace != "root/cimv2" || ev.Previous.Namespace != "root/cimv2" || ev.Target.Server != "testhost" {
		t.Errorf("the instances' places: %s, %s on %s", ev.Target.Namespace, ev.Previous.Namespace, ev.Target.Server)
	}
	if _, noted := put(handed, r.inst("Item", "Id", "b", "Size", uint32(3), "Label", "every property"), FlagCreateOnly); noted != wantNoted {
		t.Errorf("a create of every property handed over: %d instances noted, want %d", noted, wantNoted)
	}
	if ev, noted := put(context.Background(), r.inst("Item", "Id", "a", "Size", uint32(9)), FlagUpdateOnly); noted != 0 {
		t.Errorf("an update not handed over: %s, %d instances noted", ev.Class, noted)
	}
}
