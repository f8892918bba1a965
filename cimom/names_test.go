package cimom

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// collect enumerates class (deep) with wctx and returns the results'
// relative paths, sorted, and the results.
func collect(t *testing.T, svc Services, class string, wctx *Context) ([]string, []*cim.Object) {
	t.Helper()
	ctx := context.Background()
	e, err := svc.CreateInstanceEnum(ctx, class, FlagForwardOnly, wctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var paths []string
	var objs []*cim.Object
	for o, err := range All(ctx, e) {
		if err != nil {
			t.Fatal(err)
		}
		v, _ := o.SystemProperty("__RELPATH")
		paths = append(paths, cim.FormatValue(v))
		objs = append(objs, o)
	}
	slices.Sort(paths)
	return paths, objs
}

// TestEnumerateKeysOnly checks the names-only enumeration (KeysOnlyContext,
// what EnumerateInstanceNames and `wbem enum --names` use): the same paths
// as a full enumeration, subclasses included, the keys alone;
// and that a query selecting keys alone gives the same keys.
func TestEnumerateKeysOnly(t *testing.T) {
	r := newRepo(t)
	r.putClass(class("KBase", "", nil, prop("Name", cim.TypeString, qTrue("Key")), prop("N", cim.TypeUint32, qTrue("Key")),
		prop("Note", cim.TypeString), prop("Tags", cim.TypeString.ArrayOf()), prop("Ratio", cim.TypeReal64)))
	r.putClass(class("KKid", "KBase", nil, prop("Extra", cim.TypeSint64), prop("When", cim.TypeDatetime)))
	for i := 0; i < 20; i++ {
		cls := "KBase"
		if i%3 == 0 {
			cls = "KKid"
		}
		o := r.inst(cls, "Name", fmt.Sprintf("n\"%d\\", i), "N", uint32(i), "Note", "some text", "Tags", []string{"a", "b"}, "Ratio", 0.5)
		if cls == "KKid" {
			p, _ := o.Property("Extra")
			p.Value = cim.Value{Type: cim.TypeSint64, V: int64(-i)}
		}
		r.put(o, 0)
	}
	want, _ := collect(t, r.svc, "KBase", nil)
	got, objs := collect(t, r.svc, "KBase", KeysOnlyContext())
	if len(want) != 20 || !slices.Equal(got, want) {
		t.Fatalf("names only:\n got  %v\n want %v", got, want)
	}
	kids := 0
	for _, o := range objs {
		if cim.EqualFold(o.Class, "KKid") {
			kids++
		}
		if len(o.Properties) != 2 {
			t.Errorf("%s: %d properties, want the 2 keys", o.Class, len(o.Properties))
		}
		for _, p := range o.Properties {
			if !p.IsKey() || p.Value.IsNull() {
				t.Errorf("%s.%s: key %v, value %v", o.Class, p.Name, p.IsKey(), p.Value)
			}
		}
	}
	if kids != 7 {
		t.Errorf("%d instances of the subclass, want 7", kids)
	}
	// A query selecting keys alone decodes them alone.
	ctx := context.Background()
	e, err := r.svc.ExecQuery(ctx, "WQL", "SELECT N, Name FROM KBase", FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var qpaths []string
	for o, err := range All(ctx, e) {
		if err != nil {
			t.Fatal(err)
		}
		v, _ := o.SystemProperty("__RELPATH")
		qpaths = append(qpaths, cim.FormatValue(v))
	}
	slices.Sort(qpaths)
	if !slices.Equal(qpaths, want) {
		t.Errorf("SELECT of the keys:\n got  %v\n want %v", qpaths, want)
	}
	// A malformed request is refused.
	bad := NewContext()
	bad.SetValue(GetExtensions, "yes")
	if _, err := r.svc.CreateInstanceEnum(ctx, "KBase", FlagForwardOnly, bad); cim.StatusOf(err) != cim.EInvalidContext {
		t.Errorf("__GET_EXTENSIONS not a boolean: %v", err)
	}
}
