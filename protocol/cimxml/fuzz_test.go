package cimxml

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/wbemd/wbemd/cim"
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
		req := fuzzedRequest(body)
		if req == nil {
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

// FuzzDecodeOperation: any request that decodes as a message decodes as
// the typed request of every operation, or fails with an error that has a
// CIM status, which encodes as a well-formed ERROR element; never a panic.
func FuzzDecodeOperation(f *testing.F) {
	nsPath := `<LOCALNAMESPACEPATH><NAMESPACE NAME="root"/><NAMESPACE NAME="cimv2"/></LOCALNAMESPACEPATH>`
	intrinsic := func(method, params string) string {
		return `<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="` + method + `">` +
			nsPath + params + `</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>`
	}
	name := `<INSTANCENAME CLASSNAME="A"><KEYBINDING NAME="K"><KEYVALUE VALUETYPE="string">x</KEYVALUE></KEYBINDING></INSTANCENAME>`
	for _, s := range []string{
		intrinsic("GetClass", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="A"/></IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY><VALUE>P</VALUE></VALUE.ARRAY></IPARAMVALUE>`),
		intrinsic("ModifyInstance", `<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>`+name+`<INSTANCE CLASSNAME="A"><PROPERTY NAME="K" TYPE="string"><VALUE>x</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE></IPARAMVALUE>`),
		intrinsic("Associators", `<IPARAMVALUE NAME="ObjectName">`+name+`</IPARAMVALUE><IPARAMVALUE NAME="ResultRole"><VALUE>R</VALUE></IPARAMVALUE>`),
		intrinsic("SetProperty", `<IPARAMVALUE NAME="InstanceName">`+name+`</IPARAMVALUE><IPARAMVALUE NAME="PropertyName"><VALUE>P</VALUE></IPARAMVALUE><IPARAMVALUE NAME="NewValue"><VALUE>7</VALUE></IPARAMVALUE>`),
		intrinsic("OpenAssociatorInstances", `<IPARAMVALUE NAME="InstanceName">`+name+`</IPARAMVALUE><IPARAMVALUE NAME="OperationTimeout"><VALUE>40</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>5</VALUE></IPARAMVALUE><IPARAMVALUE NAME="ContinueOnError"><VALUE>FALSE</VALUE></IPARAMVALUE>`),
		intrinsic("PullInstancePaths", `<IPARAMVALUE NAME="EnumerationContext"><VALUE>3</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>x</VALUE></IPARAMVALUE>`),
		intrinsic("SetQualifier", `<IPARAMVALUE NAME="QualifierDeclaration"><QUALIFIER.DECLARATION NAME="Q" TYPE="uint8"><SCOPE PROPERTY="true"/><VALUE>3</VALUE></QUALIFIER.DECLARATION></IPARAMVALUE>`),
		`<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="2" PROTOCOLVERSION="1.0"><SIMPLEREQ><METHODCALL NAME="Spin"><LOCALINSTANCEPATH>` + nsPath + name +
			`</LOCALINSTANCEPATH><PARAMVALUE NAME="N" PARAMTYPE="uint32"><VALUE>3</VALUE></PARAMVALUE><PARAMVALUE NAME="L"><VALUE.ARRAY><VALUE>a</VALUE></VALUE.ARRAY></PARAMVALUE></METHODCALL></SIMPLEREQ></MESSAGE></CIM>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := fuzzedRequest(body)
		if req == nil {
			return
		}
		check := func(method string, err error) {
			if err == nil {
				return
			}
			var ce *cim.Error
			var code *codeError
			if !errors.As(err, &ce) && !errors.As(err, &code) {
				t.Fatalf("%s: an error without a CIM status: %v", method, err)
			}
			var b bytes.Buffer
			w := newWriter(&b)
			writeError(w, &request{method: method, full: true}, err)
			w.release()
			if _, err := parseTree(&b); err != nil {
				t.Fatalf("%s: the ERROR element does not parse: %v\n%s", method, err, b.String())
			}
		}
		if err := validateParams(req); err != nil {
			check(req.method, err)
			return
		}
		if !req.intrinsic {
			check(req.method, extrinsic.decode(req))
			return
		}
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			req.method = method
			check(method, ops[method].decode(req))
		}
	})
}

// fuzzedRequest decodes a fuzzed body as a request, or returns nil.
func fuzzedRequest(body []byte) *request {
	root, err := parseTree(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req, err := decodeRequest(root)
	if err != nil {
		return nil
	}
	return req
}
