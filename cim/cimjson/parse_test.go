package cimjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// value turns a node back into what encoding/json decodes (with
// UseNumber), for comparing the two readers.
func (n *node) value() any {
	switch n.kind {
	case 'o':
		m := map[string]any{}
		for i, k := range n.keys {
			m[k] = n.vals[i].value()
		}
		return m
	case 'a':
		a := []any{}
		for _, e := range n.elems {
			a = append(a, e.value())
		}
		return a
	case 's':
		return n.text
	case 'n':
		return json.Number(n.text)
	case 'b':
		return n.b
	}
	return nil
}

// FuzzParse: the parser reads exactly the documents encoding/json reads,
// to the same values, except that it refuses members named twice (under
// CIM's case folding) and nesting deeper than maxDepth.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,false,null],"c":"x\u00e9\n","d":-0.5e+3}`, `[]`, `{}`, `"\ud83d\ude00"`, "\"\xff\"",
		`{"a":1,"A":2}`, `[01]`, `{"a" 1}`, `-`, `1.`, `tru`, ` [ 1 , 2 ] `, `"a\"b"`, `{"a":1,}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parse(data)
		valid := json.Valid(data)
		if err != nil {
			if valid && !strings.Contains(err.Error(), "duplicate member") && !strings.Contains(err.Error(), "nested more than") {
				t.Fatalf("%q: refused (%v), encoding/json reads it", data, err)
			}
			return
		}
		if !valid {
			t.Fatalf("%q: read, encoding/json refuses it", data)
		}
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if got := n.value(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read as %#v, encoding/json reads %#v", data, got, want)
		}
	})
}
