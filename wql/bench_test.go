package wql_test

import (
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// The wql benchmarks measure the parts of a query every plan pays: parsing
// the text, and filtering one instance by the whole WHERE clause (each row
// a range or a scan reads). The planner's ranges are measured in cimom
// (BenchmarkQueryRangeRatio, at WBEMD_BENCH_N instances).

const benchQuery = "SELECT * FROM QB WHERE Num >= 500000 AND Num < 500100 AND (Grp = 'g05000' OR Grp = 'g05001') AND Note LIKE 'a %'"

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := wql.Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	q, err := wql.Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	where := q.(*wql.Select).Where
	inst := &cim.Object{Genus: cim.GenusInstance, Class: "QB", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "q0500050"}},
		{Name: "Grp", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "g05000"}},
		{Name: "Num", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(500050)}},
		{Name: "Note", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: "a query benchmark instance"}},
	}}
	for b.Loop() {
		if !wql.Match(where, inst) {
			b.Fatal("no match")
		}
	}
}
