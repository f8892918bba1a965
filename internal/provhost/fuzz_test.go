package provhost

import (
	"encoding/json"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/provider/wire"
)

// fuzzClass is the class replies are typed against.
func fuzzClass() *cim.Object {
	key := []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}
	return &cim.Object{Genus: cim.GenusClass, Class: "Fuzz_Item", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Qualifiers: key, Value: cim.Null(cim.TypeString)},
		{Name: "Size", Type: cim.TypeUint8, Value: cim.Null(cim.TypeUint8)},
		{Name: "When", Type: cim.TypeDatetime, Value: cim.Null(cim.TypeDatetime)},
		{Name: "Tags", Type: cim.TypeString.ArrayOf(), Value: cim.Null(cim.TypeString.ArrayOf())},
		{Name: "Inner", Type: cim.TypeObject, Value: cim.Null(cim.TypeObject)},
		{Name: "Ref", Type: cim.TypeReference, RefClass: "Fuzz_Item", Value: cim.Null(cim.TypeReference)},
	}}
}

// FuzzAnswer: whatever a hostile provider answers is read as a message,
// then typed against the class (instances), the method (out-parameters)
// or taken as a WBEM error: an object of the class or a precise error,
// never a panic.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"type":"instance","id":1,"instance":{"__CLASS":"Fuzz_Item","Name":"a","Size":255,"Tags":["x"],"Inner":{"__CLASS":"Fuzz_Item","Name":"in"}}}`))
	f.Add([]byte(`{"type":"result","id":1,"instance":{"Name":"a","Size":256}}`))
	f.Add([]byte(`{"type":"result","id":1,"out":{"ReturnValue":"7","Out":"x"}}`))
	f.Add([]byte(`{"type":"error","id":1,"status":"WBEM_E_NOT_FOUND","description":"x"}`))
	f.Add([]byte(`{"type":"error","id":1,"status":"0x00000000"}`))
	f.Add([]byte(`{"type":"instance","id":1,"instance":{"__CLASS":"Other","When":"2026"}}`))
	cls := fuzzClass()
	lookup := func(name string) (*cim.Object, error) {
		if cim.EqualFold(name, cls.Class) {
			return cls, nil
		}
		return nil, cim.Errorf(cim.EInvalidClass, "no class %s", name)
	}
	h := &hosted{e: &entry{reg: &cimom.Registration{Name: "Fuzz"}}}
	call := &cimom.ProviderCall{Namespace: "root/cimv2", Class: cls, ProviderClass: cls.Class, Lookup: lookup}
	method := &cim.Method{Name: "M", ReturnType: cim.TypeUint32, Parameters: []cim.Parameter{
		{Name: "Out", Type: cim.TypeString, Qualifiers: []cim.Qualifier{{Name: "Out", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := wire.Decode(body)
		if err != nil {
			return
		}
		switch m.Type {
		case wire.TypeInstance, wire.TypeResult:
			if m.Instance != nil {
				o, err := h.decode(m.Instance, call)
				if err == nil && (o.Genus != cim.GenusInstance || !o.IsA(cls.Class)) {
					t.Fatalf("decoded %v", o)
				}
				if err != nil && cim.StatusOf(err) != cim.EProviderFailure {
					t.Fatalf("status %v", err)
				}
			}
			if m.Out != nil {
				if _, err := h.outParameters(m.Out, call, method); err != nil && cim.StatusOf(err) != cim.EProviderFailure {
					t.Fatalf("status %v", err)
				}
			}
		case wire.TypeError:
			if err := answerError(m); !cim.StatusOf(err).IsError() {
				t.Fatalf("an error answer that is not an error: %v", err)
			}
		}
		json.Marshal(m)
	})
}
