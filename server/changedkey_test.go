package server_test

import (
	"strings"
	"testing"
)

// TestModifyChangedKeyThroughDaemon: a modify whose instance gives a key
// another value than its path is refused with WBEM_E_INVALID_PARAMETER
// (CIM_ERR_INVALID_PARAMETER on CIM-XML) through a serving wbemd, over
// CIM-XML and through the local socket (wbem put), and the instance is
// unchanged. (WS-Man's Put: protocol/wsman TestPutChangedKey.)
func TestModifyChangedKeyThroughDaemon(t *testing.T) {
	d := startDaemon(t, "--wsman-http", "off", "--wsman-https", "off")
	modify := `<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE><INSTANCENAME CLASSNAME="Sample_Disk"><KEYBINDING NAME="Name"><KEYVALUE VALUETYPE="string">sda</KEYVALUE></KEYBINDING></INSTANCENAME>` +
		`<INSTANCE CLASSNAME="Sample_Disk"><PROPERTY NAME="Name" TYPE="string"><VALUE>sdz</VALUE></PROPERTY><PROPERTY NAME="Model" TYPE="string"><VALUE>moved</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE>`
	rsp, body := cimCall(t, d, "admin", "secret", "ModifyInstance", modify)
	if rsp.StatusCode != 200 || !strings.Contains(body, `<ERROR CODE="4"`) || !strings.Contains(body, "cannot change keys") {
		t.Errorf("CIM-XML ModifyInstance with a changed key: HTTP %d\n%s", rsp.StatusCode, body)
	}
	out, err := runWbem(nil, "--repo", d.repo, "-n", "root/sample", "put", "--update-only", `Sample_Disk.Name="sda"`, "Name=sdz", "Model=moved")
	if err == nil || !strings.Contains(out, "WBEM_E_INVALID_PARAMETER") {
		t.Errorf("wbem put through the socket with a changed key: %v\n%s", err, out)
	}
	_, body = cimCall(t, d, "admin", "secret", "GetInstance", getSda)
	if strings.Contains(body, "moved") || !strings.Contains(body, ">sda<") {
		t.Errorf("a refused modify changed sda:\n%s", body)
	}
	if _, body = cimCall(t, d, "admin", "secret", "GetInstance", strings.Replace(getSda, ">sda<", ">sdz<", 1)); !strings.Contains(body, `<ERROR CODE="6"`) {
		t.Errorf("a refused modify created sdz:\n%s", body)
	}
}
