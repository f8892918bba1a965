package cimom

import (
	"context"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// wrapped is an Enumerator of another implementation (as the CIM-XML
// client's): All reaches it through Next alone.
type wrapped struct{ Enumerator }

// TestAllStreams: All hands each object to its consumer as the source
// gives it, before the source produces the next (the source here waits
// for the consumer to have the first), for wbemd's enumerators
// (forward-only or not) and for any other; a bidirectional enumerator
// read with All can be reset and read again; All on a closed enumerator
// fails with WBEM_E_INVALID_OPERATION.
func TestAllStreams(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		flags Flags
		wrap  bool
	}{
		{"forward-only", FlagForwardOnly, false},
		{"bidirectional", 0, false},
		{"semisynchronous", FlagForwardOnly | FlagReturnImmediately, false},
		{"another implementation", FlagForwardOnly, true},
	} {
		got := make(chan struct{})
		src := func(yield func(*cim.Object, error) bool) {
			if !yield(&cim.Object{Class: "First"}, nil) {
				return
			}
			select {
			case <-got:
			case <-time.After(10 * time.Second):
				yield(nil, cim.Errorf(cim.EFailed, "the consumer did not get the first object before the second was asked for"))
				return
			}
			yield(&cim.Object{Class: "Second"}, nil)
		}
		var e Enumerator = NewEnumerator(ctx, src, c.flags)
		if c.wrap {
			e = wrapped{e}
		}
		var classes []string
		for o, err := range All(ctx, e) {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if classes = append(classes, o.Class); len(classes) == 1 {
				close(got)
			}
		}
		if len(classes) != 2 || classes[0] != "First" || classes[1] != "Second" {
			t.Errorf("%s: %v", c.name, classes)
		}
		if c.flags == 0 {
			if err := e.Reset(); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, err := range All(ctx, e) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 2 {
				t.Errorf("%s: %d objects after Reset, want 2", c.name, n)
			}
		}
		e.Close()
		for _, err := range All(ctx, e) {
			if cim.StatusOf(err) != cim.EInvalidOperation {
				t.Errorf("%s: All after Close: %v", c.name, err)
			}
		}
	}
}
