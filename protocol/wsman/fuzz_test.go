package wsman

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/xmltok"
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
		// The fast tokenizer accepts only what encoding/xml accepts, and
		// builds the same tree.
		if fast, err := parseFast([]byte(doc)); err == nil {
			slow, err := parseXML(strings.NewReader(doc))
			if err != nil {
				t.Fatalf("the fast tokenizer accepts %q, encoding/xml does not: %v", doc, err)
			}
			if a, b := dump(fast), dump(slow); a != b {
				t.Fatalf("trees differ for %q:\nfast %s\nslow %s", doc, a, b)
			}
		}
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

// FuzzDecodeAction feeds arbitrary envelopes to the typed decoding of
// every action: each gives its typed request or a fault (an error with a
// WBEM status), which encodes as a well-formed SOAP fault; never a panic.
func FuzzDecodeAction(f *testing.F) {
	for _, m := range []msg{
		{action: actEnumerate, uri: diskURI, body: `<wsen:Enumerate><wsen:Expires>PT30S</wsen:Expires><wsman:EnumerationMode>EnumerateObjectAndEPR</wsman:EnumerationMode><wsman:OptimizeEnumeration/><wsman:MaxElements>3</wsman:MaxElements><wsman:Filter Dialect="` + dialectWQL + `">SELECT * FROM Sample_Disk</wsman:Filter></wsen:Enumerate>`},
		{action: actEnumerate, uri: diskURI, body: `<wsen:Enumerate><wsen:Expires>2001-01-01T00:00:00Z</wsen:Expires></wsen:Enumerate>`},
		{action: actPull, uri: diskURI, body: `<wsen:Pull><wsen:EnumerationContext>uuid:1</wsen:EnumerationContext><wsen:MaxElements>2</wsen:MaxElements><wsen:MaxCharacters>100</wsen:MaxCharacters><wsen:MaxTime>PT1S</wsen:MaxTime></wsen:Pull>`},
		{action: actRelease, uri: diskURI, body: `<wsen:Release><wsen:EnumerationContext>uuid:1</wsen:EnumerationContext></wsen:Release>`},
	} {
		env, _ := m.build()
		f.Add(env)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		env, err := decodeEnvelope(strings.NewReader(doc))
		if err != nil {
			return
		}
		req := &request{env: env}
		for _, action := range slices.Sorted(maps.Keys(ops)) {
			err := ops[action].decode(req)
			if err == nil {
				continue
			}
			var fault *Fault
			if !errors.As(err, &fault) {
				t.Fatalf("%s: an error that is no fault: %v", action, err)
			}
			var o out
			writeFault(&o, env.soap, env.messageID, env.hasMsgID, "m", fault)
			if _, perr := parseXML(strings.NewReader(string(o.b))); perr != nil {
				t.Fatalf("%s: the fault is not well-formed: %v", action, perr)
			}
		}
	})
}

// dump writes a tree as text, for comparison.
func dump(e *elem) string {
	var b strings.Builder
	var walk func(e *elem)
	walk = func(e *elem) {
		fmt.Fprintf(&b, "<{%s}%s", e.space, e.local)
		for _, a := range e.attrs {
			fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
		}
		fmt.Fprintf(&b, ">%q", e.text)
		for _, k := range e.kids {
			walk(k)
		}
		b.WriteString("</>")
	}
	walk(e)
	return b.String()
}

// TestParseFast checks the fast tokenizer against encoding/xml on the
// envelopes of the three client styles and on documents it must leave to
// encoding/xml.
func TestParseFast(t *testing.T) {
	get, _ := msg{action: actGet, uri: diskURI, selectors: [][2]string{{"Name", "s&amp;d &#x41;&#66;"}}, headers: `<wsman:Locale xml:lang="en-US" s:mustUnderstand="false"/><!-- c -->`}.build()
	for _, doc := range []string{get,
		`<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header/><Body><Pull xmlns="` + nsWSEN + `"><EnumerationContext>x</EnumerationContext></Pull></Body></Envelope>`,
		"<a x='1' y=\"2\">t\u00e9xt<b/>more</a>\n",
		"<a><![CDATA[x]]>\r\n</a>",
		`<a x="` + strings.Repeat("v", xmltok.ShareLimit) + `"><b>` + strings.Repeat("t", xmltok.ShareLimit) + `</b></a>`, // past xmltok.ShareLimit: values are copies
	} {
		fast, err := parseFast([]byte(doc))
		if err != nil {
			t.Errorf("fast tokenizer refused %q", doc)
			continue
		}
		slow, err := parseXML(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := dump(fast), dump(slow); a != b {
			t.Errorf("trees differ:\nfast %s\nslow %s", a, b)
		}
	}
	for _, doc := range []string{`<!DOCTYPE a><a/>`, `<a>&nbsp;</a>`, `<p:a/>`, `<a b="1" b="2"/>`, `<a></b>`, `<a/><b/>`, "\ufeff<a/>", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`} {
		if _, err := parseFast([]byte(doc)); err == nil {
			t.Errorf("fast tokenizer accepted %q", doc)
		}
	}
}
