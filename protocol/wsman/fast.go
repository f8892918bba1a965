package wsman

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errFallback sends a document to encoding/xml: the fast tokenizer meets
// something it does not handle (DOCTYPE, CDATA, an unusual entity or
// encoding, a name outside ASCII) or an error, whose precise message
// encoding/xml gives.
var errFallback = errors.New("not for the fast tokenizer")

// parseFast builds the same tree as parseXML for the plain documents WS-Man
// clients send, several times faster; for anything else it returns
// errFallback.
func parseFast(b []byte) (*elem, error) {
	p := &fastParser{b: b}
	if len(b) <= substringMax {
		p.s = string(b)
	}
	root, err := p.parse()
	if err != nil {
		return nil, errFallback
	}
	return root, nil
}

type nsBinding struct {
	prefix, uri string
}

// substringMax is the largest document whose names, attribute values and
// text are substrings of one copy of it; a larger document's are copied
// one by one, so that a value kept from it does not keep all of it.
const substringMax = 16 << 10

type fastParser struct {
	b        []byte
	s        string // string(b) when len(b) <= substringMax, else ""
	i        int
	scope    []nsBinding // in-scope declarations, innermost last
	stack    []*elem
	names    []string // raw qualified names of open elements
	marks    []int    // len(scope) when each open element started
	count    int
	raw      []rawAttr // scratch for a start tag's attributes
	slab     []elem    // elements are allocated in chunks
	attrSlab []xml.Attr
}

type rawAttr struct{ name, value string }

// str returns b[start:end] as a string.
func (p *fastParser) str(start, end int) string {
	if p.s != "" {
		return p.s[start:end]
	}
	return string(p.b[start:end])
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
	b := p.b
	if bytes.HasPrefix(b, []byte("<?xml")) {
		end := bytes.Index(b, []byte("?>"))
		if end < 0 {
			return nil, errFallback
		}
		decl := strings.TrimRight(strings.ToLower(strings.ReplaceAll(string(b[5:end]), "'", `"`)), " ")
		if decl != ` version="1.0"` && decl != ` version="1.0" encoding="utf-8"` {
			return nil, errFallback
		}
		p.i = end + 2
	}
	var root *elem
	for p.i < len(b) {
		c := b[p.i]
		if c != '<' {
			j := bytes.IndexByte(b[p.i:], '<')
			if j < 0 {
				j = len(b) - p.i
			}
			start := p.i
			raw := b[p.i : p.i+j]
			p.i += j
			if len(p.stack) == 0 {
				if len(bytes.Trim(raw, " \t\r\n")) != 0 {
					return nil, errFallback
				}
				continue
			}
			s, err := p.unescape(start, p.i, false)
			if err != nil {
				return nil, err
			}
			top := p.stack[len(p.stack)-1]
			top.text += s
			continue
		}
		rest := b[p.i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 || bytes.Contains(rest[4:4+end], []byte("--")) {
				return nil, errFallback
			}
			p.i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<?")), bytes.HasPrefix(rest, []byte("<!")):
			return nil, errFallback
		case bytes.HasPrefix(rest, []byte("</")):
			if err := p.endTag(); err != nil {
				return nil, err
			}
		default:
			if root != nil && len(p.stack) == 0 {
				return nil, errFallback
			}
			e, err := p.startTag()
			if err != nil {
				return nil, err
			}
			if root == nil {
				root = e
			}
		}
	}
	if root == nil || len(p.stack) != 0 {
		return nil, errFallback
	}
	return root, nil
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		return true
	case c >= '0' && c <= '9', c == '-', c == '.':
		return !first
	}
	return false
}

// name reads a qualified name (ASCII only) at p.i.
func (p *fastParser) name() (string, error) {
	start := p.i
	colons := 0
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == ':' {
			if p.i == start || colons > 0 {
				return "", errFallback
			}
			colons++
			p.i++
			if p.i >= len(p.b) || !isNameByte(p.b[p.i], true) {
				return "", errFallback
			}
			continue
		}
		if !isNameByte(c, p.i == start) {
			break
		}
		p.i++
	}
	if p.i == start {
		return "", errFallback
	}
	return p.str(start, p.i), nil
}

func (p *fastParser) space() bool {
	start := p.i
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
	return p.i > start
}

// lookup resolves a prefix; ok is false for an undeclared one.
func (p *fastParser) lookup(prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return nsXML, true
	case "xmlns":
		return "xmlns", true
	}
	for i := len(p.scope) - 1; i >= 0; i-- {
		if p.scope[i].prefix == prefix {
			return p.scope[i].uri, true
		}
	}
	return "", prefix == ""
}

func (p *fastParser) startTag() (*elem, error) {
	p.i++ // '<'
	qname, err := p.name()
	if err != nil {
		return nil, err
	}
	p.count++
	if len(p.stack) >= maxDepth || p.count > maxElements {
		return nil, errFallback
	}
	mark := len(p.scope)
	attrs := p.raw[:0]
	defer func() { p.raw = attrs[:0] }()
	selfClose := false
	for {
		sp := p.space()
		if p.i >= len(p.b) {
			return nil, errFallback
		}
		if p.b[p.i] == '>' {
			p.i++
			break
		}
		if p.b[p.i] == '/' {
			if p.i+1 >= len(p.b) || p.b[p.i+1] != '>' {
				return nil, errFallback
			}
			p.i += 2
			selfClose = true
			break
		}
		if !sp {
			return nil, errFallback
		}
		an, err := p.name()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '=' {
			return nil, errFallback
		}
		p.i++
		p.space()
		if p.i >= len(p.b) || (p.b[p.i] != '"' && p.b[p.i] != '\'') {
			return nil, errFallback
		}
		q := p.b[p.i]
		end := bytes.IndexByte(p.b[p.i+1:], q)
		if end < 0 {
			return nil, errFallback
		}
		vstart := p.i + 1
		p.i += end + 2
		v, err := p.unescape(vstart, vstart+end, true)
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.name == an {
				return nil, errFallback
			}
		}
		attrs = append(attrs, rawAttr{an, v})
		if an == "xmlns" {
			p.scope = append(p.scope, nsBinding{"", v})
		} else if pre, local, ok := strings.Cut(an, ":"); ok && pre == "xmlns" {
			if v == "" {
				return nil, errFallback
			}
			p.scope = append(p.scope, nsBinding{local, v})
		}
	}
	e := p.newElem()
	pre, local, ok := strings.Cut(qname, ":")
	if !ok {
		pre, local = "", qname
	}
	if pre == "xmlns" {
		return nil, errFallback
	}
	space, found := p.lookup(pre)
	if !found {
		return nil, errFallback
	}
	e.space, e.local = space, local
	if len(attrs) > 0 {
		e.attrs = p.newAttrs(len(attrs))
		for i, a := range attrs {
			name := xml.Name{Local: a.name}
			if a.name == "xmlns" {
				name = xml.Name{Local: "xmlns"}
			} else if ap, al, ok := strings.Cut(a.name, ":"); ok {
				s, found := p.lookup(ap)
				if !found {
					return nil, errFallback
				}
				name = xml.Name{Space: s, Local: al}
			}
			e.attrs[i] = xml.Attr{Name: name, Value: a.value}
		}
	}
	if len(p.stack) > 0 {
		top := p.stack[len(p.stack)-1]
		top.kids = append(top.kids, e)
	}
	if selfClose {
		p.scope = p.scope[:mark]
		return e, nil
	}
	p.stack = append(p.stack, e)
	p.names = append(p.names, qname)
	p.marks = append(p.marks, mark)
	return e, nil
}

func (p *fastParser) endTag() error {
	p.i += 2
	qname, err := p.name()
	if err != nil {
		return err
	}
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '>' || len(p.stack) == 0 || p.names[len(p.names)-1] != qname {
		return errFallback
	}
	p.i++
	n := len(p.stack) - 1
	p.scope = p.scope[:p.marks[n]]
	p.stack, p.names, p.marks = p.stack[:n], p.names[:n], p.marks[:n]
	return nil
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// unescape decodes character data or an attribute value: the five
// predefined entities and character references. A carriage return,
// "]]>" in text, white space other than blanks in attributes or '<' in
// attributes go to encoding/xml.
func (p *fastParser) unescape(start, end int, attr bool) (string, error) {
	raw := p.b[start:end]
	plain := true
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '&', c >= 0x80:
			plain = false
		case c == '\r', c < 0x20 && c != '\n' && c != '\t':
			return "", errFallback
		case attr && (c == '<' || c == '\n' || c == '\t'):
			return "", errFallback
		case !attr && c == ']' && bytes.HasPrefix(raw[i:], []byte("]]>")):
			return "", errFallback
		}
	}
	if plain {
		return p.str(start, end), nil
	}
	var sb strings.Builder
	sb.Grow(len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
				return "", errFallback
			}
			sb.Write(raw[i : i+size])
			i += size
			continue
		}
		if c != '&' {
			sb.WriteByte(c)
			i++
			continue
		}
		end := bytes.IndexByte(raw[i:], ';')
		if end < 0 {
			return "", errFallback
		}
		ent := string(raw[i+1 : i+end])
		i += end + 1
		switch ent {
		case "lt":
			sb.WriteByte('<')
		case "gt":
			sb.WriteByte('>')
		case "amp":
			sb.WriteByte('&')
		case "quot":
			sb.WriteByte('"')
		case "apos":
			sb.WriteByte('\'')
		default:
			if !strings.HasPrefix(ent, "#") || len(ent) < 2 {
				return "", errFallback
			}
			var n uint64
			var err error
			if ent[1] == 'x' {
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			}
			if err != nil || !isXMLChar(rune(n)) || n == '\r' {
				return "", errFallback
			}
			sb.WriteRune(rune(n))
		}
	}
	return sb.String(), nil
}
