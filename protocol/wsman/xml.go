package wsman

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// elem is one decoded XML element: its expanded name, attributes, the
// character data directly inside it and its child elements.
type elem struct {
	space, local string
	attrs        []xml.Attr
	text         string
	kids         []*elem
}

// is reports whether e has the expanded name {space}local.
func (e *elem) is(space, local string) bool {
	return e != nil && e.space == space && e.local == local
}

// kid returns the first child named {space}local.
func (e *elem) kid(space, local string) *elem {
	if e == nil {
		return nil
	}
	for _, k := range e.kids {
		if k.is(space, local) {
			return k
		}
	}
	return nil
}

// attr returns the value of the attribute with the local name (in no
// namespace, or in space when space is not "").
func (e *elem) attr(space, local string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == space) {
			return a.Value, true
		}
	}
	return "", false
}

// trimmed returns e's text without surrounding white space.
func (e *elem) trimmed() string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.text)
}

// Decoder limits: a request is bounded by the handler's size limit; these
// bound its shape.
const (
	maxDepth    = 64
	maxElements = 200000
)

// errMalformed marks XML that is not well-formed or too deep.
var errMalformed = errors.New("malformed XML")

// parseXML reads one XML document into a tree with encoding/xml's
// streaming decoder.
func parseXML(r io.Reader) (*elem, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	var stack []*elem
	var root *elem
	var text strings.Builder
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%w: a second root element <%s>", errMalformed, t.Name.Local)
			}
			count++
			if len(stack) >= maxDepth || count > maxElements {
				return nil, fmt.Errorf("%w: elements nested deeper than %d or more than %d elements", errMalformed, maxDepth, maxElements)
			}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text += text.String()
			}
			text.Reset()
			e := &elem{space: t.Name.Space, local: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, e)
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			top := stack[len(stack)-1]
			top.text += text.String()
			text.Reset()
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if strings.TrimSpace(string(t)) != "" {
					return nil, fmt.Errorf("%w: text outside the root element", errMalformed)
				}
				continue
			}
			text.Write(t)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", errMalformed)
	}
	return root, nil
}
