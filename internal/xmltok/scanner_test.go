package xmltok

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// dump reads every token of s and writes them as text: start tags with
// their position and attributes, end tags, and character data (adjacent
// runs joined, as a tree joins them).
func dump(s *Scanner) (string, error) {
	var b strings.Builder
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			fmt.Fprintf(&b, "%q", text.String())
			text.Reset()
		}
	}
	for {
		k, err := s.Next()
		if err != nil {
			flush()
			return b.String(), err
		}
		switch k {
		case EOF:
			flush()
			return b.String(), nil
		case StartElement:
			flush()
			line, col := s.Pos()
			fmt.Fprintf(&b, "<%s %d:%d", s.Name(), line, col)
			for _, a := range s.Attrs() {
				fmt.Fprintf(&b, " %s=%q", a.Name, a.Value)
			}
			b.WriteString(">")
		case EndElement:
			flush()
			fmt.Fprintf(&b, "</%s>", s.Name())
		case CharData:
			text.WriteString(s.Text())
		}
	}
}

// dumpXML is dump for encoding/xml's tokens, with the names as written;
// err is encoding/xml's verdict in Strict mode.
func dumpXML(doc []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := d.Token(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", err
		}
	}
	qname := func(n xml.Name) string {
		if n.Space != "" {
			return n.Space + ":" + n.Local
		}
		return n.Local
	}
	var b, text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			fmt.Fprintf(&b, "%q", text.String())
			text.Reset()
		}
	}
	d = xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			flush()
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			line, col := d.InputPos()
			fmt.Fprintf(&b, "<%s %d:%d", qname(t.Name), line, col)
			for _, a := range t.Attr {
				fmt.Fprintf(&b, " %s=%q", qname(a.Name), a.Value)
			}
			b.WriteString(">")
		case xml.EndElement:
			flush()
			fmt.Fprintf(&b, "</%s>", qname(t.Name))
		case xml.CharData:
			text.Write(t)
		}
	}
}

// chunks reads a document n bytes at a time.
type chunks struct {
	b []byte
	n int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}

// check runs doc through a Scanner held whole and streamed n bytes at a
// time, and through encoding/xml: the two Scanners give the same tokens
// and errors; a document they take, encoding/xml takes with the same
// tokens; one they find malformed, encoding/xml refuses. It returns the
// Scanner's error.
func check(t *testing.T, doc []byte, n int) error {
	t.Helper()
	var s Scanner
	s.Reset(doc)
	got, err := dump(&s)
	var st Scanner
	st.ResetReader(&chunks{doc, n}, 1<<20)
	streamed, serr := dump(&st)
	if got != streamed || fmt.Sprint(err) != fmt.Sprint(serr) {
		t.Fatalf("%q held whole and streamed by %d differ:\nwhole    %s %v\nstreamed %s %v", doc, n, got, err, streamed, serr)
	}
	want, werr := dumpXML(doc)
	switch {
	case err == nil && werr != nil:
		t.Fatalf("%q: the Scanner takes it, encoding/xml refuses it: %v", doc, werr)
	case err == nil && got != want:
		t.Fatalf("%q: tokens differ:\nScanner      %s\nencoding/xml %s", doc, got, want)
	case err != nil && !errors.Is(err, ErrUnsupported) && werr == nil:
		t.Fatalf("%q: the Scanner refuses it (%v), encoding/xml takes it", doc, err)
	}
	return err
}

func TestScanner(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want string // "" takes the document; else a word of the error
	}{
		{`<?xml version="1.0" encoding="utf-8" ?>` + "\n" + `<CIM CIMVERSION="2.0"><MESSAGE ID='1'><A/><B x = "a&amp;b&lt;&gt;&quot;&apos;"></B></MESSAGE></CIM>`, ""},
		{"<A>\r\n x \r y<B\n  N=\"1\r\n2\"\n/>\n tail &amp; more</A>\n", ""},
		{`<A>é 😀 ]] &gt; &#65;&#x42;&#x1F600;&#xD800;</A>`, ""},
		{`<A b="1"c="2"/>`, ""},
		{"\ufeff<A/><B><C/></B>text", ""},
		{`<?xml version='1.0' standalone="yes"?><?pi some data?><A/>`, ""},
		{`<A><!-- c - d --><!----><![CDATA[<x>&amp;]]]]><![CDATA[>]]></A>`, ""},
		{`<s:E xmlns:s="u" s:a="1" xml:lang="en"><s:B/></s:E>`, ""},
		{`<A x="1" x="2"/>`, ""},
		{"<A>\x7f\t</A>", ""},
		{`<A>&#13;</A>`, ""},
		{``, ""},
		{`<?xml version="1.0" encoding="ISO-8859-1"?><A/>`, "XML declaration"},
		{`<?xml encoding="utf-8"?><A/>`, "XML declaration"},
		{`<!DOCTYPE A [<!ENTITY e "x">]><A>&e;</A>`, "DOCTYPE"},
		{`<Ä/>`, "outside ASCII"},
		{`<a:b:c/>`, "colon"},
		{`<A>]]></A>`, "]]>"},
		{`<A>&foo;</A>`, "entity"},
		{`<A>&#0;</A>`, "entity"},
		{`<A>&#x110000;</A>`, "entity"},
		{`<A>&amp</A>`, "entity"},
		{`<A b="<"/>`, "unescaped <"},
		{`<A b=1/>`, "unquoted"},
		{`<A b/>`, "without ="},
		{`<A></B>`, "closed by"},
		{`</A>`, "unexpected end"},
		{`<A>`, "unexpected EOF"},
		{`<A><!-- a -- b --></A>`, `"--"`},
		{`<A><!-- a ---></A>`, `"--"`},
		{`<A><![CDATA[x</A>`, "unexpected EOF"},
		{`<A/ >`, "expected />"},
		{"<A>\x01</A>", "illegal character"},
		{"<A>\xff</A>", "invalid UTF-8"},
		{`<1A/>`, "expected a name"},
		{`<A>` + "\uFFFE" + `</A>`, "illegal character"},
	} {
		for _, n := range []int{1, 3, 1 << 20} {
			err := check(t, []byte(c.doc), n)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%q: %v", c.doc, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("%q: error %v, want one about %s", c.doc, err, c.want)
			}
		}
	}
}

// TestScannerShares: in a small document held whole, what the Scanner
// returns shares one copy; in a large one, a name found in Names is that
// copy and other strings are copied.
func TestScannerShares(t *testing.T) {
	small := []byte(`<A N="v">text</A>`)
	var s Scanner
	s.Reset(small)
	s.Next()
	n1 := s.Name()
	s.Reset(append([]byte(`<B/>`), bytes.Repeat([]byte(" "), ShareLimit)...))
	kept := "B"
	s.Names = map[string]string{"B": kept}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if s.Name() != kept || n1 != "A" {
		t.Fatalf("names %q %q", n1, s.Name())
	}
	if testing.AllocsPerRun(10, func() {
		s.Reset(small)
		for k, _ := s.Next(); k != EOF; k, _ = s.Next() {
		}
	}) > 1 {
		t.Error("a small document held whole costs more than its one copy")
	}
}

// TestScannerLimits: MaxDepth and a stream's largest token are bounds;
// the window of a stream stays near the largest token.
func TestScannerLimits(t *testing.T) {
	var s Scanner
	s.MaxDepth = 2
	s.Reset([]byte(`<a><b><c/></b></a>`))
	if _, err := dump(&s); !errors.Is(err, ErrLimit) {
		t.Errorf("depth 3 past MaxDepth 2: %v", err)
	}
	s.MaxDepth = 0
	doc := []byte(`<a>` + strings.Repeat("<b>x</b>", 20000) + strings.Repeat("y", 5000) + `</a>`)
	s.ResetReader(bytes.NewReader(doc), 4096)
	if _, err := dump(&s); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "4096") {
		t.Errorf("a 5,000-byte text with tokens of at most 4,096: %v", err)
	}
	s.ResetReader(bytes.NewReader(doc), 8192)
	if _, err := dump(&s); err != nil {
		t.Fatal(err)
	}
	if cap(s.src) > firstWindow {
		t.Errorf("the window grew to %d bytes for tokens of at most 5,000", cap(s.src))
	}
}

// TestScannerReadError: an error of the stream ends the document with it.
func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	var s Scanner
	s.ResetReader(io.MultiReader(strings.NewReader(`<a><b>x</b>`), &failing{boom}), 1<<20)
	got, err := dump(&s)
	if !errors.Is(err, boom) || got != `<a 1:4><b 1:7>"x"</b>` {
		t.Fatalf("got %s, %v", got, err)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

// FuzzScanner: the Scanner held whole and streamed in small reads agree;
// what it takes, encoding/xml takes with the same tokens; what it finds
// malformed, encoding/xml refuses; it never panics, and a stream's window
// stays bounded by its largest token.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="GetInstance"><IRETURNVALUE><INSTANCE CLASSNAME="A"><PROPERTY NAME="P" TYPE="string"><VALUE>a &amp; b</VALUE></PROPERTY></INSTANCE></IRETURNVALUE></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`,
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="u"><s:Header><w:A s:mustUnderstand="true">x&#x41;</w:A></s:Header><s:Body/></s:Envelope>`,
		"<A>\r\n<B x='1'\n/>]]&gt;<!-- c --><![CDATA[d]]><?p i?></A>",
		`<R><P a="1" b='&amp;'>x</P><P a="1" b='&amp;'>y</P><P a="1" b='&amp;'/><E/><E/><P a=">"><P a=">"/></P></R>`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, doc []byte, n uint8) {
		check(t, doc, int(n)%8+1)
		var s Scanner
		s.ResetReader(bytes.NewReader(doc), 64)
		dump(&s)
		if cap(s.src) > firstWindow {
			t.Fatalf("the window of tokens of at most 64 bytes grew to %d", cap(s.src))
		}
	})
}

// TestPlain8: plain8 says of 8 bytes what textClass says of each: every
// byte value in every position, among plain neighbours and others.
func TestPlain8(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, fill := range []byte{'a', ' ', '~', 0x7f} {
				var b [8]byte
				for i := range b {
					b[i] = fill
				}
				b[pos] = byte(c)
				want := textClass[c] == textPlain && c >= 0x20
				if got := plain8(binary.LittleEndian.Uint64(b[:])); got != want {
					t.Fatalf("%q: plain8 %v, want %v", b, got, want)
				}
			}
		}
	}
}

// TestPrefixed: Prefixed tells a start tag whose name or an attribute's
// name has a prefix, and only such a tag.
func TestPrefixed(t *testing.T) {
	for doc, want := range map[string][]bool{
		`<a:b x="1"><c/><d y:z="2" w="3"></d></a:b>`: {true, false, true},
		`<b x="1"><c q="4"/></b>`:                    {false, false},
	} {
		var s Scanner
		s.Reset([]byte(doc))
		var got []bool
		for {
			k, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if k == EOF {
				break
			}
			if k == StartElement {
				got = append(got, s.Prefixed())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", doc, got, want)
		}
	}
}

// TestMemo: start tags read again from a stream's memo give what reading
// them gives, with the positions after them: tags that repeat, with
// entities, prefixes, duplicate attributes, odd spacing, self-closing,
// a '>' in a value and a new line inside (which are not remembered), in
// a stream small and large, read in reads of several sizes.
func TestMemo(t *testing.T) {
	tags := []string{
		`<P NAME="Caption" TYPE="string">v</P>`,
		`<P NAME="a&amp;b" TYPE='x'>&lt;</P>`,
		`<P N="x>y">t</P>`,
		"<P a=\"1\"\n b=\"2\">n</P>",
		`<E/>`,
		`<E k="1"/>`,
		`<x:P y:a="1" xmlns:x="u" xmlns:y="v"></x:P>`,
		`<P  a = "1"  >s</P>`,
		`<P a="1" a="1"></P>`,
		`<P a="&#x41;&#66;"></P>`,
		"<P\ta=\"1\"\r>w</P>",
		`<VALUE>1</VALUE>`,
	}
	for _, reps := range []int{3, 200} {
		var b strings.Builder
		b.WriteString("<ROOT>\n")
		for i := range reps {
			for j := range tags {
				b.WriteString(tags[(i+j)%len(tags)])
			}
			b.WriteString("\n")
		}
		b.WriteString("</ROOT>")
		doc := []byte(b.String())
		for _, n := range []int{1, 7, 64, 1 << 20} {
			if err := check(t, doc, n); err != nil {
				t.Fatal(err)
			}
		}
		var s Scanner
		s.ResetReader(bytes.NewReader(doc), 1<<20)
		if _, err := dump(&s); err != nil || s.memo == nil {
			t.Fatalf("%d repetitions: memo %v, error %v", reps, s.memo != nil, err)
		}
	}
	// A depth bound holds for a remembered tag as for one read.
	var s Scanner
	s.MaxDepth = 3
	s.ResetReader(strings.NewReader(`<A x="1"><A x="1"><A x="1"><A x="1"></A></A></A></A>`), 1<<20)
	if _, err := dump(&s); !errors.Is(err, ErrLimit) {
		t.Fatalf("depth 4 of at most 3: %v", err)
	}
}
