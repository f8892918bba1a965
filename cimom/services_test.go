package cimom

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// recorder records provider calls in order.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) provider(name string, fail error) *fnProvider {
	return &fnProvider{name: name, put: func(*cim.Object, *Context) error {
		r.mu.Lock()
		r.calls = append(r.calls, name)
		r.mu.Unlock()
		return fail
	}}
}

// TestProviderChain: providers at levels 1 and 3 of a three-level
// hierarchy are called top first; none of a child class is called; a
// failure at level 3 leaves nothing stored and fires no event.
func TestProviderChain(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, level3Fail error) (*testRepo, *recorder, <-chan Event) {
		r := newRepo(t)
		r.putClass(class("L1", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
		r.putClass(class("L2", "L1", nil, prop("B", cim.TypeString)))
		r.putClass(class("L3", "L2", nil, prop("C", cim.TypeString)))
		r.putClass(class("L4", "L3", nil))
		rec := &recorder{}
		r.c.RegisterProvider("root/cimv2", "L1", rec.provider("P1", nil))
		r.c.RegisterProvider("root/cimv2", "L3", rec.provider("P3", level3Fail))
		r.c.RegisterProvider("root/cimv2", "L4", rec.provider("P4-child", nil))
		evctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		evs, err := subscribeChan(evctx, r.c, "root/cimv2", admin, false)
		if err != nil {
			t.Fatal(err)
		}
		return r, rec, evs
	}
	t.Run("success", func(t *testing.T) {
		r, rec, evs := setup(t, nil)
		r.put(r.inst("L3", "Id", "x"), 0)
		if got := rec.calls; len(got) != 2 || got[0] != "P1" || got[1] != "P3" {
			t.Fatalf("provider calls %v, want [P1 P3]", got)
		}
		select {
		case ev := <-evs:
			if ev.Class != "__InstanceCreationEvent" || ev.Target.Class != "L3" {
				t.Fatalf("event %+v", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no creation event")
		}
	})
	t.Run("failure at level 3", func(t *testing.T) {
		r, rec, evs := setup(t, cim.Errorf(cim.EVetoPut, "level 3 says no"))
		before := r.snapshot()
		_, err := r.svc.PutInstance(ctx, r.inst("L3", "Id", "x"), 0, nil)
		wantStatus(t, err, cim.EVetoPut)
		if e := err.(*cim.Error); e.Provider != "P3" {
			t.Errorf("ProviderName %q, want P3", e.Provider)
		}
		if got := rec.calls; len(got) != 2 || got[0] != "P1" || got[1] != "P3" {
			t.Fatalf("provider calls %v, want [P1 P3]", got)
		}
		if !sameSnapshot(before, r.snapshot()) {
			t.Fatal("something was stored")
		}
		select {
		case ev := <-evs:
			t.Fatalf("event fired: %+v", ev)
		case <-time.After(100 * time.Millisecond):
		}
	})
	t.Run("a plain provider error is a provider failure", func(t *testing.T) {
		r, _, _ := setup(t, errors.New("disk on fire"))
		_, err := r.svc.PutInstance(ctx, r.inst("L3", "Id", "x"), 0, nil)
		wantStatus(t, err, cim.EProviderFailure)
	})
}

// slowProvider blocks until released.
type slowProvider struct{ release chan struct{} }

func (p *slowProvider) Name() string { return "Slow" }
func (p *slowProvider) PutInstance(context.Context, string, *cim.Object, Flags, *Context) error {
	<-p.release
	return nil
}

func TestSemisynchronous(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	slow := &slowProvider{release: make(chan struct{})}
	r.c.RegisterProvider("root/cimv2", "Item", slow)
	cr, err := r.svc.PutInstanceCall(ctx, r.inst("Item", "Id", "s"), FlagReturnImmediately, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := cr.GetCallStatus(NoWait); st != cim.STimedOut {
		t.Fatalf("GetCallStatus while running = %v, want WBEM_S_TIMEDOUT", st)
	}
	if _, err := cr.GetResultString(10 * time.Millisecond); cim.StatusOf(err) != cim.STimedOut {
		t.Fatalf("GetResultString while running: %v", err)
	}
	close(slow.release)
	st, opErr := cr.GetCallStatus(Infinite)
	if st != cim.SNoError || opErr != nil {
		t.Fatalf("GetCallStatus after = %v, %v", st, opErr)
	}
	if s, err := cr.GetResultString(Infinite); err != nil || s != `Item.Id="s"` {
		t.Fatalf("result %q %v", s, err)
	}
	if _, err := cr.GetResultObject(NoWait); cim.StatusOf(err) != cim.EInvalidOperation {
		t.Fatalf("GetResultObject of a put: %v", err)
	}
	// A failing semisynchronous call reports through the call result.
	cr, err = r.svc.PutInstanceCall(ctx, r.inst("Item", "Id", "s"), FlagReturnImmediately|FlagCreateOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, opErr := cr.GetCallStatus(Infinite); st != cim.SNoError || cim.StatusOf(opErr) != cim.EAlreadyExists {
		t.Fatalf("GetCallStatus = %v, %v", st, opErr)
	}
	// Parameter errors come back at once, with no call result.
	if cr, err := r.svc.PutInstanceCall(ctx, nil, FlagReturnImmediately, nil); cr != nil || cim.StatusOf(err) != cim.EInvalidParameter {
		t.Fatalf("nil instance: %v %v", cr, err)
	}
	// GetObject semisynchronously.
	cr, err = r.svc.GetObjectCall(ctx, `Item.Id="s"`, FlagReturnImmediately, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := cr.GetResultObject(Infinite)
	if err != nil || o.Class != "Item" {
		t.Fatalf("GetResultObject %v %v", o, err)
	}
	// Semisynchronous enumeration: Next times out until results come.
	r.c.UnregisterProvider("root/cimv2", "Item")
	for i := 0; i < 10; i++ {
		r.put(r.inst("Item", "Id", string(rune('a'+i))), 0)
	}
	e, err := r.svc.CreateInstanceEnum(ctx, "Item", FlagReturnImmediately|FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n := 0
	for {
		objs, st, err := e.Next(ctx, time.Second, 3)
		if err != nil {
			t.Fatal(err)
		}
		n += len(objs)
		if st == cim.SFalse {
			break
		}
	}
	if n != 11 {
		t.Fatalf("enumerated %d, want 11", n)
	}
	if err := e.Reset(); cim.StatusOf(err) != cim.EInvalidOperation {
		t.Fatalf("Reset of a forward-only enumerator: %v", err)
	}
}

func TestEnumerators(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	r.putClass(class("Concrete2", "Concrete", nil))
	r.put(r.inst("Concrete", "Id", "1"), 0)
	r.put(r.inst("Concrete2", "Id", "2"), 0)
	count := func(class string, flags Flags) int {
		e, err := r.svc.CreateInstanceEnum(ctx, class, flags, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		n := 0
		for _, err := range All(ctx, e) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if n := count("Abstract_Base", 0); n != 2 {
		t.Errorf("deep from the abstract base: %d, want 2", n)
	}
	if n := count("Concrete", FlagShallow); n != 1 {
		t.Errorf("shallow: %d, want 1", n)
	}
	if n := count("Concrete2", 0); n != 1 {
		t.Errorf("leaf: %d, want 1", n)
	}
	_, err := r.svc.CreateInstanceEnum(ctx, "Nope", 0, nil)
	wantStatus(t, err, cim.EInvalidClass)
	// Bidirectional: Reset and Clone.
	e, _ := r.svc.CreateInstanceEnum(ctx, "Abstract_Base", 0, nil)
	first, _, _ := e.Next(ctx, Infinite, 1)
	c, err := e.Clone()
	if err != nil {
		t.Fatal(err)
	}
	rest, st, _ := c.Next(ctx, Infinite, 10)
	if len(rest) != 1 || st != cim.SFalse {
		t.Fatalf("clone returned %d (%v)", len(rest), st)
	}
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	again, _, _ := e.Next(ctx, Infinite, 1)
	if again[0].Class != first[0].Class {
		t.Fatal("Reset did not go back to the first object")
	}
	e.Close()
	// Classes.
	ce, err := r.svc.CreateClassEnum(ctx, "Abstract_Base", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for o, err := range All(ctx, ce) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, o.Class)
	}
	if len(names) != 2 {
		t.Fatalf("deep class enum %v, want Concrete and Concrete2", names)
	}
	ce, _ = r.svc.CreateClassEnum(ctx, "Abstract_Base", FlagShallow, nil)
	objs, _, _ := ce.Next(ctx, Infinite, 10)
	if len(objs) != 1 || objs[0].Class != "Concrete" {
		t.Fatalf("shallow class enum %v", objs)
	}
}

func TestEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRepo(t)
	r.baseSchema()
	evs, err := subscribeChan(ctx, r.c, "root", admin, true)
	if err != nil {
		t.Fatal(err)
	}
	next := func() Event {
		t.Helper()
		select {
		case ev := <-evs:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
		}
		return Event{}
	}
	r.put(r.inst("Item", "Id", "e", "Size", 1), 0)
	if ev := next(); ev.Class != "__InstanceCreationEvent" || ev.Namespace != "root/cimv2" {
		t.Fatalf("%+v", ev)
	}
	r.put(r.inst("Item", "Id", "e", "Size", 2), 0)
	ev := next()
	if ev.Class != "__InstanceModificationEvent" || ev.Previous == nil {
		t.Fatalf("%+v", ev)
	}
	if v, _ := ev.Previous.Get("Size"); v.V != uint32(1) {
		t.Fatalf("PreviousInstance.Size = %v", v)
	}
	if err := r.svc.DeleteInstance(ctx, `Item.Id="e"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Class != "__InstanceDeletionEvent" || ev.Target.Class != "Item" {
		t.Fatalf("%+v", ev)
	}
	r.putClass(class("Later", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	if ev := next(); ev.Class != "__ClassCreationEvent" || ev.Target.Class != "Later" {
		t.Fatalf("%+v", ev)
	}
	if err := r.svc.DeleteClass(ctx, "Later", 0, nil); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Class != "__ClassDeletionEvent" {
		t.Fatalf("%+v", ev)
	}
	rootSvc, _ := r.c.Connect(ctx, "root", admin)
	ns, _ := rootSvc.GetObject(ctx, "__Namespace", 0, nil)
	child, _ := ns.SpawnInstance()
	child.Put("Name", cim.Value{Type: cim.TypeString, V: "evns"})
	if _, err := rootSvc.PutInstance(ctx, child, 0, nil); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Class != "__InstanceCreationEvent" {
		t.Fatalf("%+v", ev)
	}
	if ev := next(); ev.Class != "__NamespaceCreationEvent" || ev.Namespace != "root" {
		t.Fatalf("%+v", ev)
	}
}

func TestNamespaces(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	mk := func(svc Services, name string) error {
		cls, err := svc.GetObject(ctx, "__Namespace", 0, nil)
		if err != nil {
			return err
		}
		o, _ := cls.SpawnInstance()
		o.Put("Name", cim.Value{Type: cim.TypeString, V: name})
		_, err = svc.PutInstance(ctx, o, FlagCreateOnly, nil)
		return err
	}
	if err := mk(r.svc, "Child"); err != nil {
		t.Fatal(err)
	}
	child, err := r.svc.OpenNamespace(ctx, "child", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if child.Namespace() != "root/cimv2/Child" {
		t.Fatalf("namespace %q", child.Namespace())
	}
	if err := mk(child, "Grand"); err != nil {
		t.Fatal(err)
	}
	grand, err := r.c.Connect(ctx, `root\cimv2\child\grand`, admin)
	if err != nil {
		t.Fatal(err)
	}
	if err := grand.PutClass(ctx, class("G", "", nil, prop("Id", cim.TypeString, qTrue("Key"))), 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := mk(r.svc, "Child"); cim.StatusOf(err) != cim.EAlreadyExists {
		t.Fatalf("second create: %v", err)
	}
	if err := r.svc.DeleteInstance(ctx, `__Namespace.Name="Child"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"root/cimv2/child", "root/cimv2/child/grand"} {
		if _, err := r.c.Connect(ctx, ns, admin); cim.StatusOf(err) != cim.EInvalidNamespace {
			t.Fatalf("%s after delete: %v", ns, err)
		}
	}
	if rep, err := Check(ctx, r.db); err != nil {
		t.Fatalf("Check: %v", err)
	} else if rep.Namespaces != 3 {
		t.Fatalf("%v", rep)
	}
	_, err = r.c.Connect(ctx, "root/nope", admin)
	wantStatus(t, err, cim.EInvalidNamespace)
}

func TestClassOperations(t *testing.T) {
	ctx := context.Background()
	withChild := func(t *testing.T) *testRepo {
		r := newRepo(t)
		r.putClass(class("P", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("A", cim.TypeString)))
		r.putClass(class("C", "P", nil, prop("B", cim.TypeUint32)))
		return r
	}
	addProp := func(name string, t cim.Type) *cim.Object {
		return class("P", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("A", cim.TypeString), prop(name, t))
	}
	cases := []struct {
		name  string
		setup func(r *testRepo)
		call  func(r *testRepo) error
		want  cim.Status
	}{
		{"create-only existing", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("P", "", nil, prop("Id", cim.TypeString, qTrue("Key"))), FlagCreateOnly, nil)
		}, cim.EAlreadyExists},
		{"update-only missing", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("Q", "", nil), FlagUpdateOnly, nil)
		}, cim.ENotFound},
		{"missing superclass", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("Q", "Nope", nil), 0, nil)
		}, cim.ENotFound},
		{"compatible update with children", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, addProp("New", cim.TypeString), 0, nil)
		}, cim.EClassHasChildren},
		{"safe update with children", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, addProp("New", cim.TypeString), FlagUpdateSafeMode, nil)
		}, cim.SNoError},
		{"safe update conflicting with a child", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, addProp("B", cim.TypeString), FlagUpdateSafeMode, nil)
		}, cim.EUpdateTypeMismatch},
		{"safe update with instances", func(r *testRepo) { r.put(r.inst("C", "Id", "1"), 0) }, func(r *testRepo) error {
			return r.svc.PutClass(ctx, addProp("New", cim.TypeString), FlagUpdateSafeMode, nil)
		}, cim.EClassHasInstances},
		{"description-only change with instances", func(r *testRepo) { r.put(r.inst("C", "Id", "1"), 0) }, func(r *testRepo) error {
			c := class("P", "", []cim.Qualifier{qStr("Description", "now described")}, prop("Id", cim.TypeString, qTrue("Key")), prop("A", cim.TypeString))
			return r.svc.PutClass(ctx, c, 0, nil)
		}, cim.SNoError},
		{"force update deletes instances", func(r *testRepo) { r.put(r.inst("C", "Id", "1"), 0) }, func(r *testRepo) error {
			if err := r.svc.PutClass(ctx, addProp("New", cim.TypeString), FlagUpdateForceMode, nil); err != nil {
				return err
			}
			if _, err := r.svc.GetObject(ctx, `C.Id="1"`, 0, nil); cim.StatusOf(err) != cim.ENotFound {
				t.Errorf("instance survived a forced update: %v", err)
			}
			return nil
		}, cim.SNoError},
		{"safe and force together", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, addProp("New", cim.TypeString), FlagUpdateSafeMode|FlagUpdateForceMode, nil)
		}, cim.EInvalidParameter},
		{"instance passed", func(r *testRepo) {}, func(r *testRepo) error {
			return r.svc.PutClass(ctx, r.inst("P", "Id", "1"), 0, nil)
		}, cim.EInvalidClass},
		{"leading underscore", nil, func(r *testRepo) error { return r.svc.PutClass(ctx, class("_X", "", nil), 0, nil) }, cim.EInvalidOperation},
		{"trailing underscore", nil, func(r *testRepo) error { return r.svc.PutClass(ctx, class("X_", "", nil), 0, nil) }, cim.EInvalidObject},
		{"bad name", nil, func(r *testRepo) error { return r.svc.PutClass(ctx, class("X Y", "", nil), 0, nil) }, cim.EInvalidParameter},
		{"circular", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("P", "C", nil, prop("Id", cim.TypeString, qTrue("Key"))), FlagUpdateForceMode, nil)
		}, cim.ECircularReference},
		{"new key below a keyed class", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("D", "P", nil, prop("K2", cim.TypeString, qTrue("Key"))), 0, nil)
		}, cim.ECannotChangeKeyInheritance},
		{"real key", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("R", "", nil, prop("K", cim.TypeReal64, qTrue("Key"))), 0, nil)
		}, cim.ECannotBeKey},
		{"singleton with keys", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("S", "", []cim.Qualifier{qTrue("Singleton")}, prop("K", cim.TypeString, qTrue("Key"))), 0, nil)
		}, cim.ECannotBeSingleton},
		{"abstract below concrete", nil, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("A", "P", []cim.Qualifier{qTrue("Abstract")}), 0, nil)
		}, cim.ECannotBeAbstract},
		{"override of a DisableOverride qualifier", func(r *testRepo) {
			r.putClass(class("Fixed", "", []cim.Qualifier{{Name: "Version", Value: cim.Value{Type: cim.TypeString, V: "1"}, Flavor: cim.FlavorToSubclass | cim.FlavorDisableOverride}}))
		}, func(r *testRepo) error {
			return r.svc.PutClass(ctx, class("Fixed2", "Fixed", []cim.Qualifier{qStr("Version", "2")}), 0, nil)
		}, cim.EOverrideNotAllowed},
		{"delete a missing class", nil, func(r *testRepo) error { return r.svc.DeleteClass(ctx, "Nope", 0, nil) }, cim.ENotFound},
		{"delete with the amended flag", nil, func(r *testRepo) error { return r.svc.DeleteClass(ctx, "P", FlagUseAmendedQualifiers, nil) }, cim.EInvalidParameter},
		{"delete a system class", nil, func(r *testRepo) error { return r.svc.DeleteClass(ctx, "__Namespace", 0, nil) }, cim.EInvalidOperation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := withChild(t)
			if tc.setup != nil {
				tc.setup(r)
			}
			before := r.snapshot()
			err := tc.call(r)
			wantStatus(t, err, tc.want)
			if tc.want.IsError() && !sameSnapshot(before, r.snapshot()) {
				t.Error("a failed class operation changed the repository")
			}
		})
	}
	t.Run("delete cascades to subclasses, instances and index entries", func(t *testing.T) {
		r := withChild(t)
		r.putClass(class("GC", "C", nil, prop("T", cim.TypeString, qTrue("Indexed"))))
		r.put(r.inst("P", "Id", "p"), 0)
		r.put(r.inst("C", "Id", "c"), 0)
		r.put(r.inst("GC", "Id", "g", "T", "t"), 0)
		r.putClass(class("Other", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
		r.put(r.inst("Other", "Id", "o"), 0)
		if err := r.svc.DeleteClass(ctx, "C", 0, nil); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"C", "GC"} {
			if _, err := r.svc.GetObject(ctx, p, 0, nil); cim.StatusOf(err) != cim.ENotFound {
				t.Errorf("class %s: %v", p, err)
			}
		}
		if _, err := r.svc.GetObject(ctx, `P.Id="p"`, 0, nil); err != nil {
			t.Errorf("parent instance lost: %v", err)
		}
		if _, err := r.svc.GetObject(ctx, `P.Id="c"`, 0, nil); cim.StatusOf(err) != cim.ENotFound {
			t.Errorf("subclass instance survived: %v", err)
		}
		rep, err := Check(ctx, r.db)
		if err != nil {
			t.Fatal(err)
		}
		// P.Id="p", Other.Id="o", and root's two __Namespace instances.
		if rep.IndexEntries != 0 || rep.Instances != 4 {
			t.Fatalf("%v", rep)
		}
	})
	t.Run("Indexed property keeps its index", func(t *testing.T) {
		r := newRepo(t)
		r.baseSchema()
		r.put(r.inst("Strict", "Id", "a", "Name", "n", "Tag", "t1"), 0)
		r.put(r.inst("Strict", "Id", "a", "Name", "n", "Tag", "t2"), 0)
		r.put(r.inst("Strict", "Id", "b", "Name", "n", "Tag", "t2"), 0)
		if err := r.svc.DeleteInstance(ctx, `Strict.Id="b"`, 0, nil); err != nil {
			t.Fatal(err)
		}
		rep, err := Check(ctx, r.db)
		if err != nil {
			t.Fatal(err)
		}
		if rep.IndexEntries != 1 {
			t.Fatalf("%v", rep)
		}
	})
	t.Run("inherited members report their origin", func(t *testing.T) {
		r := withChild(t)
		c, err := r.svc.GetObject(ctx, "C", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := c.GetPropertyOrigin("A"); o != "P" {
			t.Errorf("origin of A = %q", o)
		}
		if o, _ := c.GetPropertyOrigin("B"); o != "C" {
			t.Errorf("origin of B = %q", o)
		}
		if !c.InheritsFrom("P") || c.InheritsFrom("C") {
			t.Error("InheritsFrom")
		}
		if v, _ := c.SystemProperty("__DERIVATION"); len(v.V.([]string)) != 1 {
			t.Errorf("__DERIVATION %v", v)
		}
	})
}

func TestLocalization(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	amended := func(name, v string) cim.Qualifier {
		return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeString, V: v}, Flavor: cim.FlavorAmended | cim.FlavorToSubclass}
	}
	c := class("Loc", "", []cim.Qualifier{amended("Description", "a localized class")},
		prop("Id", cim.TypeString, qTrue("Key"), amended("Description", "the id")))
	if err := r.svc.PutClass(ctx, c, FlagUseAmendedQualifiers, nil); err != nil {
		t.Fatal(err)
	}
	neutral, _ := r.svc.GetObject(ctx, "Loc", 0, nil)
	if _, ok := cim.FindQualifier(neutral.Qualifiers, "Description"); ok {
		t.Fatal("the neutral class carries the amended qualifier")
	}
	loc, err := r.svc.GetObject(ctx, "Loc", FlagUseAmendedQualifiers, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := cim.FindQualifier(loc.Qualifiers, "Description"); !ok || q.Value.V != "a localized class" {
		t.Fatalf("merged class qualifiers %+v", loc.Qualifiers)
	}
	p, _ := loc.Property("Id")
	if q, ok := cim.FindQualifier(p.Qualifiers, "Description"); !ok || q.Value.V != "the id" {
		t.Fatalf("merged property qualifiers %+v", p.Qualifiers)
	}
	if _, err := r.c.Connect(ctx, "root/cimv2/ms_409", admin); err != nil {
		t.Fatalf("locale namespace: %v", err)
	}
	// Writing back an amended object without the flag is refused.
	inst, _ := loc.SpawnInstance()
	inst.Put("Id", cim.Value{Type: cim.TypeString, V: "1"})
	inst.Qualifiers = append(inst.Qualifiers, amended("Description", "x"))
	_, err = r.svc.PutInstance(ctx, inst, 0, nil)
	wantStatus(t, err, cim.EAmendedObject)
	// Classes of the locale namespace behave as abstract.
	ls, _ := r.c.Connect(ctx, "root/cimv2/ms_409", admin)
	li := &cim.Object{Genus: cim.GenusInstance, Class: "Loc", Properties: []cim.Property{{Name: "Id", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "1"}}}}
	_, err = ls.PutInstance(ctx, li, 0, nil)
	wantStatus(t, err, cim.EInvalidOperation)
}

func TestGetExtensions(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	r.put(r.inst("Item", "Id", "a", "Size", 5, "Label", "l"), 0)
	c := NewContext()
	c.SetValue(GetExtensions, true)
	c.SetValue(GetExtProperties, []string{"Size"})
	o, err := r.svc.GetObject(ctx, `Item.Id="a"`, 0, c)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := o.Get("Label"); !v.IsNull() {
		t.Error("Label returned though not asked for")
	}
	if v, _ := o.Get("Size"); v.V != uint32(5) {
		t.Error("Size missing")
	}
	c.SetValue(GetExtKeysOnly, true)
	o, _ = r.svc.GetObject(ctx, `Item.Id="a"`, 0, c)
	if v, _ := o.Get("Size"); !v.IsNull() {
		t.Error("keys-only returned Size")
	}
	if v, _ := o.Get("Id"); v.V != "a" {
		t.Error("keys-only lost the key")
	}
}

func TestShutdownDrains(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	slow := &slowProvider{release: make(chan struct{})}
	r.c.RegisterProvider("root/cimv2", "Item", slow)
	done := make(chan error, 1)
	go func() {
		_, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "inflight"), 0, nil)
		done <- err
	}()
	// Wait until the call is in flight.
	for i := 0; i < 1000; i++ {
		r.c.drainMu.RLock()
		time.Sleep(time.Millisecond)
		r.c.drainMu.RUnlock()
	}
	closed := make(chan error, 1)
	go func() { closed <- r.c.Close(ctx) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := r.svc.GetObject(ctx, "Item", 0, nil); cim.StatusOf(err) != cim.EShuttingDown {
		t.Fatalf("a call while draining: %v", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the in-flight call finished", err)
	default:
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("the in-flight call failed: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}

func TestPutInstancesIsAtomic(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	batch := []*cim.Object{r.inst("Item", "Id", "a"), r.inst("Item", "Id", "b"), r.inst("Strict", "Id", "c", "Tag", "t")}
	before := r.snapshot()
	_, err := r.c.PutInstances(ctx, "root/cimv2", admin, batch, 0)
	wantStatus(t, err, cim.EIllegalNull)
	if !sameSnapshot(before, r.snapshot()) {
		t.Fatal("a failed batch wrote something")
	}
	_, err = r.c.PutInstances(ctx, "root/cimv2", admin, []*cim.Object{r.inst("Item", "Id", "a"), r.inst("Item", "Id", "a")}, 0)
	wantStatus(t, err, cim.EInvalidParameter)
	paths, err := r.c.PutInstances(ctx, "root/cimv2", admin, batch[:2], FlagCreateOnly)
	if err != nil || len(paths) != 2 || paths[1] != `Item.Id="b"` {
		t.Fatalf("%v %v", paths, err)
	}
	_, err = r.c.PutInstances(ctx, "root/cimv2", admin, batch[:1], FlagCreateOnly)
	wantStatus(t, err, cim.EAlreadyExists)
}
