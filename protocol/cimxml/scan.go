package cimxml

import (
	"bytes"
	"encoding/xml"
	"strings"
	"sync"
	"unicode/utf8"
)

// parseFast is wbemd's own CIM-XML tokenizer. It builds the tree that
// parseTreeXML builds from a document in the subset of XML that CIM-XML
// clients and servers write: elements and attributes with ASCII names and
// no name space prefix, character data with the five predefined entities,
// and an XML declaration of version 1.0 in UTF-8. It reports ok false for
// anything else (comments, CDATA, character references, processing
// instructions, DOCTYPE, name space prefixes, non-ASCII names) and for
// every error and limit, leaving those to encoding/xml: so a document
// parseFast takes is one encoding/xml takes, with the same tree, and
// every error is classified and positioned as before.
//
// Names, attribute values and text of a small document are substrings of
// one copy of it; those of a larger one are copied each, so that a value
// kept from a large answer does not keep all of it alive.
func parseFast(src []byte) (*node, bool) {
	p := scanners.Get().(*scanner)
	defer p.release()
	p.src, p.line = src, 1
	if len(src) <= shareLimit {
		p.str = string(src)
		p.shared = true
	}
	// The slabs start at a size for CIM-XML's usual 40 bytes or so per
	// element and attribute, and grow as needed.
	guess := min(len(src)/40+4, slabMax)
	p.nodes = make([]node, 0, guess)
	p.kids = make([]*node, 0, guess)
	p.attrs = make([]xml.Attr, 0, guess)
	return p.run()
}

// shareLimit is the size up to which a document's strings share one copy.
const shareLimit = 16 << 10

// slabMax bounds the nodes, attributes and children allocated at once.
const slabMax = 4096

type scanner struct {
	src    []byte
	str    string // string(src) when shared
	shared bool
	i      int // next byte
	line   int // line of src[i]
	ls     int // offset of the start of that line

	stack   []*node
	marks   []int   // for each open element, where its children start in pend
	pend    []*node // the children of open elements
	nodes   []node  // slab of nodes
	attrs   []xml.Attr
	kids    []*node    // slab of children slices
	scratch []xml.Attr // the attributes of the element being read
	count   int
	root    *node
	buf     []byte
}

// scanners keep the working slices of scanner between documents; what a
// tree holds (nodes, attributes, children) is allocated for each.
var scanners = sync.Pool{New: func() any {
	return &scanner{stack: make([]*node, 0, 32), marks: make([]int, 0, 32), pend: make([]*node, 0, 64)}
}}

// release clears the scanner and gives it back to scanners.
func (p *scanner) release() {
	clear(p.stack[:cap(p.stack)])
	clear(p.pend[:cap(p.pend)])
	clear(p.scratch[:cap(p.scratch)])
	*p = scanner{stack: p.stack[:0], marks: p.marks[:0], pend: p.pend[:0], buf: p.buf[:0], scratch: p.scratch[:0]}
	if cap(p.stack) > 1024 || cap(p.pend) > 1<<16 || cap(p.buf) > 1<<16 || cap(p.scratch) > 1024 {
		return
	}
	scanners.Put(p)
}

// sub returns src[a:b] as a string.
func (p *scanner) sub(a, b int) string {
	if p.shared {
		return p.str[a:b]
	}
	return string(p.src[a:b])
}

// name returns the name src[a:b], as a known name when it is one.
func (p *scanner) name(a, b int) string {
	if p.shared {
		return p.str[a:b]
	}
	if s, ok := knownNames[string(p.src[a:b])]; ok {
		return s
	}
	return p.sub(a, b)
}

// lines advances the line count over src[p.i:to] and moves to to.
func (p *scanner) lines(to int) {
	s := p.src[p.i:to]
	for {
		k := bytes.IndexByte(s, '\n')
		if k < 0 {
			break
		}
		p.line++
		p.ls = to - len(s) + k + 1
		s = s[k+1:]
	}
	p.i = to
}

// space skips white space.
func (p *scanner) space() {
	j := p.i
	for j < len(p.src) {
		switch p.src[j] {
		case ' ', '\t', '\r':
			j++
			continue
		case '\n':
			j++
			p.line++
			p.ls = j
			continue
		}
		break
	}
	p.i = j
}

// Byte classes of names.
const (
	nameEnd   = iota // ends a name
	nameFirst        // starts or continues a name: a letter or _
	nameNext         // continues a name: a digit, . or -
	nameOdd          // a name parseFast leaves to encoding/xml: : or non-ASCII
)

var nameClass = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
			t[c] = nameFirst
		case '0' <= c && c <= '9' || c == '.' || c == '-':
			t[c] = nameNext
		case c == ':' || c >= utf8.RuneSelf:
			t[c] = nameOdd
		}
	}
	return t
}()

// scanName returns the end of the name at src[a:], or -1 when there is
// none that parseFast takes.
func (p *scanner) scanName(a int) int {
	src := p.src
	if a >= len(src) || nameClass[src[a]] != nameFirst {
		return -1
	}
	j := a + 1
	for j < len(src) {
		switch nameClass[src[j]] {
		case nameFirst, nameNext:
			j++
			continue
		case nameOdd:
			return -1
		}
		break
	}
	return j
}

func (p *scanner) newNode() *node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodes = make([]node, 0, max(16, min(2*cap(p.nodes), slabMax)))
	}
	p.nodes = p.nodes[:len(p.nodes)+1]
	return &p.nodes[len(p.nodes)-1]
}

func (p *scanner) run() (*node, bool) {
	src := p.src
	for p.i < len(src) {
		if src[p.i] != '<' {
			end := bytes.IndexByte(src[p.i:], '<')
			if end < 0 {
				end = len(src)
			} else {
				end += p.i
			}
			text, ok := p.text(p.i, end, false)
			if !ok {
				return nil, false
			}
			if len(p.stack) > 0 {
				p.stack[len(p.stack)-1].text.add(text)
			}
			p.lines(end)
			continue
		}
		if p.i+1 >= len(src) {
			return nil, false
		}
		var ok bool
		switch src[p.i+1] {
		case '/':
			ok = p.endTag()
		case '?':
			ok = p.declaration()
		case '!':
			ok = false
		default:
			ok = p.startTag()
		}
		if !ok {
			return nil, false
		}
	}
	if len(p.stack) > 0 || p.root == nil {
		return nil, false
	}
	return p.root, true
}

// declaration takes an XML declaration of version 1.0 in UTF-8.
func (p *scanner) declaration() bool {
	a := p.i + 2
	e := p.scanName(a)
	if e < 0 || string(p.src[a:e]) != "xml" {
		return false
	}
	p.i = e
	p.space()
	k := bytes.Index(p.src[p.i:], []byte("?>"))
	if k < 0 || !plainDeclaration(p.src[p.i:p.i+k]) {
		return false
	}
	p.lines(p.i + k + 2)
	return true
}

// plainDeclaration reports whether the content of an XML declaration is
// version="1.0", then optionally a UTF-8 encoding and a standalone
// declaration, in that order.
func plainDeclaration(b []byte) bool {
	b, ok := pseudoAttr(b, "version", func(v []byte) bool { return string(v) == "1.0" })
	if !ok {
		return false
	}
	if rest, ok := pseudoAttr(b, "encoding", func(v []byte) bool { return strings.EqualFold(string(v), "utf-8") }); ok {
		b = rest
	}
	if rest, ok := pseudoAttr(b, "standalone", func(v []byte) bool { return string(v) == "yes" || string(v) == "no" }); ok {
		b = rest
	}
	return len(trimSpace(b)) == 0
}

// trimSpace drops the XML white space that starts b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// pseudoAttr reads name="value" (after white space, or at the start) and
// returns what follows it.
func pseudoAttr(b []byte, name string, good func([]byte) bool) ([]byte, bool) {
	t := trimSpace(b)
	if len(t) == len(b) && name != "version" {
		return b, false
	}
	rest, ok := bytes.CutPrefix(t, []byte(name+"="))
	if !ok || len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
		return b, false
	}
	q := rest[0]
	k := bytes.IndexByte(rest[1:], q)
	if k < 0 || !good(rest[1:1+k]) {
		return b, false
	}
	return rest[2+k:], true
}

func (p *scanner) endTag() bool {
	if len(p.stack) == 0 {
		return false
	}
	// The end tag names the open element: its name, then a byte that
	// ends a name.
	top := p.stack[len(p.stack)-1]
	a := p.i + 2
	e := a + len(top.name)
	if e >= len(p.src) || string(p.src[a:e]) != top.name || nameClass[p.src[e]] != nameEnd {
		return false
	}
	p.i = e
	p.space()
	if p.i >= len(p.src) || p.src[p.i] != '>' {
		return false
	}
	p.i++
	p.close()
	return true
}

// close ends the innermost open element.
func (p *scanner) close() {
	n := p.stack[len(p.stack)-1]
	mark := p.marks[len(p.marks)-1]
	p.stack, p.marks = p.stack[:len(p.stack)-1], p.marks[:len(p.marks)-1]
	if k := len(p.pend) - mark; k > 0 {
		if cap(p.kids)-len(p.kids) < k {
			p.kids = make([]*node, 0, max(k, min(2*cap(p.kids), slabMax)))
		}
		start := len(p.kids)
		p.kids = append(p.kids, p.pend[mark:]...)
		n.kids = p.kids[start:len(p.kids):len(p.kids)]
		clear(p.pend[mark:])
		p.pend = p.pend[:mark]
	}
	n.text.done()
}

func (p *scanner) startTag() bool {
	src := p.src
	a := p.i + 1
	e := p.scanName(a)
	if e < 0 {
		return false
	}
	name := p.name(a, e)
	p.i = e
	p.scratch = p.scratch[:0]
	empty := false
	for {
		p.space()
		if p.i >= len(src) {
			return false
		}
		c := src[p.i]
		if c == '/' {
			if p.i+1 >= len(src) || src[p.i+1] != '>' {
				return false
			}
			p.i += 2
			empty = true
			break
		}
		if c == '>' {
			p.i++
			break
		}
		ae := p.scanName(p.i)
		if ae < 0 {
			return false
		}
		an := p.name(p.i, ae)
		p.i = ae
		p.space()
		if p.i >= len(src) || src[p.i] != '=' {
			return false
		}
		p.i++
		p.space()
		if p.i >= len(src) || src[p.i] != '"' && src[p.i] != '\'' {
			return false
		}
		q := bytes.IndexByte(src[p.i+1:], src[p.i])
		if q < 0 {
			return false
		}
		va, ve := p.i+1, p.i+1+q
		v, ok := p.text(va, ve, true)
		if !ok {
			return false
		}
		p.lines(ve + 1)
		p.scratch = append(p.scratch, xml.Attr{Name: xml.Name{Local: an}, Value: v})
	}
	if p.count++; p.count > maxElements || len(p.stack) >= maxDepth {
		return false
	}
	n := p.newNode()
	n.name = name
	if k := len(p.scratch); k > 0 {
		if cap(p.attrs)-len(p.attrs) < k {
			p.attrs = make([]xml.Attr, 0, max(k, min(2*cap(p.attrs), slabMax)))
		}
		first := len(p.attrs)
		p.attrs = append(p.attrs, p.scratch...)
		n.attrs = p.attrs[first:len(p.attrs):len(p.attrs)]
	}
	n.line, n.col = p.line, p.i-p.ls+1
	if len(p.stack) > 0 {
		p.pend = append(p.pend, n)
	} else if p.root == nil {
		p.root = n
	}
	p.stack = append(p.stack, n)
	p.marks = append(p.marks, len(p.pend))
	if empty {
		p.close()
	}
	return true
}

// text checks and decodes the character data src[a:b] (an attribute
// value when attr is set).
func (p *scanner) text(a, b int, attr bool) (string, bool) {
	src := p.src
	plain := true
	for j := a; j < b; {
		c := src[j]
		switch textClass[c] {
		case textPlain:
			j++
			continue
		case textSpecial:
			plain = false
		case textBad:
			return "", false
		case textGT:
			if !attr && j-a >= 2 && src[j-1] == ']' && src[j-2] == ']' {
				return "", false // "]]>" outside CDATA
			}
		case textLT:
			return "", false
		case textWide:
			r, size := utf8.DecodeRune(src[j:b])
			if r == utf8.RuneError && size == 1 || !inCharRange(r) {
				return "", false
			}
			j += size
			continue
		}
		j++
	}
	if plain {
		return p.sub(a, b), true
	}
	out := p.buf[:0]
	for j := a; j < b; j++ {
		switch c := src[j]; c {
		case '\r':
			out = append(out, '\n')
			if j+1 < b && src[j+1] == '\n' {
				j++
			}
		case '&':
			r, n := entityAt(src[j+1 : b])
			if n == 0 {
				return "", false
			}
			out = append(out, r)
			j += n
		default:
			out = append(out, c)
		}
	}
	p.buf = out
	return string(out), true
}

// Byte classes of character data.
const (
	textPlain   = iota
	textSpecial // & or \r: the text is decoded
	textBad     // a control character
	textGT      // >, which may end "]]>"
	textLT      // <
	textWide    // the start of a multi-byte character
)

var textClass = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case c == '&' || c == '\r':
			t[c] = textSpecial
		case c < 0x20 && c != '\t' && c != '\n':
			t[c] = textBad
		case c == '>':
			t[c] = textGT
		case c == '<':
			t[c] = textLT
		case c >= utf8.RuneSelf:
			t[c] = textWide
		}
	}
	return t
}()

// entityAt reads one of the predefined entities (after its &) and returns
// its character and length with the semicolon.
func entityAt(b []byte) (byte, int) {
	for _, e := range [...]struct {
		name string
		r    byte
	}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}} {
		if bytes.HasPrefix(b, []byte(e.name)) {
			return e.r, len(e.name)
		}
	}
	return 0, 0
}

// inCharRange reports whether r is an XML character (XML 1.0 §2.2).
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
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
