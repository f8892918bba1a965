package cimom

import (
	"context"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store/bolt"
)

var admin = Principal{Name: "root"}

// testRepo is a real repository in a temporary directory.
type testRepo struct {
	t   *testing.T
	db  *bolt.DB
	c   *CIMOM
	svc Services
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	return repoOn(t, bolt.Options{}, Options{})
}

// qualifiers
func qTrue(name string) cim.Qualifier {
	return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass}
}

func qStr(name, v string) cim.Qualifier {
	return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeString, V: v}, Flavor: cim.FlavorToSubclass}
}

func prop(name string, t cim.Type, qs ...cim.Qualifier) cim.Property {
	return cim.Property{Name: name, Type: t, Value: cim.Null(t), Qualifiers: qs}
}

func class(name, super string, qs []cim.Qualifier, props ...cim.Property) *cim.Object {
	return &cim.Object{Genus: cim.GenusClass, Class: name, Superclass: super, Qualifiers: qs, Properties: props}
}

func (r *testRepo) putClass(c *cim.Object) {
	r.t.Helper()
	if err := r.svc.PutClass(context.Background(), c, 0, nil); err != nil {
		r.t.Fatalf("PutClass %s: %v", c.Class, err)
	}
}

// inst spawns an instance of class and sets name/value pairs (Go values
// converted to the property types).
func (r *testRepo) inst(class string, kv ...any) *cim.Object {
	r.t.Helper()
	cls, err := r.svc.GetObject(context.Background(), class, 0, nil)
	if err != nil {
		r.t.Fatalf("GetObject %s: %v", class, err)
	}
	o, err := cls.SpawnInstance()
	if err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		p, ok := o.Property(name)
		if !ok {
			r.t.Fatalf("no property %s", name)
		}
		v, err := cim.NewValue(p.Type, kv[i+1])
		if err != nil {
			r.t.Fatalf("value of %s: %v", name, err)
		}
		p.Value = v
	}
	return o
}

func (r *testRepo) put(o *cim.Object, flags Flags) string {
	r.t.Helper()
	path, err := r.svc.PutInstance(context.Background(), o, flags, nil)
	if err != nil {
		r.t.Fatalf("PutInstance: %v", err)
	}
	return path
}

// snapshot returns every key and value of the store, to check that a
// failed operation changed nothing.
func (r *testRepo) snapshot() map[string]string {
	r.t.Helper()
	out := map[string]string{}
	for kv, err := range r.db.Range(context.Background(), nil, nil) {
		if err != nil {
			r.t.Fatal(err)
		}
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// wantStatus fails unless err carries status want.
func wantStatus(t *testing.T, err error, want cim.Status) {
	t.Helper()
	if got := cim.StatusOf(err); got != want {
		t.Fatalf("status %v (%v), want %v", got, err, want)
	}
}

// baseSchema declares the classes most tests use:
//
//	Item (Id string key, Size uint32, Label Not_Null? no)
//	Counter (N uint32 key)
//	Abstract_Base [Abstract] (Id string key) <- Concrete
//	Setting [Singleton] (Level uint32)
//	Keyless (Note string)
//	Strict (Id string key, Name Not_Null string, Tag Indexed string)
func (r *testRepo) baseSchema() {
	r.putClass(class("Item", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Size", cim.TypeUint32), prop("Label", cim.TypeString)))
	r.putClass(class("Counter", "", nil, prop("N", cim.TypeUint32, qTrue("Key")), prop("Note", cim.TypeString)))
	r.putClass(class("Abstract_Base", "", []cim.Qualifier{qTrue("Abstract")}, prop("Id", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Concrete", "Abstract_Base", nil, prop("Extra", cim.TypeString)))
	r.putClass(class("Setting", "", []cim.Qualifier{qTrue("Singleton")}, prop("Level", cim.TypeUint32)))
	r.putClass(class("Keyless", "", nil, prop("Note", cim.TypeString)))
	r.putClass(class("Strict", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Name", cim.TypeString, qTrue("Not_Null")), prop("Tag", cim.TypeString, qTrue("Indexed"))))
	r.putClass(class("Amended_Class", "", []cim.Qualifier{qTrue("Amendment")}, prop("Id", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Dyn", "", []cim.Qualifier{qTrue("Dynamic"), qStr("Provider", "DynProv")}, prop("Id", cim.TypeString, qTrue("Key"))))
}
