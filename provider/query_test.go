package provider

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wbemd/wbemd/provider/wire"
)

func TestEquals(t *testing.T) {
	eq := func(p string, v any) *wire.Cond { return &wire.Cond{Property: p, Op: "=", Value: v} }
	cases := []struct {
		name string
		q    *wire.Query
		want []string
		ok   bool
	}{
		{"no query", nil, nil, false},
		{"no where", &wire.Query{Class: "C"}, nil, false},
		{"equality", &wire.Query{Where: eq("Handle", "12")}, []string{"12"}, true},
		{"case of the name", &wire.Query{Where: eq("handle", "12")}, []string{"12"}, true},
		{"number", &wire.Query{Where: eq("Index", float64(3))}, []string{"3"}, true},
		{"other property", &wire.Query{Where: eq("Name", "x")}, nil, false},
		{"inequality", &wire.Query{Where: &wire.Cond{Property: "Handle", Op: "<>", Value: "1"}}, nil, false},
		{"or", &wire.Query{Where: &wire.Cond{Or: []*wire.Cond{eq("Handle", "1"), eq("Handle", "2")}}}, []string{"1", "2"}, true},
		{"or with another property", &wire.Query{Where: &wire.Cond{Or: []*wire.Cond{eq("Handle", "1"), eq("Name", "x")}}}, nil, false},
		{"and", &wire.Query{Where: &wire.Cond{And: []*wire.Cond{eq("Name", "x"), eq("Handle", "7")}}}, []string{"7"}, true},
		{"and of two", &wire.Query{Where: &wire.Cond{And: []*wire.Cond{eq("Handle", "7"), eq("Handle", "8")}}}, nil, true},
		{"not", &wire.Query{Where: &wire.Cond{Not: eq("Handle", "1")}}, nil, false},
	}
	for _, c := range cases {
		got, ok := Equals(c.q, "Handle")
		if c.name == "number" {
			got, ok = Equals(c.q, "Index")
		}
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v %v, want %v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// FuzzEquals: any WHERE tree a host may be sent gives an answer, never a
// panic, and every value it allows is one the tree names.
func FuzzEquals(f *testing.F) {
	f.Add(`{"property":"Handle","op":"=","value":"1"}`)
	f.Add(`{"or":[{"property":"Handle","op":"=","value":"1"},{"property":"Handle","op":"=","value":2}]}`)
	f.Add(`{"and":[{"not":{"property":"Handle","op":"=","value":true}},{"property":"Handle","isNull":true}]}`)
	f.Fuzz(func(t *testing.T, where string) {
		var c wire.Cond
		if json.Unmarshal([]byte(where), &c) != nil {
			return
		}
		vs, ok := Equals(&wire.Query{Where: &c}, "Handle")
		if !ok && vs != nil {
			t.Fatalf("values %v without ok", vs)
		}
	})
}

func TestCredential(t *testing.T) {
	r := &Request{Caller: &wire.Caller{Name: "alice"}}
	if _, err := r.Credential(); err == nil {
		t.Error("a caller without a Unix account has a credential")
	}
	r.Caller.Unix = &wire.UnixUser{Name: "alice", UID: 1000, GID: 100, Groups: []uint32{100, 27}}
	cred, err := r.Credential()
	if err != nil || cred.Uid != 1000 || cred.Gid != 100 || !reflect.DeepEqual(cred.Groups, []uint32{27}) {
		t.Errorf("credential %+v, %v", cred, err)
	}
	if _, err := (&Request{}).Credential(); err == nil {
		t.Error("a call without a caller has a credential")
	}
}
