package cimom

import (
	"bytes"
	"context"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// interleaved is a real store that runs a write of the test's choosing
// just before the transaction that deletes a given class record: the
// write commits between DeleteClass's checks and its commit, every time,
// without timing.
type interleaved struct {
	store.Store
	ns, class string
	write     func() // run once, then cleared
	maxOps    int    // the store's compare limit when set
}

func (s *interleaved) Limits() store.Limits {
	l := s.Store.Limits()
	if s.maxOps > 0 {
		l.MaxOps = s.maxOps
	}
	return l
}

func (s *interleaved) Txn(ctx context.Context, cmps []store.Compare, ops []store.Op) (int64, error) {
	if s.write != nil {
		target := classKey(s.ns, s.class)
		for _, op := range ops {
			if op.Kind == store.OpDelete && bytes.Equal(op.Key, target) {
				w := s.write
				s.write = nil
				w()
				break
			}
		}
	}
	return s.Store.Txn(ctx, cmps, ops)
}

// leafRepo is a repository over an interleaved store with:
//
//	Own (Name string key)                       declares its keys
//	Base (Name string key) <- Leaf, Sibling     Leaf inherits its keys
//
// and one Sibling instance, which shares Base's key prefix with Leaf's.
func leafRepo(t *testing.T) (*testRepo, *interleaved) {
	t.Helper()
	st := &interleaved{Store: openStore(t, bolt.Options{}), ns: "root/cimv2"}
	c, err := Open(context.Background(), st, Options{Server: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	r := &testRepo{t: t, c: c, svc: mustConnect(t, c, "root/cimv2", admin)}
	r.putClass(class("Own", "", nil, prop("Name", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Base", "", nil, prop("Name", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Leaf", "Base", nil))
	r.putClass(class("Sibling", "Base", nil))
	r.put(r.inst("Sibling", "Name", "s1"), FlagCreateOnly)
	return r, st
}

// TestDeleteClassLeafRace: a subclass or an instance created after a
// leaf-only DeleteClass checked the class, and before it commits, makes
// it fail with the precise DSP0200 refusal; nothing is deleted with it.
func TestDeleteClassLeafRace(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, class string
		write       func(r *testRepo)
		want        cim.Status
		survivor    string // a path or class that must still exist
	}{
		{"subclass", "Own", func(r *testRepo) { r.putClass(class("OwnChild", "Own", nil)) }, cim.EClassHasChildren, "OwnChild"},
		{"instance of a class with its own keys", "Own", func(r *testRepo) { r.put(r.inst("Own", "Name", "x"), FlagCreateOnly) },
			cim.EClassHasInstances, `Own.Name="x"`},
		{"instance of a class with inherited keys", "Leaf", func(r *testRepo) { r.put(r.inst("Leaf", "Name", "x"), FlagCreateOnly) },
			cim.EClassHasInstances, `Leaf.Name="x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, st := leafRepo(t)
			st.class, st.write = tc.class, func() { tc.write(r) }
			err := DeleteClassLeaf(ctx, r.svc, tc.class)
			if st.write != nil {
				t.Fatal("the delete never reached its commit")
			}
			wantStatus(t, err, tc.want)
			for _, name := range []string{tc.class, tc.survivor, `Sibling.Name="s1"`} {
				if _, err := r.svc.GetObject(ctx, name, 0, nil); err != nil {
					t.Errorf("%s after the refused delete: %v", name, err)
				}
			}
		})
	}
}

// TestDeleteClassLeaf: a leaf-only delete removes a leaf class without
// instances, even when other classes' instances share its key prefix
// (and one of them changes between its check and its commit: the delete
// is checked again); it refuses a class with subclasses or instances,
// where the default delete takes them with it.
func TestDeleteClassLeaf(t *testing.T) {
	ctx := context.Background()
	r, st := leafRepo(t)
	st.class, st.write = "Leaf", func() {
		r.put(r.inst("Sibling", "Name", "s2"), FlagCreateOnly)
		if err := r.svc.DeleteInstance(ctx, `Sibling.Name="s1"`, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := DeleteClassLeaf(ctx, r.svc, "Leaf"); err != nil {
		t.Fatalf("leaf-only delete of a leaf without instances: %v", err)
	}
	if _, err := r.svc.GetObject(ctx, "Leaf", 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Fatalf("Leaf after its delete: %v", err)
	}
	if _, err := r.svc.GetObject(ctx, `Sibling.Name="s2"`, 0, nil); err != nil {
		t.Fatalf("the other class's instance: %v", err)
	}

	wantStatus(t, DeleteClassLeaf(ctx, r.svc, "Base"), cim.EClassHasChildren)
	wantStatus(t, DeleteClassLeaf(ctx, r.svc, "Sibling"), cim.EClassHasInstances)
	wantStatus(t, DeleteClassLeaf(ctx, r.svc, "Nothing"), cim.ENotFound)
	if err := r.svc.DeleteClass(ctx, "Base", 0, DeleteClassOptions{}.Args()); err != nil {
		t.Fatalf("the default delete cascades: %v", err)
	}
	if _, err := r.svc.GetObject(ctx, "Sibling", 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Fatalf("Sibling after its superclass's delete: %v", err)
	}

	// A store that takes few compares refuses the guard of a class with
	// inherited keys and many neighbours, and deletes nothing.
	r.putClass(class("Base", "", nil, prop("Name", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Leaf", "Base", nil))
	r.putClass(class("Sibling", "Base", nil))
	for _, n := range []string{"a", "b", "c", "d"} {
		r.put(r.inst("Sibling", "Name", n), FlagCreateOnly)
	}
	st.maxOps = 8
	wantStatus(t, DeleteClassLeaf(ctx, r.svc, "Leaf"), cim.EQuotaViolation)
	st.maxOps = 0
	if err := DeleteClassLeaf(ctx, r.svc, "Leaf"); err != nil {
		t.Fatalf("the same delete on a store that takes it: %v", err)
	}

	bad := NewContext()
	bad.SetValue(DeleteClassLeafOnly, "yes")
	wantStatus(t, r.svc.DeleteClass(ctx, "Own", 0, bad), cim.EInvalidContext)
	if o, err := DeleteClassOptionsOf(DeleteClassOptions{LeafOnly: true}.Args()); err != nil || !o.LeafOnly {
		t.Fatalf("options read back: %+v, %v", o, err)
	}
}
