package wql

import (
	"math"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp // = <> != < > <= >=
	tComma
	tDot
	tLParen
	tRParen
	tStar
	tPath // {...} of ASSOCIATORS OF / REFERENCES OF
)

type token struct {
	kind tokKind
	at   Pos
	text string // identifiers and operators as written; strings decoded; paths without braces
}

type lexer struct {
	src       string
	off       int
	line, col int
}

func (l *lexer) pos() Pos { return Pos{l.line, l.col} }

func (l *lexer) advance(n int) {
	for i := 0; i < n; i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c >= 0x80
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (l *lexer) errorf(at Pos, format string, args ...any) *Error {
	return &Error{Pos: at, Status: cim.EInvalidQuery, Msg: sprintf(format, args...)}
}

func (l *lexer) next() (token, *Error) {
	for l.off < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.off]) >= 0 {
		l.advance(1)
	}
	at := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tEOF, at: at}, nil
	}
	c := l.src[l.off]
	switch {
	case isIdentStart(c):
		start := l.off
		for l.off < len(l.src) && (isIdentStart(l.src[l.off]) || isDigit(l.src[l.off])) {
			l.advance(1)
		}
		return token{kind: tIdent, at: at, text: l.src[start:l.off]}, nil
	case isDigit(c) || ((c == '-' || c == '+' || c == '.') && l.off+1 < len(l.src) && (isDigit(l.src[l.off+1]) || l.src[l.off+1] == '.')):
		start := l.off
		l.advance(1)
		for l.off < len(l.src) && (isDigit(l.src[l.off]) || strings.IndexByte(".eExXabcdefABCDEF", l.src[l.off]) >= 0 ||
			((l.src[l.off] == '-' || l.src[l.off] == '+') && (l.src[l.off-1] == 'e' || l.src[l.off-1] == 'E'))) {
			l.advance(1)
		}
		return token{kind: tNumber, at: at, text: l.src[start:l.off]}, nil
	case c == '"' || c == '\'':
		l.advance(1)
		var b strings.Builder
		for {
			if l.off >= len(l.src) {
				return token{}, l.errorf(at, "string not terminated")
			}
			d := l.src[l.off]
			if d == c {
				l.advance(1)
				return token{kind: tString, at: at, text: b.String()}, nil
			}
			if d == '\\' && l.off+1 < len(l.src) && strings.IndexByte("\\\"'", l.src[l.off+1]) >= 0 {
				b.WriteByte(l.src[l.off+1])
				l.advance(2)
				continue
			}
			b.WriteByte(d)
			l.advance(1)
		}
	case c == '{':
		end := strings.IndexByte(l.src[l.off:], '}')
		if end < 0 {
			return token{}, l.errorf(at, "object path not closed: expected '}'")
		}
		// A path may hold quoted '}'; find the brace outside quotes.
		inQuote := byte(0)
		for i := l.off + 1; i < len(l.src); i++ {
			d := l.src[i]
			switch {
			case inQuote != 0 && d == '\\':
				i++
			case inQuote != 0 && d == inQuote:
				inQuote = 0
			case inQuote == 0 && (d == '"' || d == '\''):
				inQuote = d
			case inQuote == 0 && d == '}':
				text := l.src[l.off+1 : i]
				l.advance(i + 1 - l.off)
				return token{kind: tPath, at: at, text: text}, nil
			}
		}
		return token{}, l.errorf(at, "object path not closed: expected '}'")
	}
	two := ""
	if l.off+1 < len(l.src) {
		two = l.src[l.off : l.off+2]
	}
	switch two {
	case "<>", "!=", "<=", ">=":
		l.advance(2)
		return token{kind: tOp, at: at, text: two}, nil
	}
	switch c {
	case '=', '<', '>':
		l.advance(1)
		return token{kind: tOp, at: at, text: string(c)}, nil
	case ',':
		l.advance(1)
		return token{kind: tComma, at: at, text: ","}, nil
	case '.':
		l.advance(1)
		return token{kind: tDot, at: at, text: "."}, nil
	case '(':
		l.advance(1)
		return token{kind: tLParen, at: at, text: "("}, nil
	case ')':
		l.advance(1)
		return token{kind: tRParen, at: at, text: ")"}, nil
	case '*':
		l.advance(1)
		return token{kind: tStar, at: at, text: "*"}, nil
	}
	return token{}, l.errorf(at, "unexpected character %q", c)
}

type parser struct {
	lx    lexer
	tok   token
	terms int
	errs  ErrorList
	cql   bool // DMTF CQL (ParseCQL): its subset of the grammar
}

// bail unwinds the parser after an error was added to its list: WQL is
// short, and its first error is the one WMI reports.
type bail struct{}

// fail records a WBEM_E_INVALID_QUERY error at at and unwinds.
func (p *parser) fail(at Pos, format string, args ...any) {
	p.failStatus(at, cim.EInvalidQuery, format, args...)
}

// failStatus records an error of status st at at and unwinds.
func (p *parser) failStatus(at Pos, st cim.Status, format string, args ...any) {
	p.errs.Add(at, st, sprintf(format, args...))
	panic(bail{})
}

func (p *parser) next() {
	t, err := p.lx.next()
	if err != nil {
		p.errs = append(p.errs, err)
		panic(bail{})
	}
	p.tok = t
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return "string " + strconv.Quote(t.text)
	case tPath:
		return "object path"
	}
	return strconv.Quote(t.text)
}

func (p *parser) is(word string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, word)
}

func (p *parser) expectWord(word string) {
	if !p.is(word) {
		p.fail(p.tok.at, "expected %s, found %s", strings.ToUpper(word), describe(p.tok))
	}
	p.next()
}

var reserved = map[string]bool{"select": true, "from": true, "where": true, "and": true, "or": true, "not": true,
	"like": true, "is": true, "null": true, "isa": true, "true": true, "false": true, "within": true, "group": true,
	"by": true, "having": true, "of": true, "associators": true, "references": true}

func (p *parser) name(what string) token {
	if p.tok.kind != tIdent || reserved[strings.ToLower(p.tok.text)] {
		p.fail(p.tok.at, "expected %s, found %s", what, describe(p.tok))
	}
	t := p.tok
	p.next()
	return t
}

// Parse parses a WQL query. Its errors are collected in an ErrorList and
// returned by its Err: the parser stops at the first, so the error is an
// *Error with WBEM_E_INVALID_QUERY (WBEM_E_QUOTA_VIOLATION for an
// over-long or over-complex query, WBEM_E_MISSING_GROUP_WITHIN for GROUP
// without WITHIN) and the position.
func Parse(query string) (Query, error) {
	return parse(query, false, func(p *parser) Query {
		var q Query
		switch {
		case p.is("select"):
			q = p.selectQuery()
		case p.is("associators"), p.is("references"):
			q = p.assocQuery()
		default:
			p.fail(p.tok.at, "a query starts with SELECT, ASSOCIATORS OF or REFERENCES OF, not %s", describe(p.tok))
		}
		if p.tok.kind != tEOF {
			p.fail(p.tok.at, "unexpected %s after the end of the query", describe(p.tok))
		}
		return q
	})
}

// parse runs body, which parses a whole query from its first token, over
// query (CQL's tokens when cql) with the length limit, and turns the
// parser's bail-out into its error list.
func parse[Q any](query string, cql bool, body func(*parser) Q) (q Q, err error) {
	p := &parser{lx: lexer{src: query, line: 1, col: 1}, cql: cql}
	if len(query) > MaxQueryLen {
		p.errs.Add(Pos{1, 1}, cim.EQuotaViolation, sprintf("a query has at most %d characters, this one %d", MaxQueryLen, len(query)))
		return q, p.errs.Err()
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bail); !ok {
				panic(r)
			}
			var zero Q
			q, err = zero, p.errs.Err()
		}
	}()
	p.next()
	return body(p), nil
}

func (p *parser) selectQuery() *Select {
	s := &Select{At: p.tok.at}
	p.next()
	if p.tok.kind == tStar {
		s.Star = true
		p.next()
	} else {
		for {
			s.Props = append(s.Props, p.prop())
			if p.tok.kind != tComma {
				break
			}
			p.next()
		}
	}
	p.expectWord("from")
	from := p.name("a class name")
	s.From, s.FromAt = from.text, from.at
	s.Meta = strings.EqualFold(s.From, "meta_class")
	if p.is("within") {
		p.next()
		s.Within = p.seconds()
	}
	if p.is("where") {
		p.next()
		s.Where = p.or()
	}
	if p.is("group") {
		g := &Group{At: p.tok.at}
		p.next()
		if !p.is("within") {
			p.failStatus(p.tok.at, cim.EMissingGroupWithin, "GROUP needs WITHIN seconds")
		}
		p.next()
		g.Within = p.seconds()
		if p.is("by") {
			p.next()
			for {
				g.By = append(g.By, p.prop())
				if p.tok.kind != tComma {
					break
				}
				p.next()
			}
		}
		if p.is("having") {
			at := p.tok.at
			p.next()
			c, ok := p.comparison().(*Compare)
			if !ok || len(c.Prop.Path) != 1 || !strings.EqualFold(c.Prop.Path[0], "NumberOfEvents") {
				p.fail(at, "HAVING takes a comparison on NumberOfEvents")
			}
			g.Having = c
		}
		s.Group = g
	} else if p.is("having") || p.is("by") {
		p.fail(p.tok.at, "%s needs GROUP WITHIN", strings.ToUpper(p.tok.text))
	}
	return s
}

func (p *parser) seconds() float64 {
	if p.tok.kind != tNumber {
		p.fail(p.tok.at, "expected a number of seconds, found %s", describe(p.tok))
	}
	f, err := strconv.ParseFloat(p.tok.text, 64)
	if err != nil || f < 0.001 || f > 418937 || math.IsNaN(f) {
		p.fail(p.tok.at, "an interval is between 0.001 and 418937 seconds, not %s", p.tok.text)
	}
	p.next()
	return f
}

func (p *parser) prop() *Prop {
	first := p.name("a property name")
	pr := &Prop{At: first.at, Path: []string{first.text}}
	for p.tok.kind == tDot {
		p.next()
		pr.Path = append(pr.Path, p.name("a property name after '.'").text)
	}
	return pr
}

func (p *parser) countTerm(at Pos) {
	p.terms++
	if p.terms > maxTerms {
		p.failStatus(at, cim.EQuotaViolation, "the WHERE clause has more than %d terms", maxTerms)
	}
}

func (p *parser) or() Expr {
	l := p.and()
	for p.is("or") {
		at := p.tok.at
		p.next()
		p.countTerm(at)
		l = &Binary{At: at, Or: true, L: l, R: p.and()}
	}
	return l
}

func (p *parser) and() Expr {
	l := p.unary()
	for p.is("and") {
		at := p.tok.at
		p.next()
		p.countTerm(at)
		l = &Binary{At: at, L: l, R: p.unary()}
	}
	return l
}

func (p *parser) unary() Expr {
	if p.is("not") {
		at := p.tok.at
		p.next()
		return &Not{At: at, X: p.unary()}
	}
	if p.tok.kind == tLParen {
		p.next()
		e := p.or()
		if p.tok.kind != tRParen {
			p.fail(p.tok.at, "expected ')', found %s", describe(p.tok))
		}
		p.next()
		return e
	}
	return p.comparison()
}

// comparison parses prop op literal, literal op prop, prop IS [NOT] NULL,
// prop [NOT] LIKE pattern and prop ISA 'class'.
func (p *parser) comparison() Expr {
	at := p.tok.at
	if p.isLiteralStart() {
		lit := p.literal()
		op := p.operator()
		if op == OpLike {
			p.fail(at, "LIKE needs the property on its left")
		}
		pr := p.propOperand()
		return &Compare{At: at, Prop: pr, Op: op.flip(), Value: lit}
	}
	pr := p.propOperand()
	switch {
	case p.is("is"):
		p.next()
		not := false
		if p.is("not") {
			not = true
			p.next()
		}
		if !p.is("null") {
			p.fail(p.tok.at, "IS takes NULL or NOT NULL, not %s", describe(p.tok))
		}
		p.next()
		return &IsNull{At: at, Prop: pr, Not: not}
	case p.is("isa"):
		p.next()
		if p.tok.kind != tString && !(p.cql && p.tok.kind == tIdent) {
			p.fail(p.tok.at, "ISA takes a class name in quotes, not %s", describe(p.tok))
		}
		c := p.tok.text
		p.next()
		return &Isa{At: at, Prop: pr, Class: c}
	case p.is("not"):
		// prop NOT LIKE 'x' is NOT (prop LIKE 'x')
		nat := p.tok.at
		p.next()
		if !p.is("like") {
			p.fail(nat, "NOT here must be followed by LIKE")
		}
		p.next()
		lit := p.likePattern()
		return &Not{At: nat, X: &Compare{At: at, Prop: pr, Op: OpLike, Value: lit}}
	}
	op := p.operator()
	if p.tok.kind == tIdent && !p.isLiteralStart() {
		p.fail(p.tok.at, "a property can only be compared with a constant, not with property %s", p.tok.text)
	}
	if op == OpLike {
		return &Compare{At: at, Prop: pr, Op: op, Value: p.likePattern()}
	}
	lit := p.literal()
	return &Compare{At: at, Prop: pr, Op: op, Value: lit}
}

func (p *parser) propOperand() *Prop {
	if p.tok.kind != tIdent || reserved[strings.ToLower(p.tok.text)] {
		p.fail(p.tok.at, "expected a property name, found %s", describe(p.tok))
	}
	return p.prop()
}

func (p *parser) isLiteralStart() bool {
	switch p.tok.kind {
	case tString, tNumber:
		return true
	case tIdent:
		return p.is("true") || p.is("false") || p.is("null")
	}
	return false
}

func (p *parser) operator() Op {
	if p.is("like") {
		p.next()
		return OpLike
	}
	if p.tok.kind != tOp {
		p.fail(p.tok.at, "expected an operator (= <> != < > <= >= LIKE IS ISA), found %s", describe(p.tok))
	}
	t := p.tok.text
	p.next()
	switch t {
	case "=":
		return OpEq
	case "<>", "!=":
		return OpNe
	case "<":
		return OpLt
	case ">":
		return OpGt
	case "<=":
		return OpLe
	}
	return OpGe
}

func (p *parser) literal() *Literal {
	t := p.tok
	lit := &Literal{At: t.at, Text: t.text}
	switch {
	case t.kind == tString:
		lit.Kind = LitString
	case t.kind == tNumber:
		if n, err := strconv.ParseInt(t.text, 0, 64); err == nil {
			lit.Kind, lit.Int = LitInt, n
		} else if u, err := strconv.ParseUint(strings.TrimPrefix(t.text, "+"), 0, 64); err == nil {
			lit.Kind, lit.Uint, lit.Big = LitInt, u, true
		} else if f, err := strconv.ParseFloat(t.text, 64); err == nil && strings.ContainsAny(t.text, ".eE") && !strings.ContainsAny(t.text, "xX") {
			lit.Kind, lit.Real = LitReal, f
		} else {
			p.fail(t.at, "malformed number %s", t.text)
		}
	case p.is("true"):
		lit.Kind, lit.Int = LitBool, 1
	case p.is("false"):
		lit.Kind = LitBool
	case p.is("null"):
		lit.Kind = LitNull
	default:
		p.fail(t.at, "expected a constant, found %s", describe(t))
	}
	p.next()
	return lit
}

func (p *parser) assocQuery() *Assoc {
	a := &Assoc{At: p.tok.at, References: p.is("references")}
	p.next()
	p.expectWord("of")
	if p.tok.kind != tPath {
		p.fail(p.tok.at, "expected {object path}, found %s", describe(p.tok))
	}
	a.Path, a.PathAt = strings.TrimSpace(p.tok.text), p.tok.at
	if a.Path == "" {
		p.fail(p.tok.at, "the object path is empty")
	}
	p.next()
	if !p.is("where") {
		return a
	}
	p.next()
	seen := map[string]bool{}
	for p.tok.kind == tIdent {
		kw := strings.ToLower(p.tok.text)
		at := p.tok.at
		if seen[kw] {
			p.fail(at, "%s is given twice", p.tok.text)
		}
		seen[kw] = true
		p.next()
		var valueAt Pos
		value := func() string {
			if p.tok.kind != tOp || p.tok.text != "=" {
				p.fail(p.tok.at, "expected '=' after %s, found %s", kw, describe(p.tok))
			}
			p.next()
			valueAt = p.tok.at
			if p.tok.kind != tIdent && p.tok.kind != tString {
				p.fail(p.tok.at, "expected a name after '=', found %s", describe(p.tok))
			}
			v := p.tok.text
			p.next()
			return v
		}
		switch kw {
		case "assocclass":
			a.AssocClass = value()
			a.AssocClassAt = valueAt
		case "resultclass":
			a.ResultClass = value()
			a.ResultClassAt = valueAt
		case "resultrole":
			a.ResultRole = value()
		case "role":
			a.Role = value()
		case "requiredqualifier":
			a.RequiredQualifier = value()
		case "requiredassocqualifier":
			a.RequiredAssocQualifier = value()
		case "classdefsonly":
			a.ClassDefsOnly = true
		case "schemaonly":
			a.SchemaOnly = true
		case "keysonly":
			a.KeysOnly = true
		default:
			p.fail(at, "unknown keyword %s in the WHERE clause of %s OF", kw, strings.ToUpper(map[bool]string{true: "references", false: "associators"}[a.References]))
		}
		if a.References && (kw == "assocclass" || kw == "resultrole" || kw == "requiredassocqualifier") {
			p.fail(at, "%s is not valid in REFERENCES OF", kw)
		}
	}
	if len(seen) == 0 {
		p.fail(p.tok.at, "expected a keyword after WHERE, found %s", describe(p.tok))
	}
	if a.ClassDefsOnly && a.ResultClass != "" {
		p.fail(a.At, "ClassDefsOnly and ResultClass exclude each other")
	}
	if a.ClassDefsOnly && a.SchemaOnly {
		p.fail(a.At, "ClassDefsOnly and SchemaOnly exclude each other")
	}
	return a
}
