package cimom

import (
	"errors"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestTypeInParameters: every in-parameter in declaration order, NULL
// unless given, of its declared type; text read as numbers; a decoder
// gets the declared parameter; each failure names its parameter.
func TestTypeInParameters(t *testing.T) {
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	in := []cim.Qualifier{{Name: "In", Value: yes}}
	out := []cim.Qualifier{{Name: "Out", Value: yes}}
	m := &cim.Method{Name: "Resize", ReturnType: cim.TypeUint32, Parameters: []cim.Parameter{
		{Name: "Size", Type: cim.TypeUint64, Qualifiers: in},
		{Name: "Target", Type: cim.TypeReference, RefClass: "Disk"},
		{Name: "Tags", Type: cim.TypeString.ArrayOf(), Qualifiers: in},
		{Name: "Job", Type: cim.TypeReference, Qualifiers: out},
	}}
	var seen *cim.Parameter
	got, err := TypeInParameters(m, []Argument{
		{Name: "__CLASS", Value: cim.Value{Type: cim.TypeString, V: "__PARAMETERS"}},
		{Name: "tags", Decode: func(prm *cim.Parameter) (cim.Value, error) {
			seen = prm
			return cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"a", "b"}}, nil
		}},
		{Name: "SIZE", Value: cim.Value{Type: cim.TypeString, V: "4096"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Class != ParametersClass || len(got.Properties) != 3 {
		t.Fatalf("got %+v", got)
	}
	for i, want := range []struct {
		name string
		v    cim.Value
	}{
		{"Size", cim.Value{Type: cim.TypeUint64, V: uint64(4096)}},
		{"Target", cim.Null(cim.TypeReference)},
		{"Tags", cim.Value{Type: cim.TypeString.ArrayOf(), V: []string{"a", "b"}}},
	} {
		p := got.Properties[i]
		if p.Name != want.name || p.Type != want.v.Type || !p.Value.Equal(want.v) {
			t.Errorf("slot %d: %s %v %v, want %s %v", i, p.Name, p.Type, p.Value, want.name, want.v)
		}
	}
	if got.Properties[1].RefClass != "Disk" {
		t.Errorf("Target lost its RefClass")
	}
	if seen == nil || seen.Name != "Tags" {
		t.Errorf("the decoder got %+v", seen)
	}

	decodeErr := cim.Errorf(cim.ETypeMismatch, "not a list")
	foreign := errors.New("wire trouble")
	for _, c := range []struct {
		arg   Argument
		want  cim.Status
		param string
		text  string
	}{
		{Argument{Name: "Colour"}, cim.EInvalidMethodParameters, "Colour", "method Resize has no in-parameter Colour"},
		{Argument{Name: "Job"}, cim.EInvalidMethodParameters, "Job", "method Resize has no in-parameter Job"},
		{Argument{Name: "Size", Value: cim.Value{Type: cim.TypeString, V: "big"}}, cim.EInvalidMethodParameters, "Size", "in-parameter Size of Resize must be uint64"},
		{Argument{Name: "Tags", Decode: func(*cim.Parameter) (cim.Value, error) { return cim.Value{}, decodeErr }}, cim.ETypeMismatch, "Tags", "not a list"},
	} {
		_, err := TypeInParameters(m, []Argument{c.arg})
		var e *cim.Error
		if !errors.As(err, &e) || e.Status != c.want || e.Parameter != c.param || !strings.Contains(e.Description, c.text) {
			t.Errorf("%s: %v (parameter %q), want %v %q naming %s", c.arg.Name, err, e.Parameter, c.want, c.text, c.param)
		}
	}
	_, err = TypeInParameters(m, []Argument{{Name: "Tags", Decode: func(*cim.Parameter) (cim.Value, error) { return cim.Value{}, foreign }}})
	if err != foreign {
		t.Errorf("a decoder's own error came back as %v", err)
	}
	// A method that has only in-parameters says "parameter".
	only := &cim.Method{Name: "Spin", Parameters: []cim.Parameter{{Name: "Up", Type: cim.TypeBoolean, Qualifiers: in}}}
	if _, err := TypeInParameters(only, []Argument{{Name: "Down"}}); err == nil || cim.AsError(err).Description != "method Spin has no parameter Down" {
		t.Errorf("unknown parameter of an in-only method: %v", err)
	}
}
