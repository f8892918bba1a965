package cimom

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/wbemd/wbemd/cim"
)

// The repository's key layout. Each record kind has a one-letter prefix;
// parts are separated by 0x00, which no name contains, so that the prefix
// of one namespace never matches another ("root" vs "root/cimv2"). Names
// are folded with cim.Fold; key values too, by cim.KeyString (since
// format 3, see format.go; reverse-reference entries name their targets
// by the folded keys too).
//
//	n 0 <ns>                                   namespace record (JSON)
//	c 0 <ns> 0 <class>                         class as declared (cim.EncodeClass)
//	q 0 <ns> 0 <qualifier>                     qualifier declaration (cim.EncodeQualifierDecl)
//	s 0 <ns> 0 <superclass> 0 <class>          subclass index (value: the class name as written)
//	i 0 <ns> 0 <keyclass> 0 <keys>             instance (cim.EncodeInstance); keyclass is the
//	                                           top-most class declaring the keys, keys is cim.KeyString
//	x 0 <ns> 0 <keyclass> 0 <prop> 0 <value> 0 0 <keys>
//	                                           secondary index entry of an Indexed property;
//	                                           value is an order-preserving encoding
//	e 0 <ns> 0 <keys>                          creator of a CIM_IndicationSubscription (JSON
//	                                           Principal), written and deleted with it
//	d 0 <ns> 0 <keys>                          owned by package indication (delivery cursors)
//	e 0 #ws-eventing 0 <id>                    a WS-Eventing subscription (JSON, eventing.go), and
//	d 0 #ws-eventing 0 <id>                    its cursor: '#' is in no namespace name
//	r 0 <ns> 0 <keyclass> 0 <keys> 0 0 <keyclass> 0 <keys>
//	                                           reverse-reference index entry: the target, then
//	                                           the instance that refers to it (refindex.go)
//	f                                          the repository's format version (format.go)
//	p 0 <ns>                                   no longer written (a registration revision record
//	                                           of earlier versions); deleted with its namespace
const sep = 0

func key(kind byte, parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += 1 + len(p)
	}
	b := make([]byte, 0, n)
	b = append(b, kind)
	for _, p := range parts {
		b = append(b, sep)
		b = append(b, p...)
	}
	return b
}

func prefix(kind byte, parts ...string) []byte { return append(key(kind, parts...), sep) }

func nsKey(ns string) []byte            { return key('n', cim.Fold(ns)) }
func classKey(ns, class string) []byte  { return key('c', cim.Fold(ns), cim.Fold(class)) }
func classPrefix(ns string) []byte      { return prefix('c', cim.Fold(ns)) }
func qualKey(ns, name string) []byte    { return key('q', cim.Fold(ns), cim.Fold(name)) }
func qualPrefix(ns string) []byte       { return prefix('q', cim.Fold(ns)) }
func subPrefix(ns, super string) []byte { return prefix('s', cim.Fold(ns), cim.Fold(super)) }
func subKey(ns, super, class string) []byte {
	return key('s', cim.Fold(ns), cim.Fold(super), cim.Fold(class))
}
func instPrefix(ns, keyClass string) []byte { return prefix('i', cim.Fold(ns), cim.Fold(keyClass)) }
func instKey(ns, keyClass, keys string) []byte {
	return key('i', cim.Fold(ns), cim.Fold(keyClass), keys)
}
func idxPrefix(ns, keyClass, prop string) []byte {
	return prefix('x', cim.Fold(ns), cim.Fold(keyClass), cim.Fold(prop))
}

// idxKey is the index entry of one Indexed property value of one instance.
func idxKey(ns, keyClass, prop string, v cim.Value, keys string) []byte {
	b := idxPrefix(ns, keyClass, prop)
	b = appendOrdered(b, v)
	b = append(b, sep, sep)
	return append(b, keys...)
}

// keyParts splits a key into its kind and its first n parts (the last of
// them takes the rest of the key); ok is false if the key has fewer parts.
func keyParts(k []byte, n int) (kind byte, parts []string, ok bool) {
	if len(k) < 2 || k[1] != sep {
		return 0, nil, false
	}
	kind, rest := k[0], k[2:]
	parts = make([]string, 0, n)
	for len(parts) < n-1 {
		i := bytes.IndexByte(rest, sep)
		if i < 0 {
			return kind, nil, false
		}
		parts = append(parts, string(rest[:i]))
		rest = rest[i+1:]
	}
	return kind, append(parts, string(rest)), true
}

// nsKinds lists the record kinds that live inside a namespace.
var nsKinds = []byte{'c', 'q', 's', 'i', 'x', 'r', 'p'}

// appendOrdered encodes a scalar value so that byte order is value order
// (integers big-endian with the sign flipped, reals by IEEE order, strings
// lower-cased as bytes with 0x00 escaped as 0x00 0xFF). The encoding never contains
// 0x00 0x00, which ends it in an index key.
func appendOrdered(b []byte, v cim.Value) []byte {
	var raw []byte
	switch x := v.V.(type) {
	case int8, int16, int32, int64:
		var n int64
		switch y := x.(type) {
		case int8:
			n = int64(y)
		case int16:
			n = int64(y)
		case int32:
			n = int64(y)
		case int64:
			n = y
		}
		raw = binary.BigEndian.AppendUint64(nil, uint64(n)^(1<<63))
	case uint8, uint16, uint32, uint64, cim.Char16:
		var n uint64
		switch y := x.(type) {
		case uint8:
			n = uint64(y)
		case uint16:
			n = uint64(y)
		case uint32:
			n = uint64(y)
		case uint64:
			n = y
		case cim.Char16:
			n = uint64(y)
		}
		raw = binary.BigEndian.AppendUint64(nil, n)
	case float32, float64:
		var f float64
		if y, ok := x.(float32); ok {
			f = float64(y)
		} else {
			f = x.(float64)
		}
		u := math.Float64bits(f)
		if u&(1<<63) != 0 {
			u = ^u
		} else {
			u |= 1 << 63
		}
		raw = binary.BigEndian.AppendUint64(nil, u)
	case bool:
		raw = []byte{1}
		if x {
			raw[0] = 2
		}
	case string:
		if v.Type == cim.TypeString {
			// Strings are indexed folded: WQL compares them without
			// regard to case, and keys fold the same way.
			raw = []byte(cim.Fold(x))
		} else {
			raw = []byte(x)
		}
	default:
		raw = []byte(cim.FormatValue(v))
	}
	for _, c := range raw {
		b = append(b, c)
		if c == 0 {
			b = append(b, 0xFF)
		}
	}
	return b
}
