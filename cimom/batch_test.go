package cimom

import (
	"context"
	"errors"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestBatch: a batch's writes are invisible outside it until it commits,
// all of them commit together, an error writes nothing, and a concurrent
// change to something the batch read makes the commit fail.
func TestBatch(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx := context.Background()

	before := r.snapshot()
	boom := errors.New("boom")
	err := r.c.Batch(ctx, func(view *CIMOM) error {
		svc, err := view.Connect(ctx, "root/cimv2", admin)
		if err != nil {
			return err
		}
		if err := svc.PutClass(ctx, class("InBatch", "", nil, prop("Id", cim.TypeString, qTrue("Key"))), 0, nil); err != nil {
			return err
		}
		inst, _ := r.c.classOf(t, "Item")
		inst.Put("Id", cim.Value{Type: cim.TypeString, V: "b1"})
		if _, err := svc.PutInstance(ctx, inst, 0, nil); err != nil {
			return err
		}
		// Visible inside, invisible outside.
		if _, err := svc.GetObject(ctx, "InBatch", 0, nil); err != nil {
			t.Errorf("inside the batch: %v", err)
		}
		if _, err := r.svc.GetObject(ctx, "InBatch", 0, nil); cim.StatusOf(err) != cim.ENotFound {
			t.Errorf("outside the batch before commit: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Batch returned %v", err)
	}
	if !sameSnapshot(before, r.snapshot()) {
		t.Fatal("a failed batch changed the store")
	}

	err = r.c.Batch(ctx, func(view *CIMOM) error {
		svc, _ := view.Connect(ctx, "root/cimv2", admin)
		if err := svc.PutClass(ctx, class("InBatch", "", nil, prop("Id", cim.TypeString, qTrue("Key"))), 0, nil); err != nil {
			return err
		}
		return svc.PutClass(ctx, class("InBatchChild", "InBatch", nil), 0, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.GetObject(ctx, "InBatchChild", 0, nil); err != nil {
		t.Errorf("after commit: %v", err)
	}
	// Index entries (empty values) survive the batch.
	err = r.c.Batch(ctx, func(view *CIMOM) error {
		svc, _ := view.Connect(ctx, "root/cimv2", admin)
		inst, _ := r.c.classOf(t, "Strict")
		inst.Put("Id", cim.Value{Type: cim.TypeString, V: "s1"})
		inst.Put("Name", cim.Value{Type: cim.TypeString, V: "n"})
		inst.Put("Tag", cim.Value{Type: cim.TypeString, V: "t"})
		_, err := svc.PutInstance(ctx, inst, 0, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := Check(ctx, r.db); err != nil || rep.IndexEntries != 1 {
		t.Errorf("after a batch with an Indexed property: %v %v", rep, err)
	}

	// A conflicting write between the batch's read and its commit.
	err = r.c.Batch(ctx, func(view *CIMOM) error {
		svc, _ := view.Connect(ctx, "root/cimv2", admin)
		if err := svc.PutClass(ctx, class("Sub", "Item", nil), 0, nil); err != nil {
			return err
		}
		// Someone else updates Item meanwhile.
		return r.svc.PutClass(ctx, class("Item", "", []cim.Qualifier{qStr("Description", "changed")},
			prop("Id", cim.TypeString, qTrue("Key")), prop("Size", cim.TypeUint32), prop("Label", cim.TypeString)), 0, nil)
	})
	wantStatus(t, err, cim.ETransactionConflict)
	if _, err := r.svc.GetObject(ctx, "Sub", 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("Sub after a conflicting batch: %v", err)
	}
}

// classOf spawns an instance of a class through the real services.
func (c *CIMOM) classOf(t *testing.T, name string) (*cim.Object, error) {
	svc, err := c.Connect(context.Background(), "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	cls, err := svc.GetObject(context.Background(), name, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cls.SpawnInstance()
}

func TestQualifierDeclarations(t *testing.T) {
	r := newRepo(t)
	ctx := context.Background()
	color := &cim.QualifierDecl{Name: "Color", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "none"},
		Scope: cim.ScopeClass | cim.ScopeProperty, Flavor: cim.FlavorToSubclass}
	if err := r.svc.PutQualifier(ctx, color, FlagCreateOnly); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r.svc.PutQualifier(ctx, color, FlagCreateOnly), cim.EAlreadyExists)
	wantStatus(t, r.svc.PutQualifier(ctx, &cim.QualifierDecl{Name: "Nope", Type: cim.TypeBoolean, Scope: cim.ScopeAny}, FlagUpdateOnly), cim.ENotFound)
	wantStatus(t, r.svc.PutQualifier(ctx, &cim.QualifierDecl{Name: "Bad", Type: cim.TypeReference, Scope: cim.ScopeAny}, 0), cim.EInvalidQualifierType)
	wantStatus(t, r.svc.PutQualifier(ctx, &cim.QualifierDecl{Name: "Bad", Type: cim.TypeBoolean}, 0), cim.EInvalidParameter)
	wantStatus(t, r.svc.PutQualifier(ctx, &cim.QualifierDecl{Name: "Bad", Type: cim.TypeUint8, Scope: cim.ScopeAny, Value: cim.Value{Type: cim.TypeString, V: "x"}}, 0), cim.ETypeMismatch)
	size := &cim.QualifierDecl{Name: "Size", Type: cim.TypeUint16.ArrayOf(), Scope: cim.ScopeMethod | cim.ScopeParameter,
		Value: cim.Value{Type: cim.TypeUint16.ArrayOf(), V: []uint16{1, 2}}}
	if err := r.svc.PutQualifier(ctx, size, 0); err != nil {
		t.Fatal(err)
	}
	got, err := r.svc.GetQualifier(ctx, "COLOR")
	if err != nil || got.Name != "Color" || got.Value.V != "none" || got.Scope != cim.ScopeClass|cim.ScopeProperty {
		t.Fatalf("GetQualifier: %+v %v", got, err)
	}
	list, err := r.svc.EnumQualifiers(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "Color" || !list[1].Value.Equal(size.Value) {
		t.Fatalf("EnumQualifiers: %+v %v", list, err)
	}

	// Uses: within scope and converted to the declared type.
	cls := class("Painted", "", []cim.Qualifier{qStr("Color", "red")}, prop("P", cim.TypeString, qStr("Color", "blue")))
	r.putClass(cls)
	m := cim.Method{Name: "M", ReturnType: cim.TypeUint32, Qualifiers: []cim.Qualifier{{Name: "Size", Value: cim.Value{Type: cim.TypeSint32.ArrayOf(), V: []int32{7}}}}}
	withMethod := class("Sized", "", nil)
	withMethod.Methods = []cim.Method{m}
	r.putClass(withMethod)
	back, _ := r.svc.GetObject(ctx, "Sized", 0, nil)
	if q := back.Methods[0].Qualifiers[0]; q.Value.Type != cim.TypeUint16.ArrayOf() {
		t.Errorf("declared qualifier kept type %s, want uint16[]", q.Value.Type)
	}
	wantStatus(t, r.svc.PutClass(ctx, class("Wrong", "", []cim.Qualifier{{Name: "Size", Value: cim.Value{Type: cim.TypeSint32.ArrayOf(), V: []int32{1}}}}), 0, nil), cim.EInvalidQualifier)
	bad := withMethod.Clone()
	bad.Class = "Negative"
	bad.Methods[0].Qualifiers[0].Value = cim.Value{Type: cim.TypeSint32.ArrayOf(), V: []int32{-1}}
	wantStatus(t, r.svc.PutClass(ctx, bad, 0, nil), cim.ETypeMismatch)

	if err := r.svc.DeleteQualifier(ctx, "color"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r.svc.DeleteQualifier(ctx, "color"), cim.ENotFound)
	_, err = r.svc.GetQualifier(ctx, "Color")
	wantStatus(t, err, cim.ENotFound)
	if _, err := Check(ctx, r.db); err != nil {
		t.Fatal(err)
	}
}

// TestBatchEvents: a batch's events reach a subscriber after the commit
// and in order; a failed batch raises none.
func TestBatchEvents(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := subscribeChan(ctx, r.c, "root/cimv2", admin, false)
	if err != nil {
		t.Fatal(err)
	}
	write := func(ids []string, fail error) error {
		return r.c.Batch(ctx, func(view *CIMOM) error {
			svc, err := view.Connect(ctx, "root/cimv2", admin)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if _, err := svc.PutInstance(ctx, r.inst("Item", "Id", id), 0, nil); err != nil {
					return err
				}
			}
			select {
			case ev := <-events:
				t.Errorf("%s of %v arrived before the commit", ev.Class, ev.Target)
			default:
			}
			return fail
		})
	}
	if err := write([]string{"lost"}, errors.New("boom")); err == nil {
		t.Fatal("the failing batch succeeded")
	}
	if err := write([]string{"a", "b"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b"} {
		ev := <-events
		if id, _ := ev.Target.Get("Id"); ev.Class != "__InstanceCreationEvent" || id.V != want {
			t.Errorf("event %s of %v, want the creation of %s (and nothing of the failed batch)", ev.Class, id.V, want)
		}
	}
}
