package cimom

import (
	"context"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// providerEventClasses is a class table for checkProviderEvent: wbemd's
// event classes, __ExtrinsicEvent, a provider's class Fz_Item and its
// extrinsic events, and Fz_Other, which the registration does not name.
func providerEventClasses(t testing.TB) (lookup func(string) (*cim.Object, error), reg *EventRegistration) {
	locals := append(eventClassDefs(),
		class("Fz_Item", "", []cim.Qualifier{qTrue("Dynamic")}, prop("Name", cim.TypeString, qTrue("Key")), prop("Size", cim.TypeUint32)),
		class("Fz_Sub", "Fz_Item", nil, prop("Extra", cim.TypeString)),
		class("Fz_Other", "", nil, prop("Name", cim.TypeString, qTrue("Key"))),
		class("Fz_Alarm", extrinsicEventClass, nil, prop("Level", cim.TypeUint32), prop("Item", cim.TypeObject)),
		class("Fz_Quiet", extrinsicEventClass, nil))
	table := map[string]*cim.Object{}
	for _, local := range locals {
		var parent *cim.Object
		if local.Superclass != "" {
			parent = table[cim.Fold(local.Superclass)]
		}
		cls, err := cim.Derive(parent, local)
		if err != nil {
			t.Fatalf("class %s: %v", local.Class, err)
		}
		table[cim.Fold(cls.Class)] = cls
	}
	lookup = func(name string) (*cim.Object, error) {
		cls := table[cim.Fold(name)]
		if cls == nil {
			return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist", name)
		}
		if cim.HasTrueQualifier(cls.Qualifiers, "Abstract") {
			return nil, cim.Errorf(cim.EInvalidClass, "class %s is abstract", name)
		}
		return cls, nil
	}
	reg, err := parseEventRegistration("Fz", []string{
		"SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Fz_Item'",
		"SELECT * FROM Fz_Alarm"})
	if err != nil {
		t.Fatal(err)
	}
	return lookup, reg
}

// TestCheckProviderEvent: the events a provider may raise pass, with
// their objects; every other one is refused with the reason.
func TestCheckProviderEvent(t *testing.T) {
	lookup, reg := providerEventClasses(t)
	for _, c := range []struct {
		raw, want string // want: the class delivered, or a part of the error
		ok        bool
	}{
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a","Size":1}}`, "__InstanceCreationEvent", true},
		{`{"__CLASS":"__instancedeletionevent","TargetInstance":{"__CLASS":"Fz_Sub","Name":"a","Extra":"x"}}`, "__InstanceDeletionEvent", true},
		{`{"__CLASS":"__InstanceModificationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a"},"PreviousInstance":{"__CLASS":"Fz_Item","Name":"a","Size":2}}`, "__InstanceModificationEvent", true},
		{`{"__CLASS":"Fz_Alarm","Level":3,"Item":{"__CLASS":"Fz_Other","Name":"o"}}`, "Fz_Alarm", true},
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"Fz_Other","Name":"a"}}`, "of Fz_Other: the provider's EventQueryList does not cover it", false},
		{`{"__CLASS":"__InstanceModificationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a"},"PreviousInstance":{"__CLASS":"Fz_Other","Name":"a"}}`, "of Fz_Other", false},
		{`{"__CLASS":"Fz_Quiet"}`, "Fz_Quiet: the provider's EventQueryList does not cover it", false},
		{`{"__CLASS":"__InstanceCreationEvent"}`, "has no TargetInstance", false},
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"Fz_Item","Size":1}}`, "no complete keys", false},
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a","Size":-1}}`, "uint32", false},
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a","Nope":1}}`, "Nope", false},
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":"Fz_Item.Name=\"a\""}`, "", false},
		{`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__GENUS":1,"__CLASS":"Fz_Item"}}`, "", false},
		{`{"__GENUS":1,"__CLASS":"Fz_Alarm"}`, "is a class, not an instance", false},
		{`{"__CLASS":"Fz_Item","Name":"a"}`, "Fz_Item is not an event class a provider raises", false},
		{`{"__CLASS":"__ExtrinsicEvent"}`, "is abstract", false},
		{`{"__CLASS":"__InstanceOperationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a"}}`, "is abstract", false},
		{`{"__CLASS":"__ClassCreationEvent"}`, "not an event class a provider raises", false},
		{`{"Level":1}`, "names no class", false},
		{`[1]`, "", false},
	} {
		ev, err := checkProviderEvent([]byte(c.raw), reg, lookup)
		if c.ok {
			if err != nil || ev.Class != c.want {
				t.Errorf("%s: %v, class %q, want %s", c.raw, err, ev.Class, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.raw, err, c.want)
		}
	}
}

// FuzzProviderEvent: any bytes a provider sends as an event are refused
// with an error or give an event that fits the registration; never a
// panic.
func FuzzProviderEvent(f *testing.F) {
	f.Add([]byte(`{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"Fz_Item","Name":"a","Size":1}}`))
	f.Add([]byte(`{"__CLASS":"__InstanceModificationEvent","TargetInstance":{"__CLASS":"Fz_Sub","Name":"a"},"PreviousInstance":{"__CLASS":"Fz_Item","Name":"b"}}`))
	f.Add([]byte(`{"__CLASS":"Fz_Alarm","Level":"7","Item":{"__CLASS":"Fz_Alarm","Item":{"__CLASS":"Fz_Item"}}}`))
	f.Add([]byte(`{"__CLASS":"__InstanceDeletionEvent","TargetInstance":{"__CLASS":"Fz_Other","Name":"a"}}`))
	f.Add([]byte(`{"__GENUS":1,"__CLASS":"Fz_Alarm","Properties":{}}`))
	lookup, reg := providerEventClasses(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := checkProviderEvent(raw, reg, lookup)
		if err != nil {
			if cim.AsError(err) == nil {
				t.Fatalf("an error that is not a *cim.Error: %v", err)
			}
			return
		}
		switch {
		case ev.Extrinsic != nil:
			if !ev.Extrinsic.IsA("Fz_Alarm") || ev.Extrinsic.Genus != cim.GenusInstance || ev.Class != ev.Extrinsic.Class {
				t.Fatalf("extrinsic event %s %v", ev.Class, ev.Extrinsic)
			}
		case ev.Target == nil || !ev.Target.IsA("Fz_Item") || ev.Target.Genus != cim.GenusInstance:
			t.Fatalf("instance event %s with target %v", ev.Class, ev.Target)
		case ev.Previous != nil && !ev.Previous.IsA("Fz_Item"):
			t.Fatalf("previous %v", ev.Previous)
		default:
			if _, err := ev.Target.ObjectPath(); err != nil {
				t.Fatalf("target without keys: %v", err)
			}
			if eventFamilyOf(ev.Class) != famInstance || eventClass(ev.Class).Class != ev.Class {
				t.Fatalf("class %q", ev.Class)
			}
		}
		if ev.Object() == nil {
			t.Fatal("no object")
		}
	})
}

// TestInstallEventProviderClasses: a repository made before event
// providers (without __EventProviderRegistration) gets it in every
// namespace from InstallProviderClasses, once; the classes it had are not
// written again.
func TestInstallEventProviderClasses(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	var ops []store.Op
	for _, ns := range []string{"root", "root/cimv2"} {
		ops = append(ops, store.Delete(classKey(ns, eventProvRegClass)))
	}
	if _, err := r.c.commit(ctx, nil, ops); err != nil {
		t.Fatal(err)
	}
	r.c.schema.clear()
	_, err := r.svc.GetObject(ctx, eventProvRegClass, 0, nil)
	wantStatus(t, err, cim.ENotFound)
	kv, _, err := r.db.Get(ctx, classKey("root/cimv2", win32ProviderClass))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.InstallProviderClasses(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"root", "root/cimv2"} {
		svc := mustConnect(t, r.c, ns, admin)
		for _, name := range []string{eventProvRegClass} {
			if _, err := svc.GetObject(ctx, name, 0, nil); err != nil {
				t.Errorf("%s in %s after the install: %v", name, ns, err)
			}
		}
	}
	if again, _, _ := r.db.Get(ctx, classKey("root/cimv2", win32ProviderClass)); again.ModRev != kv.ModRev {
		t.Errorf("__Win32Provider was written again (revision %d to %d)", kv.ModRev, again.ModRev)
	}
	rev, _ := r.db.Rev(ctx)
	if err := r.c.InstallProviderClasses(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.db.Rev(ctx); again != rev {
		t.Errorf("a second install wrote (revision %d to %d)", rev, again)
	}
}
