package wql

import (
	"errors"
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

// FuzzParseEvent: any text parses as an event query or fails with a
// positioned error inside the query, without a panic; a parsed event
// query prints (Format) to text that parses to the same printed form, and
// its ISA conditions are conditions of the query.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'",
		"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'A' AND TargetInstance.N <> PreviousInstance.N",
		"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'A' AND TargetInstance.State = 'up' AND PreviousInstance.State <> 'up'",
		"SELECT TargetInstance, TIME_CREATED FROM __InstanceOperationEvent WITHIN 2.5 WHERE TargetInstance ISA \"A\" OR TargetInstance.Name LIKE 'x%'",
		"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'A' GROUP WITHIN 10 BY TargetInstance.Name HAVING NumberOfEvents >= 2",
		"SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA 'CIM_ComputerSystem'",
		"SELECT * FROM __NamespaceCreationEvent",
		"SELECT * FROM __TimerEvent WHERE TimerId = 't1'",
		"SELECT * FROM __InstanceCreationEvent GROUP BY TargetInstance.Name",
		"SELECT * FROM meta_class",
		`REFERENCES OF {A.Name="x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		s, err := ParseEvent(query)
		if err != nil {
			var e *Error
			if !errorsAs(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			lines := strings.Count(query, "\n") + 1
			if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 || e.Status == 0 {
				t.Fatalf("error %v: position or status outside the query", e)
			}
			return
		}
		text := Format(s)
		again, err := ParseEvent(text)
		if err != nil {
			t.Fatalf("Format(%q) = %q does not parse: %v", query, text, err)
		}
		if Format(again) != text {
			t.Fatalf("Format is not stable: %q then %q", text, Format(again))
		}
		for _, c := range IsaConditions(s, "TargetInstance", "SourceInstance") {
			if c.Class == "" && !strings.Contains(query, "''") && !strings.Contains(query, `""`) {
				t.Fatalf("ISA condition without a class in %q", query)
			}
		}
	})
}

func TestParseEvent(t *testing.T) {
	cases := []struct{ q, want string }{
		{"select * from __InstanceCreationEvent within 1 where TargetInstance isa 'Win32_Process' and TargetInstance.Name like 'sl%'",
			"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name LIKE 'sl%'"},
		{"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance.N > 2 AND PreviousInstance.N <= 2 GROUP WITHIN 30 BY TargetInstance.Team HAVING NumberOfEvents > 3",
			"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance.N > 2 AND PreviousInstance.N <= 2 GROUP WITHIN 30 BY TargetInstance.Team HAVING NumberOfEvents > 3"},
		{"SELECT * FROM __InstanceCreationEvent GROUP BY TargetInstance.Name", "WBEM_E_MISSING_GROUP_WITHIN 1:45"},
		{"SELECT * FROM meta_class", "WBEM_E_NOT_EVENT_CLASS 1:15"},
		{"REFERENCES OF {A.Name=\"x\"}", "WBEM_E_INVALID_QUERY 1:1"},
		{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA", "WBEM_E_INVALID_QUERY 1:63"},
		{"SELECT * FROM __InstanceCreationEvent WITHIN 0 WHERE TargetInstance ISA 'A'", "WBEM_E_INVALID_QUERY 1:46"},
	}
	for _, c := range cases {
		s, err := ParseEvent(c.q)
		got := ""
		if err != nil {
			e := err.(*Error)
			got = e.Status.String() + " " + e.Pos.String()
		} else {
			got = Format(s)
		}
		if got != c.want {
			t.Errorf("ParseEvent(%q) = %s, want %s", c.q, got, c.want)
		}
	}
	s, _ := ParseEvent("SELECT * FROM __InstanceOperationEvent WHERE (TargetInstance ISA 'A' AND TargetInstance ISA 'B') AND (SourceInstance ISA 'C' OR TargetInstance ISA 'D')")
	var names []string
	for _, c := range IsaConditions(s, "targetinstance") {
		names = append(names, c.Class)
	}
	if strings.Join(names, ",") != "A,B" {
		t.Errorf("IsaConditions = %v, want A,B", names)
	}
}

var errorsAs = errors.As
