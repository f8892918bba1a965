package xmltok

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// expanded writes the expanded names of a document's elements and
// attributes as Namespaces gives them, or returns its error.
func expanded(doc string) (string, error) {
	var s Scanner
	var ns Namespaces
	var b strings.Builder
	s.Reset([]byte(doc))
	for {
		k, err := s.Next()
		if err != nil || k == EOF {
			return b.String(), err
		}
		switch k {
		case StartElement:
			if err := ns.Open(s.Attrs()); err != nil {
				return "", err
			}
			space, local, err := ns.Element(s.Name())
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "<{%s}%s", space, local)
			for _, a := range s.Attrs() {
				n, err := ns.Attr(a.Name)
				if err != nil {
					return "", err
				}
				fmt.Fprintf(&b, " {%s}%s", n.Space, n.Local)
			}
			b.WriteString(">")
		case EndElement:
			ns.Close()
		}
	}
}

// expandedXML is expanded as encoding/xml's Decoder.Token gives it.
func expandedXML(doc string) string {
	d := xml.NewDecoder(bytes.NewReader([]byte(doc)))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil { // io.EOF, or an error expanded has too
			return b.String()
		}
		if t, ok := tok.(xml.StartElement); ok {
			fmt.Fprintf(&b, "<{%s}%s", t.Name.Space, t.Name.Local)
			for _, a := range t.Attr {
				fmt.Fprintf(&b, " {%s}%s", a.Name.Space, a.Name.Local)
			}
			b.WriteString(">")
		}
	}
}

// TestNamespaces: the expanded names are encoding/xml's; what it reads in
// its own way is ErrUnsupported.
func TestNamespaces(t *testing.T) {
	for _, doc := range []string{
		`<a xmlns="u" xmlns:p="v"><p:b p:x="1" y="2" xml:lang="en"><c xmlns="w"/><d/></p:b><p:e xmlns:p="z"/><p:f/></a>`,
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><w:A xmlns:w="u" s:mustUnderstand="true"/></s:Header></s:Envelope>`,
	} {
		got, err := expanded(doc)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if want := expandedXML(doc); got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", doc, got, want)
		}
	}
	for _, doc := range []string{`<p:a/>`, `<a p:x="1"/>`, `<a xmlns:p=""/>`, `<xmlns:a xmlns:xmlns="u"/>`, `<a x="1" x="2"/>`} {
		if _, err := expanded(doc); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", doc, err)
		}
	}
}
