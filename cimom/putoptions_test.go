package cimom

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestPutOptionsArgs: the flags and context Args gives read back as the
// same options, keep the caller's other values, and replace stale put
// extensions; an empty set of options is no context at all.
func TestPutOptionsArgs(t *testing.T) {
	base := NewContext()
	base.SetValue(UILocale, "MS_409")
	base.SetValue(PutExtAtomic, true) // stale: the options say otherwise
	cases := []PutOptions{
		{},
		{Mode: CreateOnly},
		{Mode: UpdateOnly, Properties: []string{"Size", "Label"}, StrictNulls: true},
		{Mode: UpdateOnly, Properties: []string{}},
		{Mode: CreateOrUpdate, Atomic: true, ClientRequest: true},
		{Mode: UpdateOnly, StrictNulls: true, Context: base},
	}
	for _, o := range cases {
		flags, wctx := o.Args()
		back, err := PutOptionsOf(flags, wctx)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if err := checkPutExtensions(wctx, back); err != nil {
			t.Errorf("%+v: Args gave a context WMI's rules refuse: %v", o, err)
		}
		back.Context, o.Context = nil, nil
		if !reflect.DeepEqual(back, o) {
			t.Errorf("Args then PutOptionsOf gave %+v, want %+v", back, o)
		}
	}
	if _, wctx := (PutOptions{Mode: UpdateOnly}).Args(); wctx != nil {
		t.Errorf("options without extensions gave a context: %v", wctx.Names())
	}
	_, wctx := PutOptions{StrictNulls: true, Context: base}.Args()
	if v, _ := wctx.GetValue(UILocale); v != "MS_409" {
		t.Errorf("the caller's context value was lost: %v", wctx.Names())
	}
	if _, present := wctx.GetValue(PutExtAtomic); present {
		t.Error("a stale __PUT_EXT_ATOMIC survived")
	}
	if _, present := base.GetValue(PutExtStrictNulls); present {
		t.Error("Args changed the caller's context")
	}
	if _, err := PutOptionsOf(FlagCreateOnly|FlagUpdateOnly, nil); cim.StatusOf(err) != cim.EInvalidParameter {
		t.Errorf("both modes: %v", err)
	}
	bad := NewContext()
	bad.SetValue(PutExtensions, true)
	bad.SetValue(PutExtProperties, "Size")
	if _, err := PutOptionsOf(FlagUpdateOnly, bad); cim.StatusOf(err) != cim.EInvalidContext {
		t.Errorf("a property list that is not an array: %v", err)
	}
}

// TestModifyTarget: a modify addressed to a path writes the listed
// properties of the instance there; a key the instance gives another
// value is refused with WBEM_E_INVALID_PARAMETER and changes nothing.
func TestModifyTarget(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	r.putClass(class("Link", "", nil, prop("From", cim.TypeReference, qTrue("Key")), prop("Weight", cim.TypeUint32)))
	r.put(r.inst("Item", "Id", "a", "Size", 1, "Label", "first"), 0)
	r.put(r.inst("Counter", "N", 7, "Note", "seven"), 0)
	r.put(r.inst("Link", "From", `Item.Id="a"`, "Weight", 1), 0)

	// The keys come from the path; the properties not listed keep theirs.
	partial := &cim.Object{Genus: cim.GenusInstance, Class: "Item", Properties: []cim.Property{
		{Name: "Size", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(2)}},
		{Name: "Label", Type: cim.TypeString, Value: cim.Null(cim.TypeString)}}}
	if err := Modify(ctx, r.svc, `Item.Id="a"`, partial, []string{"Size"}); err != nil {
		t.Fatal(err)
	}
	if len(partial.Properties) != 2 {
		t.Error("Modify changed the caller's instance")
	}
	o, _ := r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
	if s, _ := o.Get("Size"); s.V != uint32(2) {
		t.Errorf("Size %v, want 2", s)
	}
	if l, _ := o.Get("Label"); l.V != "first" {
		t.Errorf("Label %v: a property not listed changed", l)
	}
	// Without a list, every property the instance holds; NULL is written.
	if err := Modify(ctx, r.svc, `Item.Id="a"`, partial, nil); err != nil {
		t.Fatal(err)
	}
	o, _ = r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
	if l, _ := o.Get("Label"); !l.IsNull() {
		t.Errorf("Label %v, want NULL", l)
	}
	// The same key values, written another way, are the same instance.
	same := []struct {
		path string
		inst *cim.Object
	}{
		{`Item.Id="a"`, r.inst("Item", "Id", "a", "Size", 3)},
		{`Item.Id="a"`, r.inst("Item", "Id", "A", "Size", 3)}, // key values compare without regard to case (WMI)
		{`Counter.N=7`, r.inst("Counter", "N", 7, "Note", "siete")},
		{`Counter.N="7"`, r.inst("Counter", "N", 7)},
		{`Counter=7`, r.inst("Counter", "N", 7)},
		{`Link.From="Item.Id=\"a\""`, r.inst("Link", "From", `item.id='a'`, "Weight", 2)},
	}
	for _, c := range same {
		if err := Modify(ctx, r.svc, c.path, c.inst, nil); err != nil {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	if o, err := r.svc.GetObject(ctx, `Item.Id="A"`, 0, nil); err != nil {
		t.Fatal(err)
	} else if id, _ := o.Get("Id"); id.V != "a" {
		t.Errorf("Id %v after a modify as A: the instance keeps the case it was created with", id.V)
	}

	before := r.snapshot()
	changed := []struct {
		path string
		inst *cim.Object
		key  string
	}{
		{`Item.Id="a"`, r.inst("Item", "Id", "b", "Size", 9), "Id"},
		{`Counter.N=7`, r.inst("Counter", "N", 8), "N"},
		{`Link.From="Item.Id=\"a\""`, r.inst("Link", "From", `Item.Id="b"`), "From"},
	}
	for _, c := range changed {
		err := Modify(ctx, r.svc, c.path, c.inst, nil)
		var e *cim.Error
		if !errors.As(err, &e) || e.Status != cim.EInvalidParameter || e.Parameter != c.key || !errors.Is(err, ErrChangedKey) ||
			!strings.Contains(e.Description, "cannot change keys") {
			t.Errorf("%s with key %s changed: %v (%+v)", c.path, c.key, err, e)
		}
	}
	for _, c := range []struct {
		path string
		inst *cim.Object
		want cim.Status
	}{
		{`Counter.N=7`, r.inst("Item", "Id", "a"), cim.EInvalidParameter}, // another class
		{`Item`, r.inst("Item", "Id", "a"), cim.EInvalidParameter},        // a class path
		{`Item.Id=`, r.inst("Item", "Id", "a"), cim.EInvalidObjectPath},
		{`Item.Id="zz"`, r.inst("Item", "Size", 1), cim.ENotFound}, // update-only
	} {
		if err := Modify(ctx, r.svc, c.path, c.inst, nil); cim.StatusOf(err) != c.want {
			t.Errorf("%s: %v, want %v", c.path, err, c.want)
		}
	}
	if !sameSnapshot(before, r.snapshot()) {
		t.Error("a refused modify changed the store")
	}
	// A create through Put with a target takes the path's keys.
	if p, err := Put(ctx, r.svc, r.inst("Item", "Size", 5), PutOptions{Mode: CreateOnly, Target: `Item.Id="new"`}); err != nil || p != `Item.Id="new"` {
		t.Errorf("create at a path: %q, %v", p, err)
	}
	if _, err := Put(ctx, r.svc, r.inst("Item", "Id", "x"), PutOptions{Mode: 9}); cim.StatusOf(err) != cim.EInvalidParameter {
		t.Errorf("an unknown mode: %v", err)
	}
}
