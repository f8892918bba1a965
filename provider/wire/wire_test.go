package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

func frame(body string) []byte {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	return append(hdr[:], body...)
}

func TestRoundTrip(t *testing.T) {
	isNull := false
	msgs := []*Message{
		{Type: TypeHello, Versions: []int{1}, MaxFrame: 1 << 20},
		{Type: TypeGet, ID: 1, Provider: "P", Namespace: "root/cimv2", Class: "C", Keys: json.RawMessage(`{"Name":"a"}`), TimeoutMS: 500},
		{Type: TypeQuery, ID: 2, Provider: "P", Class: "C", Window: 8, Query: &Query{Class: "C", Properties: []string{"A"},
			Where: &Cond{And: []*Cond{{Property: "A", Op: ">", Value: float64(1)}, {Property: "B", IsNull: &isNull}}}}},
		{Type: TypeInstance, ID: 2, Instance: json.RawMessage(`{"A":2}`)},
		{Type: TypeError, ID: 3, Status: "WBEM_E_NOT_FOUND", Description: "no"},
		{Type: TypeNewQuery, ID: 4, Provider: "P", Namespace: "root/cimv2", Text: "SELECT * FROM Ev",
			Query: &Query{Class: "__InstanceCreationEvent", Where: &Cond{Property: "TargetInstance", Isa: "C"}}},
		{Type: TypeCancelQuery, ID: 4},
		{Type: TypeEvent, Provider: "P", Namespace: "root/cimv2", Event: json.RawMessage(`{"__CLASS":"Ev","N":1}`)},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf, 0)
	for _, want := range msgs {
		got, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("at the end: %v", err)
	}
}

func TestBadFrames(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"too large", frame(`{"type":"hello","version":1,"x":"` + string(bytes.Repeat([]byte("a"), 100)) + `"}`), "more than the limit"},
		{"header cut", []byte{0, 0}, "header cut short"},
		{"body cut", frame(`{"type":"hello"}`)[:8], "body cut short"},
		{"not JSON", frame(`{"type":`), "not a JSON message"},
		{"no type", frame(`{"id":1}`), "without a type"},
		{"result without id", frame(`{"type":"result"}`), "without an id"},
		{"instance not an object", frame(`{"type":"instance","id":1,"instance":[1]}`), "without an id and an instance"},
		{"more without count", frame(`{"type":"more","id":1}`), "positive count"},
		{"event without provider", frame(`{"type":"event","event":{}}`), "without a provider"},
		{"event not an object", frame(`{"type":"event","provider":"P","event":"x"}`), "without an event object"},
		{"newQuery without query", frame(`{"type":"newQuery","id":1,"provider":"P","namespace":"root"}`), "a query naming its event class"},
		{"cancelQuery without id", frame(`{"type":"cancelQuery"}`), "without an id"},
	} {
		_, err := NewReader(bytes.NewReader(c.in), 64).Read()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if c.name == "too large" && !errors.Is(err, ErrFrameTooLarge) {
			t.Errorf("too large: not ErrFrameTooLarge")
		}
	}
}

// FuzzRead: any bytes from a host read as messages or a precise error;
// never a panic, never a frame past the limit.
func FuzzRead(f *testing.F) {
	f.Add(frame(`{"type":"hello","version":1,"providers":["P"]}`))
	f.Add(frame(`{"type":"instance","id":7,"instance":{"__CLASS":"C","A":[1,2,{"x":null}]}}`))
	f.Add(frame(`{"type":"error","id":7,"status":"0x80041002","description":"\u00fc"}`))
	f.Add(append(frame(`{"type":"result","id":1,"out":{"ReturnValue":0}}`), 0xff, 0xff, 0xff, 0xff))
	f.Add(frame(`{"type":"event","provider":"P","namespace":"root/cimv2","event":{"__CLASS":"__InstanceCreationEvent","TargetInstance":{"__CLASS":"C","Name":"a"}}}`))
	f.Add(frame(`{"type":"newQuery","id":3,"provider":"P","namespace":"root","text":"SELECT * FROM E","query":{"class":"E"}}`))
	f.Add(frame(`{"type":"cancelQuery","id":3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 4096)
		for i := 0; i < 64; i++ {
			m, err := r.Read()
			if err != nil {
				return
			}
			if err := m.Check(); err != nil {
				t.Fatalf("Read returned a message Check refuses: %v", err)
			}
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("a decoded message does not encode: %v", err)
			}
		}
	})
}

// FuzzDecodeItem: a body the item fast path takes decodes to the message
// json.Unmarshal makes of it.
func FuzzDecodeItem(f *testing.F) {
	f.Add([]byte(`{"type":"instance","id":7,"instance":{"__CLASS":"C","A":[1,2,{"x":null}]}}`))
	f.Add([]byte(`{"type":"instance","id":7,"instance":{"a":1},"id":8}`))
	f.Add([]byte(`{"type":"instance","id":18446744073709551616,"instance":{}}`))
	f.Add([]byte(`{"type":"instance","id":1,"instance":{"a":1} }`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fast := decodeItem(body)
		if fast == nil {
			return
		}
		var slow Message
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("fast path took %q, json.Unmarshal refused it: %v", body, err)
		}
		if err := fast.Check(); err != nil {
			t.Fatalf("fast path took %q, Check refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(*fast, slow) {
			t.Fatalf("%q: fast %+v, json.Unmarshal %+v", body, *fast, slow)
		}
	})
}
