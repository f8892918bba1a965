package provider

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wbemd/wbemd/provider/wire"
)

// FuzzInstanceFrame: the frame of an instance decodes, with encoding/json,
// to the same message as encoding/json's own encoding of it.
func FuzzInstanceFrame(f *testing.F) {
	f.Add("Name", "a\"b\\c\n\x01é", uint64(7), int64(-3), true, 1.5)
	f.Add("", "\xff\xfe", uint64(0), int64(0), false, 0.0)
	f.Fuzz(func(t *testing.T, k, s string, u uint64, i int64, b bool, fl float64) {
		inst := Instance{k + "s": s, k + "u": uint32(u), k + "U": u, k + "i": i, k + "b": b, k + "n": nil, k + "a": []string{s, k}, k + "f": fl}
		frame, err := instanceFrame(9, inst)
		body, jerr := json.Marshal(inst)
		if (err != nil) != (jerr != nil) {
			t.Fatalf("errors differ: %v, encoding/json %v", err, jerr)
		}
		if err != nil {
			return
		}
		want, _ := json.Marshal(&wire.Message{Type: wire.TypeInstance, ID: 9, Instance: body})
		var got, exp any
		dec := func(data []byte, v *any) {
			d := json.NewDecoder(bytes.NewReader(data))
			d.UseNumber()
			if err := d.Decode(v); err != nil {
				t.Fatalf("%s: %v", data, err)
			}
		}
		dec(frame, &got)
		dec(want, &exp)
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("frame %s\nencoding/json %s", frame, want)
		}
	})
}
