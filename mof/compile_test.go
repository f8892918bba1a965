package mof_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
)

// compileText writes src to a file and compiles it atomically into ns.
func compileText(t *testing.T, om *cimom.CIMOM, ns, src string, opts mof.Options) (mof.Summary, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.mof")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	u, errs := mof.Load([]string{path}, nil, nil)
	if len(errs) > 0 {
		return mof.Summary{}, compileErrors(errs)
	}
	return compileUnit(om, ns, u, opts)
}

func mustCompile(t *testing.T, om *cimom.CIMOM, ns, src string) mof.Summary {
	t.Helper()
	sum, err := compileText(t, om, ns, src, mof.Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return sum
}

func connect(t *testing.T, om *cimom.CIMOM, ns string) cimom.Services {
	t.Helper()
	svc, err := om.Connect(context.Background(), ns, admin)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func get(t *testing.T, svc cimom.Services, path string, flags cimom.Flags) *cim.Object {
	t.Helper()
	o, err := svc.GetObject(context.Background(), path, flags, nil)
	if err != nil {
		t.Fatalf("GetObject(%s): %v", path, err)
	}
	return o
}

// TestCompileWMISample compiles the sample of wmi-semantics.md §11.2:
// a namespace made and entered, abstract, singleton and association
// classes, a method, embedded objects, arrays, datetimes and aliases.
func TestCompileWMISample(t *testing.T) {
	om := openRepo(t)
	sum := mustCompile(t, om, "root/default", `
#pragma namespace("\\\\.\\root")
instance of __Namespace { Name = "Test"; };
#pragma namespace("\\\\.\\root\\Test")
Qualifier Description : ToSubClass;
[Abstract] class Base { [key] string Id; };
[Singleton] class Settings { uint32 Level = 1; };
[Association] class Link { [key] Base ref A; [key] Base ref B; };
class Derived : Base {
  [Not_Null] string Name;
  [Description("x") : ToSubClass DisableOverride] uint64 Size;
  datetime Stamp = "19940107140332.000000-300";
  datetime Age = "00000001120032.000000:000";
  object Emb;
  Base   Emb2;
  string Tags[] = {"a", "b"};
  sint32 Op([in, Id(0)] string P, [out, Id(1)] uint32 R);
};
instance of Link { A = $d; B = "Derived.Id=\"1\""; };
instance of Derived as $d { Id = "1"; Name = "n"; Emb = instance of Base { Id = "e"; }; Emb2 = instance of Derived { Id = "f"; Name = "m"; }; };
instance of Settings { Level = 2; };
`)
	if sum.ClassesCreated != 4 || sum.InstancesCreated != 4 {
		t.Fatalf("summary %+v", sum)
	}
	svc := connect(t, om, "root/Test")
	d := get(t, svc, "Derived", 0)
	if p, _ := d.Property("Size"); p.Type != cim.TypeUint64 || p.Qualifiers[0].Flavor != cim.FlavorToSubclass|cim.FlavorDisableOverride {
		t.Errorf("Size: %+v", p)
	}
	if p, _ := d.Property("Emb2"); p.Type != cim.TypeObject || p.RefClass != "Base" {
		t.Errorf("Emb2: %+v", p)
	}
	if m, ok := d.GetMethod("Op"); !ok || len(m.Parameters) != 2 || m.ReturnType != cim.TypeSint32 {
		t.Errorf("Op: %+v", m)
	}
	// The forward reference $d resolved to the instance's path.
	link := get(t, svc, `Link.A="Derived.Id=\"1\"",B="Derived.Id=\"1\""`, 0)
	if a, _ := link.Get("A"); a.V != `Derived.Id="1"` {
		t.Errorf("Link.A = %v", a.V)
	}
	inst := get(t, svc, `Derived.Id="1"`, 0)
	if e, _ := inst.Get("Emb"); e.V.(*cim.Object).Class != "Base" {
		t.Errorf("Emb = %v", e)
	}
	if v, _ := get(t, svc, "Settings=@", 0).Get("Level"); v.V != uint32(2) {
		t.Errorf("Settings.Level = %v", v)
	}
	// Undeclared qualifiers take WMI's types: Id(1) is sint32.
	m, _ := d.GetMethod("Op")
	if q, ok := cim.FindQualifier(m.Parameters[1].Qualifiers, "Id"); !ok || q.Value.Type != cim.TypeSint32 {
		t.Errorf("Id qualifier %+v", q)
	}
}

// TestCompileFlavors checks where a qualifier's flavor comes from: its
// declaration, a WMI flavor statement, explicit flavors.
func TestCompileFlavors(t *testing.T) {
	om := openRepo(t)
	mustCompile(t, om, "root/cimv2", `
Qualifier Color : string = null, Scope(class, property), Flavor(DisableOverride, ToSubclass);
Qualifier Shade : ToSubclass ToInstance;
[Color("red"), Shade("dark"), Plain] class A { [Color("blue") : Restricted] string P; };
class B : A { };
`)
	svc := connect(t, om, "root/cimv2")
	a := get(t, svc, "A", 0)
	want := map[string]cim.Flavor{"Color": cim.FlavorDisableOverride | cim.FlavorToSubclass, "Shade": cim.FlavorToSubclass | cim.FlavorToInstance, "Plain": 0}
	for name, f := range want {
		if q, ok := cim.FindQualifier(a.Qualifiers, name); !ok || q.Flavor != f {
			t.Errorf("A's %s: %+v, want flavor %#x", name, q, f)
		}
	}
	if p, _ := a.Property("P"); p.Qualifiers[0].Flavor != cim.FlavorDisableOverride {
		t.Errorf("P's Color flavor %#x, want DisableOverride alone", p.Qualifiers[0].Flavor)
	}
	b := get(t, svc, "B", 0)
	if _, ok := cim.FindQualifier(b.Qualifiers, "Plain"); ok {
		t.Error("an undeclared qualifier without flavors reached the subclass (WMI's default is not to propagate)")
	}
	if q, ok := cim.FindQualifier(b.Qualifiers, "Color"); !ok || q.Flavor&cim.FlavorOriginPropagated == 0 {
		t.Errorf("B's Color: %+v", q)
	}
}

// TestCompileAmendments checks that amended qualifiers go to the locale
// namespace and come back with FlagUseAmendedQualifiers.
func TestCompileAmendments(t *testing.T) {
	om := openRepo(t)
	mustCompile(t, om, "root/cimv2", `
#pragma amendment("MS_407")
[Description("Ein Laufwerk") : Amended ToSubclass, Version("1")] class Drive { [Key, Description("Name") : Amended] string Name; };
`)
	svc := connect(t, om, "root/cimv2")
	neutral := get(t, svc, "Drive", 0)
	if _, ok := cim.FindQualifier(neutral.Qualifiers, "Description"); ok {
		t.Error("the neutral class kept an amended qualifier")
	}
	if _, ok := cim.FindQualifier(neutral.Qualifiers, "Version"); !ok {
		t.Error("the neutral class lost Version")
	}
	loc := get(t, connect(t, om, "root/cimv2/ms_407"), "Drive", 0)
	if q, ok := cim.FindQualifier(loc.Qualifiers, "Description"); !ok || q.Value.V != "Ein Laufwerk" {
		t.Errorf("ms_407 Drive: %+v", loc.Qualifiers)
	}
	wctx := cimom.NewContext()
	wctx.SetValue(cimom.UILocale, "MS_407")
	merged, err := svc.GetObject(context.Background(), "Drive", cimom.FlagUseAmendedQualifiers, wctx)
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := cim.FindQualifier(merged.Qualifiers, "Description"); !ok || q.Value.V != "Ein Laufwerk" {
		t.Errorf("amended read: %+v", merged.Qualifiers)
	}
	if p, _ := merged.Property("Name"); len(p.Qualifiers) < 2 {
		t.Errorf("amended read of Name: %+v", p.Qualifiers)
	}
}

// TestCompilePragmas covers classflags, instanceflags, deleteclass,
// deleteinstance, locale and autorecover.
func TestCompilePragmas(t *testing.T) {
	om := openRepo(t)
	mustCompile(t, om, "root/cimv2", `class K { [Key] string Id; uint32 V; }; instance of K { Id = "a"; V = 1; };`)
	sum := mustCompile(t, om, "root/cimv2", `
#pragma locale("en_US")
#pragma autorecover
#pragma classflags("updateonly")
[Description("now described")] class K { [Key] string Id; uint32 V; };
#pragma instanceflags("updateonly")
instance of K { Id = "a"; V = 2; };
#pragma instanceflags("createonly")
instance of K { Id = "b"; V = 3; };
#pragma deleteinstance("K.Id=\"b\"", FAIL)
#pragma deleteclass("Nope", NOFAIL)
`)
	if sum.ClassesUpdated != 1 || sum.InstancesUpdated != 1 || sum.InstancesCreated != 1 || sum.InstancesDeleted != 1 ||
		sum.Locale != "en_US" || len(sum.Autorecover) != 1 {
		t.Errorf("summary %+v", sum)
	}
	svc := connect(t, om, "root/cimv2")
	if v, _ := get(t, svc, `K.Id="a"`, 0).Get("V"); v.V != uint32(2) {
		t.Errorf("K.a.V = %v", v.V)
	}
	mustCompile(t, om, "root/cimv2", `#pragma deleteclass("K", FAIL)`)
	if _, err := svc.GetObject(context.Background(), "K", 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("K after deleteclass: %v", err)
	}
}

// TestCompileAtomicity: a compile with an error writes nothing, a
// compile without one writes everything in one transaction, and events
// are raised only after the commit.
func TestCompileAtomicity(t *testing.T) {
	om := openRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq, err := om.Subscribe(ctx, cimom.SubscribeOptions{Namespace: "root/cimv2", Principal: admin})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan cimom.Event, 16)
	go func() {
		for ev, err := range seq {
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	_, err = compileText(t, om, "root/cimv2", "class One { }; class Two : Missing { };", mof.Options{})
	if err == nil {
		t.Fatal("compiled a file with an error")
	}
	svc := connect(t, om, "root/cimv2")
	if _, err := svc.GetObject(context.Background(), "One", 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("One after a failed compile: %v", err)
	}
	select {
	case ev := <-events:
		t.Errorf("event %s %s raised by a failed compile", ev.Class, ev.Target.Class)
	default:
	}
	mustCompile(t, om, "root/cimv2", "class One { }; class Two : One { };")
	var rev int64
	for _, want := range []string{"One", "Two"} {
		ev := <-events
		if ev.Class != "__ClassCreationEvent" || ev.Target.Class != want {
			t.Errorf("event %s %s, want __ClassCreationEvent %s", ev.Class, ev.Target.Class, want)
		}
		if rev != 0 && ev.Rev != rev {
			t.Errorf("the compile's events have revisions %d and %d, want one transaction's", rev, ev.Rev)
		}
		rev = ev.Rev
	}
}

// TestStrict: --strict needs a declaration for every qualifier.
func TestStrict(t *testing.T) {
	om := openRepo(t)
	src := `Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
class A { [Key] string Id; };`
	if _, err := compileText(t, om, "root/cimv2", src, mof.Options{Strict: true}); err != nil {
		t.Fatalf("strict compile of declared qualifiers: %v", err)
	}
	_, err := compileText(t, om, "root/cimv2", `class B { [Key, Odd] string Id; };`, mof.Options{Strict: true})
	if err == nil || !strings.Contains(err.Error(), "qualifier Odd is not declared") {
		t.Errorf("strict compile of an undeclared qualifier: %v", err)
	}
	if _, err := compileText(t, om, "root/cimv2", `class B { [Key, Odd] string Id; };`, mof.Options{}); err != nil {
		t.Errorf("WMI mode refused an undeclared qualifier: %v", err)
	}
}
