package cimom

import (
	"context"
	"slices"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestInterop: the interop namespace answers discovery from the namespace
// list of the moment, under its aliases too, and serving it again writes
// nothing.
func TestInterop(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	if err := r.c.ServeInterop(ctx, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	rev, _ := r.db.Rev(ctx)
	if err := r.c.ServeInterop(ctx, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.db.Rev(ctx); again != rev {
		t.Errorf("serving the interop namespace again wrote (revision %d to %d)", rev, again)
	}
	enum := func(ns, class string) []*cim.Object {
		t.Helper()
		svc, err := r.c.Connect(ctx, ns, admin)
		if err != nil {
			t.Fatalf("Connect %s: %v", ns, err)
		}
		if svc.Namespace() != InteropNamespace {
			t.Errorf("%s connects to %s", ns, svc.Namespace())
		}
		e, err := svc.CreateInstanceEnum(ctx, class, 0, nil)
		if err != nil {
			t.Fatalf("enumerate %s in %s: %v", class, ns, err)
		}
		defer e.Close()
		var out []*cim.Object
		for o, err := range All(ctx, e) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
		return out
	}
	names := func(ns string) []string {
		var out []string
		for _, o := range enum(ns, "CIM_Namespace") {
			v, _ := o.Get("Name")
			out = append(out, v.V.(string))
		}
		return out
	}
	want := []string{"root", "root/cimv2", "root/default", "root/interop", "root/subscription"}
	for _, ns := range []string{"root/interop", "interop", "root/PG_InterOp", "ROOT/pg_interop"} {
		if got := names(ns); !slices.Equal(got, want) {
			t.Errorf("CIM_Namespace in %s: %v, want %v", ns, got, want)
		}
	}
	// Never stale: a new namespace is listed at once.
	if _, err := r.c.CreateNamespace(ctx, "test/static", admin); err != nil {
		t.Fatal(err)
	}
	if got := names("interop"); !slices.Contains(got, "test/static") || len(got) != len(want)+2 {
		t.Errorf("after creating test/static: %v", got)
	}
	oms := enum("interop", "CIM_ObjectManager")
	if len(oms) != 1 {
		t.Fatalf("%d object managers", len(oms))
	}
	if v, _ := oms[0].Get("ElementName"); v.V != "wbemd" {
		t.Errorf("ElementName %v", v)
	}
	if v, _ := oms[0].Get("Description"); v.V != "wbemd version 1.2.3" {
		t.Errorf("Description %v", v)
	}
	// The whole hierarchy answers a deep enumeration: the object manager,
	// seven namespaces, the profile and the stored CIM_IndicationService.
	if n := len(enum("interop", "CIM_ManagedElement")); n != 1+7+1+1 {
		t.Errorf("%d managed elements, want 10", n)
	}
	profiles := enum("root/interop", "CIM_RegisteredProfile")
	if len(profiles) != 1 {
		t.Fatalf("%d profiles", len(profiles))
	}
	if v, _ := profiles[0].Get("RegisteredName"); v.V != "Profile Registration" {
		t.Errorf("profile %v", v)
	}
	if v, _ := profiles[0].Get("RegisteredOrganization"); v.V != uint16(2) {
		t.Errorf("organization %v", v)
	}
	// GetObject by path, the association's references included.
	svc, _ := r.c.Connect(ctx, "interop", admin)
	links := enum("interop", "CIM_NamespaceInManager")
	if len(links) != 7 {
		t.Fatalf("%d CIM_NamespaceInManager", len(links))
	}
	for _, o := range []*cim.Object{links[2], enum("interop", "CIM_Namespace")[3], profiles[0], oms[0], enum("interop", "CIM_ElementConformsToProfile")[0]} {
		op, err := o.ObjectPath()
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.GetObject(ctx, op.RelPath(), 0, nil)
		if err != nil {
			t.Fatalf("GetObject %s: %v", op.RelPath(), err)
		}
		if gp, _ := got.ObjectPath(); !cim.EqualPaths(gp, op) {
			t.Errorf("GetObject %s gave %s", op.RelPath(), gp.RelPath())
		}
	}
	_, err := svc.GetObject(ctx, `CIM_RegisteredProfile.InstanceID="nope"`, 0, nil)
	wantStatus(t, err, cim.ENotFound)
	// Read-only.
	inst := oms[0].Clone()
	_, err = svc.PutInstance(ctx, inst, 0, nil)
	wantStatus(t, err, cim.EProviderNotCapable)
	// An alias that is a namespace of its own stays that namespace.
	if _, err := r.c.CreateNamespace(ctx, "interop", admin); err != nil {
		t.Fatal(err)
	}
	own, err := r.c.Connect(ctx, "interop", admin)
	if err != nil || own.Namespace() != "interop" {
		t.Fatalf("the namespace interop: %v, %v", own, err)
	}
}
