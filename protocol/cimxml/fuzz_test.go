package cimxml

import (
	"bytes"
	"testing"
)

// FuzzDecodeRequest: any body decodes or fails with an error, without a
// panic, and every parameter decodes as each kind of value it could be.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="GetInstance"><LOCALNAMESPACEPATH><NAMESPACE NAME="root"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="A"><KEYBINDING NAME="K"><KEYVALUE VALUETYPE="numeric">-5</KEYVALUE></KEYBINDING><KEYBINDING NAME="R"><VALUE.REFERENCE><LOCALINSTANCEPATH><LOCALNAMESPACEPATH><NAMESPACE NAME="x"/></LOCALNAMESPACEPATH><INSTANCENAME CLASSNAME="B"/></LOCALINSTANCEPATH></VALUE.REFERENCE></KEYBINDING></INSTANCENAME></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`,
		`<CIM><MESSAGE ID="2"><SIMPLEREQ><IMETHODCALL NAME="CreateInstance"><LOCALNAMESPACEPATH><NAMESPACE NAME="a"/></LOCALNAMESPACEPATH><IPARAMVALUE NAME="NewInstance"><INSTANCE CLASSNAME="C"><QUALIFIER NAME="Q" TYPE="sint32"><VALUE>4</VALUE></QUALIFIER><PROPERTY NAME="P" TYPE="datetime"><VALUE>20200101000000.000000+000</VALUE></PROPERTY><PROPERTY.ARRAY NAME="A" TYPE="uint8"><VALUE.ARRAY><VALUE>1</VALUE></VALUE.ARRAY></PROPERTY.ARRAY><PROPERTY NAME="E" TYPE="string" EmbeddedObject="object"><VALUE>&lt;INSTANCE CLASSNAME="D"&gt;&lt;/INSTANCE&gt;</VALUE></PROPERTY></INSTANCE></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`,
		`<CIM><MESSAGE><SIMPLEREQ><IMETHODCALL NAME="CreateClass"><LOCALNAMESPACEPATH/><IPARAMVALUE NAME="NewClass"><CLASS NAME="X" SUPERCLASS="Y"><METHOD NAME="M" TYPE="uint32"><PARAMETER.REFARRAY NAME="P" REFERENCECLASS="Z"/></METHOD></CLASS></IPARAMVALUE><IPARAMVALUE NAME="Q"><QUALIFIER.DECLARATION NAME="Q" TYPE="string" ISARRAY="true"><SCOPE CLASS="true"/><VALUE.ARRAY><VALUE>a</VALUE></VALUE.ARRAY></QUALIFIER.DECLARATION></IPARAMVALUE></IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := parseTree(bytes.NewReader(body))
		if err != nil {
			return
		}
		req, err := decodeRequest(root)
		if err != nil {
			return
		}
		req.propertyList()
		for name, p := range req.params {
			req.boolParam(name, false)
			req.stringParam(name)
			for _, k := range p.kids {
				instanceOf(k, 0)
				classOf(k)
				instanceNameOf(k)
				pathOf(k)
				qualifierDeclOf(k)
				if k.name == "VALUE.NAMEDINSTANCE" {
					instanceNameOf(k.kid("INSTANCENAME"))
				}
			}
		}
	})
}
