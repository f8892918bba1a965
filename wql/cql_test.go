package wql

import (
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestParseCQL: the DMTF CQL subset (DSP0202 1.0) parses into WQL's tree,
// printed here as WQL; what is outside it is WBEM_E_INVALID_QUERY at its
// position.
func TestParseCQL(t *testing.T) {
	for _, c := range []struct{ cql, wql string }{
		{"select * from CIM_Foo where Name='x'", "SELECT * FROM CIM_Foo WHERE Name = 'x'"},
		{"SELECT f.Name, CIM_Foo.Value FROM CIM_Foo AS f WHERE f.Value >= 7 AND NOT (CIM_Foo.Name <> 'y')", "SELECT Name, Value FROM CIM_Foo WHERE Value >= 7 AND NOT Name <> 'y'"},
		{"SELECT * FROM CIM_Foo x WHERE x.Note IS NOT NULL OR x ISA CIM_Bar", "SELECT * FROM CIM_Foo WHERE Note IS NOT NULL OR __this ISA 'CIM_Bar'"},
		{`SELECT * FROM CIM_Foo WHERE Name LIKE 'a.c.*\.%_'`, "SELECT * FROM CIM_Foo WHERE Name LIKE 'a_c%.[%][_]'"},
	} {
		q, err := ParseCQL(c.cql)
		if err != nil {
			t.Errorf("%s: %v", c.cql, err)
			continue
		}
		if got := Format(q); got != c.wql {
			t.Errorf("%s:\n got  %s\n want %s", c.cql, got, c.wql)
		}
	}
	for _, c := range []struct{ cql, at string }{
		{"ASSOCIATORS OF {CIM_Foo.Name='x'}", "1:1"},
		{"SELECT * FROM meta_class", "1:15"},
		{"SELECT * FROM CIM_Foo, CIM_Bar", "1:22"},
		{"SELECT * FROM CIM_Foo WHERE Name LIKE 'a[bc]'", "1:39"},
		{"SELECT * FROM CIM_Foo WHERE Name LIKE 'ab*'", "1:39"},
		{"SELECT * FROM CIM_Foo ORDER BY Name", "1:23"},
		{"SELECT DISTINCT * FROM CIM_Foo", "1:8"},
		{"SELECT * FROM CIM_Foo WITHIN 5", "1:23"},
	} {
		_, err := ParseCQL(c.cql)
		e, ok := err.(*Error)
		if !ok || e.Status != cim.EInvalidQuery || e.Pos.String() != c.at {
			t.Errorf("%s: %v, want WBEM_E_INVALID_QUERY at %s", c.cql, err, c.at)
		}
	}
	// One condition semantics: the CQL condition is evaluated by WQL's
	// evaluator.
	q, _ := ParseCQL("SELECT * FROM CIM_Foo f WHERE f.Name LIKE 'w.*' AND f.Value > 3")
	obj := &cim.Object{Genus: cim.GenusInstance, Class: "CIM_Foo", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "wheel"}},
		{Name: "Value", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(4)}}}}
	if !Match(q.Where, obj) {
		t.Errorf("%s does not match %v", Format(q), obj)
	}
}

// FuzzParseCQL: a query ParseCQL takes prints as WQL that Parse takes and
// prints the same way.
func FuzzParseCQL(f *testing.F) {
	for _, s := range []string{"select * from CIM_Foo where Name='x'", "SELECT a.B FROM C a WHERE a.B LIKE '.*x' OR NOT a.D IS NULL", "SELECT * FROM X WHERE x ISA Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseCQL(s)
		if err != nil {
			return
		}
		text := Format(q)
		back, err := Parse(text)
		if err != nil {
			t.Fatalf("%q gives %q, which WQL refuses: %v", s, text, err)
		}
		if Format(back) != text {
			t.Fatalf("%q: %q printed again as %q", s, text, Format(back))
		}
	})
}
