package cimjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

func diskClass() *cim.Object {
	c := &cim.Object{Genus: cim.GenusClass, Class: "Disk", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}},
		{Name: "Size", Type: cim.TypeUint64, Value: cim.Null(cim.TypeUint64)},
		{Name: "Count", Type: cim.TypeUint8, Value: cim.Null(cim.TypeUint8)},
		{Name: "On", Type: cim.TypeBoolean, Value: cim.Null(cim.TypeBoolean)},
		{Name: "Tags", Type: cim.TypeString.ArrayOf(), Value: cim.Null(cim.TypeString.ArrayOf())},
		{Name: "When", Type: cim.TypeDatetime, Value: cim.Null(cim.TypeDatetime)},
	}}
	r, _ := cim.Derive(nil, c)
	return r
}

func lookup(name string) (*cim.Object, error) {
	if cim.EqualFold(name, "Disk") {
		return diskClass(), nil
	}
	return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist", name)
}

func TestDecodeInstance(t *testing.T) {
	o, err := Decode([]byte(`{"__CLASS":"Disk","Name":"sda","Size":"18446744073709551615","Count":7,"On":true,"Tags":["a","b"],"When":"20260101000000.000000+000","__PATH":"ignored"}`), "", lookup)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(Encode(o, true), "", lookup)
	if err != nil {
		t.Fatal(err)
	}
	if !back.CompareTo(o, cim.CompareIncludeAll) {
		t.Fatalf("JSON round trip differs:\n%s", Encode(o, true))
	}
	// A provider's usual instance decodes without a tree; others through it.
	if _, ok := decodeFlat([]byte(`{"Count":7,"Name":"sda","On":false,"Size":"18446744073709551615","When":null}`), "Disk", lookup, nil); !ok {
		t.Error("a flat instance went through the tree")
	}
	for _, s := range []string{`{"Name":"a\"b"}`, `{"Tags":["a"]}`, `{"Size":1.5}`, `{"__CLASS":"Disk"}`, `{"Name":"a","name":"b"}`, `{"Nope":1}`, `{"Name":"a"} x`} {
		if _, ok := decodeFlat([]byte(s), "Disk", lookup, nil); ok {
			t.Errorf("%s decoded without a tree", s)
		}
	}
	bad := []struct {
		in   string
		want cim.Status
		pos  string
	}{
		{`{"Name":"a",}`, cim.EInvalidParameter, "1:"},
		{`{"Name":"a"`, cim.EInvalidParameter, "1:12"},
		{`[1]`, cim.EInvalidParameter, "1:1"},
		{"{\n  \"Count\": 300\n}", cim.ETypeMismatch, "2:12"},
		{`{"Nope":1}`, cim.EInvalidProperty, "1:9"},
		{`{"__CLASS":"Other"}`, cim.EInvalidClass, "1:1"},
		{`{"Count":"7"}`, cim.ETypeMismatch, "1:10"},
		{`{"Tags":["a",null]}`, cim.ETypeMismatch, "1:14"},
		{`{"When":"yesterday"}`, cim.ETypeMismatch, "1:9"},
		{`{"Name":"a","name":"b"}`, cim.EInvalidParameter, "1:13"},
		{`{"Name":"a"} x`, cim.EInvalidParameter, "1:"},
	}
	for _, b := range bad {
		_, err := Decode([]byte(b.in), "Disk", lookup)
		if cim.StatusOf(err) != b.want || !strings.Contains(err.Error(), b.pos) {
			t.Errorf("%s: %v, want %v at %s", b.in, err, b.want, b.pos)
		}
	}
}

func TestDecodeClass(t *testing.T) {
	in := `{"__GENUS":1,"__CLASS":"Disk","__SUPERCLASS":null,"Qualifiers":[{"Name":"Description","Type":"string","Value":"d","Flavor":["ToSubclass"]}],
	"Properties":[{"Name":"Name","Type":"string","Qualifiers":[{"Name":"Key","Value":true}]},{"Name":"Size","Type":"uint64","Default":5},{"Name":"R","Type":"ref:Disk"}],
	"Methods":[{"Name":"Go","Type":"uint32","Parameters":[{"Name":"X","Type":"string[]"}]}]}`
	c, err := Decode([]byte(in), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(Encode(c, false), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !back.CompareTo(c, cim.CompareIncludeAll) {
		t.Fatalf("class round trip:\n%s", Encode(c, true))
	}
	if p, _ := c.Property("R"); p.Type != cim.TypeReference || p.RefClass != "Disk" {
		t.Errorf("ref property %+v", p)
	}
	for _, s := range []string{`{"__GENUS":1}`, `{"__GENUS":1,"__CLASS":"X","Properties":[{"Name":"a","Type":"int"}]}`, `{"__GENUS":1,"__CLASS":"X","Bogus":1}`,
		`{"__GENUS":1,"__CLASS":"X","Qualifiers":[{"Name":"Q","Flavor":["Sideways"]}]}`} {
		if _, err := Decode([]byte(s), "", nil); err == nil {
			t.Errorf("%s decoded", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"__CLASS":"Disk","Name":"sda","Size":5,"Tags":["a"]}`))
	f.Add([]byte(`{"Count":7,"Name":"sda","On":false,"Size":"18446744073709551615","When":null}`))
	f.Add([]byte(` { "count" : -0 , "NAME":"x\u0041", "On":true,"Size":1e3} `))
	f.Add([]byte(`{"Count":300,"Name":"a","name":"b","When":"20260101000000.000000+000"}`))
	f.Add([]byte(`{"__GENUS":1,"__CLASS":"X","Properties":[{"Name":"a","Type":"uint8","Default":1}]}`))
	tmpl, err := cim.NewTemplate(diskClass())
	if err != nil {
		f.Fatal(err)
	}
	spawned := 0
	spawn := func(cls *cim.Object) (*cim.Object, error) {
		spawned++
		return tmpl.Spawn(), nil
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := Decode(b, "Disk", lookup)
		// Instances spawned from a template decode the same, errors
		// included.
		spawned = 0
		s, serr := DecodeSpawned(b, "Disk", lookup, spawn)
		if (err == nil) != (serr == nil) || err != nil && err.Error() != serr.Error() || err == nil && !reflect.DeepEqual(o, s) {
			t.Fatalf("Decode: %+v, %v; DecodeSpawned: %+v, %v", o, err, s, serr)
		}
		// Where the flat decoder takes a document, the tree gives the
		// same instance.
		if flat, ok := decodeFlat(b, "Disk", lookup, nil); ok {
			tree, err := decodeTree(b, "Disk", lookup, nil)
			if err != nil || !reflect.DeepEqual(flat, tree) {
				t.Fatalf("%s: flat %+v; tree %+v, %v", b, flat, tree, err)
			}
		}
		if err != nil {
			if _, ok := err.(*cim.Error); !ok {
				t.Fatalf("error without a WBEM status: %v", err)
			}
			return
		}
		if o.Genus == cim.GenusInstance {
			back, err := Decode(Encode(o, false), "", lookup)
			if err != nil || !back.CompareTo(o, cim.CompareIncludeAll) {
				t.Fatalf("round trip of %s: %v", Encode(o, false), err)
			}
		}
	})
}

// systemByValue is the JSON of an instance's system properties as the
// generic path writes them: each cim.Object.SystemProperty that is not
// NULL, through appendValue.
func systemByValue(o *cim.Object) []byte {
	var b []byte
	for _, name := range cim.SystemPropertyNames() {
		v, ok := o.SystemProperty(name)
		if !ok || v.IsNull() {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = appendString(b, name)
		b = append(b, ':')
		b = appendValue(b, v)
	}
	return b
}

// TestAppendSystem holds appendSystem to the generic encoding of the
// system properties, for stored and unstored instances, singletons,
// instances with a NULL key, and names that need escaping.
func TestAppendSystem(t *testing.T) {
	cls := diskClass()
	var objs []*cim.Object
	for i, name := range []string{"sda", `we"ird\name`, "ünï", ""} {
		o, _ := cls.SpawnInstance()
		if name != "" {
			o.Put("Name", cim.Value{Type: cim.TypeString, V: name})
		}
		o.Put("Size", cim.Value{Type: cim.TypeUint64, V: uint64(i)})
		objs = append(objs, o)
		stored := o.Clone()
		stored.Namespace, stored.Server = "root/cimv2", "host"
		objs = append(objs, stored)
		noServer := o.Clone()
		noServer.Namespace = "root"
		objs = append(objs, noServer)
	}
	objs = append(objs,
		&cim.Object{Genus: cim.GenusInstance, Class: "__InstanceCreationEvent", Superclass: "__InstanceOperationEvent",
			Derivation: []string{"__InstanceOperationEvent", "__Event", "__IndicationRelated", "__SystemClass"}, Namespace: "root/cimv2",
			Properties: []cim.Property{{Name: "Revision", Type: cim.TypeSint64, Value: cim.Value{Type: cim.TypeSint64, V: int64(7)}}}},
		&cim.Object{Genus: cim.GenusInstance},
		&cim.Object{Genus: cim.GenusInstance, Class: "Lone", Namespace: "a/b/c", Server: "s"})
	for i, o := range objs {
		want := string(systemByValue(o))
		got := string(appendSystem(nil, o))
		if got != want {
			t.Errorf("object %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// BenchmarkAppendEvent measures the JSON of an event object with an
// embedded instance, into a reused buffer.
func BenchmarkAppendEvent(b *testing.B) {
	cls := diskClass()
	target, _ := cls.SpawnInstance()
	target.Put("Name", cim.Value{Type: cim.TypeString, V: "sda"})
	target.Put("Size", cim.Value{Type: cim.TypeUint64, V: uint64(1 << 40)})
	target.Namespace, target.Server = "root/cimv2", "host"
	ev := &cim.Object{Genus: cim.GenusInstance, Class: "__InstanceCreationEvent", Superclass: "__InstanceOperationEvent",
		Derivation: []string{"__InstanceOperationEvent", "__Event", "__IndicationRelated", "__SystemClass"}, Namespace: "root/cimv2", Server: "host",
		Properties: []cim.Property{{Name: "TargetInstance", Type: cim.TypeObject, Value: cim.Value{Type: cim.TypeObject, V: target}},
			{Name: "Revision", Type: cim.TypeSint64, Value: cim.Value{Type: cim.TypeSint64, V: int64(7)}}}}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], ev)
	}
}

// TestIndent: Encode's indentation is encoding/json's (json.Indent with
// two spaces), for classes and instances with strings that hold quotes,
// backslashes, braces and commas, empty arrays, nested objects.
func TestIndent(t *testing.T) {
	cls := diskClass()
	inst, _ := cls.SpawnInstance()
	inst.Put("Name", cim.Value{Type: cim.TypeString, V: `a "q" \ {[,:]} \"`})
	inst.Put("Tags", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{}})
	full, _ := cls.SpawnInstance()
	full.Put("Name", cim.Value{Type: cim.TypeString, V: "x"})
	full.Put("Tags", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"a", "b,c", `d"]`}})
	full.Put("On", cim.Value{Type: cim.TypeBoolean, V: true})
	full.Namespace, full.Server = "root/cimv2", "host"
	for i, o := range []*cim.Object{cls, inst, full, {Genus: cim.GenusInstance}} {
		compact := Encode(o, false)
		var want bytes.Buffer
		if err := json.Indent(&want, compact, "", "  "); err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		if got := Encode(o, true); string(got) != want.String() {
			t.Errorf("object %d:\n got %s\nwant %s", i, got, want.String())
		}
	}
}

// FuzzIndent: for any valid JSON made compact, appendIndented writes
// what json.Indent writes.
func FuzzIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":[]},"x\"]"],"c":{}}`, `"\\"`, `[[[]],{},null]`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, in) != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatalf("json.Indent of %q: %v", compact.Bytes(), err)
		}
		if got := appendIndented(nil, compact.Bytes()); string(got) != want.String() {
			t.Errorf("%q:\n got %s\nwant %s", compact.Bytes(), got, want.String())
		}
	})
}
