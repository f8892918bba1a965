package cimom

import (
	"context"
	"fmt"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestOpenEnumerationHoldsNoSnapshot: an enumeration left open between
// two client requests holds no store snapshot: it reads the store a chunk
// at a time and resumes by key, so an instance written ahead of it while
// it waits is delivered (a single snapshot would miss it), and none is
// delivered twice. Instance enumeration, a key-range query and an index
// query alike.
func TestOpenEnumerationHoldsNoSnapshot(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx := context.Background()
	const n = 600
	items := make([]*cim.Object, n)
	stricts := make([]*cim.Object, n)
	for i := range items {
		items[i] = r.inst("Item", "Id", fmt.Sprintf("i%04d", i))
		stricts[i] = r.inst("Strict", "Id", fmt.Sprintf("s%04d", i), "Name", "n", "Tag", "t")
	}
	for _, batch := range [][]*cim.Object{items, stricts} {
		if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, batch, 0); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		open  func() (Enumerator, error)
		added *cim.Object
	}{
		{"CreateInstanceEnum", func() (Enumerator, error) { return r.svc.CreateInstanceEnum(ctx, "Item", FlagForwardOnly, nil) },
			r.inst("Item", "Id", "i9990")},
		{"key range query", func() (Enumerator, error) {
			return r.svc.ExecQuery(ctx, "WQL", "SELECT * FROM Item WHERE Id >= 'i'", FlagForwardOnly, nil)
		}, r.inst("Item", "Id", "i9991")},
		{"index query", func() (Enumerator, error) {
			return r.svc.ExecQuery(ctx, "WQL", "SELECT * FROM Strict WHERE Tag = 't'", FlagForwardOnly, nil)
		}, r.inst("Strict", "Id", "s9999", "Name", "n", "Tag", "t")},
	}
	for _, c := range cases {
		e, err := c.open()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		first, _, err := e.Next(ctx, Infinite, 1)
		if err != nil || len(first) != 1 {
			t.Fatalf("%s: first Next: %v %v", c.name, first, err)
		}
		r.put(c.added, 0) // between two client requests
		seen := map[string]bool{}
		rel := func(o *cim.Object) string {
			p, err := o.ObjectPath()
			if err != nil {
				t.Fatal(err)
			}
			return p.RelPath()
		}
		seen[rel(first[0])] = true
		for o, err := range All(ctx, e) {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			p := rel(o)
			if seen[p] {
				t.Fatalf("%s: %s delivered twice", c.name, p)
			}
			seen[p] = true
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if p := rel(c.added); !seen[p] {
			t.Errorf("%s: the instance written while the enumeration was open, ahead of it, was not delivered (%d delivered)", c.name, len(seen))
		}
	}
}
