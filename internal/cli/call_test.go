package cli

import (
	"strings"
	"testing"
)

func TestCall(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, repo, "", "mofcomp", "../../examples/sample.mof")
	if got := mustRun(t, repo, "", "-n", "root/sample", "call", "__SystemSecurity", "GetCallerAccessRights"); got != "__CLASS      __PARAMETERS\nReturnValue  0\nRights       393471\n" {
		t.Errorf("GetCallerAccessRights:\n%s", got)
	}
	if got := mustRun(t, repo, "", "-n", "root/sample", "-o", "json", "call", "__SystemSecurity", "GetCallerAccessRights"); !strings.Contains(got, `"Rights": 393471`) {
		t.Errorf("json: %s", got)
	}
	before := content(t, repo)
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"call", `Sample_Disk.Name="sda"`, "Spin", "Up=true"}, 1, "wbem: WBEM_E_METHOD_NOT_IMPLEMENTED (0x80041055): no provider serves the methods of Sample_Disk [operation ExecMethod, parameter Spin, provider wbemd]\n"},
		{[]string{"call", `Sample_Disk.Name="sda"`, "Spin", "Up=maybe"}, 1, "wbem: WBEM_E_TYPE_MISMATCH (0x80041005): boolean value \"maybe\" is neither TRUE nor FALSE [parameter Up]\n"},
		{[]string{"call", `Sample_Disk.Name="sda"`, "Spin", "Down=true"}, 1, "wbem: WBEM_E_INVALID_METHOD_PARAMETERS (0x8004102F): method Spin has no parameter Down [parameter Down]\n"},
		{[]string{"call", `Sample_Disk.Name="sda"`, "Spin", "Up"}, 2, "wbem: \"Up\" is not a parameter=value pair\nRun 'wbem --help' for usage.\n"},
		{[]string{"call", "__SystemSecurity"}, 2, ""},
		{[]string{"call", "Nope", "Ping"}, 1, "wbem: WBEM_E_INVALID_CLASS (0x80041010): class Nope does not exist in root/sample [operation ExecMethod, parameter Nope, provider wbemd]\n"},
	} {
		r := run(t, repo, "", append([]string{"-n", "root/sample"}, c.args...)...)
		if r.code != c.code || (c.stderr != "" && r.stderr != c.stderr) {
			t.Errorf("wbem %v: exit %d, %q; want %d, %q", c.args, r.code, r.stderr, c.code, c.stderr)
		}
	}
	if content(t, repo) != before {
		t.Error("a failed call changed the repository")
	}
}
