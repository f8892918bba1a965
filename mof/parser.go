package mof

import (
	"strconv"
	"strings"
)

// MaxErrors is how many errors a parse reports before it stops.
const MaxErrors = 50

// maxNesting bounds embedded instances inside values (WMI's
// WBEM_MAX_OBJECT_NESTING).
const maxNesting = 64

// Parse parses one MOF file. It returns the declarations it could read
// and every error (scanner and parser alike), in source order; a file with
// errors yields a partial tree that must not be compiled.
func Parse(file, src string) (*File, []*Error) {
	p := &parser{s: NewScanner(file, src)}
	p.next()
	f := &File{Name: file}
	for p.tok.Kind != EOF && len(p.errs) < MaxErrors {
		if d := p.decl(); d != nil {
			f.Decls = append(f.Decls, d)
		}
	}
	errs := mergeErrors(p.s.Errors, p.errs)
	if len(errs) > MaxErrors {
		errs = errs[:MaxErrors]
	}
	return f, errs
}

// mergeErrors merges scanner and parser errors by position. A parser error
// at the position of a scanner error repeats it and is dropped.
func mergeErrors(scan, parse []*Error) []*Error {
	out := make([]*Error, 0, len(scan)+len(parse))
	i, j := 0, 0
	for i < len(scan) || j < len(parse) {
		switch {
		case j == len(parse) || (i < len(scan) && before(scan[i].Pos, parse[j].Pos)):
			out = append(out, scan[i])
			i++
		default:
			dup := false
			for _, e := range scan {
				if e.Pos == parse[j].Pos {
					dup = true
				}
			}
			if !dup {
				out = append(out, parse[j])
			}
			j++
		}
	}
	return out
}

func before(a, b Pos) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col <= b.Col
}

type parser struct {
	s    *Scanner
	tok  Token
	errs []*Error
	nest int

	values    []Value         // slab of newValue
	props     []PropertyValue // slab of newProperty
	propsHint int             // properties of the last instance: the next one's likely count
}

// bailout unwinds a declaration after a syntax error.
type bailout struct{}

func (p *parser) next() { p.tok = p.s.Next() }

// parserSlab is how many values (and property values) the parser
// allocates at once: a bulk load's instances are mostly values, and one
// allocation for many of them spares the allocator and the collector.
const parserSlab = 256

// newValue returns a new value holding v, from the parser's slab.
func (p *parser) newValue(v Value) *Value {
	if len(p.values) == cap(p.values) {
		p.values = make([]Value, 0, parserSlab)
	}
	p.values = append(p.values, v)
	return &p.values[len(p.values)-1]
}

// newProperty returns a new property value holding v, from the parser's
// slab.
func (p *parser) newProperty(v PropertyValue) *PropertyValue {
	if len(p.props) == cap(p.props) {
		p.props = make([]PropertyValue, 0, parserSlab)
	}
	p.props = append(p.props, v)
	return &p.props[len(p.props)-1]
}

func (p *parser) fail(at Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: at, Msg: sprintf(format, args...)})
	panic(bailout{})
}

func describe(t Token) string {
	switch t.Kind {
	case Ident, Integer, Real:
		return sprintf("%v %q", t.Kind, t.Text)
	case String:
		return "string literal"
	case Alias:
		return "alias $" + t.Text
	}
	return t.Kind.String()
}

func (p *parser) expect(k Kind, what string) Token {
	t := p.tok
	if t.Kind != k {
		p.fail(t.Pos, "expected %s, found %s", what, describe(t))
	}
	p.next()
	return t
}

func (p *parser) isWord(w string) bool {
	return p.tok.Kind == Ident && strings.EqualFold(p.tok.Text, w)
}

func (p *parser) expectWord(w string) {
	if !p.isWord(w) {
		p.fail(p.tok.Pos, "expected %q, found %s", w, describe(p.tok))
	}
	p.next()
}

func (p *parser) ident(what string) Token {
	if p.tok.Kind != Ident {
		p.fail(p.tok.Pos, "expected %s, found %s", what, describe(p.tok))
	}
	t := p.tok
	p.next()
	return t
}

// decl parses one top-level production; after an error it skips to the
// end of the production and returns nil.
func (p *parser) decl() (d Decl) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			p.sync()
			d = nil
		}
	}()
	at := p.tok.Pos
	if p.tok.Kind == Directive {
		return p.pragma()
	}
	var quals []*Qualifier
	if p.tok.Kind == LBrack {
		quals = p.qualifierList()
	}
	switch {
	case p.isWord("class"):
		return p.class(at, quals)
	case p.isWord("instance"):
		inst := p.instance(at, quals)
		p.expect(Semi, "';' after the instance")
		return inst
	case p.isWord("qualifier"):
		if quals != nil {
			p.fail(at, "a qualifier declaration takes no qualifier list")
		}
		return p.qualifierDecl()
	case p.isWord("association"), p.isWord("indication"), p.isWord("structure"), p.isWord("enumeration"):
		p.fail(p.tok.Pos, "MOF 3 (DSP0221) %s declarations are not supported: this compiler reads CIM 2.x MOF (DSP0004)", strings.ToLower(p.tok.Text))
	case p.isWord("value"):
		p.fail(p.tok.Pos, "MOF 3 (DSP0221) value declarations are not supported: use instance of")
	}
	p.fail(p.tok.Pos, "expected class, instance, qualifier or #pragma, found %s", describe(p.tok))
	return nil
}

// sync skips to the token after the ';' that ends the current production
// (a ';' outside braces), or to a token that can only start one.
func (p *parser) sync() {
	depth := 0
	for p.tok.Kind != EOF {
		switch p.tok.Kind {
		case LBrace:
			depth++
		case RBrace:
			depth--
		case Semi:
			if depth <= 0 {
				p.next()
				return
			}
		case Directive:
			if depth <= 0 {
				return
			}
		}
		p.next()
	}
}

func (p *parser) pragma() *Pragma {
	at := p.tok.Pos
	isInclude := strings.EqualFold(p.tok.Text, "#include")
	p.next()
	pr := &Pragma{At: at}
	if isInclude {
		pr.Name = "include"
		paren := p.tok.Kind == LParen
		if paren {
			p.next()
		}
		t := p.expect(String, "a file name in quotes")
		pr.Args = []*Value{{At: t.Pos, Kind: ValueString, Text: t.Text}}
		if paren {
			p.expect(RParen, "')'")
		}
		return pr
	}
	name := p.ident("a pragma name")
	pr.Name = strings.ToLower(name.Text)
	if p.tok.Kind != LParen {
		if pr.Name == "autorecover" {
			return pr
		}
		p.fail(p.tok.Pos, "expected '(' after #pragma %s, found %s", name.Text, describe(p.tok))
	}
	p.next()
	for p.tok.Kind != RParen {
		switch p.tok.Kind {
		case String:
			pr.Args = append(pr.Args, p.stringValue())
		case Ident:
			pr.Args = append(pr.Args, p.newValue(Value{At: p.tok.Pos, Kind: ValueIdent, Text: p.tok.Text}))
			p.next()
		case Integer:
			pr.Args = append(pr.Args, p.newValue(Value{At: p.tok.Pos, Kind: ValueInteger, Text: p.tok.Text}))
			p.next()
		default:
			p.fail(p.tok.Pos, "expected a pragma argument, found %s", describe(p.tok))
		}
		if p.tok.Kind != Comma {
			break
		}
		p.next()
	}
	p.expect(RParen, "')' to end the pragma")
	return pr
}

func (p *parser) stringValue() *Value {
	v := p.newValue(Value{At: p.tok.Pos, Kind: ValueString, Text: p.tok.Text})
	p.next()
	if p.tok.Kind == String {
		var b strings.Builder
		b.WriteString(v.Text)
		for p.tok.Kind == String {
			b.WriteString(p.tok.Text)
			p.next()
		}
		v.Text = b.String()
	}
	return v
}

var flavorNames = []string{"EnableOverride", "DisableOverride", "Restricted", "ToSubclass", "NotToSubclass",
	"ToInstance", "NotToInstance", "Translatable", "Amended"}

func isFlavor(w string) bool {
	for _, f := range flavorNames {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// qualifierList parses "[q1, q2(v) : flavor flavor, q3{...}]".
func (p *parser) qualifierList() []*Qualifier {
	p.expect(LBrack, "'['")
	var out []*Qualifier
	for {
		name := p.ident("a qualifier name")
		q := &Qualifier{At: name.Pos, Name: name.Text}
		switch p.tok.Kind {
		case LParen:
			p.next()
			q.Value = p.value(false)
			p.expect(RParen, "')' after the qualifier value")
		case LBrace:
			q.Value = p.array()
		}
		if p.tok.Kind == Colon {
			p.next()
			for p.tok.Kind == Ident {
				if !isFlavor(p.tok.Text) {
					p.fail(p.tok.Pos, "unknown flavor %q", p.tok.Text)
				}
				q.Flavors = append(q.Flavors, Word{At: p.tok.Pos, Name: p.tok.Text})
				p.next()
			}
			if len(q.Flavors) == 0 {
				p.fail(p.tok.Pos, "expected a flavor after ':', found %s", describe(p.tok))
			}
		}
		out = append(out, q)
		if p.tok.Kind != Comma {
			break
		}
		p.next()
	}
	p.expect(RBrack, "',' or ']' in the qualifier list")
	return out
}

// qualifierDecl parses "Qualifier Name : type [= default], Scope(...)
// [, Flavor(...)];" or WMI's flavor statement "Qualifier Name : flavors;".
func (p *parser) qualifierDecl() *QualifierDecl {
	at := p.tok.Pos
	p.next()
	name := p.ident("a qualifier name")
	d := &QualifierDecl{At: at, Name: name.Text}
	p.expect(Colon, "':' after the qualifier name")
	if p.tok.Kind == Ident && isFlavor(p.tok.Text) {
		for p.tok.Kind == Ident && isFlavor(p.tok.Text) {
			d.Flavors = append(d.Flavors, Word{At: p.tok.Pos, Name: p.tok.Text})
			p.next()
		}
		p.expect(Semi, "';' after the flavors")
		return d
	}
	t := p.ident("a qualifier type")
	d.Type = t.Text
	if p.tok.Kind == LBrack {
		d.Array = true
		d.ArraySize = p.arraySize()
	}
	if p.tok.Kind == Equal {
		p.next()
		d.Default = p.value(false)
	}
	for p.tok.Kind == Comma {
		p.next()
		switch {
		case p.isWord("scope"):
			p.next()
			d.Scopes = append(d.Scopes, p.words("a scope")...)
		case p.isWord("flavor"):
			p.next()
			for _, w := range p.words("a flavor") {
				if !isFlavor(w.Name) {
					p.fail(w.At, "unknown flavor %q", w.Name)
				}
				d.Flavors = append(d.Flavors, w)
			}
		case p.tok.Kind == Ident && isFlavor(p.tok.Text):
			d.Flavors = append(d.Flavors, Word{At: p.tok.Pos, Name: p.tok.Text})
			p.next()
		case p.isWord("policy"):
			p.fail(p.tok.Pos, "MOF 3 (DSP0221) qualifier policies are not supported: use Flavor(...)")
		default:
			p.fail(p.tok.Pos, "expected Scope or Flavor, found %s", describe(p.tok))
		}
	}
	if p.isWord("scope") || p.isWord("policy") {
		p.fail(p.tok.Pos, "expected ',' before %s", p.tok.Text)
	}
	p.expect(Semi, "';' to end the qualifier declaration")
	if d.Scopes == nil {
		p.errs = append(p.errs, &Error{Pos: at, Msg: sprintf("qualifier declaration %s has no Scope", d.Name)})
	}
	return d
}

// words parses "( word, word | word ... )".
func (p *parser) words(what string) []Word {
	p.expect(LParen, "'('")
	var out []Word
	for {
		t := p.ident(what)
		out = append(out, Word{At: t.Pos, Name: t.Text})
		if p.tok.Kind != Comma {
			break
		}
		p.next()
	}
	p.expect(RParen, "')'")
	return out
}

func (p *parser) arraySize() int {
	p.expect(LBrack, "'['")
	n := 0
	if p.tok.Kind == Integer {
		v, err := strconv.ParseUint(p.tok.Text, 10, 31)
		if err != nil || v == 0 {
			p.fail(p.tok.Pos, "an array size is a positive decimal number, not %s", p.tok.Text)
		}
		n = int(v)
		p.next()
	}
	p.expect(RBrack, "']' to end the array size")
	return n
}

func (p *parser) alias() string {
	p.next() // as
	if p.tok.Kind != Alias {
		p.fail(p.tok.Pos, "expected an alias ($name) after 'as', found %s", describe(p.tok))
	}
	name := p.tok.Text
	p.next()
	return name
}

func (p *parser) class(at Pos, quals []*Qualifier) *ClassDecl {
	p.next() // class
	name := p.ident("a class name")
	c := &ClassDecl{At: at, Qualifiers: quals, Name: name.Text}
	if p.isWord("as") {
		c.Alias = p.alias()
	}
	if p.tok.Kind == Colon {
		p.next()
		c.SuperAt = p.tok.Pos
		c.Superclass = p.ident("a superclass name").Text
	}
	p.expect(LBrace, "'{' to open the class body")
	for p.tok.Kind != RBrace {
		if p.tok.Kind == EOF {
			p.fail(p.tok.Pos, "class %s is not closed: expected '}'", c.Name)
		}
		p.feature(c)
	}
	p.next()
	p.expect(Semi, "';' after the class body")
	return c
}

// feature parses a property, reference or method declaration.
func (p *parser) feature(c *ClassDecl) {
	at := p.tok.Pos
	var quals []*Qualifier
	if p.tok.Kind == LBrack {
		quals = p.qualifierList()
	}
	if p.isWord("structure") || p.isWord("enumeration") {
		p.fail(p.tok.Pos, "MOF 3 (DSP0221) nested %s declarations are not supported", strings.ToLower(p.tok.Text))
	}
	typ := p.typeRef()
	name := p.ident("a property or method name")
	if p.tok.Kind == LParen {
		if typ.Ref {
			p.fail(typ.At, "a method cannot return a reference in CIM 2.x MOF")
		}
		m := &MethodDecl{At: at, Qualifiers: quals, Return: typ, Name: name.Text}
		p.next()
		for p.tok.Kind != RParen {
			m.Params = append(m.Params, p.parameter())
			if p.tok.Kind != Comma {
				break
			}
			p.next()
		}
		p.expect(RParen, "',' or ')' in the parameter list")
		if p.tok.Kind == LBrack {
			p.fail(p.tok.Pos, "a method cannot return an array")
		}
		p.expect(Semi, "';' after the method")
		c.Methods = append(c.Methods, m)
		return
	}
	pd := &PropertyDecl{At: at, Qualifiers: quals, Type: typ, Name: name.Text}
	if p.tok.Kind == LBrack {
		pd.Array = true
		pd.ArraySize = p.arraySize()
	}
	if p.tok.Kind == Equal {
		p.next()
		pd.Default = p.value(true)
	}
	p.expect(Semi, "';' after the property")
	c.Properties = append(c.Properties, pd)
}

func (p *parser) typeRef() TypeRef {
	t := p.ident("a type")
	tr := TypeRef{At: t.Pos, Name: t.Text}
	if p.isWord("ref") {
		tr.Ref = true
		p.next()
	}
	return tr
}

func (p *parser) parameter() *PropertyDecl {
	at := p.tok.Pos
	var quals []*Qualifier
	if p.tok.Kind == LBrack {
		quals = p.qualifierList()
	}
	typ := p.typeRef()
	name := p.ident("a parameter name")
	pd := &PropertyDecl{At: at, Qualifiers: quals, Type: typ, Name: name.Text}
	if p.tok.Kind == LBrack {
		pd.Array = true
		pd.ArraySize = p.arraySize()
	}
	if p.tok.Kind == Equal {
		p.fail(p.tok.Pos, "parameter default values are MOF 3 (DSP0221) and not supported")
	}
	return pd
}

// instance parses "instance of Class [as $alias] { [quals] Name = value; ... }"
// without the final ';'.
func (p *parser) instance(at Pos, quals []*Qualifier) *InstanceDecl {
	p.next() // instance
	p.expectWord("of")
	name := p.ident("a class name")
	in := &InstanceDecl{At: at, Qualifiers: quals, Class: name.Text, ClassAt: name.Pos}
	if p.isWord("as") {
		in.Alias = p.alias()
	}
	p.expect(LBrace, "'{' to open the instance body")
	if p.propsHint > 0 {
		in.Props = make([]*PropertyValue, 0, p.propsHint)
	}
	for p.tok.Kind != RBrace {
		pat := p.tok.Pos
		var pq []*Qualifier
		if p.tok.Kind == LBrack {
			pq = p.qualifierList()
		}
		pn := p.ident("a property name")
		p.expect(Equal, "'=' after the property name")
		v := p.value(true)
		p.expect(Semi, "';' after the property value")
		in.Props = append(in.Props, p.newProperty(PropertyValue{At: pat, Qualifiers: pq, Name: pn.Text, Value: v}))
	}
	p.next()
	p.propsHint = min(len(in.Props), 64)
	return in
}

// value parses a literal, alias, array, or (when embedded is allowed) an
// embedded instance.
func (p *parser) value(embedded bool) *Value {
	t := p.tok
	switch t.Kind {
	case String:
		return p.stringValue()
	case Integer:
		p.next()
		return p.newValue(Value{At: t.Pos, Kind: ValueInteger, Text: t.Text})
	case Real:
		p.next()
		return p.newValue(Value{At: t.Pos, Kind: ValueReal, Text: t.Text})
	case Char:
		p.next()
		return p.newValue(Value{At: t.Pos, Kind: ValueChar, Text: t.Text})
	case Alias:
		p.next()
		return p.newValue(Value{At: t.Pos, Kind: ValueAlias, Text: t.Text})
	case LBrace:
		return p.array()
	case Ident:
		switch {
		case strings.EqualFold(t.Text, "true"), strings.EqualFold(t.Text, "false"):
			p.next()
			return p.newValue(Value{At: t.Pos, Kind: ValueBool, Text: strings.ToLower(t.Text)})
		case strings.EqualFold(t.Text, "null"):
			p.next()
			return p.newValue(Value{At: t.Pos, Kind: ValueNull})
		case strings.EqualFold(t.Text, "instance") && embedded:
			if p.nest >= maxNesting {
				p.fail(t.Pos, "embedded instances nest deeper than %d", maxNesting)
			}
			p.nest++
			in := p.instance(t.Pos, nil)
			p.nest--
			if in.Alias != "" {
				p.fail(t.Pos, "an embedded instance cannot have an alias")
			}
			return p.newValue(Value{At: t.Pos, Kind: ValueInstance, Instance: in})
		case strings.EqualFold(t.Text, "value"):
			p.fail(t.Pos, "MOF 3 (DSP0221) value declarations are not supported")
		}
	}
	p.fail(t.Pos, "expected a value, found %s", describe(t))
	return nil
}

// array parses "{ v, v, ... }"; an empty array is allowed.
func (p *parser) array() *Value {
	v := p.newValue(Value{At: p.tok.Pos, Kind: ValueArray})
	p.next()
	for p.tok.Kind != RBrace {
		e := p.value(true)
		if e.Kind == ValueArray {
			p.fail(e.At, "arrays cannot nest")
		}
		v.Elems = append(v.Elems, e)
		if p.tok.Kind != Comma {
			break
		}
		p.next()
	}
	p.expect(RBrace, "',' or '}' in the array")
	return v
}
