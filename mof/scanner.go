package mof

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Scanner splits MOF source into tokens. Errors do not stop it: each is
// recorded in Errors and scanning goes on after the bad text, so that one
// pass reports them all.
type Scanner struct {
	src       string
	file      string
	off       int // byte offset of the next character
	line, col int
	Errors    []*Error
}

// NewScanner returns a scanner over src, naming file in positions. A UTF-8
// byte order mark at the start is skipped.
func NewScanner(file, src string) *Scanner {
	s := &Scanner{src: src, file: file, line: 1, col: 1}
	if strings.HasPrefix(src, "\uFEFF") {
		s.off = 3
	}
	return s
}

func (s *Scanner) pos() Pos { return Pos{File: s.file, Line: s.line, Col: s.col} }

func (s *Scanner) errorf(p Pos, format string, args ...any) {
	s.Errors = append(s.Errors, &Error{Pos: p, Msg: sprintf(format, args...)})
}

func (s *Scanner) peek(n int) byte {
	if s.off+n < len(s.src) {
		return s.src[s.off+n]
	}
	return 0
}

// advance moves past one byte, keeping line and column.
func (s *Scanner) advance() {
	if s.src[s.off] == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	s.off++
}

// skip passes white space and comments.
func (s *Scanner) skip() {
	for s.off < len(s.src) {
		c := s.src[s.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f':
			s.advance()
		case c == '/' && s.peek(1) == '/':
			for s.off < len(s.src) && s.src[s.off] != '\n' {
				s.advance()
			}
		case c == '/' && s.peek(1) == '*':
			start := s.pos()
			s.advance()
			s.advance()
			for {
				if s.off >= len(s.src) {
					s.errorf(start, "comment not terminated")
					return
				}
				if s.src[s.off] == '*' && s.peek(1) == '/' {
					s.advance()
					s.advance()
					break
				}
				s.advance()
			}
		default:
			return
		}
	}
}

// punct returns the kind of a one-character token.
func punct(c byte) (Kind, bool) {
	switch c {
	case '{':
		return LBrace, true
	case '}':
		return RBrace, true
	case '[':
		return LBrack, true
	case ']':
		return RBrack, true
	case '(':
		return LParen, true
	case ')':
		return RParen, true
	case ';':
		return Semi, true
	case ',':
		return Comma, true
	case ':':
		return Colon, true
	case '=':
		return Equal, true
	}
	return 0, false
}

func isLetter(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Next returns the next token; at the end it returns EOF forever.
func (s *Scanner) Next() Token {
	s.skip()
	p := s.pos()
	if s.off >= len(s.src) {
		return Token{Kind: EOF, Pos: p}
	}
	c := s.src[s.off]
	switch {
	case isLetter(c):
		start := s.off
		for s.off < len(s.src) && (isLetter(s.src[s.off]) || isDigit(s.src[s.off])) {
			s.advance()
		}
		text := s.src[start:s.off]
		if !utf8.ValidString(text) {
			s.errorf(p, "identifier is not valid UTF-8")
		}
		return Token{Kind: Ident, Pos: p, Text: text}
	case isDigit(c) || ((c == '-' || c == '+' || c == '.') && (isDigit(s.peek(1)) || (s.peek(1) == '.' && isDigit(s.peek(2))))):
		return s.number(p)
	case c == '"':
		return Token{Kind: String, Pos: p, Text: s.quoted('"', p)}
	case c == '\'':
		v := s.quoted('\'', p)
		if utf8.RuneCountInString(v) != 1 {
			s.errorf(p, "a char16 literal holds exactly one character")
		}
		return Token{Kind: Char, Pos: p, Text: v}
	case c == '$':
		s.advance()
		start := s.off
		for s.off < len(s.src) && (isLetter(s.src[s.off]) || isDigit(s.src[s.off])) {
			s.advance()
		}
		if s.off == start {
			s.errorf(p, "expected an alias name after '$'")
		}
		return Token{Kind: Alias, Pos: p, Text: s.src[start:s.off]}
	case c == '#':
		s.advance()
		start := s.off
		for s.off < len(s.src) && isLetter(s.src[s.off]) {
			s.advance()
		}
		if word := s.src[start:s.off]; !strings.EqualFold(word, "pragma") && !strings.EqualFold(word, "include") {
			s.errorf(p, "expected #pragma or #include, found #%s", word)
		}
		return Token{Kind: Directive, Pos: p, Text: s.src[start-1 : s.off]}
	}
	if k, ok := punct(c); ok {
		text := s.src[s.off : s.off+1] // no allocation: the source holds it
		s.advance()
		return Token{Kind: k, Pos: p, Text: text}
	}
	r, size := utf8.DecodeRuneInString(s.src[s.off:])
	s.errorf(p, "unexpected character %q", r)
	for i := 0; i < size && s.off < len(s.src); i++ {
		s.advance()
	}
	return s.Next()
}

// number scans an integer (decimal, 0x hex, leading-zero octal, trailing-b
// binary) or a real, with an optional sign.
func (s *Scanner) number(p Pos) Token {
	start := s.off
	if c := s.src[s.off]; c == '-' || c == '+' {
		s.advance()
	}
	for s.off < len(s.src) && (isLetter(s.src[s.off]) || isDigit(s.src[s.off]) || s.src[s.off] == '.' ||
		((s.src[s.off] == '-' || s.src[s.off] == '+') && (s.src[s.off-1] == 'e' || s.src[s.off-1] == 'E') && !strings.ContainsAny(s.src[start:s.off], "xX"))) {
		s.advance()
	}
	text := s.src[start:s.off]
	digits := strings.TrimLeft(text, "+-")
	switch {
	case strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X"):
		if _, err := strconv.ParseUint(digits[2:], 16, 64); err != nil || len(digits) == 2 {
			s.errorf(p, "malformed hexadecimal number %s", text)
		}
		return Token{Kind: Integer, Pos: p, Text: text}
	case strings.HasSuffix(digits, "b") || strings.HasSuffix(digits, "B"):
		if _, err := strconv.ParseUint(digits[:len(digits)-1], 2, 64); err != nil {
			s.errorf(p, "malformed binary number %s", text)
		}
		return Token{Kind: Integer, Pos: p, Text: text}
	case strings.ContainsAny(digits, ".eE"):
		if _, err := strconv.ParseFloat(digits, 64); err != nil && !strings.Contains(err.Error(), "range") {
			s.errorf(p, "malformed real number %s", text)
		}
		return Token{Kind: Real, Pos: p, Text: text}
	case len(digits) > 1 && digits[0] == '0':
		if _, err := strconv.ParseUint(digits[1:], 8, 64); err != nil {
			s.errorf(p, "malformed octal number %s", text)
		}
		return Token{Kind: Integer, Pos: p, Text: text}
	}
	if _, err := strconv.ParseUint(digits, 10, 64); err != nil {
		s.errorf(p, "malformed number %s", text)
	}
	return Token{Kind: Integer, Pos: p, Text: text}
}

// quoted scans a string or char16 literal and returns its decoded value.
// Escapes: \b \t \n \f \r \" \' \\ and \x or \X with 1 to 4 hex digits.
func (s *Scanner) quoted(q byte, p Pos) string {
	s.advance() // opening quote
	// Fast path: no escape before the closing quote on this line.
	for i := s.off; i < len(s.src); i++ {
		c := s.src[i]
		if c == q {
			text := s.src[s.off:i]
			s.col += i + 1 - s.off
			s.off = i + 1
			return text
		}
		if c == '\\' || c == '\n' {
			break
		}
	}
	var b strings.Builder
	for {
		if s.off >= len(s.src) || s.src[s.off] == '\n' {
			s.errorf(p, "literal not terminated")
			return b.String()
		}
		c := s.src[s.off]
		if c == q {
			s.advance()
			return b.String()
		}
		if c != '\\' {
			b.WriteByte(c)
			s.advance()
			continue
		}
		ep := s.pos()
		s.advance()
		if s.off >= len(s.src) {
			continue
		}
		e := s.src[s.off]
		s.advance()
		switch e {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case '"', '\'', '\\':
			b.WriteByte(e)
		case 'x', 'X':
			start := s.off
			for s.off < len(s.src) && s.off-start < 4 && strings.IndexByte("0123456789abcdefABCDEF", s.src[s.off]) >= 0 {
				s.advance()
			}
			if s.off == start {
				s.errorf(ep, "\\x needs hexadecimal digits")
				continue
			}
			v, _ := strconv.ParseUint(s.src[start:s.off], 16, 32)
			if v >= 0xD800 && v <= 0xDFFF {
				s.errorf(ep, "\\x%s is a surrogate code unit", s.src[start:s.off])
				continue
			}
			b.WriteRune(rune(v))
		default:
			s.errorf(ep, "unknown escape \\%c", e)
		}
	}
}
