package wsman

import (
	"encoding/xml"
	"errors"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/internal/xmltok"
)

// errFallback sends a document to encoding/xml: the tokenizer meets
// something it leaves to encoding/xml (DOCTYPE, an undeclared prefix, a
// name outside ASCII, another encoding) or an error, whose precise message
// encoding/xml gives.
var errFallback = errors.New("not for the fast tokenizer")

// parseFast builds the same tree as parseXML for the documents WS-Man
// clients send, several times faster, with wbemd's own tokenizer
// (internal/xmltok); for anything else it returns errFallback. Names,
// attribute values and text of a document up to xmltok.ShareLimit are
// substrings of one copy of it.
func parseFast(b []byte) (*elem, error) {
	p := &fastParser{s: scanners.Get().(*xmltok.Scanner)}
	defer func() {
		p.s.Reset(nil)
		scanners.Put(p.s)
	}()
	p.s.Reset(b)
	root, err := p.parse()
	if err != nil {
		return nil, errFallback
	}
	return root, nil
}

// scanners keep the working memory of the tokenizer between documents.
var scanners = sync.Pool{New: func() any { return &xmltok.Scanner{MaxDepth: maxDepth} }}

type fastParser struct {
	s        *xmltok.Scanner
	ns       xmltok.Namespaces
	stack    []*elem
	count    int
	slab     []elem // elements are allocated in chunks
	attrSlab []xml.Attr
}

// newAttrs returns n attributes, allocated in chunks like elements.
func (p *fastParser) newAttrs(n int) []xml.Attr {
	if len(p.attrSlab) < n {
		p.attrSlab = make([]xml.Attr, max(n, 16))
	}
	a := p.attrSlab[:n:n]
	p.attrSlab = p.attrSlab[n:]
	return a
}

func (p *fastParser) newElem() *elem {
	if len(p.slab) == 0 {
		p.slab = make([]elem, 16)
	}
	e := &p.slab[0]
	p.slab = p.slab[1:]
	return e
}

func (p *fastParser) parse() (*elem, error) {
	var root *elem
	for {
		k, err := p.s.Next()
		if err != nil {
			return nil, err
		}
		switch k {
		case xmltok.EOF:
			if root == nil {
				return nil, errFallback
			}
			return root, nil
		case xmltok.StartElement:
			if root != nil && len(p.stack) == 0 {
				return nil, errFallback // a second root element
			}
			e, err := p.open()
			if err != nil {
				return nil, err
			}
			if root == nil {
				root = e
			}
		case xmltok.EndElement:
			p.ns.Close()
			p.stack = p.stack[:len(p.stack)-1]
		case xmltok.CharData:
			text := p.s.Text()
			if len(p.stack) == 0 {
				if strings.Trim(text, " \t\r\n") != "" {
					return nil, errFallback
				}
				continue
			}
			p.stack[len(p.stack)-1].text += text
		}
	}
}

// open starts the element whose start tag the tokenizer has just read,
// with its expanded name and attribute names.
func (p *fastParser) open() (*elem, error) {
	if p.count++; p.count > maxElements {
		return nil, errFallback
	}
	attrs := p.s.Attrs()
	if err := p.ns.Open(attrs); err != nil {
		return nil, err
	}
	space, local, err := p.ns.Element(p.s.Name())
	if err != nil {
		return nil, err
	}
	e := p.newElem()
	e.space, e.local = space, local
	if len(attrs) > 0 {
		e.attrs = p.newAttrs(len(attrs))
		for i, a := range attrs {
			name, err := p.ns.Attr(a.Name)
			if err != nil {
				return nil, err
			}
			e.attrs[i] = xml.Attr{Name: name, Value: a.Value}
		}
	}
	if len(p.stack) > 0 {
		top := p.stack[len(p.stack)-1]
		top.kids = append(top.kids, e)
	}
	p.stack = append(p.stack, e)
	return e, nil
}
