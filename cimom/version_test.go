package cimom

import (
	"context"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestIfRevision: instances carry the revision that last wrote them; a put
// or delete conditional on a revision happens only at that revision,
// and a refused one writes nothing.
func TestIfRevision(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx := context.Background()
	r.put(r.inst("Item", "Id", "a", "Size", uint32(1)), 0)
	get := func() *cim.Object {
		o, err := r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	v1 := get().Revision
	if v1 <= 0 {
		t.Fatalf("revision %d", v1)
	}
	at := func(rev any) *Context {
		w := NewContext()
		w.SetValue(IfRevision, rev)
		return w
	}
	if _, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", uint32(2)), 0, at(v1)); err != nil {
		t.Fatal(err)
	}
	v2 := get().Revision
	if v2 <= v1 {
		t.Fatalf("revision %d after %d", v2, v1)
	}
	before := r.snapshot()
	_, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", uint32(3)), 0, at(v1))
	wantStatus(t, err, cim.ETransactionConflict)
	wantStatus(t, r.svc.DeleteInstance(ctx, `Item.Id="a"`, 0, at(v1)), cim.ETransactionConflict)
	_, err = r.svc.PutInstance(ctx, r.inst("Item", "Id", "new"), 0, at(v1))
	wantStatus(t, err, cim.ETransactionConflict) // never creates
	_, err = r.svc.PutInstance(ctx, r.inst("Item", "Id", "a"), 0, at("x"))
	wantStatus(t, err, cim.EInvalidContext)
	_, err = r.svc.PutInstance(ctx, r.inst("Dyn", "Id", "d"), 0, at(v1))
	wantStatus(t, err, cim.EProviderNotCapable)
	if !sameSnapshot(before, r.snapshot()) {
		t.Error("a refused conditional write changed the store")
	}
	// The revision as text, as the JSON door's If-Match gives it.
	if err := r.svc.DeleteInstance(ctx, `Item.Id="a"`, 0, at(get().Revision)); err != nil {
		t.Fatal(err)
	}
}

// TestStartAfter: an enumeration from a position returns the instances
// after it in key order, for a position that no longer exists too.
func TestStartAfter(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "d"} {
		r.put(r.inst("Item", "Id", id), 0)
	}
	from := func(path string) ([]string, error) {
		w := NewContext()
		w.SetValue(StartAfter, path)
		e, err := r.svc.CreateInstanceEnum(ctx, "Item", FlagForwardOnly, w)
		if err != nil {
			return nil, err
		}
		defer e.Close()
		var ids []string
		for o, err := range All(ctx, e) {
			if err != nil {
				return nil, err
			}
			v, _ := o.Get("Id")
			ids = append(ids, v.V.(string))
			if o.Revision == 0 {
				t.Errorf("%v has no revision", v.V)
			}
		}
		return ids, nil
	}
	if ids, err := from(`Item.Id="b"`); err != nil || len(ids) != 2 || ids[0] != "c" {
		t.Errorf("after b: %v %v", ids, err)
	}
	if ids, err := from(`Item.Id="bb"`); err != nil || len(ids) != 2 || ids[0] != "c" {
		t.Errorf("after a missing bb: %v %v", ids, err)
	}
	if ids, err := from(`Item.Id="d"`); err != nil || len(ids) != 0 {
		t.Errorf("after the last: %v %v", ids, err)
	}
	_, err := from(`Counter.N=1`)
	wantStatus(t, err, cim.EInvalidParameter)
	_, err = from(`Item`)
	wantStatus(t, err, cim.EInvalidObjectPath)
	w := NewContext()
	w.SetValue(StartAfter, `Dyn.Id="x"`)
	_, err = r.svc.CreateInstanceEnum(ctx, "Dyn", FlagForwardOnly, w)
	wantStatus(t, err, cim.ENotSupported)
}
