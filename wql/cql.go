package wql

import (
	"strings"
)

// ParseCQL parses a query in the subset of DMTF CQL (DSP0202 1.0) that
// ExecQuery, enumeration filters and indication filters use, into the
// same syntax tree as WQL's, so that one evaluator gives both languages
// one condition semantics:
//
//	SELECT * | prop[, prop...] FROM class [[AS] alias] [WHERE condition]
//
// Conditions are comparisons (= <> != < > <= >=) of a property with a
// constant, IS [NOT] NULL, ISA class (DSP0202 §5.3.2, the class name
// quoted or not), LIKE with DSP0202's regular-expression pattern (§5.6:
// "." any character, ".*" any run, a backslash escapes; character sets and
// other repetition are not in the subset) and AND, OR, NOT and
// parentheses. A property may be qualified by the class name or the
// alias (CIM_X.Name, x.Name). Outside the subset: joins (several classes
// in FROM), arrays (ANY, EVERY, indexes), functions, ORDER BY, DISTINCT,
// FIRST, and the WQL extensions (ASSOCIATORS OF, REFERENCES OF, WITHIN,
// GROUP, meta_class), each an *Error with WBEM_E_INVALID_QUERY and its
// position.
func ParseCQL(query string) (*Select, error) {
	return parse(query, true, func(p *parser) *Select {
		if !p.is("select") {
			p.fail(p.tok.at, "a CQL query starts with SELECT, not %s", describe(p.tok))
		}
		q := p.cqlSelect()
		if p.tok.kind != tEOF {
			p.fail(p.tok.at, "unexpected %s after the end of the query (outside the CQL subset wbemd speaks)", describe(p.tok))
		}
		return q
	})
}

// cqlSelect parses a CQL SELECT: WQL's, with an optional alias after the
// class and without WQL's extensions.
func (p *parser) cqlSelect() *Select {
	s := &Select{At: p.tok.at}
	p.next()
	if p.is("distinct") || p.is("first") {
		p.fail(p.tok.at, "%s is outside the CQL subset wbemd speaks", strings.ToUpper(p.tok.text))
	}
	if p.tok.kind == tStar {
		s.Star = true
		p.next()
	} else {
		for {
			s.Props = append(s.Props, p.prop())
			if p.tok.kind == tDot { // alias.*
				p.fail(p.tok.at, "unexpected '.'")
			}
			if p.tok.kind != tComma {
				break
			}
			p.next()
		}
	}
	p.expectWord("from")
	from := p.name("a class name")
	s.From, s.FromAt = from.text, from.at
	if strings.EqualFold(s.From, "meta_class") {
		p.fail(from.at, "meta_class is WQL, not CQL")
	}
	alias := ""
	if p.is("as") {
		p.next()
		alias = p.name("an alias").text
	} else if p.tok.kind == tIdent && !reserved[strings.ToLower(p.tok.text)] && !p.is("order") {
		alias = p.tok.text
		p.next()
	}
	if p.tok.kind == tComma {
		p.fail(p.tok.at, "a join (several classes in FROM) is outside the CQL subset wbemd speaks")
	}
	if p.is("where") {
		p.next()
		s.Where = p.or()
	}
	if p.tok.kind != tEOF {
		p.fail(p.tok.at, "unexpected %s (outside the CQL subset wbemd speaks)", describe(p.tok))
	}
	// Properties qualified by the class or its alias are the class's.
	unqualify := func(pr *Prop) {
		if len(pr.Path) > 1 && (strings.EqualFold(pr.Path[0], s.From) || alias != "" && strings.EqualFold(pr.Path[0], alias)) {
			pr.Path = pr.Path[1:]
		}
	}
	for _, pr := range s.Props {
		unqualify(pr)
	}
	var walk func(e Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Binary:
			walk(e.L)
			walk(e.R)
		case *Not:
			walk(e.X)
		case *Compare:
			unqualify(e.Prop)
		case *IsNull:
			unqualify(e.Prop)
		case *Isa:
			// alias ISA Class: the object itself (WQL's __this).
			if len(e.Prop.Path) == 1 && (strings.EqualFold(e.Prop.Path[0], s.From) || alias != "" && strings.EqualFold(e.Prop.Path[0], alias)) {
				e.Prop.Path = []string{"__this"}
			}
			unqualify(e.Prop)
		}
	}
	walk(s.Where)
	return s
}

// likePattern reads the pattern of LIKE: as written in WQL; in CQL,
// DSP0202's regular expression turned into the WQL pattern that matches
// the same strings.
func (p *parser) likePattern() *Literal {
	if !p.cql {
		return p.literal()
	}
	t := p.tok
	if t.kind != tString {
		p.fail(t.at, "LIKE takes a pattern in quotes, not %s", describe(t))
	}
	pat, ok := cqlLike(t.text)
	if !ok {
		p.fail(t.at, "LIKE pattern %q: only '.', '.*' and backslash escapes are in the CQL subset wbemd speaks", t.text)
	}
	lit := p.literal()
	lit.Text = pat
	return lit
}

// cqlLike turns a DSP0202 LIKE pattern into a WQL one: "." is "_", ".*"
// is "%", a backslash makes the next character literal, and the
// characters WQL's patterns give a meaning (% _ [) are put in brackets.
// ok is false for what is outside the subset (sets, other repetition).
func cqlLike(pat string) (string, bool) {
	var b strings.Builder
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '.':
			if i+1 < len(rs) && rs[i+1] == '*' {
				b.WriteByte('%')
				i++
			} else {
				b.WriteByte('_')
			}
			continue
		case '\\':
			if i+1 == len(rs) {
				return "", false
			}
			i++
			c = rs[i]
		case '*', '+', '?', '[', ']', '(', ')', '|', '^', '$', '{', '}':
			return "", false
		}
		switch c {
		case '%', '_', '[':
			b.WriteString("[" + string(c) + "]")
		default:
			b.WriteRune(c)
		}
	}
	return b.String(), true
}
