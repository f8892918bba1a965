package cimjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

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

// parser reads a JSON document into nodes.
type parser struct {
	data []byte
	dec  *json.Decoder
}

func parse(data []byte) (*node, error) {
	if n := parseFast(data); n != nil {
		return n, nil
	}
	p := &parser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, p.errAt(p.dec.InputOffset(), "unexpected data after the JSON value")
	}
	return n, nil
}

func (p *parser) node(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.errAt(p.dec.InputOffset(), "JSON nested more than %d levels", maxDepth)
	}
	off := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(err)
	}
	off = p.skipSpace(off)
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o', off: off}
			for p.dec.More() {
				koff := p.skipSpace(p.dec.InputOffset())
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.syntax(err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, p.errAt(koff, "expected a member name")
				}
				for _, k := range n.keys {
					if cim.EqualFold(k, key) {
						return nil, p.errAt(koff, "duplicate member %q", key)
					}
				}
				v, err := p.node(depth + 1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.syntax(err)
			}
			return n, nil
		case '[':
			n := &node{kind: 'a', off: off}
			for p.dec.More() {
				v, err := p.node(depth + 1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.syntax(err)
			}
			return n, nil
		}
		return nil, p.errAt(off, "unexpected %q", t)
	case string:
		return &node{kind: 's', off: off, text: t}, nil
	case json.Number:
		return &node{kind: 'n', off: off, text: string(t)}, nil
	case bool:
		return &node{kind: 'b', off: off, b: t}, nil
	case nil:
		return &node{kind: 'z', off: off}, nil
	}
	return nil, p.errAt(off, "unexpected token")
}

// skipSpace moves an offset reported before a token past white space and
// separators to the token itself.
func (p *parser) skipSpace(off int64) int64 {
	for off < int64(len(p.data)) {
		switch p.data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *parser) syntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return p.errAt(se.Offset, "%s", se.Error())
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return p.errAt(int64(len(p.data)), "unexpected end of JSON input")
	}
	return p.errAt(p.dec.InputOffset(), "%v", err)
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
