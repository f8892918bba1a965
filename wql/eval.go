package wql

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/wbemd/wbemd/cim"
)

// Project returns the result of a data query for one selected instance:
// the selected properties, the keys and the system properties, as WMI
// does for SELECT a, b; SELECT * keeps everything.
func Project(inst *cim.Object, q *Select) *cim.Object {
	if q.Star {
		return inst
	}
	out := *inst
	out.Properties = nil
	for i := range inst.Properties {
		p := &inst.Properties[i]
		keep := p.IsKey()
		for _, sel := range q.Props {
			if cim.EqualFold(sel.Path[0], p.Name) {
				keep = true
			}
		}
		if keep {
			out.Properties = append(out.Properties, *p)
		}
	}
	return &out
}

// tri is SQL's three-valued logic: a comparison with NULL is unknown, and
// a WHERE clause selects an object only when it is true.
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

// Match reports whether obj satisfies the WHERE expression (nil matches
// everything). It assumes the query passed Check against obj's class.
func Match(e Expr, obj *cim.Object) bool { return e == nil || eval(e, obj) == triTrue }

func eval(e Expr, obj *cim.Object) tri {
	switch e := e.(type) {
	case *Binary:
		l := eval(e.L, obj)
		if e.Or {
			if l == triTrue {
				return triTrue
			}
			r := eval(e.R, obj)
			switch {
			case r == triTrue:
				return triTrue
			case l == triUnknown || r == triUnknown:
				return triUnknown
			}
			return triFalse
		}
		if l == triFalse {
			return triFalse
		}
		r := eval(e.R, obj)
		switch {
		case r == triFalse:
			return triFalse
		case l == triUnknown || r == triUnknown:
			return triUnknown
		}
		return triTrue
	case *Not:
		switch eval(e.X, obj) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	case *IsNull:
		v, ok := Resolve(e.Prop, obj)
		if !ok {
			return triUnknown
		}
		return triOf(v.IsNull() != e.Not)
	case *Isa:
		if len(e.Prop.Path) == 1 && strings.EqualFold(e.Prop.Path[0], "__this") {
			return triOf(isA(obj, e.Class))
		}
		v, ok := Resolve(e.Prop, obj)
		if !ok || v.IsNull() {
			return triUnknown
		}
		o, isObj := v.V.(*cim.Object)
		if !isObj {
			return triFalse
		}
		return triOf(isA(o, e.Class))
	case *Compare:
		v, ok := Resolve(e.Prop, obj)
		if !ok {
			return triUnknown
		}
		return compareValue(v, e.Op, e.Value)
	}
	return triUnknown
}

func isA(o *cim.Object, class string) bool {
	if cim.EqualFold(o.Class, class) {
		return true
	}
	for _, d := range o.Derivation {
		if cim.EqualFold(d, class) {
			return true
		}
	}
	return false
}

// Resolve returns the value a property reference names in obj: a
// property, a system property, or a member of an embedded object. ok is false when
// the path leads nowhere (WMI: an invalid embedded path is not an error,
// it matches nothing).
func Resolve(p *Prop, obj *cim.Object) (v cim.Value, ok bool) {
	cur := obj
	for i, name := range p.Path {
		if cim.IsSystemName(name) {
			sv, found := cur.SystemProperty(name)
			if !found {
				return cim.Value{}, false
			}
			v = sv
		} else {
			prop, found := cur.Property(name)
			if !found {
				return cim.Value{}, false
			}
			v = prop.Value
		}
		if i == len(p.Path)-1 {
			return v, true
		}
		o, isObj := v.V.(*cim.Object)
		if !isObj {
			if v.IsNull() {
				return cim.Null(cim.TypeString), true // a member of a NULL object is NULL
			}
			return cim.Value{}, false
		}
		cur = o
	}
	return cim.Value{}, false
}

// compareValue applies op to a property value and a constant with WMI's
// rules: strings compare without regard to case (key values too, as WMI
// compares paths), numbers across integer widths and with reals,
// datetimes by instant, references as object paths; anything against NULL
// is unknown.
func compareValue(v cim.Value, op Op, lit *Literal) tri {
	if v.IsNull() || lit.Kind == LitNull {
		return triUnknown
	}
	if v.Type.IsArray() {
		return triUnknown
	}
	var c int
	switch x := v.V.(type) {
	case string:
		switch v.Type {
		case cim.TypeReference:
			return compareRef(x, op, lit)
		}
		if lit.Kind != LitString {
			return triUnknown
		}
		switch {
		case op == OpLike:
			return triOf(Like(x, lit.Text))
		default:
			c = compareFold(x, lit.Text)
		}
	case cim.Char16:
		if lit.Kind != LitString {
			return triUnknown
		}
		if op == OpLike {
			return triOf(Like(string(rune(x)), lit.Text))
		}
		c = compareFold(string(rune(x)), lit.Text)
	case cim.Datetime:
		if lit.Kind != LitString {
			return triUnknown
		}
		d, err := cim.ParseDatetime(lit.Text)
		if err != nil {
			return triUnknown
		}
		if op == OpLike {
			op = OpEq
		}
		var ok bool
		if c, ok = cim.CompareDatetime(x, d); !ok {
			if op != OpEq && op != OpNe {
				return triUnknown
			}
			c = strings.Compare(x.String(), d.String())
			if c != 0 {
				c = 1
			}
		}
	case bool:
		var b bool
		switch lit.Kind {
		case LitBool, LitInt:
			b = lit.Int != 0 || (lit.Big && lit.Uint != 0)
		default:
			return triUnknown
		}
		if op == OpLike {
			op = OpEq
		}
		if op != OpEq && op != OpNe {
			return triUnknown
		}
		c = 1
		if x == b {
			c = 0
		}
	case *cim.Object:
		return triUnknown
	default: // numbers
		var ok bool
		if c, ok = compareNumber(v, lit); !ok {
			return triUnknown
		}
		if op == OpLike {
			op = OpEq
		}
	}
	return triOf(holds(op, c))
}

func holds(op Op, c int) bool {
	switch op {
	case OpEq, OpLike:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpGt:
		return c > 0
	case OpLe:
		return c <= 0
	}
	return c >= 0
}

func compareRef(x string, op Op, lit *Literal) tri {
	if lit.Kind != LitString || (op != OpEq && op != OpNe && op != OpLike) {
		return triUnknown
	}
	a, err1 := cim.ParsePath(x)
	b, err2 := cim.ParsePath(lit.Text)
	eq := false
	if err1 == nil && err2 == nil {
		eq = cim.EqualPaths(a, b)
	} else {
		eq = strings.EqualFold(x, lit.Text)
	}
	if op == OpNe {
		return triOf(!eq)
	}
	return triOf(eq)
}

// compareFold orders two strings without regard to case.
func compareFold(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		la, lb := foldRune(ra), foldRune(rb)
		if la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return []rune(strings.ToLower(string(r)))[0]
}

// compareNumber orders a numeric value and a numeric literal exactly,
// across signed, unsigned and real types.
func compareNumber(v cim.Value, lit *Literal) (int, bool) {
	var li int64
	var lu uint64
	var lf float64
	lkind := 0 // 1 signed, 2 unsigned, 3 real
	switch lit.Kind {
	case LitInt:
		if lit.Big {
			lu, lkind = lit.Uint, 2
		} else {
			li, lkind = lit.Int, 1
		}
	case LitReal:
		lf, lkind = lit.Real, 3
	default:
		return 0, false
	}
	var vi int64
	var vu uint64
	var vf float64
	vkind := 0
	switch x := v.V.(type) {
	case int8:
		vi, vkind = int64(x), 1
	case int16:
		vi, vkind = int64(x), 1
	case int32:
		vi, vkind = int64(x), 1
	case int64:
		vi, vkind = x, 1
	case uint8:
		vu, vkind = uint64(x), 2
	case uint16:
		vu, vkind = uint64(x), 2
	case uint32:
		vu, vkind = uint64(x), 2
	case uint64:
		vu, vkind = x, 2
	case float32:
		vf, vkind = float64(x), 3
	case float64:
		vf, vkind = x, 3
	default:
		return 0, false
	}
	if vkind == 3 || lkind == 3 {
		a, b := asFloat(vkind, vi, vu, vf), asFloat(lkind, li, lu, lf)
		if math.IsNaN(a) || math.IsNaN(b) {
			return 0, false
		}
		return cmpFloat(a, b), true
	}
	return cmpInts(vkind, vi, vu, lkind, li, lu), true
}

func asFloat(kind int, i int64, u uint64, f float64) float64 {
	switch kind {
	case 1:
		return float64(i)
	case 2:
		return float64(u)
	}
	return f
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpInts orders two integers, each signed (kind 1) or unsigned (kind 2).
func cmpInts(ak int, ai int64, au uint64, bk int, bi int64, bu uint64) int {
	if ak == 1 && ai < 0 {
		if bk == 2 || bi >= 0 {
			return -1
		}
		return cmpI(ai, bi)
	}
	if bk == 1 && bi < 0 {
		return 1
	}
	if ak == 1 {
		au = uint64(ai)
	}
	if bk == 1 {
		bu = uint64(bi)
	}
	switch {
	case au < bu:
		return -1
	case au > bu:
		return 1
	}
	return 0
}

func cmpI(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Like matches s against a WQL LIKE pattern, without regard to case: %
// any run, _ one character, [abc] [a-f] [a=f] a set or range, [^...] its
// complement; %, _ and [ are literal inside brackets.
func Like(s, pattern string) bool {
	return match([]rune(strings.ToLower(s)), []rune(strings.ToLower(pattern)))
}

// likeTok is one element of a compiled LIKE pattern.
type likeTok struct {
	kind byte // 'c' a character, '_' any one, '[' a set, '%' any run
	c    rune
	set  []rune
}

func compileLike(p []rune) []likeTok {
	var out []likeTok
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			if len(out) == 0 || out[len(out)-1].kind != '%' {
				out = append(out, likeTok{kind: '%'})
			}
		case '_':
			out = append(out, likeTok{kind: '_'})
		case '[':
			end := setEnd(p[i:])
			if end < 0 { // an unclosed '[' is literal
				out = append(out, likeTok{kind: 'c', c: '['})
				continue
			}
			out = append(out, likeTok{kind: '[', set: p[i+1 : i+end]})
			i += end
		default:
			out = append(out, likeTok{kind: 'c', c: p[i]})
		}
	}
	return out
}

func (t likeTok) matches(c rune) bool {
	switch t.kind {
	case '_':
		return true
	case '[':
		return inSet(c, t.set)
	}
	return t.c == c
}

// match runs a compiled pattern over s in O(len(s) * len(pattern)): on a
// mismatch it retries from the last %, one character further.
func match(s, p []rune) bool {
	toks := compileLike(p)
	si, ti := 0, 0
	star, starS := -1, 0
	for si < len(s) {
		switch {
		case ti < len(toks) && toks[ti].kind == '%':
			star, starS = ti, si
			ti++
		case ti < len(toks) && toks[ti].matches(s[si]):
			si++
			ti++
		case star >= 0:
			starS++
			si, ti = starS, star+1
		default:
			return false
		}
	}
	for ti < len(toks) && toks[ti].kind == '%' {
		ti++
	}
	return ti == len(toks)
}

// setEnd returns the index of the ']' that closes the set at p[0]; a ']'
// right after '[' or '[^' belongs to the set.
func setEnd(p []rune) int {
	i := 1
	if i < len(p) && p[i] == '^' {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for ; i < len(p); i++ {
		if p[i] == ']' {
			return i
		}
	}
	return -1
}

func inSet(c rune, set []rune) bool {
	neg := len(set) > 0 && set[0] == '^'
	if neg {
		set = set[1:]
	}
	in := false
	for i := 0; i < len(set); i++ {
		if i+2 < len(set) && (set[i+1] == '-' || set[i+1] == '=') {
			if set[i] <= c && c <= set[i+2] {
				in = true
			}
			i += 2
			continue
		}
		if set[i] == c {
			in = true
		}
	}
	return in != neg
}

// hasWildcards reports whether a LIKE pattern has a metacharacter.
func hasWildcards(p string) bool { return strings.ContainsAny(p, "%_[") }

// Rebase rewrites e, a clause on objects that hold an object in their
// property prefix, as a clause on the held object: every property path
// loses its first member. It does so when every path starts with prefix
// (compared without case) and goes on into the held object; Match of the
// result on a held object is then Match of e on an object whose property
// prefix holds it (not NULL). Otherwise it returns false.
func Rebase(e Expr, prefix string) (Expr, bool) {
	prop := func(p *Prop) (*Prop, bool) {
		if len(p.Path) < 2 || !cim.EqualFold(p.Path[0], prefix) || len(p.Path) == 2 && strings.EqualFold(p.Path[1], "__this") {
			return nil, false // __this alone means the object itself to eval
		}
		return &Prop{At: p.At, Path: p.Path[1:]}, true
	}
	switch e := e.(type) {
	case *Binary:
		l, okl := Rebase(e.L, prefix)
		r, okr := Rebase(e.R, prefix)
		if okl && okr {
			return &Binary{At: e.At, Or: e.Or, L: l, R: r}, true
		}
	case *Not:
		if x, ok := Rebase(e.X, prefix); ok {
			return &Not{At: e.At, X: x}, true
		}
	case *Compare:
		if p, ok := prop(e.Prop); ok {
			return &Compare{At: e.At, Prop: p, Op: e.Op, Value: e.Value}, true
		}
	case *IsNull:
		if p, ok := prop(e.Prop); ok {
			return &IsNull{At: e.At, Prop: p, Not: e.Not}, true
		}
	case *Isa:
		if p, ok := prop(e.Prop); ok {
			return &Isa{At: e.At, Prop: p, Class: e.Class}, true
		}
	}
	return nil, false
}
