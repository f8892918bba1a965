package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// TestParseArg: arrays are MOF array literals, quoted elements unquoted;
// bad literals are WBEM_E_TYPE_MISMATCH naming the position.
func TestParseArg(t *testing.T) {
	strs := cim.TypeString.ArrayOf()
	for _, c := range []struct {
		t    cim.Type
		text string
		want any
	}{
		{strs, `{"a","b"}`, []string{"a", "b"}},
		{strs, ` { "a, {b}" , c d ,"q\"\\" } `, []string{"a, {b}", "c d", `q"\`}},
		{strs, `{}`, []string{}},
		{cim.TypeUint32.ArrayOf(), `{1, 0x10,"3"}`, []uint32{1, 16, 3}},
		{cim.TypeString, `"quoted"`, `"quoted"`},
	} {
		v, err := parseArg(c.t, c.text)
		if err != nil || !reflect.DeepEqual(v.V, c.want) {
			t.Errorf("parseArg(%s, %q) = %#v, %v; want %#v", c.t, c.text, v.V, err, c.want)
		}
	}
	for _, c := range []struct{ text, want string }{
		{`a,b`, "position 1: an array is written"},
		{`{"a"`, "position 5: expected , or }"},
		{`{"a}`, "position 2: unterminated string"},
		{`{a,,b}`, "position 4: empty element"},
		{`{"a" b}`, "position 6: expected , or }"},
		{`{a}x`, "position 4: text after"},
		{`{"\q"}`, `unknown escape \q`},
		{`{a"b}`, "position 3: unexpected \""},
	} {
		_, err := parseArg(strs, c.text)
		if cim.StatusOf(err) != cim.ETypeMismatch || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseArg(%q): %v, want %q", c.text, err, c.want)
		}
	}
	if _, err := parseArg(cim.TypeUint8.ArrayOf(), "{1,300}"); cim.StatusOf(err) != cim.ETypeMismatch || !strings.Contains(err.Error(), "element 2") {
		t.Errorf("an element out of range: %v", err)
	}
}

// FuzzArrayElements: the array literal reader never panics, and what it
// reads, written back quoted, reads the same.
func FuzzArrayElements(f *testing.F) {
	f.Add(`{"a","b, c"}`)
	f.Add(`{1, 2 ,3}`)
	f.Add(`{"\"\\\n"}`)
	f.Fuzz(func(t *testing.T, text string) {
		elems, err := arrayElements(text)
		if err != nil {
			if cim.StatusOf(err) != cim.ETypeMismatch {
				t.Fatalf("%q: %v", text, err)
			}
			return
		}
		quoted := make([]string, len(elems))
		for i, e := range elems {
			quoted[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(e) + `"`
		}
		again, err := arrayElements("{" + strings.Join(quoted, ",") + "}")
		if err != nil || !reflect.DeepEqual(again, elems) {
			t.Fatalf("%q read %q; written back it reads %q, %v", text, elems, again, err)
		}
	})
}
