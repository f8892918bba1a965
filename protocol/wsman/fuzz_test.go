package wsman

import (
	"strings"
	"testing"
)

// FuzzDecodeEnvelope feeds arbitrary bytes to the SOAP decoder and to the
// request interpretation after it: any input gives an envelope or an
// error, never a panic, and a fault is always encodable.
func FuzzDecodeEnvelope(f *testing.F) {
	get, _ := msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}}.build()
	f.Add(get)
	put, _ := msg{action: actPut, uri: diskURI, selectors: [][2]string{{"Name", "sda"}}, headers: `<wsman:FragmentTransfer s:mustUnderstand="true">Model</wsman:FragmentTransfer>`,
		body: `<wsman:XmlFragment><Model>x</Model></wsman:XmlFragment>`}.build()
	f.Add(put)
	enum, _ := msg{action: actEnumerate, uri: uriDMTFAll, headers: `<wsman:MaxEnvelopeSize>153600</wsman:MaxEnvelopeSize><wsman:OperationTimeout>PT20S</wsman:OperationTimeout>`,
		body: `<wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>5</wsman:MaxElements><wsman:Filter Dialect="` + dialectWQL + `">SELECT * FROM X</wsman:Filter></wsen:Enumerate>`}.build()
	f.Add(enum)
	f.Add(`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header/><Body><Identify xmlns="` + nsWSMID + `"/></Body></Envelope>`)
	f.Add(`<s:Envelope xmlns:s="` + nsSOAP11 + `"><s:Body/></s:Envelope>`)
	f.Fuzz(func(t *testing.T, doc string) {
		env, err := decodeEnvelope(strings.NewReader(doc))
		if err != nil {
			var o out
			writeFault(&o, nsSOAP12, "", false, "m", faultOf(err))
			if _, perr := parseXML(strings.NewReader(string(o.b))); perr != nil {
				t.Fatalf("fault for %q is not well-formed: %v", doc, perr)
			}
			return
		}
		h := &Handler{}
		req := &request{env: env}
		if _, err := h.route(req); err == nil && req.res != nil {
			_ = req.res.classURI(req.res.ns, "C")
		}
		for _, s := range env.selectors {
			_ = s.name
		}
		if env.timeout < 0 {
			t.Fatalf("negative timeout from %q", doc)
		}
	})
}
