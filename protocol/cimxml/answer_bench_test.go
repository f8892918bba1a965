package cimxml

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// processLike is a class shaped as Win32_Process is: 55 properties, most
// of them numbers, half of them NULL in an instance; and n instances of
// it with values as wbemd's built-in provider gives them.
func processLike(n int) (*cim.Object, []*cim.Object) {
	key := []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass}}
	cls := &cim.Object{Genus: cim.GenusClass, Class: "Bench_Process"}
	types := []cim.Type{cim.TypeString, cim.TypeUint32, cim.TypeUint64, cim.TypeUint16, cim.TypeDatetime}
	for i := range 55 {
		p := cim.Property{Name: fmt.Sprintf("Property%02dOf%s", i, strings.Repeat("X", i%13)), Type: types[i%len(types)], Origin: "Bench_Process"}
		if i == 0 {
			p.Name, p.Qualifiers = "Handle", key
		}
		p.Value = cim.Null(p.Type)
		cls.Properties = append(cls.Properties, p)
	}
	var out []*cim.Object
	for j := range n {
		inst, _ := cls.SpawnInstance()
		for i := range inst.Properties {
			p := &inst.Properties[i]
			if i%2 == 1 && i != 0 {
				continue // NULL
			}
			switch p.Type {
			case cim.TypeString:
				p.Value = cim.Value{Type: p.Type, V: fmt.Sprintf("/usr/bin/process-%d --option=%d", j, i)}
			case cim.TypeUint32:
				p.Value = cim.Value{Type: p.Type, V: uint32(j * i)}
			case cim.TypeUint64:
				p.Value = cim.Value{Type: p.Type, V: uint64(j*i) << 20}
			case cim.TypeUint16:
				p.Value = cim.Value{Type: p.Type, V: uint16(i)}
			case cim.TypeDatetime:
				d, _ := cim.ParseDatetime("20261206065657.240000+000")
				p.Value = cim.Value{Type: p.Type, V: d}
			}
		}
		inst.Properties[0].Value = cim.Value{Type: cim.TypeString, V: fmt.Sprint(j + 1)}
		out = append(out, inst)
	}
	return cls, out
}

// BenchmarkAnswerInstances decodes, as the Go client does, the answer to
// an EnumerateInstances of 70 instances shaped as Win32_Process's (what
// the door writes for them): the answer streamed through ReadAnswer, each
// INSTANCE into an instance spawned from the class's template.
func BenchmarkAnswerInstances(b *testing.B) {
	cls, insts := processLike(70)
	var body bytes.Buffer
	w := newWriter(&body)
	w.responseHead("1", "EnumerateInstances", true)
	w.s("<IRETURNVALUE>")
	for _, inst := range insts {
		w.namedInstance(inst, options{})
	}
	w.s("</IRETURNVALUE>" + responseTail(true))
	w.release()
	t, err := cim.NewTemplate(cls)
	if err != nil {
		b.Fatal(err)
	}
	spawn := func(string) (*cim.Object, error) { return t.Spawn(), nil }
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		a, err := ReadAnswer(io.NopCloser(bytes.NewReader(body.Bytes())), -1, true)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			el, err := a.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := el.Kid("INSTANCE").InstanceInto(spawn); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(insts) {
			b.Fatalf("%d instances, want %d", n, len(insts))
		}
	}
}
