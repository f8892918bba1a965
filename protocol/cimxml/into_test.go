package cimxml

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// intoClass is the class FuzzInstanceInto spawns every instance from.
func intoClass() *cim.Object {
	key := []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass}}
	return &cim.Object{Genus: cim.GenusClass, Class: "C", Properties: []cim.Property{
		{Name: "K", Type: cim.TypeString, Qualifiers: key, Origin: "C"},
		{Name: "P", Type: cim.TypeDatetime, Origin: "C"},
		{Name: "A", Type: cim.TypeUint8.ArrayOf(), Origin: "C"},
		{Name: "N", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: uint32(7)}, Origin: "C"},
		{Name: "S", Type: cim.TypeSint64, Origin: "C"},
		{Name: "E", Type: cim.TypeObject, Origin: "C"},
	}}
}

// completed is what InstanceInto must give: the instance Instance decodes,
// its values converted into an instance spawned from the class.
func completed(cls, inst *cim.Object) *cim.Object {
	out, _ := cls.SpawnInstance()
	for _, p := range inst.Properties {
		if dst, _, ok := out.PropertyNear(p.Name, 0); ok {
			if v, err := cim.Convert(p.Value, dst.Type); err == nil {
				dst.Value = v
			}
		}
	}
	return out
}

// instances lists the INSTANCE elements of a tree.
func instances(n *node, out []*node) []*node {
	if n.name == "INSTANCE" {
		out = append(out, n)
	}
	for _, k := range n.kids {
		out = instances(k, out)
	}
	return out
}

// FuzzInstanceInto: for every INSTANCE of any document, InstanceInto
// fails exactly where Instance fails, with the same error, and otherwise
// gives what completing Instance's instance from the class gives.
func FuzzInstanceInto(f *testing.F) {
	for _, s := range []string{
		`<INSTANCE CLASSNAME="C"><PROPERTY NAME="K" TYPE="string"><VALUE>x</VALUE></PROPERTY><PROPERTY NAME="n" TYPE="uint16"><VALUE>5</VALUE></PROPERTY><PROPERTY NAME="Z" TYPE="string"><VALUE>z</VALUE></PROPERTY><PROPERTY.ARRAY NAME="A" TYPE="uint8"><VALUE.ARRAY><VALUE>1</VALUE><VALUE>2</VALUE></VALUE.ARRAY></PROPERTY.ARRAY><PROPERTY NAME="P" TYPE="datetime"></PROPERTY></INSTANCE>`,
		`<INSTANCE CLASSNAME="C"><QUALIFIER NAME="Q" TYPE="sint32"><VALUE>4</VALUE></QUALIFIER><PROPERTY NAME="K" TYPE="string"><QUALIFIER NAME="Key" TYPE="boolean"><VALUE>TRUE</VALUE></QUALIFIER><VALUE>x</VALUE></PROPERTY><PROPERTY NAME="k" TYPE="string"><VALUE>y</VALUE></PROPERTY></INSTANCE>`,
		`<INSTANCE CLASSNAME="C"><PROPERTY NAME="S" TYPE="string"><VALUE>-3</VALUE></PROPERTY><PROPERTY NAME="N" TYPE="string"><VALUE>nope</VALUE></PROPERTY><PROPERTY NAME="Z"/><PROPERTY NAME="z"/></INSTANCE>`,
		`<INSTANCE CLASSNAME="C"><PROPERTY NAME="E" TYPE="string" EmbeddedObject="object"><VALUE>&lt;INSTANCE CLASSNAME="D"&gt;&lt;PROPERTY NAME="X" TYPE="uint8"&gt;&lt;VALUE&gt;1&lt;/VALUE&gt;&lt;/PROPERTY&gt;&lt;/INSTANCE&gt;</VALUE></PROPERTY><PROPERTY NAME="P" TYPE="datetime"><VALUE>2020</VALUE></PROPERTY></INSTANCE>`,
		`<INSTANCE CLASSNAME="9C"></INSTANCE>`,
		`<INSTANCE CLASSNAME="C"><PROPERTY.REFERENCE NAME="K" REFERENCECLASS="C"><VALUE.REFERENCE><INSTANCENAME CLASSNAME="C"/></VALUE.REFERENCE></PROPERTY.REFERENCE></INSTANCE>`,
	} {
		f.Add([]byte(s))
	}
	cls := intoClass()
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := parseTree(bytes.NewReader(body))
		if err != nil {
			return
		}
		for _, n := range instances(root, nil) {
			want, werr := instanceOf(n, 0)
			var spawned string
			got, gerr := instanceInto(n, func(class string) (*cim.Object, error) {
				spawned = class
				return cls.SpawnInstance()
			})
			if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("Instance: %v; InstanceInto: %v", werr, gerr)
			}
			if werr != nil {
				continue
			}
			if spawned != want.Class {
				t.Fatalf("spawned %q for an instance of %q", spawned, want.Class)
			}
			if w := completed(cls, want); !reflect.DeepEqual(got, w) {
				t.Fatalf("InstanceInto gave\n%+v\nwant\n%+v", got, w)
			}
			// An instance spawn declines is checked, not filled.
			none, err := instanceInto(n, func(string) (*cim.Object, error) { return nil, nil })
			if none != nil || err != nil {
				t.Fatalf("declined: %v, %v", none, err)
			}
		}
	})
}
