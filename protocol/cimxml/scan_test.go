package cimxml

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/internal/xmltok"
)

// dumpTree writes a tree with everything parseTree records.
func dumpTree(b *strings.Builder, n *node) {
	fmt.Fprintf(b, "<%q %d:%d", n.name, n.line, n.col)
	for _, a := range n.attrs {
		fmt.Fprintf(b, " %q:%q=%q", a.Name.Space, a.Name.Local, a.Value)
	}
	fmt.Fprintf(b, " text=%q", n.text.String())
	for _, k := range n.kids {
		dumpTree(b, k)
	}
	b.WriteString(">")
}

// checkScan compares parseFast with encoding/xml on one document: what
// parseFast takes, encoding/xml takes with the same tree; parseBytes
// answers as parseTreeXML does, errors included.
func checkScan(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	want, wantErr := parseTreeXML(bytes.NewReader(body))
	root, ok := parseFast(body)
	if ok {
		if wantErr != nil {
			t.Fatalf("parseFast takes %q, encoding/xml refuses it: %v", body, wantErr)
		}
		var g, w strings.Builder
		dumpTree(&g, root)
		dumpTree(&w, want)
		if g.String() != w.String() {
			t.Fatalf("trees of %q differ:\nfast %s\nxml  %s", body, g.String(), w.String())
		}
	}
	got, err := parseBytes(body)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("%q: parseBytes error %v, encoding/xml %v", body, err, wantErr)
	case err != nil:
		if err.Error() != wantErr.Error() || errors.Is(err, errNotWellFormed) != errors.Is(wantErr, errNotWellFormed) {
			t.Fatalf("%q: error %v, want %v", body, err, wantErr)
		}
	default:
		var g, w strings.Builder
		dumpTree(&g, got)
		dumpTree(&w, want)
		if g.String() != w.String() {
			t.Fatalf("trees of %q differ:\ngot  %s\nwant %s", body, g.String(), w.String())
		}
	}
	return ok
}

func TestParseFast(t *testing.T) {
	for _, c := range []struct {
		doc  string
		fast bool
	}{
		{`<?xml version="1.0" encoding="utf-8" ?>` + "\n" + `<CIM CIMVERSION="2.0"><MESSAGE ID='1'><A/><B x = "a&amp;b&lt;&gt;&quot;&apos;"></B></MESSAGE></CIM>`, true},
		{"<A>\r\n x \r y<B\n  N=\"1\r\n2\"\n/>\n tail &amp; more</A>\n", true},
		{`<A>é 😀 ]] &gt;</A>`, true},
		{`<A b="1"c="2"/>`, true},
		{"\ufeff<A/><B><C/></B>", true},
		{`<?xml version='1.0' standalone="yes"?><A/>`, true},
		{`<?xml version="1.0" encoding="ISO-8859-1"?><A/>`, false},
		{`<?xml encoding="utf-8"?><A/>`, false},
		{`<A>&#65;</A>`, true},
		{`<A><!-- c --></A>`, true},
		{`<A><![CDATA[x]]></A>`, true},
		{`<a:A xmlns:a="u"/>`, false},
		{`<A x="1" b:c="2"/>`, false},
		{`<A><B/><b:C/></A>`, false},
		{`<A xmlns="u"/>`, true},
		{`<A x="1" x="2"/>`, true}, // encoding/xml keeps both; so does the tree
		{"<A>\x7f</A>", true},
		{`<?xml version="1.0"?><?xml version="1.0"?><A/>`, true},
		{`<A>]]></A>`, false},
		{`<A>&foo;</A>`, false},
		{`<A b="<"/>`, false},
		{`<A b=1/>`, false},
		{`<A b/>`, false},
		{`<A></B>`, false},
		{`<A><B></A>`, false},
		{`<A>`, false},
		{`</A>`, false},
		{`<A>` + "\x01" + `</A>`, false},
		{"<A>\xff</A>", false},
		{`<Ä/>`, false},
		{`<1A/>`, false},
		{``, false},
		{`text`, false},
		{`<A><VALUE>x</A>`, false},
	} {
		if got := checkScan(t, []byte(c.doc)); got != c.fast {
			t.Errorf("parseFast(%q) ok = %v, want %v", c.doc, got, c.fast)
		}
	}
}

// TestParseFastLarge checks a document past xmltok.ShareLimit, whose
// strings are copied.
func TestParseFastLarge(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<CIM><IRETURNVALUE>`)
	for i := 0; b.Len() < 2*xmltok.ShareLimit; i++ {
		fmt.Fprintf(&b, "<VALUE.NAMEDINSTANCE>\n <INSTANCE CLASSNAME=\"C%d\"><PROPERTY NAME=\"P\" TYPE=\"string\"><VALUE>v &lt;%d&gt;</VALUE></PROPERTY></INSTANCE></VALUE.NAMEDINSTANCE>\n", i, i)
	}
	b.WriteString(`</IRETURNVALUE></CIM>`)
	if !checkScan(t, []byte(b.String())) {
		t.Fatal("parseFast refuses a large plain document")
	}
}

// TestParseFastCorpus runs the wetest requests and answers through
// checkScan.
func TestParseFastCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata.Dir(), "pegasus-wetest", "static", "*", "*.xml"))
	if len(files) == 0 {
		t.Skip("no wetest corpus")
	}
	fast := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if checkScan(t, body) {
			fast++
		}
	}
	t.Logf("parseFast takes %d of %d wetest documents", fast, len(files))
}

// FuzzParseFast: a document parseFast takes is one encoding/xml takes,
// with the same tree; parseTree answers as encoding/xml does.
func FuzzParseFast(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="GetInstance"><IRETURNVALUE><INSTANCE CLASSNAME="A"><PROPERTY NAME="P" TYPE="string"><VALUE>a &amp; b</VALUE></PROPERTY></INSTANCE></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
		"<A>\r\n<B x='1'\n/>]]&gt;</A>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkScan(t, body)
	})
}
