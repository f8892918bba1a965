package wql

import (
	"math"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestLiteralOf: each kind of CIM value becomes the WQL constant that
// parses back to its value; values without a constant are
// WBEM_E_INVALID_QUERY.
func TestLiteralOf(t *testing.T) {
	dt, err := cim.ParseDatetime("20260101120000.000000+060")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		v    cim.Value
		want string
	}{
		{cim.Value{Type: cim.TypeString, V: `a'b\c"d`}, `'a\'b\\c"d'`},
		{cim.Value{Type: cim.TypeReference, V: `A.K="x"`}, `'A.K="x"'`},
		{cim.Value{Type: cim.TypeDatetime, V: dt}, `'20260101120000.000000+060'`},
		{cim.Value{Type: cim.TypeChar16, V: cim.Char16('\'')}, `'\''`},
		{cim.Value{Type: cim.TypeBoolean, V: true}, `TRUE`},
		{cim.Value{Type: cim.TypeBoolean, V: false}, `FALSE`},
		{cim.Value{Type: cim.TypeSint8, V: int8(-8)}, `-8`},
		{cim.Value{Type: cim.TypeUint64, V: uint64(math.MaxUint64)}, `18446744073709551615`},
		{cim.Value{Type: cim.TypeReal32, V: float32(0.1)}, `0.1`},
		{cim.Value{Type: cim.TypeReal64, V: float64(2)}, `2.0`},
		{cim.Value{Type: cim.TypeReal64, V: 1e300}, `1e+300`},
	}
	for _, c := range cases {
		lit, err := LiteralOf(c.v)
		if err != nil {
			t.Errorf("%v: %v", c.v, err)
			continue
		}
		if got := Format(lit); got != c.want {
			t.Errorf("%v printed %s, want %s", c.v, got, c.want)
		}
		q, err := Parse("SELECT * FROM A WHERE P = " + Format(lit))
		if err != nil {
			t.Errorf("%v: %v", c.v, err)
			continue
		}
		if back := q.(*Select).Where.(*Compare).Value; !equalTrees(back, lit) {
			t.Errorf("%v came back as %+v, was %+v", c.v, back, lit)
		}
	}
	for _, v := range []cim.Value{cim.Null(cim.TypeString), {Type: cim.TypeString.ArrayOf(), V: []string{"a"}},
		{Type: cim.TypeReal64, V: math.Inf(1)}, {Type: cim.TypeReal64, V: math.NaN()}, {Type: cim.TypeObject, V: &cim.Object{}}} {
		if _, err := LiteralOf(v); cim.StatusOf(err) != cim.EInvalidQuery {
			t.Errorf("%v: %v, want WBEM_E_INVALID_QUERY", v, err)
		}
	}
	if _, err := Equal("Tags", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"a"}}); cim.AsError(err).Parameter != "Tags" {
		t.Errorf("Equal on an array: %v", err)
	}
}

// TestAnd: conditions joined by And print and parse as the parser groups
// a chain of ANDs.
func TestAnd(t *testing.T) {
	if And() != nil {
		t.Error("And of nothing is not nil")
	}
	var conds []Expr
	for _, p := range []string{"A", "B", "C"} {
		c, err := Equal(p, cim.Value{Type: cim.TypeUint32, V: uint32(1)})
		if err != nil {
			t.Fatal(err)
		}
		conds = append(conds, c)
	}
	q := &Select{Star: true, From: "X", Where: And(conds...)}
	text := Format(q)
	if text != "SELECT * FROM X WHERE A = 1 AND B = 1 AND C = 1" {
		t.Errorf("got %s", text)
	}
	back, err := Parse(text)
	if err != nil || !equalTrees(back, q) {
		t.Errorf("%s parses to another tree (%v)", text, err)
	}
}
