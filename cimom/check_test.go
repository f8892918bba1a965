package cimom

import (
	"context"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestCheckDanglingReferences: Check follows every reference of a stored
// instance and lists those whose target is gone (WMI's DeleteClass and
// DeleteInstance leave them), naming why.
func TestCheckDanglingReferences(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	ref := func(name, class string) cim.Property {
		return cim.Property{Name: name, Type: cim.TypeReference, RefClass: class, Value: cim.Null(cim.TypeReference), Qualifiers: []cim.Qualifier{qTrue("Key")}}
	}
	r.putClass(class("Link", "", []cim.Qualifier{qTrue("Association")}, ref("A", "Item"), ref("B", "Counter")))
	r.put(r.inst("Item", "Id", "a"), 0)
	r.put(r.inst("Item", "Id", "b"), 0)
	r.put(r.inst("Counter", "N", uint32(1)), 0)
	link := func(a string) *cim.Object {
		o := r.inst("Link")
		o.Put("A", cim.Value{Type: cim.TypeReference, V: a})
		o.Put("B", cim.Value{Type: cim.TypeReference, V: "Counter.N=1"})
		return o
	}
	r.put(link(`Item.Id="a"`), 0)
	r.put(link(`Item.Id="b"`), 0)
	r.put(link(`//./root/default:Item.Id="c"`), 0)
	rep, err := Check(ctx, r.db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DanglingCount != 1 || !strings.Contains(rep.Dangling[0], "no class Item") || rep.References != 6 {
		t.Fatalf("before any delete: %+v %q", rep, rep.Dangling)
	}
	if err := r.svc.DeleteInstance(ctx, `Item.Id="a"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	rep, err = Check(ctx, r.db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DanglingCount != 2 || !strings.HasPrefix(rep.String(), "2 dangling references: ") {
		t.Fatalf("after deleting Item a: %+v\n%s", rep, rep)
	}
	found := false
	for _, d := range rep.Dangling {
		found = found || strings.Contains(d, `-> Item.Id="a" (no such instance)`)
	}
	if !found {
		t.Errorf("dangling: %q", rep.Dangling)
	}
	// WMI's DeleteClass cascades and leaves every link dangling.
	if err := r.svc.DeleteClass(ctx, "Counter", 0, nil); err != nil {
		t.Fatal(err)
	}
	rep, err = Check(ctx, r.db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DanglingCount != 5 {
		t.Errorf("after deleting Counter: %d dangling: %q", rep.DanglingCount, rep.Dangling)
	}
}
