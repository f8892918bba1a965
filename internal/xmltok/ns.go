package xmltok

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// NamespaceXML is the namespace of the xml prefix.
const NamespaceXML = "http://www.w3.org/XML/1998/namespace"

// Namespaces resolves the prefixes of qualified names (Namespaces in XML
// 1.0) as elements open and close, giving the expanded names that
// encoding/xml's Decoder.Token gives. The zero Namespaces is empty.
type Namespaces struct {
	scope []binding // in-scope declarations, innermost last
	marks []int     // len(scope) when each open element started
}

type binding struct{ prefix, uri string }

// Open takes the namespace declarations among the attributes of an
// element that opens. It returns an error that wraps ErrUnsupported where
// encoding/xml reads the element in its own way: an attribute given twice,
// or an empty prefixed declaration (xmlns:p="").
func (ns *Namespaces) Open(attrs []Attr) error {
	ns.marks = append(ns.marks, len(ns.scope))
	for i, a := range attrs {
		for _, b := range attrs[:i] {
			if b.Name == a.Name {
				return fmt.Errorf("attribute %s is given twice: %w", a.Name, ErrUnsupported)
			}
		}
		if a.Name == "xmlns" {
			ns.scope = append(ns.scope, binding{"", a.Value})
		} else if p, ok := strings.CutPrefix(a.Name, "xmlns:"); ok {
			if a.Value == "" {
				return fmt.Errorf("an empty declaration of prefix %s: %w", p, ErrUnsupported)
			}
			ns.scope = append(ns.scope, binding{p, a.Value})
		}
	}
	return nil
}

// Close drops the declarations of the element that closes.
func (ns *Namespaces) Close() {
	n := len(ns.marks) - 1
	clear(ns.scope[ns.marks[n]:])
	ns.scope = ns.scope[:ns.marks[n]]
	ns.marks = ns.marks[:n]
}

// lookup resolves a prefix; ok is false for an undeclared one.
func (ns *Namespaces) lookup(prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return NamespaceXML, true
	case "xmlns":
		return "xmlns", true
	}
	for i := len(ns.scope) - 1; i >= 0; i-- {
		if ns.scope[i].prefix == prefix {
			return ns.scope[i].uri, true
		}
	}
	return "", prefix == ""
}

// Element returns the expanded name of the open element named qname. An
// undeclared prefix, or the xmlns prefix, is an error that wraps
// ErrUnsupported.
func (ns *Namespaces) Element(qname string) (space, local string, err error) {
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		prefix, local = "", qname
	}
	space, found := ns.lookup(prefix)
	if !found || prefix == "xmlns" {
		return "", "", fmt.Errorf("element %s has an undeclared prefix: %w", qname, ErrUnsupported)
	}
	return space, local, nil
}

// Attr returns the expanded name of an attribute of the open element (the
// default namespace does not apply to attributes). An undeclared prefix is
// an error that wraps ErrUnsupported.
func (ns *Namespaces) Attr(qname string) (xml.Name, error) {
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		return xml.Name{Local: qname}, nil
	}
	space, found := ns.lookup(prefix)
	if !found {
		return xml.Name{}, fmt.Errorf("attribute %s has an undeclared prefix: %w", qname, ErrUnsupported)
	}
	return xml.Name{Space: space, Local: local}, nil
}
