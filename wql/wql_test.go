package wql

import (
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

func TestLike(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"Samsung 980", "sam%", true}, {"Samsung 980", "%980", true}, {"Samsung 980", "%SUNG%", true},
		{"abc", "a_c", true}, {"ac", "a_c", false}, {"abc", "[a-c]bc", true}, {"dbc", "[a-c]bc", false},
		{"dbc", "[^a-c]bc", true}, {"abc", "[^a-c]bc", false}, {"a_c", "a[_]c", true}, {"abc", "a[_]c", false},
		{"a%c", "a[%]c", true}, {"a[c", "a[[]c", true}, {"b", "[a=c]", true}, {"", "%", true}, {"", "_", false},
		{"x", "", false}, {"", "", true}, {"abc", "%%%c", true}, {"a[", "a[", true}, {"ab", "[ab][ab]", true},
		{strings.Repeat("a", 200), strings.Repeat("%a", 60) + "b", false},
	}
	for _, c := range cases {
		if got := Like(c.s, c.p); got != c.want {
			t.Errorf("Like(%q, %q) = %v", c.s, c.p, got)
		}
	}
}

// FuzzParse: any text parses or fails with a positioned error inside the
// query, without a panic; a parsed data query checks and evaluates
// against a small class without a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM A WHERE Name LIKE 'a[^b-c]%' AND NOT (N >= 5 OR N IS NULL)",
		"SELECT Name, Emb.X FROM A WHERE Emb ISA 'B' OR __CLASS = 'A'",
		`ASSOCIATORS OF {A.Name="x"} WHERE AssocClass = L ResultRole = R ClassDefsOnly`,
		"SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'A' GROUP WITHIN 10 BY TargetInstance.Name HAVING NumberOfEvents > 2",
		"SELECT * FROM meta_class WHERE __this ISA 'A'",
	} {
		f.Add(s)
	}
	cls := &cim.Object{Genus: cim.GenusClass, Class: "A", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString}, {Name: "N", Type: cim.TypeSint32}, {Name: "Emb", Type: cim.TypeObject},
		{Name: "When", Type: cim.TypeDatetime}, {Name: "R", Type: cim.TypeReference}}}
	inst, _ := cls.SpawnInstance()
	inst.Put("Name", cim.Value{Type: cim.TypeString, V: "abc"})
	inst.Put("N", cim.Value{Type: cim.TypeSint32, V: int32(5)})
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Parse(query)
		if err != nil {
			e := err.(*Error)
			lines := strings.Count(query, "\n") + 1
			if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 {
				t.Fatalf("error position %v outside the query", e.Pos)
			}
			return
		}
		if s, ok := q.(*Select); ok && Check(s, cls) == nil {
			Match(s.Where, inst)
		}
	})
}
