// Package xmltok is wbemd's XML tokenizer, shared by the CIM-XML and
// WS-Management doors and by the CIM-XML client.
//
// A Scanner reads a document held whole in memory (Reset) or streamed from
// an io.Reader with a bounded window (ResetReader), and hands out its
// elements and character data one token at a time, as encoding/xml's
// Decoder.Token does in Strict mode: what the Scanner takes, encoding/xml
// takes with the same tokens. It reads the XML that WBEM peers write:
// ASCII names with at most one prefix, attributes, character data with the
// predefined entities and character references, CDATA sections, comments,
// processing instructions and an XML declaration of version 1.0 in UTF-8.
// It never expands an entity of a DTD: a DOCTYPE (or any other <!
// declaration), a name outside ASCII, another encoding or version are
// refused with an error that wraps ErrUnsupported, so that a caller can
// hand such a document to encoding/xml (which gives its precise error or
// tree) or refuse it. Every other error is a malformed document, with its
// line and column.
//
// The tokenizer is built for speed: in a small document held whole, names,
// attribute values and plain text are substrings of one string copy of it
// (no allocation per token); in a larger one they are copied one by one
// (known names excepted, see Scanner.Names), so that a value kept from a
// large document does not keep all of it alive.
package xmltok

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
)

// Kind is the kind of a token.
type Kind uint8

// Kinds of tokens.
const (
	// EOF is the end of the document.
	EOF Kind = iota
	// StartElement opens an element: Name and Attrs tell it. A
	// self-closing element gives a StartElement, then an EndElement.
	StartElement
	// EndElement closes the innermost open element, named by Name.
	EndElement
	// CharData is character data (text or a CDATA section), decoded:
	// Text tells it.
	CharData
)

// Attr is an attribute of a start tag, with its qualified name as
// written (prefix:local) and its decoded value.
type Attr struct {
	Name, Value string
}

// Scanner reads the tokens of one document. The zero Scanner is ready for
// Reset or ResetReader; a Scanner can be reused for many documents.
type Scanner struct {
	// MaxDepth bounds the nesting of elements (0: no bound); a deeper
	// element is an error that wraps ErrLimit.
	MaxDepth int
	// Names, when set, maps names to copies that are kept: a name found
	// there is not copied out of a document that is not shared (large or
	// streamed). It is only read.
	Names map[string]string

	src    []byte // the document, or the window of a streamed one
	str    string // string(src) when shared
	shared bool
	values map[string]string // attribute values kept across documents (see value)
	recent *recent           // the names and values found last, before Names and values
	memo   *memo             // the start tags read last (see memo)
	i      int               // next byte of src
	base   int64             // offset in the document of src[0]
	line   int               // line of src[i]
	ls     int64             // offset in the document of the start of that line

	r        io.Reader // the stream; nil when src is the whole document
	eof      bool      // the stream has ended (r gave an error)
	maxToken int       // the largest token of a stream

	stack     []string // names of the open elements, then of the one just closed
	deep      int      // the most elements open at once: stack[:deep] is cleared on reset
	at        int      // where in stack the name of the last element opened or closed is
	kind      Kind
	attrs     []Attr
	text      string
	closeNext bool // the last start tag closed itself: an EndElement is due
	prefixed  bool // a name of the last start tag has a prefix
	nl        int  // new lines in the character data chars read last
	lastNL    int  // where in src the last of them is
	buf       []byte
	err       error
}

// ShareLimit is the size up to which the strings of a document held whole
// share one copy of it.
const ShareLimit = 16 << 10

// ErrUnsupported is wrapped by the error for a document that is valid XML,
// or might be, in a form the tokenizer does not read (a DOCTYPE, a name
// outside ASCII, another encoding): a caller may give it to encoding/xml.
var ErrUnsupported = errors.New("outside what the tokenizer reads")

// ErrLimit is wrapped by the error for a document past a bound of the
// Scanner (MaxDepth, the largest token of a stream).
var ErrLimit = errors.New("past a limit")

// Error is a document the tokenizer does not take, with the position (line
// and column, from 1, in bytes) where it found why.
type Error struct {
	Line, Column int
	Msg          string
	kind         error // ErrUnsupported, ErrLimit or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns ErrUnsupported or ErrLimit when the error is one.
func (e *Error) Unwrap() error { return e.kind }

// Reset starts reading the whole document src. The Scanner keeps src (and
// returns parts of it) until the next Reset.
func (s *Scanner) Reset(src []byte) {
	s.reset()
	s.src = src
	if len(src) <= ShareLimit {
		s.str, s.shared = string(src), true
	}
}

// ResetReader starts reading a document streamed from r, holding at most
// about twice maxToken bytes of it at a time: a token (a tag with its
// attributes, a run of text, a comment) longer than maxToken is an error
// that wraps ErrLimit. An error of r other than io.EOF ends the document
// with that error, wrapped.
func (s *Scanner) ResetReader(r io.Reader, maxToken int) {
	buf := s.src
	if s.r == nil || cap(buf) > 1<<20 {
		buf = nil // a document of the caller's, or a grown window: not reused
	}
	s.reset()
	s.r, s.maxToken = r, maxToken
	s.src = buf[:0]
}

// reset clears the Scanner for a new document, keeping its working
// memory unless it grew large.
func (s *Scanner) reset() {
	clear(s.stack[:s.deep])
	clear(s.attrs[:cap(s.attrs)])
	s.stack, s.attrs, s.buf = s.stack[:0], s.attrs[:0], s.buf[:0]
	if cap(s.stack) > 1024 || cap(s.attrs) > 1024 || cap(s.buf) > 64<<10 {
		s.stack, s.attrs, s.buf = nil, nil, nil
	}
	s.src, s.str, s.shared, s.i, s.base, s.line, s.ls = nil, "", false, 0, 0, 1, 0
	s.r, s.eof, s.maxToken = nil, false, 0
	s.deep, s.at, s.kind, s.text, s.closeNext, s.err = 0, 0, EOF, "", false, nil
}

// Name returns the qualified name of the element a StartElement or
// EndElement opens or closes.
func (s *Scanner) Name() string {
	if st := s.stack[:cap(s.stack)]; s.at < len(st) {
		return st[s.at]
	}
	return ""
}

// Attrs returns the attributes of a StartElement, in document order
// (duplicates included, as encoding/xml gives them). The slice is the
// Scanner's and is overwritten by the next start tag.
func (s *Scanner) Attrs() []Attr { return s.attrs }

// Prefixed reports whether the name of a StartElement or one of its
// attributes' names has a prefix (prefix:local).
func (s *Scanner) Prefixed() bool { return s.prefixed }

// Text returns the decoded character data of a CharData.
func (s *Scanner) Text() string { return s.text }

// Pos returns the line and column (from 1, in bytes) just after the last
// token, as encoding/xml's Decoder.InputPos does.
func (s *Scanner) Pos() (line, column int) {
	return s.line, int(s.base + int64(s.i) - s.ls + 1)
}

// Offset returns how many bytes of the document the tokens so far span.
func (s *Scanner) Offset() int64 { return s.base + int64(s.i) }

// Depth returns how many elements are open.
func (s *Scanner) Depth() int { return len(s.stack) }

// Next reads the next token. Comments, processing instructions and the
// XML declaration give no token. At the end of the document it returns
// EOF; an element left open there is an error. After an error, Next
// returns it again.
func (s *Scanner) Next() (Kind, error) {
	if s.err != nil {
		return EOF, s.err
	}
	if s.closeNext {
		s.closeNext = false
		s.pop()
		return EndElement, nil
	}
	for {
		if s.i == len(s.src) && !s.more(s.i) {
			return s.end()
		}
		start, line, ls := s.i, s.line, s.ls
		err := s.token()
		if err == nil && s.r != nil && s.i-start > s.maxToken {
			s.i, s.line, s.ls = start, line, ls
			err = s.errorf(ErrLimit, "a token longer than %d bytes", s.maxToken)
		}
		if err == nil {
			if s.kind == EOF { // a comment or processing instruction
				continue
			}
			return s.kind, nil
		}
		if err == errShort {
			// Read more and scan the token again; at the end of the
			// stream, the scan gives the error.
			s.i, s.line, s.ls = start, line, ls
			if s.more(start) || s.err == nil {
				continue
			}
			err = s.err
		}
		s.err = err
		return EOF, err
	}
}

// end reports the end of the document.
func (s *Scanner) end() (Kind, error) {
	switch {
	case s.err != nil:
	case len(s.stack) > 0:
		s.err = s.errorf(nil, "unexpected EOF: element <%s> is not closed", s.stack[len(s.stack)-1])
	default:
		return EOF, nil
	}
	return EOF, s.err
}

// errShort reports that a token runs past the end of src: more of the
// stream may complete it.
var errShort = errors.New("short")

// short is what a scan returns when it runs off the end of src.
func (s *Scanner) short() error {
	if s.r == nil || s.eof {
		return s.errorf(nil, "unexpected EOF")
	}
	return errShort
}

// errorf returns an error at the current position.
func (s *Scanner) errorf(kind error, format string, args ...any) error {
	line, col := s.Pos()
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, args...), kind: kind}
}

// firstWindow is the size of a stream's first window.
const firstWindow = 32 << 10

// bigToken is the length of a partial token past which more waits for
// half as much again before the token is scanned again, so that a long
// token is scanned a bounded number of times whatever the reads give.
const bigToken = 4 << 10

// more drops src[:start] and reads more of the stream after what is held;
// it reports whether it read anything.
func (s *Scanner) more(start int) bool {
	if s.r == nil || s.eof {
		return false
	}
	if start > 0 {
		n := copy(s.src, s.src[start:])
		s.src = s.src[:n]
		s.base += int64(start)
		s.i -= start
	}
	held := len(s.src)
	if held >= s.maxToken {
		s.err = s.errorf(ErrLimit, "a token longer than %d bytes", s.maxToken)
		return false
	}
	want := held + 1
	if held >= bigToken {
		want = min(held+held/2, s.maxToken+1)
	}
	for empty := 0; len(s.src) < want && !s.eof; {
		if len(s.src) == cap(s.src) {
			grown := make([]byte, len(s.src), max(firstWindow, 2*cap(s.src), want))
			copy(grown, s.src)
			s.src = grown
		}
		n, err := s.r.Read(s.src[len(s.src):cap(s.src)])
		s.src = s.src[:len(s.src)+n]
		if n == 0 && err == nil {
			if empty++; empty == 100 {
				err = io.ErrNoProgress
			}
		}
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.err = fmt.Errorf("reading the document: %w", err)
			}
		}
	}
	return len(s.src) > held
}

// token reads the token at src[i]: it sets kind (EOF for a token that
// gives none), or returns an error (errShort when src ends first).
func (s *Scanner) token() error {
	src := s.src
	if src[s.i] != '<' {
		return s.charData()
	}
	if s.i+1 >= len(src) {
		return s.short()
	}
	switch src[s.i+1] {
	case '/':
		return s.endTag()
	case '?':
		s.kind = EOF
		return s.procInst()
	case '!':
		return s.bang()
	}
	return s.startTag()
}

// charData reads text up to the next '<' or the end of the document.
func (s *Scanner) charData() error {
	end := bytes.IndexByte(s.src[s.i:], '<')
	if end < 0 {
		if s.r != nil && !s.eof {
			return errShort
		}
		end = len(s.src)
	} else {
		end += s.i
	}
	text, err := s.chars(s.i, end, inText)
	if err != nil {
		return err
	}
	s.advance(end)
	s.kind, s.text = CharData, text
	return nil
}

// bang reads what starts with "<!": a comment or a CDATA section. Other
// declarations (DOCTYPE, ENTITY) are not read.
func (s *Scanner) bang() error {
	src := s.src[s.i:]
	if len(src) < 3 {
		return s.short()
	}
	switch src[2] {
	case '-':
		if len(src) < 4 {
			return s.short()
		}
		if src[3] != '-' {
			return s.errorf(nil, "invalid sequence <!- not part of <!--")
		}
		return s.comment()
	case '[':
		return s.cdata()
	}
	return s.errorf(ErrUnsupported, "a DOCTYPE or other <! declaration")
}

// comment skips a comment: it ends at the first "--", which must be
// followed by '>'.
func (s *Scanner) comment() error {
	body := s.i + 4
	k := bytes.Index(s.src[body:], []byte("--"))
	if k < 0 || body+k+2 >= len(s.src) {
		return s.short()
	}
	if s.src[body+k+2] != '>' {
		s.lines(body + k)
		return s.errorf(nil, `invalid sequence "--" not allowed in comments`)
	}
	s.lines(body + k + 3)
	s.kind = EOF
	return nil
}

// cdata reads a CDATA section.
func (s *Scanner) cdata() error {
	const open = "<![CDATA["
	rest := s.src[s.i:]
	if len(rest) < len(open) {
		if bytes.HasPrefix([]byte(open), rest) {
			return s.short()
		}
		return s.errorf(nil, "invalid <![ sequence")
	}
	if string(rest[:len(open)]) != open {
		return s.errorf(nil, "invalid <![ sequence")
	}
	body := s.i + len(open)
	k := bytes.Index(s.src[body:], []byte("]]>"))
	if k < 0 {
		return s.short()
	}
	text, err := s.chars(body, body+k, inCDATA)
	if err != nil {
		return err
	}
	s.advance(body + k + 3)
	s.kind, s.text = CharData, text
	return nil
}

// procInst skips a processing instruction. The XML declaration must say
// version 1.0, and UTF-8 if it names an encoding.
func (s *Scanner) procInst() error {
	a := s.i + 2
	e, err := s.scanName(a)
	if err != nil {
		return err
	}
	if bytes.IndexByte(s.src[a:e], ':') >= 0 {
		return s.errorf(ErrUnsupported, "a processing instruction target with a colon")
	}
	k := bytes.Index(s.src[e:], []byte("?>"))
	if k < 0 {
		return s.short()
	}
	if string(s.src[a:e]) == "xml" && !plainDeclaration(s.src[e:e+k]) {
		return s.errorf(ErrUnsupported, "an XML declaration other than version 1.0 in UTF-8")
	}
	s.lines(e + k + 2)
	return nil
}

// endTag reads an end tag, which must close the innermost open element.
func (s *Scanner) endTag() error {
	a := s.i + 2
	// The usual end tag: the innermost open element's name, then '>'.
	if n := len(s.stack); n > 0 {
		top := s.stack[n-1]
		if e := a + len(top); e < len(s.src) && s.src[e] == '>' && string(s.src[a:e]) == top {
			s.i = e + 1
			s.pop()
			return nil
		}
	}
	e, err := s.scanName(a)
	if err != nil {
		return err
	}
	if len(s.stack) == 0 {
		return s.errorf(nil, "unexpected end element </%s>", s.src[a:e])
	}
	if top := s.stack[len(s.stack)-1]; string(s.src[a:e]) != top {
		return s.errorf(nil, "element <%s> closed by </%s>", top, s.src[a:e])
	}
	s.i = e
	s.space()
	if s.i >= len(s.src) {
		return s.short()
	}
	if s.src[s.i] != '>' {
		return s.errorf(nil, "invalid characters between </%s and >", s.src[a:e])
	}
	s.i++
	s.pop()
	return nil
}

// pop closes the innermost open element; its name stays just past the
// stack for Name.
func (s *Scanner) pop() {
	s.stack = s.stack[:len(s.stack)-1]
	s.at, s.kind = len(s.stack), EndElement
}

// startTag reads a start tag with its attributes.
func (s *Scanner) startTag() error {
	var name string
	var empty bool
	if m := s.memoHit(); m != nil {
		name, empty, s.prefixed = m.name, m.empty, m.prefixed
		s.attrs = append(s.attrs[:0], m.attrs...)
	} else {
		start := s.i
		var err error
		if name, empty, err = s.scanStartTag(); err != nil {
			return err
		}
		s.memoize(start, name, empty)
	}
	if s.MaxDepth > 0 && len(s.stack) >= s.MaxDepth {
		return s.errorf(ErrLimit, "elements nest deeper than %d", s.MaxDepth)
	}
	s.stack = append(s.stack, name)
	s.at, s.deep = len(s.stack)-1, max(s.deep, len(s.stack))
	s.kind, s.closeNext = StartElement, empty
	return nil
}

// scanStartTag reads the name and attributes of a start tag.
func (s *Scanner) scanStartTag() (name string, empty bool, err error) {
	src := s.src
	a := s.i + 1
	s.prefixed = false
	e, err := s.scanName(a)
	if err != nil {
		return "", false, err
	}
	name = s.intern(a, e)
	s.i = e
	s.attrs = s.attrs[:0]
	for {
		s.space()
		if s.i >= len(src) {
			return "", false, s.short()
		}
		c := src[s.i]
		if c == '/' {
			if s.i+1 >= len(src) {
				return "", false, s.short()
			}
			if src[s.i+1] != '>' {
				return "", false, s.errorf(nil, "expected /> in element")
			}
			s.i += 2
			return name, true, nil
		}
		if c == '>' {
			s.i++
			return name, false, nil
		}
		ae, err := s.scanName(s.i)
		if err != nil {
			return "", false, err
		}
		an := s.intern(s.i, ae)
		s.i = ae
		s.space()
		if s.i >= len(src) {
			return "", false, s.short()
		}
		if src[s.i] != '=' {
			return "", false, s.errorf(nil, "attribute name without = in element")
		}
		s.i++
		s.space()
		if s.i >= len(src) {
			return "", false, s.short()
		}
		q := src[s.i]
		if q != '"' && q != '\'' {
			return "", false, s.errorf(nil, "unquoted or missing attribute value in element")
		}
		k := bytes.IndexByte(src[s.i+1:], q)
		if k < 0 {
			return "", false, s.short()
		}
		va, ve := s.i+1, s.i+1+k
		v, err := s.chars(va, ve, inAttr)
		if err != nil {
			return "", false, err
		}
		s.advance(ve + 1)
		s.attrs = append(s.attrs, Attr{Name: an, Value: v})
	}
}

// Bounds of the start tags a Scanner remembers (see memo).
const (
	maxMemoTag   = 256 // bytes, from < to >
	maxMemoAttrs = 8
)

// memo holds the start tags read last in a document that is not shared,
// two to a bucket chosen by a hash of their bytes: a streamed answer
// repeats the same few dozen tags (<PROPERTY NAME="Caption"
// TYPE="string">) in every instance, and comparing a tag's bytes with
// one read before costs a fraction of reading it. A tag is remembered only when its bytes alone
// make it (no new line, which the position counts, and no '>' before
// its end, so that the first '>' found ends it); reading the same bytes
// again gives the same name, attributes and flags.
type memo struct {
	tags [memoBuckets][2]memoTag // two ways a bucket, the one hit last first
}

// The buckets of a memo: 1<<memoBits.
const (
	memoBits    = 7
	memoBuckets = 1 << memoBits
)

// memoBucket is the bucket of a tag's bytes.
func memoBucket(b []byte) uint64 {
	return maphash.Bytes(memoSeed, b) >> (64 - memoBits)
}

// memoSeed is the seed of memoBucket's hash, one for the process.
var memoSeed = maphash.MakeSeed()

type memoTag struct {
	raw             string // the tag's bytes
	name            string
	attrs           []Attr
	empty, prefixed bool
}

// memoHit returns the remembered tag whose bytes start at src[i] and
// moves past them, or nil.
func (s *Scanner) memoHit() *memoTag {
	if s.memo == nil || s.shared {
		return nil
	}
	rest := s.src[s.i:]
	k := bytes.IndexByte(rest[:min(len(rest), maxMemoTag)], '>')
	if k < 0 {
		return nil
	}
	raw := rest[:k+1]
	ways := &s.memo.tags[memoBucket(raw)]
	for w := range ways {
		if m := &ways[w]; len(m.raw) == len(raw) && m.raw == string(raw) {
			if w == 1 {
				ways[0], ways[1] = ways[1], ways[0]
			}
			s.i += len(raw)
			return &ways[0]
		}
	}
	return nil
}

// memoize remembers the start tag just read from src[start:i], unless its
// bytes alone do not make it (see memo).
func (s *Scanner) memoize(start int, name string, empty bool) {
	if s.shared {
		return
	}
	raw := s.src[start:s.i]
	if len(raw) > maxMemoTag || len(s.attrs) > maxMemoAttrs || bytes.IndexByte(raw, '>') != len(raw)-1 || bytes.IndexByte(raw, '\n') >= 0 {
		return
	}
	if s.memo == nil {
		s.memo = new(memo)
	}
	ways := &s.memo.tags[memoBucket(raw)]
	ways[1] = ways[0]
	ways[0] = memoTag{raw: string(raw), name: name, attrs: append([]Attr(nil), s.attrs...), empty: empty, prefixed: s.prefixed}
}

// space skips white space.
func (s *Scanner) space() {
	j := s.i
	for j < len(s.src) {
		switch s.src[j] {
		case ' ', '\t', '\r':
			j++
			continue
		case '\n':
			j++
			s.line++
			s.ls = s.base + int64(j)
			continue
		}
		break
	}
	s.i = j
}

// lines advances the line count over src[i:to] and moves to to.
func (s *Scanner) lines(to int) {
	b := s.src[s.i:to]
	for {
		k := bytes.IndexByte(b, '\n')
		if k < 0 {
			break
		}
		s.line++
		s.ls = s.base + int64(to-len(b)+k+1)
		b = b[k+1:]
	}
	s.i = to
}

// advance moves to to over the character data chars just read (and
// markup without new lines around it), counting the lines it ends.
func (s *Scanner) advance(to int) {
	if s.nl > 0 {
		s.line += s.nl
		s.ls = s.base + int64(s.lastNL) + 1
		s.nl = 0
	}
	s.i = to
}

// sub returns src[a:b] as a string.
func (s *Scanner) sub(a, b int) string {
	if s.shared {
		return s.str[a:b]
	}
	return string(s.src[a:b])
}

// Bounds of the attribute values a Scanner keeps (see value).
const (
	maxValues   = 1024
	maxValueLen = 64
)

// value returns the attribute value src[a:b] of a document that is not
// shared. The short values a streamed answer repeats in every element
// (property names, type names, class names) are kept in a bounded table
// of the Scanner, so that each is copied once, not once per element.
func (s *Scanner) value(a, b int) string {
	if b-a > maxValueLen {
		return string(s.src[a:b])
	}
	r := s.cache()
	slot := r.slot(s.src[a:b])
	if v := r.vals[slot]; len(v) == b-a && v == string(s.src[a:b]) {
		return v
	}
	if v, ok := s.values[string(s.src[a:b])]; ok {
		r.vals[slot] = v
		return v
	}
	v := string(s.src[a:b])
	if len(s.values) < maxValues {
		if s.values == nil {
			s.values = make(map[string]string)
		}
		s.values[v] = v
		r.vals[slot] = v
	}
	return v
}

// intern returns the name src[a:b], as a kept copy when Names has it.
func (s *Scanner) intern(a, b int) string {
	if s.shared {
		return s.str[a:b]
	}
	r := s.cache()
	slot := r.slot(s.src[a:b])
	if n := r.names[slot]; len(n) == b-a && n == string(s.src[a:b]) {
		return n
	}
	if n, ok := s.Names[string(s.src[a:b])]; ok {
		r.names[slot] = n
		return n
	}
	return string(s.src[a:b])
}

// recent holds the kept names and attribute values found last, one per
// slot of a hash of their bytes: a streamed answer repeats a few dozen of
// them in every element, and finding one here is cheaper than in a map.
// Every string here is also in Names or values.
type recent struct {
	names, vals [256]string
}

// slot is where b is kept in a recent: a hash of its length and of a
// few of its bytes (a string that shares them with another only costs a
// map lookup).
func (*recent) slot(b []byte) uint8 {
	n := len(b)
	if n == 0 {
		return 0
	}
	h := uint32(n)*0x9e3779b1 ^ uint32(b[0]) ^ uint32(b[n-1])<<7 ^ uint32(b[n/2])<<13 ^ uint32(b[n/3])<<19 ^ uint32(b[2*n/3])<<3
	return uint8(h ^ h>>8 ^ h>>16 ^ h>>24)
}

// cache returns the Scanner's recent strings, made on first use.
func (s *Scanner) cache() *recent {
	if s.recent == nil {
		s.recent = new(recent)
	}
	return s.recent
}
