package xmltok

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Byte classes of names.
const (
	nameEnd   = iota // ends a name
	nameFirst        // starts or continues a name: a letter or _
	nameNext         // continues a name: a digit, . or -
	nameColon        // separates a prefix from a local name
	nameWide         // a byte of a character outside ASCII
)

var nameClass = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
			t[c] = nameFirst
		case '0' <= c && c <= '9' || c == '.' || c == '-':
			t[c] = nameNext
		case c == ':':
			t[c] = nameColon
		case c >= utf8.RuneSelf:
			t[c] = nameWide
		}
	}
	return t
}()

// scanName returns the end of the name at src[a:]: ASCII, with at most
// one colon, between a prefix and a local name.
func (s *Scanner) scanName(a int) (int, error) {
	src := s.src
	if a < len(src) && nameClass[src[a]] == nameFirst {
		j := a + 1
		for j < len(src) && nameClass[src[j]]-nameFirst <= nameNext-nameFirst {
			j++
		}
		if j < len(src) && nameClass[src[j]] == nameEnd {
			return j, nil
		}
	}
	return s.scanQName(a)
}

// scanQName is scanName for a name with a prefix, and for what is not a
// name.
func (s *Scanner) scanQName(a int) (int, error) {
	src := s.src
	if a >= len(src) {
		return 0, s.short()
	}
	switch nameClass[src[a]] {
	case nameFirst:
	case nameColon, nameWide:
		return 0, s.errorf(ErrUnsupported, "a name that starts with a colon or a character outside ASCII")
	default:
		return 0, s.errorf(nil, "expected a name")
	}
	colon := -1
	for j := a + 1; j < len(src); j++ {
		switch nameClass[src[j]] {
		case nameFirst, nameNext:
			continue
		case nameColon:
			if colon >= 0 || j+1 < len(src) && nameClass[src[j+1]] != nameFirst {
				return 0, s.errorf(ErrUnsupported, "a name with an unusual colon")
			}
			colon = j
			s.prefixed = true
			continue
		case nameWide:
			return 0, s.errorf(ErrUnsupported, "a name with a character outside ASCII")
		}
		return j, nil
	}
	return 0, s.short() // a name never ends a document
}

// Modes of character data.
const (
	inText  = iota // text: "]]>" is refused
	inAttr         // an attribute value: '<' is refused
	inCDATA        // a CDATA section: taken as it is
)

// Byte classes of character data.
const (
	textPlain   = iota
	textSpecial // & or \r: the text is decoded
	textBad     // a control character
	textGT      // >, which may end "]]>"
	textLT      // <
	textWide    // the start of a multi-byte character
	textNewline // \n, which starts a line
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
		case c == '\n':
			t[c] = textNewline
		}
	}
	return t
}()

// chars checks and decodes the character data src[a:b]: in text and
// attribute values, the predefined entities and character references; in
// all, "\r\n" and a lone "\r" become "\n". The position of an error is
// where the character data starts. It notes the lines the data ends, for
// advance.
func (s *Scanner) chars(a, b int, mode int) (string, error) {
	src := s.src
	plain := true
	nl, last := 0, 0
	j := a
	for j+8 <= b && plain8(binary.LittleEndian.Uint64(src[j:])) {
		j += 8
	}
	for j < b {
		c := src[j]
		switch textClass[c] {
		case textPlain:
			j++
			continue
		case textNewline:
			nl, last = nl+1, j
			j++
			continue
		case textSpecial:
			if c == '\r' || mode != inCDATA {
				plain = false
			}
		case textBad:
			return "", s.errorf(nil, "illegal character code %U", rune(c))
		case textGT:
			if mode == inText && j-a >= 2 && src[j-1] == ']' && src[j-2] == ']' {
				return "", s.errorf(nil, "unescaped ]]> not in CDATA section")
			}
		case textLT:
			if mode == inAttr {
				return "", s.errorf(nil, "unescaped < inside quoted string")
			}
		case textWide:
			r, size := utf8.DecodeRune(src[j:b])
			if r == utf8.RuneError && size == 1 {
				return "", s.errorf(nil, "invalid UTF-8")
			}
			if !inCharRange(r) {
				return "", s.errorf(nil, "illegal character code %U", r)
			}
			j += size
			continue
		}
		j++
	}
	s.nl, s.lastNL = nl, last
	if plain {
		if mode == inAttr && !s.shared {
			return s.value(a, b), nil
		}
		return s.sub(a, b), nil
	}
	out := s.buf[:0]
	if cap(out) < b-a {
		out = make([]byte, 0, b-a) // decoding never lengthens
	}
	for j := a; j < b; j++ {
		switch c := src[j]; {
		case c == '\r':
			out = append(out, '\n')
			if j+1 < b && src[j+1] == '\n' {
				j++
			}
		case c == '&' && mode != inCDATA:
			var n int
			out, n = appendEntity(out, src[j+1:b])
			if n == 0 {
				s.buf = out
				return "", s.errorf(nil, "invalid character entity at %q", truncate(src[j:b]))
			}
			j += n
		default:
			out = append(out, c)
		}
	}
	s.buf = out
	return string(out), nil
}

// plain8 reports whether the 8 bytes of x are all plain text (textPlain:
// printable ASCII but &, < and >), testing them at once.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs } // a byte of v is 0
	below := (x - ones*0x20) & ^x & highs                            // a byte is under 0x20
	return (below | x&highs | zero(x^(ones*'&')) | zero(x^(ones*'<')) | zero(x^(ones*'>'))) == 0
}

// appendEntity decodes the entity or character reference at b (after its
// &), as encoding/xml decodes them, and returns its length with the
// semicolon, or 0 when it is not one.
func appendEntity(out, b []byte) ([]byte, int) {
	if len(b) > 0 && b[0] == '#' {
		base, digits := 10, 1
		if len(b) > 1 && b[1] == 'x' {
			base, digits = 16, 2
		}
		end := digits
		for end < len(b) && isDigit(b[end], base) {
			end++
		}
		if end == len(b) || b[end] != ';' {
			return out, 0
		}
		n, err := strconv.ParseUint(string(b[digits:end]), base, 64)
		if err != nil || n > unicode.MaxRune {
			return out, 0
		}
		r := rune(n)
		if !utf8.ValidRune(r) {
			r = utf8.RuneError // as string(rune(n)) makes it
		}
		if !inCharRange(r) {
			return out, 0
		}
		return utf8.AppendRune(out, r), end + 1
	}
	for _, e := range [...]struct {
		name string
		r    byte
	}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}} {
		if bytes.HasPrefix(b, []byte(e.name)) {
			return append(out, e.r), len(e.name)
		}
	}
	return out, 0
}

func isDigit(c byte, base int) bool {
	return '0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
}

// truncate shortens an entity for an error message.
func truncate(b []byte) []byte {
	if k := bytes.IndexByte(b, ';'); k >= 0 && k < 16 {
		return b[:k+1]
	}
	return b[:min(len(b), 16)]
}

// inCharRange reports whether r is an XML character (XML 1.0 §2.2).
func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
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

// pseudoAttr reads name="value" after white space and returns what
// follows it.
func pseudoAttr(b []byte, name string, good func([]byte) bool) ([]byte, bool) {
	t := trimSpace(b)
	if len(t) == len(b) {
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
