package cim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func status(err error) Status { return StatusOf(err) }

func TestParseDatetime(t *testing.T) {
	good := []string{
		"19940107140332.000000-300", "20260101000000.123456+000", "00000001120032.000000:000",
		"19980416******.000000+***", "****0401******.******+***", "99991231235960.999999+720",
	}
	for _, s := range good {
		d, err := ParseDatetime(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if d.String() != s {
			t.Errorf("%s round-trips as %s", s, d)
		}
	}
	bad := []struct{ s, where string }{
		{"1994010714033.000000-300", "column 1"},
		{"19941307140332.000000-300", "column 5"},
		{"19940107240332.000000-300", "column 9"},
		{"19940107140332,000000-300", "column 15"},
		{"19940107140332.000000*300", "column 22"},
		{"000000011200**.000000:000", "column 13"},
		{"00000001120032.000000:001", "column 23"},
		{"1994010714033x.000000-300", "column 14"},
		{"199401071403*2.000000-300", "column 13"},
	}
	for _, b := range bad {
		_, err := ParseDatetime(b.s)
		if status(err) != ETypeMismatch || !strings.Contains(err.Error(), b.where) {
			t.Errorf("%s: %v, want a type mismatch at %s", b.s, err, b.where)
		}
	}
	a := MustParseDatetime("20260101120000.000000+060")
	b := MustParseDatetime("20260101110000.000000+000")
	if c, ok := CompareDatetime(a, b); !ok || c != 0 {
		t.Errorf("same instant in two offsets: %d %v", c, ok)
	}
	if _, ok := CompareDatetime(a, MustParseDatetime("2026010112****.000000+060")); ok {
		t.Error("wildcard values cannot be ordered")
	}
	i1, i2 := MustParseDatetime("00000001000000.000000:000"), MustParseDatetime("00000000230000.000000:000")
	if c, ok := CompareDatetime(i1, i2); !ok || c != 1 {
		t.Errorf("intervals: %d %v", c, ok)
	}
	if d, _ := i1.Duration(); d != 24*time.Hour {
		t.Errorf("duration %v", d)
	}
	now := time.Date(2026, 11, 25, 3, 4, 5, 6000, time.FixedZone("", -300*60))
	if tt, ok := DatetimeFromTime(now).Time(); !ok || !tt.Equal(now) {
		t.Errorf("time round trip %v", tt)
	}
	if IntervalFromDuration(36*time.Hour+time.Second).String() != "00000001120001.000000:000" {
		t.Error("IntervalFromDuration")
	}
}

func TestConvert(t *testing.T) {
	ok := []struct {
		in   any
		t    Type
		want any
	}{
		{300, TypeUint16, uint16(300)}, {int64(-5), TypeSint8, int8(-5)}, {uint64(math.MaxUint64), TypeUint64, uint64(math.MaxUint64)},
		{float64(7), TypeUint32, uint32(7)}, {3, TypeReal64, float64(3)}, {"A", TypeChar16, Char16('A')},
		{"x", TypeString, "x"}, {true, TypeBoolean, true}, {`Item.Id="a"`, TypeReference, `Item.Id="a"`},
		{[]any{1, 2}, TypeUint8.ArrayOf(), []uint8{1, 2}}, {[]string{"a"}, TypeString.ArrayOf(), []string{"a"}},
	}
	for _, c := range ok {
		v, err := NewValue(c.t, c.in)
		if err != nil {
			t.Errorf("NewValue(%v, %T %v): %v", c.t, c.in, c.in, err)
			continue
		}
		if !v.Equal(Value{Type: c.t, V: c.want}) {
			t.Errorf("NewValue(%v, %v) = %#v", c.t, c.in, v.V)
		}
	}
	bad := []struct {
		in any
		t  Type
	}{
		{300, TypeUint8}, {-1, TypeUint32}, {1.5, TypeSint32}, {"12", TypeUint32}, {1, TypeBoolean},
		{"AB", TypeChar16}, {"\xff", TypeString}, {"nope", TypeDatetime}, {"not a path!", TypeReference},
		{1e300, TypeReal32}, {[]any{1, nil}, TypeUint8.ArrayOf()}, {1, TypeUint8.ArrayOf()}, {[]any{1}, TypeUint8},
		{math.NaN(), TypeSint64}, {Char16(0xD800), TypeChar16},
	}
	for _, c := range bad {
		if _, err := NewValue(c.t, c.in); status(err) != ETypeMismatch {
			t.Errorf("NewValue(%v, %T %v): %v, want a type mismatch", c.t, c.in, c.in, err)
		}
	}
	if v, err := Convert(Value{Type: TypeSint64, V: int64(200)}, TypeUint8); err != nil || v.V != uint8(200) {
		t.Errorf("Convert across widths: %v %v", v, err)
	}
	if v, _ := Convert(Null(TypeString), TypeUint32); !v.IsNull() || v.Type != TypeUint32 {
		t.Error("NULL converts to NULL")
	}
}

func TestParseFormatValue(t *testing.T) {
	cases := []struct {
		t    Type
		text string
		want string
	}{
		{TypeUint32, "0x10", "16"}, {TypeSint16, "-32768", "-32768"}, {TypeBoolean, "true", "TRUE"},
		{TypeReal32, "1.5", "1.5"}, {TypeUint8.ArrayOf(), "{1, 2,3}", "{1,2,3}"}, {TypeString, "a b", "a b"},
		{TypeDatetime, "20260101000000.000000+000", "20260101000000.000000+000"},
	}
	for _, c := range cases {
		v, err := ParseValue(c.t, c.text)
		if err != nil {
			t.Errorf("ParseValue(%v, %q): %v", c.t, c.text, err)
			continue
		}
		if got := FormatValue(v); got != c.want {
			t.Errorf("FormatValue = %q, want %q", got, c.want)
		}
	}
	for _, c := range []struct {
		t    Type
		text string
	}{{TypeUint8, "256"}, {TypeUint8, "1_0"}, {TypeSint32, "x"}, {TypeBoolean, "yes"}, {TypeObject, "x"}, {TypeUint8.ArrayOf(), "1,2"}} {
		if _, err := ParseValue(c.t, c.text); status(err) != ETypeMismatch {
			t.Errorf("ParseValue(%v, %q): %v", c.t, c.text, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	cases := []struct{ in, rel, full string }{
		{`Disk`, `Disk`, `Disk`},
		{`Disk.Name="sda"`, `Disk.Name="sda"`, ``},
		{`Disk="sda"`, `Disk="sda"`, ``},
		{`Pair.B='x',A=5`, `Pair.A=5,B="x"`, ``},
		{`Setting=@`, `Setting=@`, ``},
		{`\\srv\root\cimv2:Disk.Name="a\"b\\c"`, `Disk.Name="a\"b\\c"`, `\\srv\root\cimv2:Disk.Name="a\"b\\c"`},
		{`//./root/cimv2:Flag.On=true`, `Flag.On=TRUE`, `\\.\root\cimv2:Flag.On=TRUE`},
		{`N.V=0x10`, `N.V=16`, ``},
		{`N.V=18446744073709551615`, `N.V=18446744073709551615`, ``},
		{`A.R="\\\\.\\root:B.K=\"1\""`, `A.R="\\\\.\\root:B.K=\"1\""`, ``},
	}
	for _, c := range cases {
		p, err := ParsePath(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := p.RelPath(); got != c.rel {
			t.Errorf("%s: RelPath %s, want %s", c.in, got, c.rel)
		}
		if c.full != "" && p.String() != c.full {
			t.Errorf("%s: String %s, want %s", c.in, p.String(), c.full)
		}
	}
	bad := []struct{ in, col string }{
		{``, "column 1"}, {`.K=1`, "column 1"}, {`C.K`, "column 4"}, {`C.K="x`, "column 7"},
		{`C.K=1,K=2`, "column 7"}, {`C.K=1 `, "column 5"}, {`C.K=abc`, "column 5"}, {`\\srv`, "column 6"},
		{`\\srv\root`, "column 11"}, {`C#`, "column 2"}, {`C.K=1,`, "column 7"}, {`C.K=010`, "column 5"},
	}
	for _, b := range bad {
		_, err := ParsePath(b.in)
		if status(err) != EInvalidObjectPath || !strings.Contains(err.Error(), b.col) {
			t.Errorf("%q: %v, want WBEM_E_INVALID_OBJECT_PATH at %s", b.in, err, b.col)
		}
	}
	if _, err := ParsePath("C.K=\"" + strings.Repeat("x", MaxPathLen) + "\""); status(err) != EQuotaViolation {
		t.Errorf("long path: %v", err)
	}
	keys := func(n int) string {
		var b strings.Builder
		b.WriteString("C.")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "K%d=%d", i, i)
		}
		return b.String()
	}
	if p, err := ParsePath(keys(MaxKeys)); err != nil || len(p.Keys) != MaxKeys {
		t.Errorf("%d keys: %v", MaxKeys, err)
	}
	if _, err := ParsePath(keys(MaxKeys + 1)); status(err) != EInvalidObjectPath || !strings.Contains(err.Error(), "more than 256 keys") {
		t.Errorf("%d keys: %v, want WBEM_E_INVALID_OBJECT_PATH", MaxKeys+1, err)
	}
	a, _ := ParsePath(`Pair.A=5,B="x"`)
	b, _ := ParsePath(`pair.b="x",a=5`)
	c, _ := ParsePath(`Pair.A=5,B="X"`)
	d, _ := ParsePath(`Pair.A=5,B="y"`)
	// WMI compares paths, key values included, without regard to case
	// (wmi-semantics.md §4.4).
	if !EqualPaths(a, b) || !EqualPaths(a, c) || EqualPaths(a, d) {
		t.Error("EqualPaths")
	}
}

func TestKeyStringInjective(t *testing.T) {
	s := func(v Value) KeyBinding { return KeyBinding{Name: "K", Value: v} }
	tuples := [][]KeyBinding{
		{s(Value{Type: TypeString, V: "1"})},
		{s(Value{Type: TypeUint32, V: uint32(1)})},
		{s(Value{Type: TypeString, V: `a",K2="b`})},
		{s(Value{Type: TypeString, V: "a"}), {Name: "K2", Value: Value{Type: TypeString, V: "b"}}},
		{s(Value{Type: TypeBoolean, V: true})},
		{s(Value{Type: TypeString, V: "TRUE"})},
	}
	seen := map[string]int{}
	for i, k := range tuples {
		ks := KeyString(k)
		if j, dup := seen[ks]; dup {
			t.Errorf("tuples %d and %d share key string %q", i, j, ks)
		}
		seen[ks] = i
	}
}

// TestKeyStringFolds: key values are folded as names are (WMI compares
// paths, key values included, without regard to case: wmi-semantics.md
// §4.4), references as the path they hold.
func TestKeyStringFolds(t *testing.T) {
	k := func(name string, typ Type, v any) string {
		return KeyString([]KeyBinding{{Name: name, Value: Value{Type: typ, V: v}}})
	}
	same := [][2]string{
		{k("Name", TypeString, "W1"), k("name", TypeString, "w1")},
		{k("Name", TypeString, "ÄÖ"), k("NAME", TypeString, "äö")},
		{k("C", TypeChar16, Char16('Q')), k("c", TypeChar16, Char16('q'))},
		{k("R", TypeReference, `Item.Id="W1"`), k("r", TypeReference, `ITEM.ID='w1'`)},
		{k("R", TypeReference, `\\srv\root\cimv2:Pair.B="X",A=5`), k("R", TypeReference, `\\other\ROOT\CIMV2:pair.a=5,b="x"`)},
	}
	for _, p := range same {
		if p[0] != p[1] {
			t.Errorf("%q and %q differ", p[0], p[1])
		}
	}
	if a, b := k("R", TypeReference, `Item.Id="a"`), k("R", TypeReference, `Item.Id="b"`); a == b {
		t.Errorf("different references share %q", a)
	}
	if got := k("Name", TypeString, `A"b\C`); got != `name="a\"b\\c"` {
		t.Errorf("escaped: %s", got)
	}
}

func sampleClass() *Object {
	return &Object{Genus: GenusClass, Class: "Sample", Superclass: "Base",
		Qualifiers: []Qualifier{{Name: "Description", Value: Value{Type: TypeString, V: "d"}, Flavor: FlavorToSubclass | FlavorAmended}},
		Properties: []Property{
			{Name: "Id", Type: TypeString, Value: Null(TypeString), Origin: "Sample", Qualifiers: []Qualifier{{Name: "Key", Value: Value{Type: TypeBoolean, V: true}}}},
			{Name: "N", Type: TypeUint32, Value: Value{Type: TypeUint32, V: uint32(7)}, Origin: "Sample"},
			{Name: "R", Type: TypeReal64, Value: Value{Type: TypeReal64, V: 1.5}, Origin: "Sample"},
			{Name: "When", Type: TypeDatetime, Value: Value{Type: TypeDatetime, V: MustParseDatetime("20260101000000.000000+000")}, Origin: "Sample"},
			{Name: "Tags", Type: TypeString.ArrayOf(), Value: Value{Type: TypeString.ArrayOf(), V: []string{"a", "b"}}, ArraySize: 4, Origin: "Sample"},
			{Name: "Ref", Type: TypeReference, RefClass: "Other", Value: Null(TypeReference), Origin: "Sample"},
			{Name: "C", Type: TypeChar16, Value: Value{Type: TypeChar16, V: Char16('z')}, Origin: "Sample"},
			{Name: "Emb", Type: TypeObject, Value: Null(TypeObject), Origin: "Sample"},
		},
		Methods: []Method{{Name: "Run", ReturnType: TypeUint32, Origin: "Sample", Parameters: []Parameter{
			{Name: "In", Type: TypeString, Qualifiers: []Qualifier{{Name: "In", Value: Value{Type: TypeBoolean, V: true}}}},
		}}},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := sampleClass()
	got, err := DecodeClass(EncodeClass(nil, c))
	if err != nil {
		t.Fatal(err)
	}
	if !got.CompareTo(c, CompareIncludeAll) {
		t.Fatalf("class round trip differs:\n%+v\n%+v", got, c)
	}
	resolved, err := Derive(&Object{Genus: GenusClass, Class: "Base"}, c)
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := resolved.SpawnInstance()
	inst.Put("Id", Value{Type: TypeString, V: "x"})
	emb, _ := resolved.SpawnInstance()
	emb.Put("Id", Value{Type: TypeString, V: "inner"})
	inst.Put("Emb", Value{Type: TypeObject, V: emb})
	inst.Put("Ref", Value{Type: TypeString, V: `Other.K=1`})
	back, err := DecodeInstance(EncodeInstance(nil, inst), resolved)
	if err != nil {
		t.Fatal(err)
	}
	if !back.CompareTo(inst, CompareIncludeAll) {
		t.Fatalf("instance round trip differs")
	}
	if name, _ := DecodeInstanceClassName(EncodeInstance(nil, inst)); name != "Sample" {
		t.Fatalf("class name %q", name)
	}
	rec := EncodeInstance(nil, inst)
	for i := 0; i < len(rec); i++ {
		if _, err := DecodeInstance(rec[:i], resolved); status(err) != ECriticalError {
			t.Fatalf("truncated at %d: %v", i, err)
		}
		if k, err := DecodeInstanceKeys(rec[:i], resolved, keyIndexes(resolved)); err == nil {
			// Reading stops after the keys: they must be whole.
			if v, _ := k.Get("Id"); v.V != "x" {
				t.Fatalf("keys: truncated at %d: Id %v", i, v)
			}
		} else if status(err) != ECriticalError {
			t.Fatalf("keys: truncated at %d: %v", i, err)
		}
	}
	checkKeysDecode(t, rec, resolved)
}

func keyIndexes(c *Object) []int {
	var out []int
	for i := range c.Properties {
		if c.Properties[i].IsKey() {
			out = append(out, i)
		}
	}
	return out
}

// checkKeysDecode checks that DecodeInstanceKeys gives the keys
// DecodeInstance gives, and NULL for every other property.
func checkKeysDecode(t *testing.T, rec []byte, class *Object) {
	t.Helper()
	full, err := DecodeInstance(rec, class)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := DecodeInstanceKeys(rec, class, keyIndexes(class))
	if err != nil {
		t.Fatalf("keys-only decode of a record that decodes: %v", err)
	}
	var want []Property
	for _, p := range full.Properties {
		if p.IsKey() {
			want = append(want, p)
		}
	}
	if len(keys.Properties) != len(want) || keys.Class != full.Class {
		t.Fatalf("keys-only decode has %d properties of %s, want %d of %s", len(keys.Properties), keys.Class, len(want), full.Class)
	}
	nkeys := len(want)
	for i, p := range want {
		if k := keys.Properties[i]; k.Name != p.Name || !k.Value.Equal(p.Value) {
			t.Fatalf("key %s: %s=%v, want %v", p.Name, k.Name, k.Value, p.Value)
		}
	}
	if nkeys == 0 {
		t.Fatal("the class has no keys")
	}
}

func TestDeriveAndObjectAPI(t *testing.T) {
	base := &Object{Genus: GenusClass, Class: "Base",
		Qualifiers: []Qualifier{
			{Name: "Abstract", Value: Value{Type: TypeBoolean, V: true}},
			{Name: "Version", Value: Value{Type: TypeString, V: "1"}, Flavor: FlavorToSubclass | FlavorDisableOverride},
			{Name: "Shown", Value: Value{Type: TypeString, V: "x"}, Flavor: FlavorToSubclass | FlavorToInstance},
		},
		Properties: []Property{{Name: "Id", Type: TypeString, Value: Null(TypeString), Origin: "Base", Qualifiers: []Qualifier{{Name: "Key", Value: Value{Type: TypeBoolean, V: true}}}}},
	}
	rb, err := Derive(nil, base)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := rb.SpawnDerivedClass("Kid")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FindQualifier(kid.Qualifiers, "Abstract"); ok {
		t.Error("a Restricted qualifier propagated")
	}
	if q, ok := FindQualifier(kid.Qualifiers, "Version"); !ok || q.Flavor&FlavorOriginPropagated == 0 {
		t.Error("ToSubclass qualifier not propagated as propagated")
	}
	if len(kid.KeyProperties()) != 1 {
		t.Error("keys are inherited")
	}
	if err := kid.Put("Extra", Value{Type: TypeUint8, V: uint8(1)}); err != nil {
		t.Fatal(err)
	}
	if err := kid.Delete("Id"); status(err) != EPropagatedProperty {
		t.Errorf("deleting an inherited property: %v", err)
	}
	local := kid.LocalDefinition()
	if len(local.Properties) != 1 || local.Properties[0].Name != "Extra" {
		t.Errorf("LocalDefinition %+v", local.Properties)
	}
	bad := &Object{Genus: GenusClass, Class: "Bad", Superclass: "Base", Qualifiers: []Qualifier{{Name: "Version", Value: Value{Type: TypeString, V: "2"}}}}
	if _, err := Derive(rb, bad); status(err) != EOverrideNotAllowed {
		t.Errorf("override of DisableOverride: %v", err)
	}
	typeClash := &Object{Genus: GenusClass, Class: "Bad", Superclass: "Base", Properties: []Property{{Name: "Id", Type: TypeUint32, Value: Null(TypeUint32)}}}
	if _, err := Derive(rb, typeClash); status(err) != EInvalidPropertyType {
		t.Errorf("override with another type: %v", err)
	}
	inst, _ := kid.SpawnInstance()
	if _, ok := FindQualifier(inst.Qualifiers, "Shown"); !ok {
		t.Error("ToInstance qualifier missing on the instance")
	}
	if err := inst.Put("Nope", Value{Type: TypeString, V: "x"}); status(err) != EInvalidProperty {
		t.Errorf("Put of an unknown property on an instance: %v", err)
	}
	if err := inst.Put("Extra", Value{Type: TypeString, V: "x"}); status(err) != ETypeMismatch {
		t.Errorf("Put of a wrong type: %v", err)
	}
	if err := inst.Put("__PATH", Value{Type: TypeString, V: "x"}); status(err) != EReadOnly {
		t.Errorf("Put of a system property: %v", err)
	}
	if _, err := inst.Get("Nope"); status(err) != ENotFound {
		t.Errorf("Get of an unknown property: %v", err)
	}
	if _, err := inst.SpawnInstance(); status(err) != EIllegalOperation {
		t.Errorf("SpawnInstance of an instance: %v", err)
	}
	inst.Put("Id", Value{Type: TypeString, V: "a"})
	c := inst.Clone()
	c.Put("Id", Value{Type: TypeString, V: "A"})
	if inst.CompareTo(c, CompareIncludeAll) || !inst.CompareTo(c, CompareIgnoreCase) {
		t.Error("CompareTo with IGNORE_CASE")
	}
	if v, _ := inst.SystemProperty("__RELPATH"); v.V != `Kid.Id="a"` {
		t.Errorf("__RELPATH %v", v)
	}
	if v, _ := inst.SystemProperty("__DYNASTY"); v.V != "Base" {
		t.Errorf("__DYNASTY %v", v)
	}
	if v, _ := inst.SystemProperty("__PATH"); !v.IsNull() {
		t.Errorf("__PATH of an unstored object %v", v)
	}
	if !strings.Contains(kid.GetObjectText(0), "class Kid : Base") || !strings.Contains(inst.GetObjectText(0), `Id = "a";`) {
		t.Errorf("MOF text:\n%s\n%s", kid.GetObjectText(0), inst.GetObjectText(0))
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`Disk`, `Disk.Name="sda"`, `\\srv\root\cimv2:P.A=5,B='x'`, `S=@`, `C="v"`, `N.V=0x10`, `A.R="\\\\.\\root:B.K=\"1\""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if status(err) != EInvalidObjectPath && status(err) != EQuotaViolation && status(err) != EInvalidNamespace {
				t.Fatalf("unexpected status for %q: %v", s, err)
			}
			return
		}
		q, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("%q formats as %q which does not parse: %v", s, p.String(), err)
		}
		if !EqualPaths(p, q) || q.String() != p.String() {
			t.Fatalf("round trip of %q: %q vs %q", s, p.String(), q.String())
		}
	})
}

func FuzzParseDatetime(f *testing.F) {
	for _, s := range []string{"19940107140332.000000-300", "00000001120032.000000:000", "19980416******.000000+***"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDatetime(s)
		if err != nil {
			if status(err) != ETypeMismatch {
				t.Fatal(err)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("%q round-trips as %q", s, d)
		}
		if _, ok := d.Time(); ok && (d.IsInterval() || d.HasWildcards()) {
			t.Fatalf("%q: an interval or wildcard value has an instant", s)
		}
		if _, ok := d.Duration(); ok != d.IsInterval() {
			t.Fatalf("%q: Duration ok=%v for IsInterval=%v", s, ok, d.IsInterval())
		}
	})
}

func FuzzDecodeInstance(f *testing.F) {
	c := sampleClass()
	resolved, _ := Derive(&Object{Genus: GenusClass, Class: "Base"}, c)
	inst, _ := resolved.SpawnInstance()
	inst.Put("Id", Value{Type: TypeString, V: "x"})
	f.Add(EncodeInstance(nil, inst))
	f.Add([]byte{1, 'I', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeInstance(b, resolved)
		if err != nil {
			return
		}
		checkKeysDecode(t, b, resolved)
		again, err := DecodeInstance(EncodeInstance(nil, o), resolved)
		if err != nil || !again.CompareTo(o, CompareIncludeAll) {
			t.Fatalf("re-encoding a decoded instance changed it: %v", err)
		}
	})
}

func FuzzDecodeClass(f *testing.F) {
	f.Add(EncodeClass(nil, sampleClass()))
	f.Add([]byte{1, 'C', 1, 0, 0, 0, 0, 0, 0})
	f.Add(EncodeClass(nil, nanClass()))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeClass(b)
		if err != nil {
			return
		}
		again, err := DecodeClass(EncodeClass(nil, o))
		if err != nil || !again.CompareTo(o, CompareIncludeAll) {
			t.Fatalf("re-encoding a decoded class changed it: %v", err)
		}
	})
}

// TestInstanceRecordHoldsOnlyOwnQualifiers: qualifiers an instance has from
// its class are not stored again in every instance record.
func TestInstanceRecordHoldsOnlyOwnQualifiers(t *testing.T) {
	cls, _ := Derive(nil, &Object{Genus: GenusClass, Class: "K", Properties: []Property{
		{Name: "Id", Type: TypeString, Value: Null(TypeString), Qualifiers: []Qualifier{{Name: "Key", Value: Value{Type: TypeBoolean, V: true}}}},
	}})
	inst, _ := cls.SpawnInstance()
	inst.Put("Id", Value{Type: TypeString, V: "x"})
	rec := EncodeInstance(nil, inst)
	if strings.Contains(string(rec), "Key") {
		t.Fatalf("the record repeats the class's Key qualifier: %q", rec)
	}
	back, err := DecodeInstance(rec, cls)
	if err != nil || !back.KeyProperties()[0].IsKey() {
		t.Fatalf("decoded instance lost its key: %v", err)
	}
}

// nanClass has NaN defaults, scalar and in an array and an embedded object:
// CI's fuzzing found that a decoded NaN did not compare equal to itself.
func nanClass() *Object {
	nan32, nan64 := float32(math.NaN()), math.NaN()
	emb := &Object{Genus: GenusInstance, Class: "E", Properties: []Property{{Name: "F", Type: TypeReal64, Value: Value{Type: TypeReal64, V: nan64}}}}
	return &Object{Genus: GenusClass, Class: "N", Properties: []Property{
		{Name: "R", Type: TypeReal32, Value: Value{Type: TypeReal32, V: nan32}},
		{Name: "A", Type: TypeReal64 | TypeArray, Value: Value{Type: TypeReal64 | TypeArray, V: []float64{1, nan64}}},
		{Name: "O", Type: TypeObject, Value: Value{Type: TypeObject, V: emb}},
	}}
}

// TestValueEqualReals: a real equals itself bit for bit, NaN included, and
// two different reals (0 and -0 too) are not equal.
func TestValueEqualReals(t *testing.T) {
	c := nanClass()
	back, err := DecodeClass(EncodeClass(nil, c))
	if err != nil || !back.CompareTo(c, CompareIncludeAll) {
		t.Fatalf("a class with NaN defaults does not round-trip: %v", err)
	}
	r := func(f float64) Value { return Value{Type: TypeReal64, V: f} }
	if r(0).Equal(r(math.Copysign(0, -1))) || r(1).Equal(r(2)) || !r(1.5).Equal(r(1.5)) {
		t.Fatal("reals compare by value instead of by bits")
	}
	a := Value{Type: TypeReal32 | TypeArray, V: []float32{1, 2}}
	if a.Equal(Value{Type: TypeReal32 | TypeArray, V: []float32{1, 3}}) || !a.Equal(Value{Type: TypeReal32 | TypeArray, V: []float32{1, 2}}) {
		t.Fatal("real arrays compare wrongly")
	}
}

// FuzzEqualFold: EqualFold agrees with comparing the names' Fold.
func FuzzEqualFold(f *testing.F) {
	for _, s := range [][2]string{{"Handle", "handle"}, {"Name", "NameX"}, {"k", "\u212a"}, {"ProcessId", "Processİd"}, {"a\xff", "A\xff"}, {"", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := EqualFold(a, b), Fold(a) == Fold(b); got != want {
			t.Fatalf("EqualFold(%q, %q) = %v, Fold says %v", a, b, got, want)
		}
	})
}

// TestTemplate: a template spawns what SpawnInstance spawns, its
// qualifiers shared and capped, its values the instance's own.
func TestTemplate(t *testing.T) {
	key := Qualifier{Name: "Key", Value: Value{Type: TypeBoolean, V: true}, Flavor: FlavorToSubclass}
	cls := &Object{Genus: GenusClass, Class: "T", Superclass: "S", Derivation: []string{"S"}, Namespace: "root/x",
		Qualifiers: []Qualifier{{Name: "Shown", Value: Value{Type: TypeBoolean, V: true}, Flavor: FlavorToInstance},
			{Name: "Hidden", Value: Value{Type: TypeBoolean, V: true}}},
		Properties: []Property{
			{Name: "K", Type: TypeString, Qualifiers: []Qualifier{key}, Origin: "S"},
			{Name: "A", Type: TypeUint8.ArrayOf(), Value: Value{Type: TypeUint8.ArrayOf(), V: []uint8{1, 2}}, Origin: "T"},
			{Name: "N", Type: TypeUint32, Value: Value{Type: TypeUint32, V: uint32(7)}},
		}}
	tmpl, err := NewTemplate(cls)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := cls.SpawnInstance()
	a, b := tmpl.Spawn(), tmpl.Spawn()
	if !reflect.DeepEqual(a, want) || tmpl.Class() != cls {
		t.Fatalf("Spawn\n%+v\nSpawnInstance\n%+v", a, want)
	}
	if &a.Properties[0].Qualifiers[0] != &b.Properties[0].Qualifiers[0] || cap(a.Properties[0].Qualifiers) != 1 {
		t.Error("the qualifiers are not shared, or not capped")
	}
	a.Properties[1].Value.V.([]uint8)[0] = 9
	a.Properties[0].Qualifiers = append(a.Properties[0].Qualifiers, key)
	if b.Properties[1].Value.V.([]uint8)[0] != 1 || len(b.Properties[0].Qualifiers) != 1 || cls.Properties[1].Value.V.([]uint8)[0] != 1 {
		t.Error("one instance's change reached another or the class")
	}
	if _, err := NewTemplate(a); status(err) != EIllegalOperation {
		t.Errorf("the template of an instance: %v", err)
	}
	// Decoding a stored instance gives what was stored, with the
	// template's shared qualifiers; DecodeKeys the key alone.
	put := tmpl.Spawn()
	put.Put("K", Value{Type: TypeString, V: "k1"})
	put.Properties[2].Value = Null(TypeUint32)
	rec := EncodeInstance(nil, put)
	got, err := tmpl.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, put) {
		t.Errorf("Decode\n%+v\nwant\n%+v", got, put)
	}
	if &got.Properties[0].Qualifiers[0] != &b.Properties[0].Qualifiers[0] {
		t.Error("Decode does not share the template's qualifiers")
	}
	keys, err := tmpl.DecodeKeys(rec)
	if err != nil || len(keys.Properties) != 1 || !reflect.DeepEqual(keys.Properties[0], put.Properties[0]) || !reflect.DeepEqual(keys.Qualifiers, put.Qualifiers) {
		t.Errorf("DecodeKeys: %+v, %v", keys, err)
	}
	if sk := tmpl.SpawnKeys(); len(sk.Properties) != 1 || !reflect.DeepEqual(sk.Properties[0], want.Properties[0]) || !reflect.DeepEqual(sk.Qualifiers, want.Qualifiers) {
		t.Errorf("SpawnKeys: %+v", sk)
	}
	if _, err := tmpl.Decode(rec[:len(rec)-1]); status(err) != ECriticalError {
		t.Errorf("a truncated record: %v", err)
	}
}

// TestTypeName: every type has its MOF keyword, arrays theirs with "[]",
// and an unknown type none; ParseTypeName reads each back.
func TestTypeName(t *testing.T) {
	for typ, name := range typeNames {
		if got := TypeName(typ); got != name {
			t.Errorf("TypeName(%d) = %q, want %q", typ, got, name)
		}
		if got := TypeName(typ.ArrayOf()); got != name+"[]" {
			t.Errorf("TypeName(%d[]) = %q", typ, got)
		}
		if back, ok := ParseTypeName(TypeName(typ.ArrayOf())); !ok || back != typ.ArrayOf() {
			t.Errorf("ParseTypeName(%q) = %d, %v", TypeName(typ.ArrayOf()), back, ok)
		}
	}
	for _, typ := range []Type{0, 1, 12, 100, 104, 4096, TypeArray} {
		if got := TypeName(typ); got != "" {
			t.Errorf("TypeName(%d) = %q, want none", typ, got)
		}
	}
}

func BenchmarkTypeName(b *testing.B) {
	for i := range b.N {
		if TypeName(TypeUint32+Type(i&1)) == "" {
			b.Fatal("no name")
		}
	}
}

// TestDatetimeFromTime compares the digits written by hand with
// fmt's, over offsets east and west, years at the edges of four digits,
// and outside them.
func TestDatetimeFromTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 12, 6, 17, 5, 9, 123456789, time.UTC), "20261206170509.123456+000"},
		{time.Date(1, 1, 2, 3, 4, 5, 6000, time.FixedZone("", -(5*3600+30*60))), "00010102030405.000006-330"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", 14*3600)), "99991231235959.999999+840"},
		{time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC), "123450101000000.000000+000"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.FixedZone("", 60)), "19700101000000.000000+001"},
	} {
		if got := DatetimeFromTime(tc.t).String(); got != tc.want {
			t.Errorf("DatetimeFromTime(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}

// TestIsStored: for instances of every type, NULL or not, some with an
// empty array held as a nil slice, a NULL of no type or a changed value on
// a propagated qualifier (which a record does not keep), IsStored holds
// exactly when
// the instance equals what decoding its record gives; an instance a record
// would change otherwise (an own qualifier, a value of another type, an
// embedded object) is refused.
func TestIsStored(t *testing.T) {
	types := []Type{TypeSint8, TypeUint8, TypeSint16, TypeUint16, TypeSint32, TypeUint32, TypeSint64, TypeUint64,
		TypeReal32, TypeReal64, TypeBoolean, TypeString, TypeDatetime, TypeReference, TypeChar16}
	key := Qualifier{Name: "Key", Value: Value{Type: TypeBoolean, V: true}, Flavor: FlavorToSubclass}
	cls := &Object{Genus: GenusClass, Class: "AllTypes", Namespace: "root/x", Server: "s",
		Qualifiers: []Qualifier{{Name: "Shown", Value: Value{Type: TypeBoolean, V: true}, Flavor: FlavorToInstance}},
		Properties: []Property{{Name: "Id", Type: TypeString, Qualifiers: []Qualifier{key}}}}
	for _, ty := range types {
		cls.Properties = append(cls.Properties, Property{Name: "S" + ty.String(), Type: ty}, Property{Name: "A" + ty.String(), Type: ty.ArrayOf()})
	}
	cls.Properties = append(cls.Properties, Property{Name: "Obj", Type: TypeObject})
	cls.Properties[1].Qualifiers = []Qualifier{{Name: "Units", Value: Value{Type: TypeString, V: "bytes"}, Flavor: FlavorToSubclass | FlavorToInstance}}
	tmpl, err := NewTemplate(cls)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	scalar := func(ty Type) any {
		switch ty {
		case TypeSint8:
			return int8(rng.IntN(256) - 128)
		case TypeUint8:
			return uint8(rng.IntN(256))
		case TypeSint16:
			return int16(rng.IntN(65536) - 32768)
		case TypeUint16:
			return uint16(rng.IntN(65536))
		case TypeSint32:
			return int32(rng.Uint32())
		case TypeUint32:
			return rng.Uint32()
		case TypeSint64:
			return int64(rng.Uint64())
		case TypeUint64:
			return rng.Uint64()
		case TypeReal32:
			return float32(rng.NormFloat64())
		case TypeReal64:
			return rng.NormFloat64() * 1e300
		case TypeBoolean:
			return rng.IntN(2) == 1
		case TypeString, TypeReference:
			return strings.Repeat("é", rng.IntN(4)) + strconv.Itoa(rng.IntN(1000))
		case TypeDatetime:
			return MustParseDatetime(fmt.Sprintf("2026%02d%02d120000.%06d+060", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(1000000)))
		case TypeChar16:
			return Char16(rng.IntN(0xD800))
		}
		panic(ty)
	}
	stored := 0
	for round := range 300 {
		// As a write gives it (qualifiers equal to the template's but
		// not the template's, NULL of the declared type), but for a few
		// changes a record does not keep.
		inst, _ := cls.SpawnInstance()
		inst.Properties[0].Value = Value{Type: TypeString, V: strconv.Itoa(round)}
		for i := 1; i < len(inst.Properties); i++ {
			p := &inst.Properties[i]
			switch {
			case p.Type == TypeObject || rng.IntN(4) == 0:
				p.Value = Null(p.Type)
			case rng.IntN(50) == 0:
				p.Value = Value{} // NULL of no type
			case p.Type.IsArray() && rng.IntN(20) == 0:
				p.Value = Value{Type: p.Type, V: reflect.Zero(reflect.SliceOf(goType(p.Type.Elem()))).Interface()}
			case p.Type.IsArray():
				a := makeSlice(p.Type.Elem(), rng.IntN(3))
				for j := range a.Len() {
					a.Index(j).Set(reflect.ValueOf(scalar(p.Type.Elem())))
				}
				p.Value = Value{Type: p.Type, V: a.Interface()}
			default:
				p.Value = Value{Type: p.Type, V: scalar(p.Type)}
			}
		}
		if rng.IntN(20) == 0 {
			inst.Properties[1].Qualifiers[0].Value = Value{Type: TypeString, V: "changed"}
		}
		decoded, err := tmpl.Decode(EncodeInstance(nil, inst))
		if err != nil {
			t.Fatal(err)
		}
		want := reflect.DeepEqual(inst, decoded)
		if got := tmpl.IsStored(inst); got != want {
			t.Fatalf("round %d: IsStored %v, but the instance equals its decoded record: %v\n%+v\n%+v", round, got, want, inst, decoded)
		}
		if want {
			stored++
		}
	}
	if stored < 100 {
		t.Errorf("IsStored held for %d instances of 300", stored)
	}
	refused := map[string]func(*Object){
		"an own instance qualifier": func(o *Object) {
			o.Qualifiers = append(o.Qualifiers, Qualifier{Name: "Mine", Value: Value{Type: TypeBoolean, V: true}})
		},
		"an own property qualifier": func(o *Object) {
			o.Properties[3].Qualifiers = []Qualifier{{Name: "Mine", Value: Value{Type: TypeBoolean, V: true}}}
		},
		"a value of another Go type":  func(o *Object) { o.Properties[1].Value = Value{Type: TypeSint8, V: 3} },
		"a value of another CIM type": func(o *Object) { o.Properties[3].Value = Value{Type: TypeSint8, V: int8(3)} },
		"an embedded object":          func(o *Object) { o.Properties[len(o.Properties)-1].Value = Value{Type: TypeObject, V: tmpl.Spawn()} },
		"a property missing":          func(o *Object) { o.Properties = o.Properties[1:] },
		"another class":               func(o *Object) { o.Class = "Other" },
		"a revision":                  func(o *Object) { o.Revision = 7 },
	}
	for what, change := range refused {
		inst := tmpl.Spawn()
		for i := range inst.Properties {
			inst.Properties[i].Value = Null(inst.Properties[i].Type)
		}
		if !tmpl.IsStored(inst) {
			t.Fatal("IsStored refuses a spawned instance")
		}
		change(inst)
		if tmpl.IsStored(inst) {
			t.Errorf("IsStored holds for an instance with %s", what)
		}
	}
}
