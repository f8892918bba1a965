package wql

import (
	"math/rand/v2"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestRebase: a WHERE clause on the target of an event, rebased onto the
// target, selects exactly the targets the clause selects on an event
// holding them, over random targets; a clause that names anything but a
// member of the target does not rebase.
func TestRebase(t *testing.T) {
	rebased := []string{
		"TargetInstance.Seq >= 3",
		"targetinstance.Seq < 5 AND TargetInstance.Name LIKE 'd%'",
		"NOT (TargetInstance.Seq = 2) OR TargetInstance.Name IS NULL",
		"TargetInstance.Name IS NOT NULL AND TargetInstance.__CLASS = 'Disk'",
		"TargetInstance.Inner.Seq > 1 OR TargetInstance.Inner ISA 'Disk'",
		"TargetInstance.Missing = 1 OR TargetInstance.Seq <> 4",
	}
	refused := []string{
		"TargetInstance ISA 'Disk' OR TargetInstance.Seq = 1",
		"PreviousInstance.Seq = 1 AND TargetInstance.Seq = 2",
		"TargetInstance.__this ISA 'Disk'",
		"TargetInstance IS NULL",
		"__CLASS = '__InstanceCreationEvent'",
	}
	disk := &cim.Object{Genus: cim.GenusClass, Class: "Disk", Properties: []cim.Property{
		{Name: "Seq", Type: cim.TypeUint32}, {Name: "Name", Type: cim.TypeString}, {Name: "Inner", Type: cim.TypeObject}}}
	rng := rand.New(rand.NewPCG(3, 4))
	target := func() *cim.Object {
		o, _ := disk.SpawnInstance()
		if rng.IntN(4) > 0 {
			o.Properties[0].Value = cim.Value{Type: cim.TypeUint32, V: uint32(rng.IntN(6))}
		}
		if rng.IntN(4) > 0 {
			o.Properties[1].Value = cim.Value{Type: cim.TypeString, V: []string{"disk", "Data", "d"}[rng.IntN(3)]}
		}
		if rng.IntN(3) == 0 {
			in, _ := disk.SpawnInstance()
			in.Properties[0].Value = cim.Value{Type: cim.TypeUint32, V: uint32(rng.IntN(3))}
			o.Properties[2].Value = cim.Value{Type: cim.TypeObject, V: in}
		}
		return o
	}
	where := func(clause string) Expr {
		t.Helper()
		q, err := ParseEvent("SELECT * FROM __InstanceCreationEvent WHERE " + clause)
		if err != nil {
			t.Fatalf("%s: %v", clause, err)
		}
		return q.Where
	}
	for _, clause := range rebased {
		e := where(clause)
		r, ok := Rebase(e, "TargetInstance")
		if !ok {
			t.Fatalf("%s does not rebase", clause)
		}
		selected := 0
		for range 200 {
			tgt := target()
			ev := &cim.Object{Genus: cim.GenusInstance, Class: "__InstanceCreationEvent",
				Properties: []cim.Property{{Name: "TargetInstance", Type: cim.TypeObject, Value: cim.Value{Type: cim.TypeObject, V: tgt}}}}
			want := Match(e, ev)
			if got := Match(r, tgt); got != want {
				t.Fatalf("%s on %+v: %v rebased, %v on the event", clause, tgt.Properties, got, want)
			}
			if want {
				selected++
			}
		}
		if selected == 0 || selected == 200 {
			t.Errorf("%s selects %d targets of 200: the test tells nothing", clause, selected)
		}
	}
	for _, clause := range refused {
		if _, ok := Rebase(where(clause), "TargetInstance"); ok {
			t.Errorf("%s rebases", clause)
		}
	}
}
