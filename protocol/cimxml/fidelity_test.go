package cimxml

import (
	"strings"
	"testing"
)

// TestParameterErrors: a mandatory IPARAMVALUE that is missing, empty
// or given twice is an invalid parameter of the operation, answered with
// HTTP 200 and CIM_ERR_INVALID_PARAMETER (DSP0200 1.4 §5.3.2, the "Error
// codes" of each intrinsic method); an optional parameter given without a
// value, or with an empty VALUE, is NULL (DSP0201 2.4 §5.3.2.2
// IPARAMVALUE; DSP0200 1.4 §5.4.2.1.4 OperationTimeout NULL is the
// server's default).
func TestParameterErrors(t *testing.T) {
	url := server(t)
	disk := `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE>`
	cases := []struct {
		name, method, params, want string
	}{
		{"GetClass without ClassName", "GetClass", ``, `<ERROR CODE="4"`},
		{"GetClass with an empty ClassName", "GetClass", `<IPARAMVALUE NAME="ClassName"></IPARAMVALUE>`, `<ERROR CODE="4"`},
		{"GetClass with ClassName twice", "GetClass", disk + disk, `<ERROR CODE="4"`},
		{"CreateClass without NewClass", "CreateClass", ``, `<ERROR CODE="4"`},
		{"ModifyClass without ModifiedClass", "ModifyClass", ``, `<ERROR CODE="4"`},
		{"DeleteClass without ClassName", "DeleteClass", ``, `<ERROR CODE="4"`},
		{"GetInstance without InstanceName", "GetInstance", ``, `<ERROR CODE="4"`},
		{"CreateInstance without NewInstance", "CreateInstance", ``, `<ERROR CODE="4"`},
		{"EnumerateInstances without ClassName", "EnumerateInstances", ``, `<ERROR CODE="4"`},
		{"ExecQuery without Query", "ExecQuery", `<IPARAMVALUE NAME="QueryLanguage"><VALUE>WQL</VALUE></IPARAMVALUE>`, `<ERROR CODE="4"`},
		{"Associators without ObjectName", "Associators", ``, `<ERROR CODE="4"`},
		{"GetQualifier with an empty QualifierName", "GetQualifier", `<IPARAMVALUE NAME="QualifierName"><VALUE></VALUE></IPARAMVALUE>`, `<ERROR CODE="4"`},
		{"OpenEnumerateInstances with an empty OperationTimeout VALUE", "OpenEnumerateInstances",
			disk + `<IPARAMVALUE NAME="OperationTimeout"><VALUE> </VALUE></IPARAMVALUE>`, `<PARAMVALUE NAME="EnumerationContext"`},
		{"OpenEnumerateInstances with a NULL OperationTimeout", "OpenEnumerateInstances",
			disk + `<IPARAMVALUE NAME="OperationTimeout"></IPARAMVALUE>`, `<PARAMVALUE NAME="EnumerationContext"`},
	}
	for _, c := range cases {
		code, cimErr, body := call(t, url, c.method, "root/sample", c.params)
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("%s: HTTP %d %q, want 200 with %s:\n%s", c.name, code, cimErr, c.want, body)
			continue
		}
		validateDTD(t, body)
	}
}

// TestModifyClassNotFound: ModifyClass of a class that does not exist is
// CIM_ERR_NOT_FOUND (DSP0200 1.4 §5.3.2.7); only a superclass that does
// not exist is CIM_ERR_INVALID_SUPERCLASS (§5.3.2.5 CreateClass, §5.3.2.7).
func TestModifyClassNotFound(t *testing.T) {
	url := server(t)
	for _, c := range []struct{ method, params, want string }{
		{"ModifyClass", `<IPARAMVALUE NAME="ModifiedClass"><CLASS NAME="Sample_Nowhere"><PROPERTY NAME="P" TYPE="uint32"></PROPERTY></CLASS></IPARAMVALUE>`, `<ERROR CODE="6"`},
		{"ModifyClass", `<IPARAMVALUE NAME="ModifiedClass"><CLASS NAME="Sample_Nowhere" SUPERCLASS="Sample_Disk"><PROPERTY NAME="P" TYPE="uint32"></PROPERTY></CLASS></IPARAMVALUE>`, `<ERROR CODE="6"`},
		{"CreateClass", `<IPARAMVALUE NAME="NewClass"><CLASS NAME="Sample_Orphan" SUPERCLASS="Sample_Nowhere"></CLASS></IPARAMVALUE>`, `<ERROR CODE="10"`},
		{"ModifyClass", `<IPARAMVALUE NAME="ModifiedClass"><CLASS NAME="Sample_Disk" SUPERCLASS="Sample_Nowhere"></CLASS></IPARAMVALUE>`, `<ERROR CODE="10"`},
	} {
		code, _, body := call(t, url, c.method, "root/sample", c.params)
		if code != 200 || !strings.Contains(body, c.want) {
			t.Errorf("%s: HTTP %d, want %s:\n%s", c.params, code, c.want, body)
		}
	}
}

// TestTranslatableFlavor: a qualifier value whose declaration is
// Translatable carries TRANSLATABLE="true" (DSP0201 2.4 §5.1.1 QUALIFIER;
// DSP0004 3.0 §5.6.1.5: the flavor belongs to the qualifier, use and
// declaration alike).
func TestTranslatableFlavor(t *testing.T) {
	url := server(t)
	for _, method := range []string{"GetClass", "EnumerateClasses"} {
		code, _, body := call(t, url, method, "root/sample", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE>`)
		if method == "EnumerateClasses" {
			code, _, body = call(t, url, method, "root/sample", `<IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE>`)
		}
		if code != 200 || !strings.Contains(body, `<QUALIFIER NAME="Description" TYPE="string" TRANSLATABLE="true"><VALUE>A physical disk.</VALUE>`) {
			t.Errorf("%s: HTTP %d, want Description TRANSLATABLE:\n%.3000s", method, code, body)
		}
		if strings.Contains(body, `<QUALIFIER NAME="Key" TYPE="boolean" TRANSLATABLE`) {
			t.Errorf("%s: Key is not translatable:\n%.3000s", method, body)
		}
		validateDTD(t, body)
	}
}

// TestCreateInstanceNameAndDefaults: CreateInstance answers the new
// instance's name with each KEYVALUE of its key's declared type (DSP0201
// 2.4 §5.2.15; DSP0200 1.4 §5.3.2.6), and a property NewInstance does not
// carry takes the class's default value (DSP0200 1.4 §5.3.2.6; WMI
// spawns instances from their class), while one given as NULL stays NULL.
func TestCreateInstanceNameAndDefaults(t *testing.T) {
	url := server(t)
	steps := []struct{ method, params, want string }{
		{"CreateClass", `<IPARAMVALUE NAME="NewClass"><CLASS NAME="Sample_Counter"><PROPERTY NAME="N" TYPE="uint32"><QUALIFIER NAME="Key" TYPE="boolean"><VALUE>TRUE</VALUE></QUALIFIER></PROPERTY>` +
			`<PROPERTY NAME="Label" TYPE="string"><VALUE>unnamed</VALUE></PROPERTY><PROPERTY NAME="Step" TYPE="uint8"><VALUE>1</VALUE></PROPERTY></CLASS></IPARAMVALUE>`, ``},
		{"CreateInstance", `<IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="Sample_Counter"><PROPERTY NAME="N" TYPE="uint32"><VALUE>7</VALUE></PROPERTY><PROPERTY NAME="Step" TYPE="uint8"></PROPERTY></INSTANCE></IPARAMVALUE>`,
			`<INSTANCENAME CLASSNAME="Sample_Counter"><KEYBINDING NAME="N"><KEYVALUE VALUETYPE="numeric" TYPE="uint32">7</KEYVALUE></KEYBINDING></INSTANCENAME>`},
		{"GetInstance", `<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Sample_Counter"><KEYBINDING NAME="N"><KEYVALUE VALUETYPE="numeric">7</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE>`,
			`<PROPERTY NAME="Label" TYPE="string"><VALUE>unnamed</VALUE></PROPERTY><PROPERTY NAME="Step" TYPE="uint8"></PROPERTY>`},
	}
	for _, s := range steps {
		code, _, body := call(t, url, s.method, "root/sample", s.params)
		if code != 200 || strings.Contains(body, "<ERROR") || !strings.Contains(body, s.want) {
			t.Fatalf("%s: HTTP %d, want %s:\n%s", s.method, code, s.want, body)
		}
		validateDTD(t, body)
	}
}

// TestExecQueryCQL: ExecQuery with QueryLanguage DMTF:CQL (DSP0200 1.4
// §5.3.2.20; the language DSP0202) is answered through the same plan and
// evaluator as WQL; a query outside the subset is CIM_ERR_INVALID_QUERY.
func TestExecQueryCQL(t *testing.T) {
	url := server(t)
	q := func(lang, query string) string {
		code, _, body := call(t, url, "ExecQuery", "root/sample", `<IPARAMVALUE NAME="QueryLanguage"><VALUE>`+lang+`</VALUE></IPARAMVALUE><IPARAMVALUE NAME="Query"><VALUE>`+query+`</VALUE></IPARAMVALUE>`)
		if code != 200 {
			t.Fatalf("%s: HTTP %d", query, code)
		}
		validateDTD(t, body)
		return body
	}
	body := q("DMTF:CQL", "SELECT d.Name FROM Sample_Disk AS d WHERE d.Model LIKE 'Sam.*' AND d.RotationRate = 0")
	if !strings.Contains(body, "<VALUE>sda</VALUE>") || strings.Contains(body, "sdb") || strings.Contains(body, "<ERROR") {
		t.Errorf("CQL query:\n%s", body)
	}
	if body := q("DMTF:CQL", "SELECT * FROM Sample_Disk ORDER BY Name"); !strings.Contains(body, `<ERROR CODE="15"`) {
		t.Errorf("CQL outside the subset:\n%s", body)
	}
	// OpenQueryInstances (DSP0200 1.4 §5.4.2.5) takes it as well.
	code, _, body := call(t, url, "OpenQueryInstances", "root/sample", `<IPARAMVALUE NAME="FilterQueryLanguage"><VALUE>DMTF:CQL</VALUE></IPARAMVALUE>`+
		`<IPARAMVALUE NAME="FilterQuery"><VALUE>SELECT * FROM Sample_Volume v WHERE v.FileSystem = 'xfs'</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>10</VALUE></IPARAMVALUE>`)
	if code != 200 || !strings.Contains(body, "<VALUE>sdb1</VALUE>") || strings.Contains(body, "sda2") {
		t.Errorf("OpenQueryInstances with DMTF:CQL: HTTP %d\n%s", code, body)
	}
}
