package cim

import (
	"slices"
	"testing"
)

func qsFixture(t *testing.T) (parent, kid, inst *Object) {
	t.Helper()
	base := &Object{Genus: GenusClass, Class: "P",
		Qualifiers: []Qualifier{{Name: "Fixed", Value: Value{Type: TypeString, V: "1"}, Flavor: FlavorToSubclass | FlavorDisableOverride}},
		Properties: []Property{
			{Name: "Id", Type: TypeString, Value: Null(TypeString), Origin: "P", Qualifiers: []Qualifier{{Name: "Key", Value: Value{Type: TypeBoolean, V: true}}}},
			{Name: "R", Type: TypeReference, Value: Null(TypeReference), Origin: "P"},
			{Name: "F", Type: TypeReal64, Value: Null(TypeReal64), Origin: "P", Qualifiers: []Qualifier{{Name: "Units", Value: Value{Type: TypeString, V: "m"}, Flavor: FlavorToSubclass}}},
		}}
	parent, err := Derive(nil, base)
	if err != nil {
		t.Fatal(err)
	}
	local := &Object{Genus: GenusClass, Class: "K", Superclass: "P", Properties: []Property{
		{Name: "F", Type: TypeReal64, Value: Null(TypeReal64), Qualifiers: []Qualifier{{Name: "Units", Value: Value{Type: TypeString, V: "km"}}}},
		{Name: "Own", Type: TypeUint8, Value: Null(TypeUint8)},
	}}
	if kid, err = Derive(parent, local); err != nil {
		t.Fatal(err)
	}
	inst, _ = kid.SpawnInstance()
	return parent, kid, inst
}

func TestQualifierSet(t *testing.T) {
	_, kid, inst := qsFixture(t)
	cs := kid.QualifierSet()
	if err := cs.Put("Fixed", Value{Type: TypeString, V: "2"}, 0); StatusOf(err) != EOverrideNotAllowed {
		t.Errorf("override of a DisableOverride qualifier: %v", err)
	}
	if err := cs.Put("Fixed", Value{Type: TypeString, V: "1"}, 0); err != nil {
		t.Errorf("putting the same value again: %v", err)
	}
	if err := cs.Delete("Fixed"); StatusOf(err) != EPropagatedQualifier {
		t.Errorf("delete of a propagated qualifier: %v", err)
	}
	if err := cs.Put("Version", Value{Type: TypeUint8, V: uint8(3)}, FlavorToSubclass); err != nil {
		t.Fatal(err)
	}
	if q, _ := cs.Get("version"); q.Value.Type != TypeSint32 || q.Value.V != int32(3) {
		t.Errorf("uint8 qualifier value not widened to sint32: %+v", q.Value)
	}
	if err := cs.Put("Bad", Value{Type: TypeDatetime, V: MustParseDatetime("20260101000000.000000+000")}, 0); StatusOf(err) != EInvalidQualifierType {
		t.Errorf("datetime qualifier: %v", err)
	}
	if err := cs.Put("Bad", Value{Type: TypeBoolean, V: true}, 0x08); StatusOf(err) != EInvalidFlavor {
		t.Errorf("bad flavor: %v", err)
	}
	if err := cs.Put("_bad", Value{Type: TypeBoolean, V: true}, 0); StatusOf(err) != EInvalidParameter {
		t.Errorf("bad name: %v", err)
	}
	if err := cs.Put("Key", Value{Type: TypeBoolean, V: true}, 0); StatusOf(err) != ECannotBeKey {
		t.Errorf("Key on a class: %v", err)
	}
	fs, err := kid.PropertyQualifierSet("F")
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Put("Key", Value{Type: TypeBoolean, V: true}, 0); StatusOf(err) != ECannotBeKey {
		t.Errorf("Key on a real: %v", err)
	}
	os, _ := kid.PropertyQualifierSet("Own")
	if err := os.Put("Key", Value{Type: TypeBoolean, V: true}, 0); err != nil {
		t.Errorf("Key on a uint8 of a class: %v", err)
	}
	is, _ := inst.PropertyQualifierSet("Own")
	if err := is.Put("Key", Value{Type: TypeBoolean, V: true}, 0); StatusOf(err) != ECannotBeKey {
		t.Errorf("Key on an instance: %v", err)
	}
	if _, err := kid.PropertyQualifierSet("__PATH"); StatusOf(err) != ESystemProperty {
		t.Errorf("qualifiers of a system property: %v", err)
	}
	if _, err := kid.PropertyQualifierSet("Nope"); StatusOf(err) != ENotFound {
		t.Errorf("unknown property: %v", err)
	}
	// Writes never change a slice shared with another object.
	shared := kid.Properties[0].Qualifiers
	before := len(shared)
	ids, _ := kid.PropertyQualifierSet("Id")
	if err := ids.Put("Description", Value{Type: TypeString, V: "x"}, 0); err != nil {
		t.Fatal(err)
	}
	if len(shared) != before {
		t.Fatal("Put changed a shared slice")
	}
	if err := ids.Delete("Description"); err != nil {
		t.Fatal(err)
	}
	if err := ids.Delete("Description"); StatusOf(err) != ENotFound {
		t.Errorf("second delete: %v", err)
	}
}

func TestGetNames(t *testing.T) {
	_, kid, _ := qsFixture(t)
	cases := []struct {
		qual  string
		flags NameFlags
		value *Value
		want  []string
	}{
		{"", NamesAlways | NamesNonsystemOnly, nil, []string{"Id", "R", "F", "Own"}},
		{"", NamesKeysOnly, nil, []string{"Id"}},
		{"", NamesRefsOnly, nil, []string{"R"}},
		{"", NamesLocalOnly, nil, []string{"Own"}},
		{"", NamesPropagatedOnly, nil, []string{"Id", "R", "F"}},
		{"", NamesClassOverridesOnly, nil, []string{"F"}},
		{"", NamesClassLocalAndOverrides, nil, []string{"F", "Own"}},
		{"Units", NamesOnlyIfTrue, nil, []string{"F"}},
		{"Units", NamesOnlyIfIdentical, &Value{Type: TypeString, V: "km"}, []string{"F"}},
		{"Units", NamesOnlyIfIdentical, &Value{Type: TypeString, V: "m"}, nil},
		{"Units", NamesOnlyIfFalse | NamesNonsystemOnly, nil, []string{"Id", "R", "Own"}},
	}
	for _, c := range cases {
		got, err := kid.GetNames(c.qual, c.flags, c.value)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("GetNames(%q, %#x) = %v, %v; want %v", c.qual, c.flags, got, err, c.want)
		}
	}
	all, _ := kid.GetNames("", NamesAlways, nil)
	if len(all) != len(systemPropertyNames)+4 || all[0] != "__GENUS" {
		t.Errorf("GetNames(ALWAYS) = %v", all)
	}
	sys, _ := kid.GetNames("", NamesSystemOnly, nil)
	if len(sys) != len(systemPropertyNames) {
		t.Errorf("SYSTEM_ONLY = %v", sys)
	}
	if _, err := kid.GetNames("", NamesOnlyIfTrue, nil); StatusOf(err) != EInvalidParameter {
		t.Errorf("condition without a qualifier: %v", err)
	}
}
