package cimjson

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
)

// slowParse is parse without its fast path.
func slowParse(data []byte) (*node, error) {
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, p.errAt(p.dec.InputOffset(), "unexpected data after the JSON value")
	}
	return n, nil
}

// FuzzParseFast: what the fast parser takes, encoding/json takes into the
// same tree (offsets included).
func FuzzParseFast(f *testing.F) {
	for _, s := range []string{
		`{"__CLASS":"Disk","Name":"sda","Size":5,"Tags":["a"]}`,
		` { "a" : [ 1 , -2.5e+3 , 0 , true , false , null , {} , [] ] , "b" : "é" } `,
		`{"a":1,"A":2}`, `[01]`, `"\u00e9"`, `{"a":"x\ty"}`, `-`, `1.`, `1e`, `[1,]`, `{"a":1,}`, "\"\xff\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast := parseFast(b)
		if fast == nil {
			return
		}
		slow, err := slowParse(b)
		if err != nil {
			t.Fatalf("fast parser took %q, encoding/json refused it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast tree differs from encoding/json's", b)
		}
	})
}

// TestParseFastTakesEncoderOutput: the fast parser takes what Encode
// writes (so providers' answers do not fall back).
func TestParseFastTakesEncoderOutput(t *testing.T) {
	for _, s := range []string{
		`{"__CLASS":"Disk","Name":"sda","Size":5,"Tags":["a","b"],"Ratio":0.5,"On":true,"None":null}`,
		"{\n  \"a\": [1, 2],\n  \"b\": {\"c\": \"d\"}\n}",
	} {
		if parseFast([]byte(s)) == nil {
			t.Errorf("fast parser refused %s", s)
		}
	}
}
