package cimjson

import (
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
)

// parseFast reads plain JSON into nodes without encoding/json: the form
// every encoder of this package (and of the provider SDKs) writes. It
// returns nil for anything else: string escapes, invalid UTF-8, control
// characters, nesting past maxDepth, duplicate members, and every syntax
// error, which parse then reads with encoding/json, so that errors keep
// their positions and wording. What it takes, parse takes into the same
// tree (FuzzParseFast).
func parseFast(data []byte) *node {
	f := fastParser{data: data}
	n := f.value(0)
	if n == nil {
		return nil
	}
	f.space()
	if f.i != len(f.data) {
		return nil
	}
	return n
}

type fastParser struct {
	data []byte
	i    int
}

func (f *fastParser) space() {
	for f.i < len(f.data) {
		switch f.data[f.i] {
		case ' ', '\t', '\n', '\r':
			f.i++
			continue
		}
		return
	}
}

func (f *fastParser) value(depth int) *node {
	if depth > maxDepth {
		return nil
	}
	f.space()
	if f.i >= len(f.data) {
		return nil
	}
	off := int64(f.i)
	switch c := f.data[f.i]; {
	case c == '{':
		f.i++
		n := &node{kind: 'o', off: off}
		f.space()
		if f.i < len(f.data) && f.data[f.i] == '}' {
			f.i++
			return n
		}
		for {
			f.space()
			key, ok := f.str()
			if !ok {
				return nil
			}
			for _, k := range n.keys {
				if cim.EqualFold(k, key) {
					return nil
				}
			}
			f.space()
			if f.i >= len(f.data) || f.data[f.i] != ':' {
				return nil
			}
			f.i++
			v := f.value(depth + 1)
			if v == nil {
				return nil
			}
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, v)
			f.space()
			if f.i >= len(f.data) {
				return nil
			}
			switch f.data[f.i] {
			case ',':
				f.i++
			case '}':
				f.i++
				return n
			default:
				return nil
			}
		}
	case c == '[':
		f.i++
		n := &node{kind: 'a', off: off}
		f.space()
		if f.i < len(f.data) && f.data[f.i] == ']' {
			f.i++
			return n
		}
		for {
			v := f.value(depth + 1)
			if v == nil {
				return nil
			}
			n.elems = append(n.elems, v)
			f.space()
			if f.i >= len(f.data) {
				return nil
			}
			switch f.data[f.i] {
			case ',':
				f.i++
			case ']':
				f.i++
				return n
			default:
				return nil
			}
		}
	case c == '"':
		s, ok := f.str()
		if !ok {
			return nil
		}
		return &node{kind: 's', off: off, text: s}
	case c == '-' || (c >= '0' && c <= '9'):
		t, ok := f.number()
		if !ok {
			return nil
		}
		return &node{kind: 'n', off: off, text: t}
	case f.word("true"):
		return &node{kind: 'b', off: off, b: true}
	case f.word("false"):
		return &node{kind: 'b', off: off}
	case f.word("null"):
		return &node{kind: 'z', off: off}
	}
	return nil
}

// word consumes w if the input continues with it.
func (f *fastParser) word(w string) bool {
	if len(f.data)-f.i >= len(w) && string(f.data[f.i:f.i+len(w)]) == w {
		f.i += len(w)
		return true
	}
	return false
}

// str reads a string without escapes, control characters or invalid
// UTF-8.
func (f *fastParser) str() (string, bool) {
	if f.i >= len(f.data) || f.data[f.i] != '"' {
		return "", false
	}
	start := f.i + 1
	ascii := true
	for j := start; j < len(f.data); j++ {
		switch c := f.data[j]; {
		case c == '"':
			b := f.data[start:j]
			if !ascii && !utf8.Valid(b) {
				return "", false
			}
			f.i = j + 1
			return string(b), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// number reads a number as JSON's grammar has it.
func (f *fastParser) number() (string, bool) {
	d, start := f.data, f.i
	i := start
	digits := func() bool {
		j := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return "", false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return "", false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return "", false
		}
	}
	f.i = i
	return string(d[start:i]), true
}
