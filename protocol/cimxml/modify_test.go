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
	// expect calls method and checks that the answer holds each of want,
	// or no ERROR when want is empty.
	expect := func(what, method, params string, want ...string) {
		t.Helper()
		code, _, body := call(t, url, method, "root/sample", params)
		if code != 200 || (len(want) == 0 && strings.Contains(body, "<ERROR")) {
			t.Fatalf("%s: HTTP %d: %s", what, code, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the answer lacks %s:\n%s", what, w, body)
			}
		}
		validateDTD(t, body)
	}
	refused := []string{`<ERROR CODE="4"`, "cannot change keys"}
	expect("changed key", "ModifyInstance", modify(prop("Name", "string", "sdz")+prop("Model", "string", "moved")), refused...)
	expect("changed key with a PropertyList", "ModifyInstance", modify(prop("Name", "string", "sdz")+prop("Model", "string", "moved"))+
		`<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>Model</VALUE></VALUE.ARRAY></IPARAMVALUE>`, refused...)
	expect("key changed by SetProperty", "SetProperty", `<IPARAMVALUE NAME="InstanceName">`+name+
		`</IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>Name</VALUE></IPARAMVALUE><IPARAMVALUE NAME="NewValue"><VALUE>sdz</VALUE></IPARAMVALUE>`, refused...)
	expect("nothing changed", "GetProperty", getModel, `<VALUE>Samsung 980</VALUE>`)
	expect("nothing created", "GetInstance", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE>sdz</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`,
		`<ERROR CODE="6"`)
	expect("same key", "ModifyInstance", modify(prop("Name", "string", "sda")+prop("Model", "string", "kept key")))
	expect("modified", "GetProperty", getModel, `<VALUE>kept key</VALUE>`)
}
