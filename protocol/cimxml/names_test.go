package cimxml

import (
	"bytes"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestInstanceNameOf: the INSTANCENAME written straight from an instance
// is byte for byte the one written from its path: keys of every kind in
// class order, a reference key, a singleton, and an instance with a NULL
// key (whose path is its class's alone).
func TestInstanceNameOf(t *testing.T) {
	key := cim.Qualifier{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}
	prop := func(name string, v cim.Value, k bool) cim.Property {
		p := cim.Property{Name: name, Type: v.Type, Value: v}
		if k {
			p.Qualifiers = []cim.Qualifier{key}
		}
		return p
	}
	inst := func(class string, ps ...cim.Property) *cim.Object {
		return &cim.Object{Genus: cim.GenusInstance, Class: class, Namespace: "root/x", Server: "h", Properties: ps}
	}
	str := func(s string) cim.Value { return cim.Value{Type: cim.TypeString, V: s} }
	for _, o := range []*cim.Object{
		inst("A", prop("Name", str(`a<&>"b'`), true), prop("Size", cim.Value{Type: cim.TypeUint64, V: uint64(9)}, false)),
		inst("B", prop("Note", str("x"), false), prop("N", cim.Value{Type: cim.TypeSint32, V: int32(-3)}, true),
			prop("On", cim.Value{Type: cim.TypeBoolean, V: true}, true), prop("R", cim.Value{Type: cim.TypeReal64, V: 1.5}, true)),
		inst("L", prop("Ref", cim.Value{Type: cim.TypeReference, V: `//h/root/x:A.Name="a"`}, true), prop("Id", str("1"), true)),
		inst("S", prop("Note", str("x"), false)),
		inst("C", prop("Name", cim.Null(cim.TypeString), true), prop("Id", str("1"), true)),
	} {
		var want, got bytes.Buffer
		w := newWriter(&want)
		p := pathOfObject(o)
		p.Namespace, p.Server = "", ""
		w.instanceName(p)
		w.release()
		w = newWriter(&got)
		w.instanceNameOf(o)
		w.release()
		if got.String() != want.String() {
			t.Errorf("%s:\n got %s\nwant %s", o.Class, got.String(), want.String())
		}
	}
}
