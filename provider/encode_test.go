package provider

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestEncodeInstance: encodeInstance writes what json.Marshal writes.
func TestEncodeInstance(t *testing.T) {
	for _, inst := range []Instance{
		{},
		{"Name": "a", "Size": 1, "Note": "first", "On": true, "None": nil},
		{"b": int8(-8), "a": uint64(math.MaxUint64), "c": int64(math.MinInt64), "d": uint16(7), "e": int32(-1), "f": uint(3), "g": uint8(255), "h": int16(-300), "i": uint32(9)},
		{"Text": "<tag> & \"quote\" \\ é \u2028 \x01", "Ratio": 0.1, "Big": 1e21, "Tags": []string{"x", "<y>"}},
		{"When": time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC), "Embedded": Instance{"__CLASS": "E", "V": 1}},
		{"ké": "v", "a<b": 1},
	} {
		want, err := json.Marshal(inst)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeInstance(inst)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("encodeInstance(%v) = %s, %v; json.Marshal: %s", inst, got, err, want)
		}
	}
	if _, err := encodeInstance(Instance{"Bad": math.NaN()}); err == nil {
		t.Error("NaN encoded without an error")
	}
}

// FuzzEncodeInstance: for any strings and numbers, encodeInstance writes
// what json.Marshal writes.
func FuzzEncodeInstance(f *testing.F) {
	f.Add("Name", "value", int64(1), 0.5, true)
	f.Add("a<b", "x\u2028y", int64(-1), 1e300, false)
	f.Fuzz(func(t *testing.T, k, s string, n int64, x float64, b bool) {
		inst := Instance{k: s, k + "n": n, k + "x": x, k + "b": b, "z" + k: nil}
		want, werr := json.Marshal(inst)
		got, gerr := encodeInstance(inst)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("encodeInstance(%v) = %s, %v; json.Marshal: %s, %v", inst, got, gerr, want, werr)
		}
		// With the key order of an instance with the same keys, of one
		// with other keys of the same number, and of one with fewer:
		// the same bytes, after what was there.
		_, same, _ := appendInstance(nil, Instance{k: 1, k + "n": 1, k + "x": 1, k + "b": 1, "z" + k: 1}, nil)
		_, other, _ := appendInstance(nil, Instance{"a": 1, "b": 1, "c": 1, "d": 1, "e": 1}, nil)
		for _, order := range [][]string{same, other, other[:2], nil} {
			got, _, gerr := appendInstance([]byte("x"), inst, order)
			if (werr != nil) != (gerr != nil) || werr == nil && !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Fatalf("appendInstance(%v) with order %q = %s, %v; json.Marshal: %s, %v", inst, order, got, gerr, want, werr)
			}
		}
	})
}
