package cimxml

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWbemcliClassAssociators runs the real wbemcli's ai, ain, ri and rin
// on a class path. wbemcli sends it as an INSTANCENAME without key
// bindings and reads only instances back: wbemd answers the objects
// associated with any instance of the class (SEMANTICS.md). The DSP0200
// class-level answer (1.4 §5.3.2.14-17: the associated classes) is given
// to a CLASSNAME, see TestClassLevelAssociators.
func TestWbemcliClassAssociators(t *testing.T) {
	if _, err := exec.LookPath("wbemcli"); err != nil {
		t.Fatal("wbemcli is not installed (apt-get install sblim-wbemcli)")
	}
	url := server(t)
	base := "http://admin:pw@" + strings.TrimPrefix(url, "http://") + "/root/sample:"
	for _, c := range []struct {
		verb, class, want string
	}{
		{"ai", "Sample_Disk", `/root/sample:Sample_Volume.Name="sdb1" Name="sdb1"`},
		{"ain", "Sample_Disk", `/root/sample:Sample_Volume.Name="sda2"`},
		{"ri", "Sample_Disk", `/root/sample:Sample_DiskVolume.Disk=`},
		{"rin", "Sample_Volume", `Volume=Sample_Volume.Name="sdb1"`},
	} {
		out, err := exec.Command("wbemcli", "-noverify", c.verb, base+c.class).CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("wbemcli %s %s: %v, want a line with %s:\n%s", c.verb, c.class, err, c.want, out)
		}
		if n := strings.Count(string(out), "\n"); n != 2 {
			t.Errorf("wbemcli %s %s: %d lines, want 2 (two links, each once):\n%s", c.verb, c.class, n, out)
		}
	}
}

// TestAssociatorNamesOfKeylessClass: a keyless class that is not a
// singleton has no instances, so AssociatorNames of an INSTANCENAME of it
// is an empty result, not CIM_ERR_NOT_FOUND (DSP0200 1.4 §5.3.2.15).
func TestAssociatorNamesOfKeylessClass(t *testing.T) {
	url := server(t)
	code, _, body := call(t, url, "CreateClass", "root/sample", `<IPARAMVALUE NAME="NewClass"><CLASS NAME="Sample_Keyless"><PROPERTY NAME="P" TYPE="string"></PROPERTY></CLASS></IPARAMVALUE>`)
	if code != 200 || strings.Contains(body, "<ERROR") {
		t.Fatalf("CreateClass: %d %s", code, body)
	}
	code, _, body = call(t, url, "AssociatorNames", "root/sample", `<IPARAMVALUE NAME="ObjectName"><INSTANCENAME CLASSNAME="Sample_Keyless"></INSTANCENAME></IPARAMVALUE>`)
	if code != 200 || strings.Contains(body, "<ERROR") || !strings.Contains(body, "<IMETHODRESPONSE NAME=\"AssociatorNames\">") {
		t.Errorf("AssociatorNames: HTTP %d, want an empty result:\n%s", code, body)
	}
	validateDTD(t, body)
}

// TestClassLevelAssociators: Associators, AssociatorNames, References and
// ReferenceNames of a class path answer classes (DSP0200 1.4
// §5.3.2.14-17: with a class as ObjectName the results are the
// associated classes and the association classes, with CLASSPATH).
func TestClassLevelAssociators(t *testing.T) {
	url := server(t)
	obj := `<IPARAMVALUE NAME="ObjectName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE>`
	for _, c := range []struct{ method, want string }{
		{"Associators", `<CLASS NAME="Sample_Volume"`},
		{"AssociatorNames", `<CLASSNAME NAME="Sample_Volume"`},
		{"References", `<CLASS NAME="Sample_DiskVolume"`},
		{"ReferenceNames", `<CLASSNAME NAME="Sample_DiskVolume"`},
	} {
		code, _, body := call(t, url, c.method, "root/sample", obj)
		if code != 200 || strings.Contains(body, "<ERROR") || !strings.Contains(body, c.want) || !strings.Contains(body, "<CLASSPATH>") || strings.Contains(body, "INSTANCE") {
			t.Errorf("%s: HTTP %d, want %s in a CLASSPATH:\n%s", c.method, code, c.want, body)
		}
		validateDTD(t, body)
	}
}
