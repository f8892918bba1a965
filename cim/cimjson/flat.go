package cimjson

import (
	"github.com/wbemd/wbemd/cim"
)

// decodeFlat decodes, without a tree, the common form of an instance a
// provider streams: one JSON object of class's properties (no system
// property), each value null, a boolean, an integer or a string of
// printable ASCII without escapes, that converts to the property's
// (scalar) type. For anything else, or anything wrong, it reports false
// and decodeTree decodes the document, or says what is wrong with it:
// where decodeFlat succeeds, decodeTree gives the same instance
// (FuzzDecode).
func decodeFlat(data []byte, class string, lookup ClassLookup, spawn Spawner) (*cim.Object, bool) {
	if class == "" || lookup == nil {
		return nil, false
	}
	p := &parser{data: data}
	p.space()
	if p.pos >= len(data) || data[p.pos] != '{' {
		return nil, false
	}
	p.pos++
	cls, err := lookup(class)
	if err != nil || cls == nil || cls.Genus != cim.GenusClass {
		return nil, false
	}
	var inst *cim.Object
	if spawn != nil {
		inst, err = spawn(cls)
	} else {
		inst, err = cls.SpawnInstance()
	}
	if err != nil {
		return nil, false
	}
	var small [4]uint64
	seen := small[:]
	if words := (len(inst.Properties) + 63) / 64; words > len(small) {
		seen = make([]uint64, words)
	}
	p.space()
	if p.pos < len(data) && data[p.pos] == '}' {
		p.pos++
		p.space()
		return inst, p.pos == len(data)
	}
	next := 0
	for {
		p.space()
		key, ok := p.plainString()
		if !ok || len(key) >= 2 && key[0] == '_' && key[1] == '_' {
			return nil, false
		}
		prop, at, found := inst.PropertyNear(key, next)
		if !found || seen[at/64]&(1<<(at%64)) != 0 {
			return nil, false
		}
		seen[at/64] |= 1 << (at % 64)
		next = at + 1
		p.space()
		if p.pos >= len(data) || data[p.pos] != ':' {
			return nil, false
		}
		p.pos++
		p.space()
		if prop.Value, ok = p.flatValue(prop.Type); !ok {
			return nil, false
		}
		p.space()
		if p.pos >= len(data) {
			return nil, false
		}
		c := data[p.pos]
		p.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, false
		}
	}
	p.space()
	return inst, p.pos == len(data)
}

// plainString reads a JSON string of printable ASCII without escapes.
func (p *parser) plainString() (string, bool) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return "", false
	}
	start := p.pos + 1
	for i := start; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == '"':
			p.pos = i + 1
			return string(p.data[start:i]), true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
	}
	return "", false
}

// flatValue reads a value of scalar type t in the forms decodeFlat takes.
func (p *parser) flatValue(t cim.Type) (cim.Value, bool) {
	if t.IsArray() || t.Elem() == cim.TypeObject || p.pos >= len(p.data) {
		return cim.Value{}, false
	}
	var v cim.Value
	var err error
	switch c := p.data[p.pos]; {
	case c == 'n':
		if !p.word("null") {
			return cim.Value{}, false
		}
		return cim.Null(t), true
	case c == 't' || c == 'f':
		if t != cim.TypeBoolean || !p.word("true") && !p.word("false") {
			return cim.Value{}, false
		}
		return cim.Value{Type: t, V: c == 't'}, true
	case c == '"':
		s, ok := p.plainString()
		switch {
		case !ok:
			return cim.Value{}, false
		case t == cim.TypeSint64 || t == cim.TypeUint64:
			v, err = cim.ParseValue(t, s)
		case t == cim.TypeString || t == cim.TypeDatetime || t == cim.TypeReference || t == cim.TypeChar16:
			v, err = cim.NewValue(t, s)
		default:
			return cim.Value{}, false
		}
	case c == '-' || '0' <= c && c <= '9':
		start := p.pos
		if c == '-' {
			p.pos++
		}
		digits := p.pos
		for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
			p.pos++
		}
		n := p.pos - digits
		if n == 0 || n > 1 && p.data[digits] == '0' || !t.IsInteger() && !t.IsReal() {
			return cim.Value{}, false
		}
		if p.pos < len(p.data) {
			if c := p.data[p.pos]; c == '.' || c == 'e' || c == 'E' {
				return cim.Value{}, false
			}
		}
		v, err = cim.ParseValue(t, string(p.data[start:p.pos]))
	default:
		return cim.Value{}, false
	}
	return v, err == nil
}

// word reads the literal w.
func (p *parser) word(w string) bool {
	if len(p.data)-p.pos < len(w) || string(p.data[p.pos:p.pos+len(w)]) != w {
		return false
	}
	p.pos += len(w)
	return true
}
