package cimom

import (
	"context"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// fnProvider is a provider whose behaviour each test sets.
type fnProvider struct {
	name string
	put  func(inst *cim.Object, wctx *Context) error
}

func (p *fnProvider) Name() string { return p.name }
func (p *fnProvider) PutInstance(_ context.Context, _ string, inst *cim.Object, _ Flags, wctx *Context) error {
	if p.put == nil {
		return nil
	}
	return p.put(inst, wctx)
}

// TestPutInstanceReturnCodes reaches every return code of PutInstance
// (spec §2.4) for real, and checks that a failed call changes nothing.
//
// Two codes of the table are environmental and not produced by wbemd's
// core: WBEM_E_OUT_OF_MEMORY (a Go allocation failure is fatal) and
// WBEM_E_TRANSPORT_FAILURE (the network client's, not the core's).
func TestPutInstanceReturnCodes(t *testing.T) {
	partial := func(props ...string) *Context {
		c := NewContext()
		c.SetValue(PutExtensions, true)
		c.SetValue(PutExtProperties, props)
		return c
	}
	cases := []struct {
		name  string
		setup func(r *testRepo)
		call  func(r *testRepo) error
		want  cim.Status
	}{
		{"S_NO_ERROR create", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), 0, nil)
			return err
		}, cim.SNoError},
		{"E_ACCESS_DENIED without PARTIAL_WRITE", nil, func(r *testRepo) error {
			alice, err := r.c.Connect(context.Background(), "root/cimv2", Principal{Name: "alice"})
			if err != nil {
				return err
			}
			_, err = alice.PutInstance(context.Background(), r.inst("Item", "Id", "a"), 0, nil)
			return err
		}, cim.EAccessDenied},
		{"E_FAILED from a provider", func(r *testRepo) {
			r.c.RegisterProvider("root/cimv2", "Item", &fnProvider{name: "P", put: func(*cim.Object, *Context) error {
				return cim.Errorf(cim.EFailed, "unspecified")
			}})
		}, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), 0, nil)
			return err
		}, cim.EFailed},
		{"E_INVALID_CLASS", nil, func(r *testRepo) error {
			o := r.inst("Item", "Id", "a")
			o.Class = "NoSuchClass"
			_, err := r.svc.PutInstance(context.Background(), o, 0, nil)
			return err
		}, cim.EInvalidClass},
		{"E_ILLEGAL_NULL Not_Null", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Strict", "Id", "a", "Tag", "t"), 0, nil)
			return err
		}, cim.EIllegalNull},
		{"E_ILLEGAL_NULL Indexed", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Strict", "Id", "a", "Name", "n"), 0, nil)
			return err
		}, cim.EIllegalNull},
		{"E_ILLEGAL_NULL non-string key", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Counter"), 0, nil)
			return err
		}, cim.EIllegalNull},
		{"E_INVALID_OBJECT a class", nil, func(r *testRepo) error {
			cls, _ := r.svc.GetObject(context.Background(), "Item", 0, nil)
			_, err := r.svc.PutInstance(context.Background(), cls, 0, nil)
			return err
		}, cim.EInvalidObject},
		{"E_INVALID_PARAMETER unknown flag", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), 0x4, nil)
			return err
		}, cim.EInvalidParameter},
		{"E_INVALID_PARAMETER create-only and update-only", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagCreateOnly|FlagUpdateOnly, nil)
			return err
		}, cim.EInvalidParameter},
		{"E_INVALID_PARAMETER nil instance", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), nil, 0, nil)
			return err
		}, cim.EInvalidParameter},
		{"E_INVALID_PARAMETER return-immediately without call result", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagReturnImmediately, nil)
			return err
		}, cim.EInvalidParameter},
		{"E_INVALID_PARAMETER send-status (async only)", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagSendStatus, nil)
			return err
		}, cim.EInvalidParameter},
		{"E_ALREADY_EXISTS", func(r *testRepo) { r.put(r.inst("Item", "Id", "a"), 0) }, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagCreateOnly, nil)
			return err
		}, cim.EAlreadyExists},
		{"E_NOT_FOUND", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagUpdateOnly, nil)
			return err
		}, cim.ENotFound},
		{"E_INVALID_CONTEXT partial without update-only", func(r *testRepo) { r.put(r.inst("Item", "Id", "a"), 0) }, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a", "Size", 3), 0, partial("Size"))
			return err
		}, cim.EInvalidContext},
		{"E_INVALID_CONTEXT extension without __PUT_EXTENSIONS", func(r *testRepo) { r.put(r.inst("Item", "Id", "a"), 0) }, func(r *testRepo) error {
			c := NewContext()
			c.SetValue(PutExtProperties, []string{"Size"})
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagUpdateOnly, c)
			return err
		}, cim.EInvalidContext},
		{"E_INVALID_CONTEXT __PUT_EXTENSIONS alone", nil, func(r *testRepo) error {
			c := NewContext()
			c.SetValue(PutExtensions, true)
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), 0, c)
			return err
		}, cim.EInvalidContext},
		{"E_INVALID_CONTEXT unknown property listed", func(r *testRepo) { r.put(r.inst("Item", "Id", "a"), 0) }, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), FlagUpdateOnly, partial("Nope"))
			return err
		}, cim.EInvalidContext},
		{"E_PROVIDER_NOT_FOUND dynamic class without provider", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Dyn", "Id", "a"), 0, nil)
			return err
		}, cim.EProviderNotFound},
		{"E_PROVIDER_NOT_CAPABLE dynamic class whose provider cannot put", func(r *testRepo) {
			r.registerProvider("DynProv", "SupportsGet", true)
		}, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Dyn", "Id", "a"), 0, nil)
			return err
		}, cim.EProviderNotCapable},
		{"E_UNSUPPORTED_PUT_EXTENSION from a provider", func(r *testRepo) {
			r.put(r.inst("Item", "Id", "a"), 0)
			r.c.RegisterProvider("root/cimv2", "Item", &fnProvider{name: "P", put: func(_ *cim.Object, wctx *Context) error {
				if _, ok := wctx.GetValue(PutExtensions); ok {
					return cim.Errorf(cim.EUnsupportedPutExtension, "no partial puts")
				}
				return nil
			}})
		}, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a", "Size", 1), FlagUpdateOnly, partial("Size"))
			return err
		}, cim.EUnsupportedPutExtension},
		{"E_INVALID_OPERATION Amendment class", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Amended_Class", "Id", "a"), 0, nil)
			return err
		}, cim.EInvalidOperation},
		{"E_INVALID_OPERATION abstract class", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Abstract_Base", "Id", "a"), 0, nil)
			return err
		}, cim.EInvalidOperation},
		{"E_AMENDED_OBJECT", nil, func(r *testRepo) error {
			o := r.inst("Item", "Id", "a")
			o.Qualifiers = append(o.Qualifiers, cim.Qualifier{Name: "Description", Value: cim.Value{Type: cim.TypeString, V: "x"}, Flavor: cim.FlavorAmended})
			_, err := r.svc.PutInstance(context.Background(), o, 0, nil)
			return err
		}, cim.EAmendedObject},
		{"E_NO_KEY", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Keyless", "Note", "n"), 0, nil)
			return err
		}, cim.ENoKey},
		{"E_QUOTA_VIOLATION long path", nil, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", strings.Repeat("x", 9000)), 0, nil)
			return err
		}, cim.EQuotaViolation},
		{"E_VETO_PUT", func(r *testRepo) {
			r.c.RegisterProvider("root/cimv2", "Item", &fnProvider{name: "P", put: func(*cim.Object, *Context) error {
				return cim.Errorf(cim.EVetoPut, "no")
			}})
		}, func(r *testRepo) error {
			_, err := r.svc.PutInstance(context.Background(), r.inst("Item", "Id", "a"), 0, nil)
			return err
		}, cim.EVetoPut},
		{"E_TYPE_MISMATCH", nil, func(r *testRepo) error {
			o := r.inst("Item", "Id", "a")
			p, _ := o.Property("Size")
			p.Value = cim.Value{Type: cim.TypeString, V: "big"}
			_, err := r.svc.PutInstance(context.Background(), o, 0, nil)
			return err
		}, cim.ETypeMismatch},
		{"E_SHUTTING_DOWN", nil, func(r *testRepo) error {
			o := r.inst("Item", "Id", "a")
			if err := r.c.Close(context.Background()); err != nil {
				return err
			}
			_, err := r.svc.PutInstance(context.Background(), o, 0, nil)
			return err
		}, cim.EShuttingDown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t)
			r.baseSchema()
			if tc.setup != nil {
				tc.setup(r)
			}
			before := r.snapshot()
			err := tc.call(r)
			wantStatus(t, err, tc.want)
			if tc.want.IsError() {
				e := err.(*cim.Error)
				if e.Operation != "PutInstance" || e.Provider == "" || e.Description == "" {
					t.Errorf("extended status incomplete: %+v", e)
				}
				if !sameSnapshot(before, r.snapshot()) {
					t.Error("a failed PutInstance changed the repository")
				}
			}
		})
	}
}

// TestPutInstanceRules covers the key, singleton, GUID, partial-update and
// identity rules of spec §2.5 and §2.2.
func TestPutInstanceRules(t *testing.T) {
	ctx := context.Background()
	t.Run("NULL string key gets a GUID and the path says so", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		path := r.put(r.inst("Item"), 0)
		if !strings.HasPrefix(path, `Item.Id="{`) || len(path) != len(`Item.Id="{00000000-0000-0000-0000-000000000000}"`) {
			t.Fatalf("path %q", path)
		}
		if _, err := r.svc.GetObject(ctx, path, 0, nil); err != nil {
			t.Fatalf("the generated path does not resolve: %v", err)
		}
		if p2 := r.put(r.inst("Item"), 0); p2 == path {
			t.Fatal("two NULL-key puts got the same GUID")
		}
	})
	t.Run("singleton path is Class=@", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		if p := r.put(r.inst("Setting", "Level", 2), 0); p != "Setting=@" {
			t.Fatalf("path %q", p)
		}
		r.put(r.inst("Setting", "Level", 3), FlagUpdateOnly)
		o, err := r.svc.GetObject(ctx, "Setting=@", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := o.Get("Level"); v.V != uint32(3) {
			t.Fatalf("Level %v", v)
		}
	})
	t.Run("keys in any order, numeric keys across widths", func(t *testing.T) {
		r := newRepo(t)
		r.putClass(class("Pair", "", nil, prop("A", cim.TypeUint8, qTrue("Key")), prop("B", cim.TypeString, qTrue("Key"))))
		r.put(r.inst("Pair", "A", 5, "B", "x"), 0)
		for _, p := range []string{`Pair.A=5,B="x"`, `Pair.B="x",A=5`, `pair.b='x',a=5`, `Pair.A="5",B="x"`} {
			if _, err := r.svc.GetObject(ctx, p, 0, nil); err != nil {
				t.Errorf("GetObject(%s): %v", p, err)
			}
		}
		if _, err := r.svc.GetObject(ctx, `Pair.A=5,B="X"`, 0, nil); err != nil {
			t.Errorf("string key values compare without regard to case (WMI): %v", err)
		}
		_, err := r.svc.GetObject(ctx, `Pair.A=5`, 0, nil)
		wantStatus(t, err, cim.EInvalidObjectPath)
		_, err = r.svc.GetObject(ctx, `Pair.A=5,B="x",C=1`, 0, nil)
		wantStatus(t, err, cim.EInvalidObjectPath)
		_, err = r.svc.GetObject(ctx, `Pair.A=300,B="x"`, 0, nil)
		wantStatus(t, err, cim.EInvalidObjectPath)
	})
	t.Run("an instance cannot exist twice under sibling classes", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		r.putClass(class("Sibling", "Abstract_Base", nil))
		r.put(r.inst("Concrete", "Id", "same"), 0)
		_, err := r.svc.PutInstance(ctx, r.inst("Sibling", "Id", "same"), 0, nil)
		wantStatus(t, err, cim.EAlreadyExists)
		_, err = r.svc.PutInstance(ctx, r.inst("Sibling", "Id", "same"), FlagCreateOnly, nil)
		wantStatus(t, err, cim.EAlreadyExists)
		// Found through the base class's path, as the keys live in its hierarchy.
		o, err := r.svc.GetObject(ctx, `Abstract_Base.Id="same"`, 0, nil)
		if err != nil || o.Class != "Concrete" {
			t.Fatalf("GetObject via the base class: %v %v", o, err)
		}
		_, err = r.svc.GetObject(ctx, `Sibling.Id="same"`, 0, nil)
		wantStatus(t, err, cim.ENotFound)
	})
	t.Run("partial update writes only listed properties", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		r.put(r.inst("Item", "Id", "a", "Size", 1, "Label", "old"), 0)
		c := NewContext()
		c.SetValue(PutExtensions, true)
		c.SetValue(PutExtProperties, []string{"Size", "Label"})
		// Label NULL without strict nulls: left as it is.
		if _, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", 2), FlagUpdateOnly, c); err != nil {
			t.Fatal(err)
		}
		o, _ := r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
		if s, _ := o.Get("Size"); s.V != uint32(2) {
			t.Errorf("Size %v", s)
		}
		if l, _ := o.Get("Label"); l.V != "old" {
			t.Errorf("Label %v, want it unchanged", l)
		}
		// With strict nulls the NULL is written.
		c.SetValue(PutExtStrictNulls, true)
		if _, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", 2), FlagUpdateOnly, c); err != nil {
			t.Fatal(err)
		}
		o, err := r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if l, _ := o.Get("Label"); !l.IsNull() {
			t.Errorf("Label %v, want NULL", l)
		}
		// A property not listed is ignored even if set.
		c2 := NewContext()
		c2.SetValue(PutExtensions, true)
		c2.SetValue(PutExtProperties, []string{"Label"})
		if _, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", 99, "Label", "new"), FlagUpdateOnly, c2); err != nil {
			t.Fatal(err)
		}
		o, _ = r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
		if s, _ := o.Get("Size"); s.V != uint32(2) {
			t.Errorf("unlisted Size changed to %v", s)
		}
	})
	t.Run("strict nulls on a Not_Null property fail", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		r.put(r.inst("Strict", "Id", "a", "Name", "n", "Tag", "t"), 0)
		c := NewContext()
		c.SetValue(PutExtensions, true)
		c.SetValue(PutExtProperties, []string{"Name"})
		c.SetValue(PutExtStrictNulls, true)
		_, err := r.svc.PutInstance(ctx, r.inst("Strict", "Id", "a"), FlagUpdateOnly, c)
		wantStatus(t, err, cim.EIllegalNull)
	})
	t.Run("unknown property", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		o := r.inst("Item", "Id", "a")
		o.Properties = append(o.Properties, cim.Property{Name: "Bogus", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "x"}})
		_, err := r.svc.PutInstance(ctx, o, 0, nil)
		wantStatus(t, err, cim.EInvalidProperty)
	})
	t.Run("Key qualifier cannot be added per instance", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		o := r.inst("Item", "Id", "a")
		p, _ := o.Property("Size")
		p.Qualifiers = append(p.Qualifiers, qTrue("Key"))
		_, err := r.svc.PutInstance(ctx, o, 0, nil)
		wantStatus(t, err, cim.ECannotBeKey)
	})
	t.Run("control characters in string keys", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		_, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a\x01b"), 0, nil)
		wantStatus(t, err, cim.EInvalidParameter)
	})
	t.Run("amended qualifiers accepted and not stored with the flag", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		o := r.inst("Item", "Id", "a")
		o.Qualifiers = append(o.Qualifiers, cim.Qualifier{Name: "Description", Value: cim.Value{Type: cim.TypeString, V: "x"}, Flavor: cim.FlavorAmended})
		if _, err := r.svc.PutInstance(ctx, o, FlagUseAmendedQualifiers, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
		if _, ok := cim.FindQualifier(got.Qualifiers, "Description"); ok {
			t.Fatal("amended qualifier stored")
		}
	})
	t.Run("result string via the call result", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		cr, err := r.svc.PutInstanceCall(ctx, r.inst("Item"), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := cr.GetResultString(Infinite)
		if err != nil || !strings.HasPrefix(s, `Item.Id="{`) {
			t.Fatalf("result string %q, %v", s, err)
		}
	})
}

// TestPutInstanceLeavesCallerObject: PutInstance never changes the
// caller's object (a NULL string key gets its GUID in the stored copy
// only), and what it stored or announced does not change when the caller
// later changes its object (the write path shares the caller's properties
// while it can; see conform).
func TestPutInstanceLeavesCallerObject(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := subscribeChan(ctx, r.c, "root/cimv2", admin, false)
	if err != nil {
		t.Fatal(err)
	}
	in := r.inst("Item", "Size", uint32(7))
	path := r.put(in, 0)
	if v, _ := in.Get("Id"); !v.IsNull() {
		t.Fatalf("the caller's key became %v", v.V)
	}
	in.Put("Size", cim.Value{Type: cim.TypeUint32, V: uint32(99)})
	ev := <-events
	if v, _ := ev.Target.Get("Size"); v.V != uint32(7) {
		t.Errorf("event target changed with the caller's object: Size %v", v.V)
	}
	stored, err := r.svc.GetObject(context.Background(), path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := stored.Get("Size"); v.V != uint32(7) {
		t.Errorf("stored Size %v", v.V)
	}
	// The same through a batch.
	in2 := r.inst("Item", "Id", "batch", "Size", uint32(1))
	if _, err := r.c.PutInstances(context.Background(), "root/cimv2", admin, []*cim.Object{in2}, FlagCreateOnly); err != nil {
		t.Fatal(err)
	}
	in2.Put("Size", cim.Value{Type: cim.TypeUint32, V: uint32(2)})
	if ev := <-events; ev.Target.Properties[1].Value.V != uint32(1) {
		t.Errorf("batch event target changed with the caller's object: %v", ev.Target.Properties)
	}
}

// flagProvider owns the instances of a dynamic class: it records what
// PutInstance hands it and answers for existence itself.
type flagProvider struct {
	have  map[string]bool
	got   []*cim.Object
	flags []Flags
	ctxs  []*Context
}

func (p *flagProvider) Name() string { return "FlagProv" }
func (p *flagProvider) PutInstance(_ context.Context, _ string, inst *cim.Object, flags Flags, wctx *Context) error {
	p.got, p.flags, p.ctxs = append(p.got, inst), append(p.flags, flags), append(p.ctxs, wctx)
	id, _ := inst.Get("Id")
	exists := p.have[id.V.(string)]
	switch {
	case flags&FlagCreateOnly != 0 && exists:
		return cim.Errorf(cim.EAlreadyExists, "provider: %v exists", id.V)
	case flags&FlagUpdateOnly != 0 && !exists:
		return cim.Errorf(cim.ENotFound, "provider: %v is not here", id.V)
	}
	p.have[id.V.(string)] = true
	return nil
}

// TestDynamicInstanceBelongsToProvider: for a [Dynamic] class the owning
// provider gets the flags and the put-extension context unchanged and
// decides existence; wbemd neither checks existence, nor merges a partial
// update, nor raises an intrinsic event, nor stores anything.
func TestDynamicInstanceBelongsToProvider(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	p := &flagProvider{have: map[string]bool{"old": true}}
	if err := r.c.RegisterProvider("root/cimv2", "Dyn", p); err != nil {
		t.Fatal(err)
	}
	events, err := subscribeChan(context.Background(), r.c, "root/cimv2", admin, true)
	if err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	if _, err := r.svc.PutInstance(context.Background(), r.inst("Dyn", "Id", "old"), FlagCreateOnly, nil); cim.StatusOf(err) != cim.EAlreadyExists || !strings.Contains(err.Error(), "provider:") {
		t.Errorf("create-only of an instance the provider has: %v, want the provider's WBEM_E_ALREADY_EXISTS", err)
	}
	if _, err := r.svc.PutInstance(context.Background(), r.inst("Dyn", "Id", "new"), FlagUpdateOnly, nil); cim.StatusOf(err) != cim.ENotFound || !strings.Contains(err.Error(), "provider:") {
		t.Errorf("update-only of an instance the provider lacks: %v, want the provider's WBEM_E_NOT_FOUND", err)
	}
	wctx := NewContext()
	wctx.SetValue(PutExtensions, true)
	wctx.SetValue(PutExtProperties, []string{"Id"})
	if _, err := r.svc.PutInstance(context.Background(), r.inst("Dyn", "Id", "old"), FlagUpdateOnly, wctx); err != nil {
		t.Fatalf("partial update: %v", err)
	}
	if n := len(p.got); n != 3 {
		t.Fatalf("provider called %d times, want 3", n)
	}
	if p.flags[2] != FlagUpdateOnly || p.ctxs[2] != wctx {
		t.Errorf("partial update reached the provider with flags %#x and context %p, want %#x and %p", p.flags[2], p.ctxs[2], FlagUpdateOnly, wctx)
	}
	if after := r.snapshot(); len(after) != len(before) {
		t.Errorf("a dynamic write changed the store: %d records before, %d after", len(before), len(after))
	}
	// The first event to arrive is that of a later static write.
	r.put(r.inst("Item", "Id", "after"), 0)
	if ev := <-events; ev.Class != "__InstanceCreationEvent" || ev.Target.Class != "Item" {
		t.Errorf("first event %s of %s, want the creation of the Item written after the dynamic writes", ev.Class, ev.Target.Class)
	}
}

// TestStoredInstanceAsSpawned: an instance read back from the repository
// (GetObject, an enumeration, its creation event) carries the qualifiers
// it has from its class as SpawnInstance gives them, marked propagated,
// and a put of what was read is as cheap as a put of a spawned instance
// (it has the class's shape: conformant).
func TestStoredInstanceAsSpawned(t *testing.T) {
	r := newRepo(t)
	note := cim.Qualifier{Name: "Note", Value: cim.Value{Type: cim.TypeString, V: "kept"}, Flavor: cim.FlavorToInstance | cim.FlavorToSubclass}
	r.putClass(class("Flavored", "", []cim.Qualifier{note},
		prop("Id", cim.TypeString, qTrue("Key"), qStr("Description", "the id")),
		prop("Size", cim.TypeUint32, qStr("Units", "bytes"))))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := subscribeChan(ctx, r.c, "root/cimv2", admin, false)
	if err != nil {
		t.Fatal(err)
	}
	spawned := r.inst("Flavored", "Id", "a", "Size", uint32(7))
	path := r.put(spawned, 0)
	stored, err := r.svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.svc.CreateInstanceEnum(ctx, "Flavored", FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	listed, _, err := e.Next(ctx, Infinite, 1)
	e.Close()
	if err != nil || len(listed) != 1 {
		t.Fatalf("enumeration: %v %v", listed, err)
	}
	ev := <-events
	for name, got := range map[string]*cim.Object{"GetObject": stored, "enumeration": listed[0], "event": ev.Target} {
		if !got.CompareTo(spawned, cim.CompareIgnoreObjectSource) {
			t.Errorf("%s: the stored instance differs from the spawned one it was put as:\n%v\n%v", name, got, spawned)
		}
		if q, ok := cim.FindQualifier(got.Qualifiers, "Note"); !ok || q.Flavor&cim.FlavorOriginPropagated == 0 {
			t.Errorf("%s: instance qualifier Note %v, want it propagated from the class", name, q)
		}
		for _, p := range got.Properties {
			for _, q := range p.Qualifiers {
				if q.Flavor&cim.FlavorOriginPropagated == 0 {
					t.Errorf("%s: %s's qualifier %s has flavor %#x, not marked propagated from the class", name, p.Name, q.Name, q.Flavor)
				}
			}
		}
	}
	ci, err := r.c.resolve(ctx, "root/cimv2", "Flavored")
	if err != nil {
		t.Fatal(err)
	}
	if !conformant(stored, ci) {
		t.Error("the instance GetObject returned does not have its class's shape: a put of it would rebuild it")
	}
}
