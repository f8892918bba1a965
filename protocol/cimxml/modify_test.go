package cimxml

import (
	"strings"
	"testing"
)

// TestModifyChangedKey: ModifyInstance and SetProperty over HTTP refuse a
// body that gives a key another value than the instance name, with
// CIM_ERR_INVALID_PARAMETER (DSP0200), and change nothing; the same key
// value, as wbemcli's mi sends it, is accepted.
func TestModifyChangedKey(t *testing.T) {
	url := server(t)
	name := `<INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sda</KEYVALUE></KEYBINDING></INSTANCENAME>`
	modify := func(body string) string {
		return `<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>` + name + `<INSTANCE CLASSNAME="Sample_Disk">` + body +
			`</INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE>`
	}
	prop := func(n, typ, v string) string {
		return `<PROPERTY NAME="` + n + `" TYPE="` + typ + `"><VALUE>` + v + `</VALUE></PROPERTY>`
	}
	getModel := `<IPARAMVALUE NAME="InstanceName">` + name + `</IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>Model</VALUE></IPARAMVALUE>`
	cases := []struct {
		name, method, params string
		want                 []string
	}{
		{"changed key", "ModifyInstance", modify(prop("Name", "string", "sdz") + prop("Model", "string", "moved")),
			[]string{`<ERROR CODE="4"`, "cannot change keys"}},
		{"changed key with a PropertyList", "ModifyInstance", modify(prop("Name", "string", "sdz")+prop("Model", "string", "moved")) +
			`<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Model</VALUE></VALUE.ARRAY></IPARAMVALUE>`,
			[]string{`<ERROR CODE="4"`, "cannot change keys"}},
		{"key changed by SetProperty", "SetProperty", `<IPARAMVALUE NAME="InstanceName">` + name + `</IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>Name</VALUE></IPARAMVALUE><IPARAMVALUE NAME="NewValue"><VALUE>sdz</VALUE></IPARAMVALUE>`,
			[]string{`<ERROR CODE="4"`, "cannot change keys"}},
		{"nothing changed", "GetProperty", getModel, []string{`<VALUE>Samsung 980</VALUE>`}},
		{"nothing created", "GetInstance", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sdz</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`,
			[]string{`<ERROR CODE="6"`}},
		{"same key", "ModifyInstance", modify(prop("Name", "string", "sda") + prop("Model", "string", "kept key")), nil},
		{"modified", "GetProperty", getModel, []string{`<VALUE>kept key</VALUE>`}},
	}
	for _, c := range cases {
		code, _, body := call(t, url, c.method, "root/sample", c.params)
		if code != 200 {
			t.Errorf("%s: HTTP %d: %s", c.name, code, body)
			continue
		}
		if c.want == nil && strings.Contains(body, "<ERROR") {
			t.Errorf("%s: %s", c.name, body)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: answer lacks %s:\n%s", c.name, w, body)
			}
		}
		validateDTD(t, body)
	}
}
