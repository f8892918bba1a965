package cimxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is one XML element of a request, with its position.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  chars
	line  int
	col   int
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

// kid returns the first child with the name.
func (n *node) kid(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) where() string { return fmt.Sprintf("line %d, column %d", n.line, n.col) }

// maxDepth bounds element nesting (embedded objects nest).
const maxDepth = 128

// maxElements bounds the elements of one request.
const maxElements = 4 << 20

// maxProperties bounds the properties of one instance in a request, as
// OpenPegasus bounds them (CIM_ERR_INVALID_PARAMETER past it).
const maxProperties = 1000

// openValue reports whether the innermost open element is a VALUE or
// KEYVALUE holding text: a value whose end tag is missing.
func openValue(stack []*node) bool {
	if len(stack) == 0 {
		return false
	}
	n := stack[len(stack)-1]
	return (n.name == "VALUE" || n.name == "KEYVALUE") && len(n.kids) == 0 && strings.TrimSpace(n.text.String()) != ""
}

// chars is the character data of an element: one segment kept as is,
// several joined.
type chars struct {
	s    string
	more []byte // the segments so far, when there are several
}

// String returns the text.
func (c *chars) String() string {
	if c.more != nil {
		return string(c.more)
	}
	return c.s
}

// add appends a segment.
func (c *chars) add(s string) {
	switch {
	case c.more != nil:
		c.more = append(c.more, s...)
	case c.s == "":
		c.s = s
	default:
		c.more = append(append(make([]byte, 0, 2*(len(c.s)+len(s))), c.s...), s...)
		c.s = ""
	}
}

// done joins the segments once the element has ended.
func (c *chars) done() {
	if c.more != nil {
		c.s, c.more = string(c.more), nil
	}
}

// parseTree reads a whole XML document into a tree. The document is read
// whole and tokenized by parseFast; what that tokenizer does not take (and
// every malformed document) goes through encoding/xml, which gives the
// errors their classification and positions.
func parseTree(r io.Reader) (*node, error) {
	buf := getBodyBuf()
	defer putBodyBuf(buf)
	if _, err := buf.ReadFrom(r); err != nil {
		// Replay what was read, then the failure, so that a document
		// malformed before the failure fails as it always did.
		return parseTreeXML(io.MultiReader(bytes.NewReader(buf.Bytes()), failingReader{err}))
	}
	return parseBytes(buf.Bytes())
}

// parseBytes reads the XML document b into a tree.
func parseBytes(b []byte) (*node, error) {
	if root, ok := parseFast(b); ok {
		return root, nil
	}
	return parseTreeXML(bytes.NewReader(b))
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// parseTreeXML reads an XML document into a tree with encoding/xml.
func parseTreeXML(r io.Reader) (*node, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var stack []*node
	var root *node
	count := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := d.InputPos()
			e := requestError("malformed XML at line %d, column %d: %v", line, col, err)
			msg := err.Error()
			structural := strings.Contains(msg, "closed by") || strings.Contains(msg, "unexpected EOF") ||
				strings.Contains(msg, "unexpected end element")
			// A value left open (a VALUE or KEYVALUE holding text, closed
			// by its parent's end tag) is a lexical error. Any other tag
			// out of place is structural: OpenPegasus's validator sees
			// the unexpected element first.
			if !structural || strings.Contains(msg, "closed by") && openValue(stack) {
				e.Err = errNotWellFormed
			}
			return nil, e
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if count++; count > maxElements {
				return nil, requestError("the request has more than %d elements", maxElements)
			}
			if len(stack) >= maxDepth {
				line, col := d.InputPos()
				return nil, requestError("elements nest deeper than %d at line %d, column %d", maxDepth, line, col)
			}
			line, col := d.InputPos()
			n := &node{name: t.Name.Local, attrs: t.Attr, line: line, col: col}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack[len(stack)-1].text.done()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.add(string(t))
			}
		case xml.ProcInst:
			if t.Target == "xml" && !strings.Contains(string(t.Inst), "version") {
				line, col := d.InputPos()
				return nil, requestError("the XML declaration has no version (line %d, column %d)", line, col)
			}
		}
	}
	if root == nil {
		return nil, requestError("the request body holds no XML element")
	}
	return root, nil
}
