package cimjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
)

// maxDepth bounds JSON nesting (WMI's WBEM_MAX_OBJECT_NESTING is 64; arrays
// add one level each).
const maxDepth = 128

// node is one JSON value with the byte offset where it starts, so that
// errors can name a line and column.
type node struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null
	off   int64
	text  string // string value or number text
	b     bool
	keys  []string // object members, in input order
	vals  []*node
	elems []*node // array elements
}

func (n *node) member(name string) (*node, bool) {
	for i, k := range n.keys {
		if cim.EqualFold(k, name) {
			return n.vals[i], true
		}
	}
	return nil, false
}

// parser reads a JSON document (RFC 8259) into nodes, byte by byte: the
// provider wire decodes every instance of an enumeration with it, and
// encoding/json's token reader costs several times as much. Strings with
// escapes or bytes that are not UTF-8 are decoded by encoding/json, so
// that they read exactly as json.Unmarshal reads them.
type parser struct {
	data  []byte
	pos   int
	spawn Spawner // makes the instances Decode fills (nil: SpawnInstance)
}

func parse(data []byte) (*node, error) {
	p := &parser{data: data}
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.data) {
		return nil, p.errAt(int64(p.pos), "unexpected data after the JSON value")
	}
	return n, nil
}

// space skips JSON white space.
func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
			continue
		}
		return
	}
}

// eof is the error of a document that ends too soon.
func (p *parser) eof() error {
	return p.errAt(int64(len(p.data)), "unexpected end of JSON input")
}

func (p *parser) node(depth int) (*node, error) {
	p.space()
	off := int64(p.pos)
	if depth > maxDepth {
		return nil, p.errAt(off, "JSON nested more than %d levels", maxDepth)
	}
	if p.pos >= len(p.data) {
		return nil, p.eof()
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		n := &node{kind: 'o', off: off}
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return n, nil
		}
		for {
			p.space()
			koff := int64(p.pos)
			if p.pos >= len(p.data) {
				return nil, p.eof()
			}
			if p.data[p.pos] != '"' {
				return nil, p.errAt(koff, "expected a member name")
			}
			key, err := p.jsonString()
			if err != nil {
				return nil, err
			}
			for _, k := range n.keys {
				if cim.EqualFold(k, key) {
					return nil, p.errAt(koff, "duplicate member %q", key)
				}
			}
			p.space()
			if p.pos >= len(p.data) {
				return nil, p.eof()
			}
			if p.data[p.pos] != ':' {
				return nil, p.errAt(int64(p.pos), "expected ':' after a member name")
			}
			p.pos++
			v, err := p.node(depth + 1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, v)
			if done, err := p.next('}'); done || err != nil {
				return n, err
			}
		}
	case c == '[':
		p.pos++
		n := &node{kind: 'a', off: off}
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return n, nil
		}
		for {
			v, err := p.node(depth + 1)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, v)
			if done, err := p.next(']'); done || err != nil {
				return n, err
			}
		}
	case c == '"':
		s, err := p.jsonString()
		if err != nil {
			return nil, err
		}
		return &node{kind: 's', off: off, text: s}, nil
	case c == '-' || '0' <= c && c <= '9':
		if err := p.number(); err != nil {
			return nil, err
		}
		return &node{kind: 'n', off: off, text: string(p.data[off:p.pos])}, nil
	case c == 't':
		return &node{kind: 'b', off: off, b: true}, p.literal("true")
	case c == 'f':
		return &node{kind: 'b', off: off}, p.literal("false")
	case c == 'n':
		return &node{kind: 'z', off: off}, p.literal("null")
	default:
		return nil, p.errAt(off, "invalid character %q looking for the beginning of a value", c)
	}
}

// next reads the separator after a member or element: true at the
// closing byte, false at a comma.
func (p *parser) next(closing byte) (bool, error) {
	p.space()
	if p.pos >= len(p.data) {
		return false, p.eof()
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.errAt(int64(p.pos), "expected ',' or '%c', found %q", closing, p.data[p.pos])
}

// literal reads the word w (true, false or null).
func (p *parser) literal(w string) error {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(w)) {
		if len(p.data)-p.pos < len(w) && bytes.HasPrefix([]byte(w), p.data[p.pos:]) {
			return p.eof()
		}
		return p.errAt(int64(p.pos), "invalid literal (expected %s)", w)
	}
	p.pos += len(w)
	return nil
}

// number reads a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() error {
	d := p.data
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(d) && '0' <= d[p.pos] && d[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	bad := func() error {
		if p.pos >= len(d) {
			return p.eof()
		}
		return p.errAt(int64(p.pos), "invalid character %q in the number %s", d[p.pos], d[start:p.pos])
	}
	if d[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(d) && d[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return bad()
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return bad()
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return bad()
		}
	}
	return nil
}

// jsonString reads a string at p.pos (its opening quote).
func (p *parser) jsonString() (string, error) {
	d := p.data
	start := p.pos
	plain := true
	for i := start + 1; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			raw := d[start:p.pos]
			if plain || !bytes.ContainsRune(raw, '\\') && utf8.Valid(raw) {
				return string(d[start+1 : i]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", p.errAt(int64(start), "invalid string: %v", err)
			}
			return s, nil
		case c == '\\':
			plain = false
			i++
		case c < 0x20:
			return "", p.errAt(int64(i), "invalid character %q in a string", c)
		case c >= 0x80:
			plain = false
		}
	}
	return "", p.eof()
}

// errAt returns a WBEM_E_INVALID_PARAMETER error naming the line and column
// of byte offset off.
func (p *parser) errAt(off int64, format string, args ...any) error {
	return cim.Errorf(cim.EInvalidParameter, "%s: %s", position(p.data, off), fmt.Sprintf(format, args...))
}

// position formats a byte offset as "line:col" (both 1-based).
func position(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("%d:%d", line, col)
}
