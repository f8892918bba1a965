package mof_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/store/bolt"
)

var stores = map[*cimom.CIMOM]*bolt.DB{}

func repoStore(om *cimom.CIMOM) *bolt.DB { return stores[om] }

// openRepo opens a fresh repository on disk.
func openRepo(t testing.TB) *cimom.CIMOM {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "repository.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(context.Background(), db, cimom.Options{Server: "test"})
	if err != nil {
		t.Fatal(err)
	}
	stores[om] = db
	t.Cleanup(func() {
		om.Close(context.Background())
		db.Close()
	})
	return om
}

var admin = cimom.Principal{Name: "root"}

// compileFiles loads and compiles files atomically into ns.
func compileFiles(t testing.TB, om *cimom.CIMOM, ns string, files ...string) mof.Summary {
	t.Helper()
	u, errs := mof.Load(files, nil, nil)
	if len(errs) > 0 {
		t.Fatalf("load: %v", errs)
	}
	sum, err := compileUnit(om, ns, u, mof.Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return sum
}

type compileErrors []*mof.Error

func (e compileErrors) Error() string {
	var b strings.Builder
	for _, x := range e {
		b.WriteString(x.Error() + "\n")
	}
	return b.String()
}

func compileUnit(om *cimom.CIMOM, ns string, u *mof.Unit, opts mof.Options) (mof.Summary, error) {
	ctx := context.Background()
	opts.Namespace = ns
	var sum mof.Summary
	err := om.Batch(ctx, func(view *cimom.CIMOM) error {
		root, err := view.Connect(ctx, "root", admin)
		if err != nil {
			return err
		}
		var errs []*mof.Error
		sum, errs = mof.Compile(ctx, root, u, opts)
		if len(errs) > 0 {
			return compileErrors(errs)
		}
		return nil
	})
	return sum, err
}

func classes(t testing.TB, svc cimom.Services) []*cim.Object {
	t.Helper()
	ctx := context.Background()
	e, err := svc.CreateClassEnum(ctx, "", cimom.FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var out []*cim.Object
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			t.Fatal(err)
		}
		if !cim.IsSystemName(o.Class) {
			out = append(out, o)
		}
	}
	return out
}

// TestDMTFSchema compiles the whole DMTF CIM schema 2.49 into a durable
// repository, checks what it created, then renders every class and
// qualifier declaration as MOF, compiles that into a second namespace and
// compares every class with its original.
func TestDMTFSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the full CIM schema")
	}
	ctx := context.Background()
	om := openRepo(t)
	sum := compileFiles(t, om, "root/cimv2", testdata.CIMSchema(t))
	if sum.ClassesCreated != 1631 || sum.QualifiersCreated != 70 || sum.ClassesUpdated+sum.QualifiersUpdated != 0 {
		t.Fatalf("summary %+v, want 1631 classes and 70 qualifiers created", sum)
	}
	svc, err := om.Connect(ctx, "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	orig := classes(t, svc)
	decls, err := svc.EnumQualifiers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(orig) != 1631 || len(decls) != 70 {
		t.Fatalf("repository holds %d classes and %d qualifier declarations, want 1631 and 70", len(orig), len(decls))
	}
	// Spot checks of what the compile made.
	me, err := svc.GetObject(ctx, "CIM_ComputerSystem", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(me.Derivation, " "); got != "CIM_System CIM_AllocatedLogicalElement CIM_EnabledLogicalElement CIM_LogicalElement CIM_ManagedSystemElement CIM_ManagedElement" {
		t.Errorf("CIM_ComputerSystem derivation %q", got)
	}
	if p, ok := me.Property("Name"); !ok || !p.IsKey() || p.Origin != "CIM_ManagedSystemElement" {
		t.Errorf("CIM_ComputerSystem.Name: %+v", p)
	}
	key, err := svc.GetQualifier(ctx, "Key")
	if err != nil || key.Type != cim.TypeBoolean || key.Flavor&cim.FlavorDisableOverride == 0 || key.Scope != cim.ScopeProperty|cim.ScopeReference {
		t.Errorf("Key declaration %+v, %v", key, err)
	}

	// Round trip.
	var text strings.Builder
	text.WriteString("#pragma namespace(\"root\")\ninstance of __Namespace { Name = \"roundtrip\"; };\n#pragma namespace(\"root/roundtrip\")\n")
	for _, d := range decls {
		text.WriteString(d.MOF())
	}
	for _, c := range orig {
		text.WriteString(c.GetObjectText(0))
	}
	path := filepath.Join(t.TempDir(), "roundtrip.mof")
	if err := os.WriteFile(path, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sum = compileFiles(t, om, "root", path)
	if sum.ClassesCreated != 1631 || sum.QualifiersCreated != 70 {
		t.Fatalf("round trip summary %+v", sum)
	}
	rt, err := om.Connect(ctx, "root/roundtrip", admin)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range orig {
		got, err := rt.GetObject(ctx, c.Class, 0, nil)
		if err != nil {
			t.Errorf("%s: %v", c.Class, err)
			continue
		}
		if !c.CompareTo(got, cim.CompareIgnoreObjectSource) {
			t.Errorf("%s differs after the round trip:\n%s\n%s", c.Class, c.GetObjectText(0), got.GetObjectText(0))
		}
	}
	for _, d := range decls {
		got, err := rt.GetQualifier(ctx, d.Name)
		if err != nil || got.MOF() != d.MOF() {
			t.Errorf("qualifier %s differs after the round trip: %v\n%s\n%s", d.Name, err, d.MOF(), got.MOF())
		}
	}
	if _, err := cimom.Check(ctx, repoStore(om)); err != nil {
		t.Errorf("repository check after the compiles: %v", err)
	}
}

// TestPegasusLoad compiles what OpenPegasus's static wetest suite preloads
// into test/static, on top of the CIM schema, in the suite's order.
func TestPegasusLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the full CIM schema")
	}
	ctx := context.Background()
	om := openRepo(t)
	if _, err := om.CreateNamespace(ctx, "test/static", admin); err != nil {
		t.Fatal(err)
	}
	compileFiles(t, om, "test/static", testdata.CIMSchema(t))
	load := testdata.PegasusLoad()
	sum := compileFiles(t, om, "test/static", filepath.Join(load, "WET_Schema.mof"), filepath.Join(load, "StaticTestSchema.mof"), filepath.Join(load, "PG_TestPropertyTypes.mof"))
	// StaticTestSchema.mof includes PG_TestPropertyTypes.mof, which is then
	// compiled again: its two classes are updated, as in Pegasus.
	if sum.ClassesCreated != 66 || sum.ClassesUpdated != 2 {
		t.Errorf("summary %+v, want 66 classes created and 2 updated", sum)
	}
	svc, err := om.Connect(ctx, "test/static", admin)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(classes(t, svc)); n != 1631+66 {
		t.Errorf("test/static holds %d classes, want %d", n, 1631+66)
	}
	pt, err := svc.GetObject(ctx, "PG_TestPropertyTypes", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]cim.Type{"PropertyUint8": cim.TypeUint8, "PropertySint64": cim.TypeSint64,
		"PropertyReal32": cim.TypeReal32, "PropertyDatetime": cim.TypeDatetime, "InstanceId": cim.TypeUint64} {
		if p, ok := pt.Property(name); !ok || p.Type != typ {
			t.Errorf("PG_TestPropertyTypes.%s: %+v, want %s", name, p, typ)
		}
	}
	if _, err := cimom.Check(ctx, repoStore(om)); err != nil {
		t.Errorf("repository check: %v", err)
	}
}

// BenchmarkCompileCIMSchema compiles the whole DMTF CIM schema 2.49 into a
// fresh durable repository (bbolt on disk, fsync on commit), loading and
// parsing included: the time a user waits for wbem mofcomp.
func BenchmarkCompileCIMSchema(b *testing.B) {
	path := testdata.CIMSchema(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		om := openRepo(b)
		b.StartTimer()
		u, errs := mof.Load([]string{path}, nil, nil)
		if len(errs) > 0 {
			b.Fatal(errs[0])
		}
		if _, err := compileUnit(om, "root/cimv2", u, mof.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCIMSchema parses the DMTF CIM schema 2.49 (files read
// beforehand).
func BenchmarkParseCIMSchema(b *testing.B) {
	path := testdata.CIMSchema(b)
	files := map[string][]byte{}
	u, errs := mof.Load([]string{path}, nil, func(name string) ([]byte, error) {
		data, err := os.ReadFile(name)
		files[name] = data
		return data, err
	})
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	b.SetBytes(u.Bytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for name, data := range files {
			if _, errs := mof.Parse(name, string(data)); len(errs) > 0 {
				b.Fatal(errs[0])
			}
		}
	}
}
