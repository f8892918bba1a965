package cimxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/internal/xmltok"
)

// parseFast builds the tree that parseTreeXML builds, with wbemd's own
// tokenizer (internal/xmltok), from a document whose names have no name
// space prefix. It reports ok false for anything else (a prefix, a
// DOCTYPE, a name outside ASCII, another encoding) and for every error
// and limit, leaving those to encoding/xml: so a document parseFast takes
// is one encoding/xml takes, with the same tree, and every error is
// classified and positioned as before.
//
// Names, attribute values and text of a small document are substrings of
// one copy of it; those of a larger one are copied each, so that a value
// kept from a large answer does not keep all of it alive.
func parseFast(src []byte) (*node, bool) {
	b := builders.Get().(*builder)
	defer b.release()
	b.s.Reset(src)
	b.slabs(len(src))
	var root *node
	for {
		k, err := b.s.Next()
		if err != nil {
			return nil, false
		}
		switch k {
		case xmltok.EOF:
			return root, root != nil
		case xmltok.StartElement:
			n, err := b.element()
			if err != nil {
				return nil, false
			}
			if root == nil {
				root = n
			}
		}
	}
}

// slabMax bounds the nodes, attributes and children allocated at once.
const slabMax = 4096

// builder builds trees of nodes from the tokens of a Scanner: a whole
// document (parseFast) or one element at a time (an Answer's results).
type builder struct {
	s     xmltok.Scanner
	stack []*node
	deep  int     // the most elements open at once: stack[:deep] is cleared on release
	marks []int   // for each open element, where its children start in pend
	pend  []*node // the children of open elements
	nodes []node  // slab of nodes
	attrs []xml.Attr
	kids  []*node // slab of children slices
	count int
	end   int64 // the offset past which an element is too large; 0: none
}

// builders keep the working slices of builder between documents; what a
// tree holds (nodes, attributes, children) is allocated for each.
var builders = sync.Pool{New: func() any {
	b := &builder{stack: make([]*node, 0, 32), marks: make([]int, 0, 32), pend: make([]*node, 0, 64)}
	b.s.MaxDepth, b.s.Names = maxDepth, knownNames
	return b
}}

// release clears the builder and gives it back to builders.
func (b *builder) release() {
	clear(b.stack[:b.deep])
	clear(b.pend)
	b.s.Reset(nil)
	b.stack, b.marks, b.pend = b.stack[:0], b.marks[:0], b.pend[:0]
	b.nodes, b.attrs, b.kids, b.count, b.deep, b.end = nil, nil, nil, 0, 0, 0
	if cap(b.stack) > 1024 || cap(b.pend) > 1<<16 {
		return
	}
	builders.Put(b)
}

// slabs starts the slabs at a size for a document of size bytes, at
// CIM-XML's usual 40 bytes or so per element and attribute; they grow as
// needed.
func (b *builder) slabs(size int) {
	guess := min(size/40+4, slabMax)
	b.nodes = make([]node, 0, guess)
	b.kids = make([]*node, 0, guess)
	b.attrs = make([]xml.Attr, 0, guess)
}

// reuse starts the slabs again over their own memory, once nothing holds
// the nodes built so far.
func (b *builder) reuse() {
	clear(b.nodes)
	b.nodes, b.attrs, b.kids, b.count = b.nodes[:0], b.attrs[:0], b.kids[:0], 0
}

func (b *builder) newNode() *node {
	if len(b.nodes) == cap(b.nodes) {
		b.nodes = make([]node, 0, max(16, min(2*cap(b.nodes), slabMax)))
	}
	b.nodes = b.nodes[:len(b.nodes)+1]
	return &b.nodes[len(b.nodes)-1]
}

// element builds the element whose start tag the Scanner has just read,
// with all it holds.
func (b *builder) element() (*node, error) {
	base := len(b.stack)
	root, err := b.open()
	if err != nil {
		return nil, err
	}
	for len(b.stack) > base {
		k, err := b.s.Next()
		if err != nil {
			return nil, err
		}
		if b.end > 0 && b.s.Offset() > b.end {
			return nil, b.errorf("an element larger than %d bytes", maxResult)
		}
		switch k {
		case xmltok.StartElement:
			if _, err := b.open(); err != nil {
				return nil, err
			}
		case xmltok.EndElement:
			b.close()
		case xmltok.CharData:
			b.stack[len(b.stack)-1].text.add(b.s.Text())
		}
	}
	return root, nil
}

// open starts a node for the element whose start tag the Scanner has just
// read.
func (b *builder) open() (*node, error) {
	if b.count++; b.count > maxElements {
		return nil, b.errorf("more than %d elements", maxElements)
	}
	name := b.s.Name()
	prefixed := b.s.Prefixed()
	if prefixed && strings.IndexByte(name, ':') >= 0 {
		return nil, b.errorf("element %s has a name space prefix", name)
	}
	n := b.newNode()
	n.name = name
	if attrs := b.s.Attrs(); len(attrs) > 0 {
		if cap(b.attrs)-len(b.attrs) < len(attrs) {
			b.attrs = make([]xml.Attr, 0, max(len(attrs), min(2*cap(b.attrs), slabMax)))
		}
		first := len(b.attrs)
		for _, a := range attrs {
			if prefixed && strings.IndexByte(a.Name, ':') >= 0 {
				return nil, b.errorf("attribute %s has a name space prefix", a.Name)
			}
			b.attrs = append(b.attrs, xml.Attr{Name: xml.Name{Local: a.Name}, Value: a.Value})
		}
		n.attrs = b.attrs[first:len(b.attrs):len(b.attrs)]
	}
	n.line, n.col = b.s.Pos()
	if len(b.stack) > 0 {
		b.pend = append(b.pend, n)
	}
	b.stack = append(b.stack, n)
	b.deep = max(b.deep, len(b.stack))
	b.marks = append(b.marks, len(b.pend))
	return n, nil
}

// errorf returns an error at the Scanner's position.
func (b *builder) errorf(format string, args ...any) error {
	line, col := b.s.Pos()
	return &xmltok.Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// close ends the innermost open element.
func (b *builder) close() {
	n := b.stack[len(b.stack)-1]
	mark := b.marks[len(b.marks)-1]
	b.stack, b.marks = b.stack[:len(b.stack)-1], b.marks[:len(b.marks)-1]
	if k := len(b.pend) - mark; k > 0 {
		if cap(b.kids)-len(b.kids) < k {
			b.kids = make([]*node, 0, max(k, min(2*cap(b.kids), slabMax)))
		}
		start := len(b.kids)
		b.kids = append(b.kids, b.pend[mark:]...)
		n.kids = b.kids[start:len(b.kids):len(b.kids)]
		clear(b.pend[mark:])
		b.pend = b.pend[:mark]
	}
	n.text.done()
}

// knownNames are the element and attribute names of DSP0201, kept as
// constants so that copied documents do not copy them.
var knownNames = func() map[string]string {
	m := map[string]string{}
	for _, s := range strings.Fields(`CIM MESSAGE SIMPLEREQ SIMPLERSP MULTIREQ MULTIRSP IMETHODCALL METHODCALL
		IMETHODRESPONSE METHODRESPONSE IPARAMVALUE PARAMVALUE IRETURNVALUE RETURNVALUE ERROR
		LOCALNAMESPACEPATH NAMESPACEPATH NAMESPACE HOST LOCALINSTANCEPATH LOCALCLASSPATH INSTANCEPATH
		CLASSPATH OBJECTPATH INSTANCENAME CLASSNAME KEYBINDING KEYVALUE VALUE VALUE.ARRAY
		VALUE.REFERENCE VALUE.REFARRAY VALUE.NAMEDINSTANCE VALUE.OBJECTWITHPATH VALUE.OBJECT
		VALUE.NAMEDOBJECT VALUE.OBJECTWITHLOCALPATH VALUE.INSTANCEWITHPATH VALUE.NULL INSTANCE CLASS
		PROPERTY PROPERTY.ARRAY PROPERTY.REFERENCE QUALIFIER QUALIFIER.DECLARATION SCOPE METHOD
		PARAMETER PARAMETER.REFERENCE PARAMETER.ARRAY PARAMETER.REFARRAY
		CIMVERSION DTDVERSION ID PROTOCOLVERSION NAME TYPE CLASSNAME CLASSORIGIN PROPAGATED
		OVERRIDABLE TOSUBCLASS TOINSTANCE TRANSLATABLE ARRAYSIZE REFERENCECLASS VALUETYPE
		SUPERCLASS CODE DESCRIPTION PARAMTYPE EmbeddedObject EMBEDDEDOBJECT ISARRAY`) {
		m[s] = s
	}
	return m
}()

var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBodyBuf() *bytes.Buffer { return bodyBufs.Get().(*bytes.Buffer) }

// putBodyBuf returns a buffer to the pool, unless it grew large.
func putBodyBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return
	}
	b.Reset()
	bodyBufs.Put(b)
}
