package wql

import (
	"strconv"
	"strings"
)

// Format prints a node as WQL text: for any node Parse returned (or any
// part of one), text that parses to an equal tree, positions aside. So
// that no caller builds query text by hand: literals are quoted and
// escaped here. Keywords are upper case, operators and commas spaced,
// parentheses written only where the tree needs them.
//
// A node built by hand needs what a parsed one has: class and property
// names that are WQL identifiers, not reserved words. A number literal
// prints its Text when set (the number as written) and its value
// otherwise.
func Format(n Node) string {
	var b strings.Builder
	printNode(&b, n)
	return b.String()
}

// Precedences of expressions: OR binds loosest, NOT and comparisons
// tightest.
const (
	precOr = iota + 1
	precAnd
	precUnary
)

func printNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Select:
		printSelect(b, n)
	case *Assoc:
		printAssoc(b, n)
	case *Group:
		printGroup(b, n)
	case *Prop:
		b.WriteString(n.String())
	case *Literal:
		printLiteral(b, n)
	case Expr:
		printExpr(b, n, 0)
	}
}

func printSelect(b *strings.Builder, s *Select) {
	b.WriteString("SELECT ")
	if s.Star {
		b.WriteByte('*')
	}
	printProps(b, s.Props)
	b.WriteString(" FROM ")
	b.WriteString(s.From)
	if s.Within != 0 {
		b.WriteString(" WITHIN ")
		b.WriteString(strconv.FormatFloat(s.Within, 'g', -1, 64))
	}
	if s.Where != nil {
		b.WriteString(" WHERE ")
		printExpr(b, s.Where, 0)
	}
	if s.Group != nil {
		b.WriteByte(' ')
		printGroup(b, s.Group)
	}
}

func printProps(b *strings.Builder, props []*Prop) {
	for i, p := range props {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
}

func printGroup(b *strings.Builder, g *Group) {
	b.WriteString("GROUP WITHIN ")
	b.WriteString(strconv.FormatFloat(g.Within, 'g', -1, 64))
	if len(g.By) > 0 {
		b.WriteString(" BY ")
		printProps(b, g.By)
	}
	if g.Having != nil {
		b.WriteString(" HAVING ")
		printExpr(b, g.Having, 0)
	}
}

// printExpr prints e, in parentheses when it binds more loosely than its
// place needs (prec).
func printExpr(b *strings.Builder, e Expr, prec int) {
	switch e := e.(type) {
	case *Binary:
		op, p := " AND ", precAnd
		if e.Or {
			op, p = " OR ", precOr
		}
		if p < prec {
			b.WriteByte('(')
		}
		// The parser groups a chain to the left: a right operand of the
		// same operator keeps its parentheses.
		printExpr(b, e.L, p)
		b.WriteString(op)
		printExpr(b, e.R, p+1)
		if p < prec {
			b.WriteByte(')')
		}
	case *Not:
		b.WriteString("NOT ")
		printExpr(b, e.X, precUnary)
	case *Compare:
		b.WriteString(e.Prop.String())
		b.WriteByte(' ')
		b.WriteString(e.Op.String())
		b.WriteByte(' ')
		printLiteral(b, e.Value)
	case *IsNull:
		b.WriteString(e.Prop.String())
		if e.Not {
			b.WriteString(" IS NOT NULL")
		} else {
			b.WriteString(" IS NULL")
		}
	case *Isa:
		b.WriteString(e.Prop.String())
		b.WriteString(" ISA ")
		quoteString(b, e.Class)
	}
}

func printLiteral(b *strings.Builder, l *Literal) {
	switch l.Kind {
	case LitString:
		quoteString(b, l.Text)
		return
	case LitBool:
		switch {
		case strings.EqualFold(l.Text, "true") || strings.EqualFold(l.Text, "false"):
			b.WriteString(l.Text)
		case l.Int != 0:
			b.WriteString("TRUE")
		default:
			b.WriteString("FALSE")
		}
		return
	case LitNull:
		if strings.EqualFold(l.Text, "null") {
			b.WriteString(l.Text)
		} else {
			b.WriteString("NULL")
		}
		return
	}
	if l.Text != "" {
		b.WriteString(l.Text)
		return
	}
	switch {
	case l.Kind == LitReal:
		s := strconv.FormatFloat(l.Real, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEnN") { // keep it a real: 2 would read as an integer
			s += ".0"
		}
		b.WriteString(s)
	case l.Big:
		b.WriteString(strconv.FormatUint(l.Uint, 10))
	default:
		b.WriteString(strconv.FormatInt(l.Int, 10))
	}
}

// stringEscaper escapes what a WQL string may not hold as itself.
var stringEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

// quoteString writes s as a WQL string: in single quotes, with backslash
// and single quote escaped by a backslash.
func quoteString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	stringEscaper.WriteString(b, s)
	b.WriteByte('\'')
}

func printAssoc(b *strings.Builder, a *Assoc) {
	if a.References {
		b.WriteString("REFERENCES OF {")
	} else {
		b.WriteString("ASSOCIATORS OF {")
	}
	b.WriteString(a.Path)
	b.WriteByte('}')
	where := " WHERE"
	word := func(kw string) {
		b.WriteString(where)
		where = ""
		b.WriteByte(' ')
		b.WriteString(kw)
	}
	for _, kv := range [...]struct{ kw, v string }{
		{"AssocClass", a.AssocClass}, {"ResultClass", a.ResultClass}, {"ResultRole", a.ResultRole}, {"Role", a.Role},
		{"RequiredQualifier", a.RequiredQualifier}, {"RequiredAssocQualifier", a.RequiredAssocQualifier},
	} {
		if kv.v == "" {
			continue
		}
		word(kv.kw)
		b.WriteString(" = ")
		if isIdent(kv.v) {
			b.WriteString(kv.v)
		} else {
			quoteString(b, kv.v)
		}
	}
	for _, kv := range [...]struct {
		kw string
		on bool
	}{{"ClassDefsOnly", a.ClassDefsOnly}, {"SchemaOnly", a.SchemaOnly}, {"KeysOnly", a.KeysOnly}} {
		if kv.on {
			word(kv.kw)
		}
	}
}

// isIdent reports whether s lexes as one identifier.
func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentStart(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}
