// Package wql reads WQL, WMI's query language: data queries (SELECT ...
// FROM class WHERE ...), schema queries (FROM meta_class), ASSOCIATORS OF
// and REFERENCES OF, and event queries (WITHIN, GROUP WITHIN ... BY ...
// HAVING). It parses a query into a syntax tree with positions (its
// errors collected in an ErrorList), prints a tree back to WQL text
// (Format), and evaluates WHERE expressions on objects with WMI's
// comparison rules.
package wql

import "fmt"

// MaxQueryLen is WBEM_MAX_QUERY: a longer query is WBEM_E_QUOTA_VIOLATION.
const MaxQueryLen = 0x4000

// maxTerms bounds the AND/OR terms of a WHERE clause (WMI answers
// WBEM_E_QUOTA_VIOLATION on queries that are too complex).
const maxTerms = 1024

// Pos is a position in a query: 1-based line and column (bytes).
type Pos struct{ Line, Col int }

// String formats the position as line:col.
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Node is a node of a query's syntax tree: a Query, an Expr, a *Group, a
// *Prop or a *Literal. Format prints any node back to WQL.
type Node interface {
	Pos() Pos // where the node starts in the query text
	node()
}

// Query is a parsed query: *Select or *Assoc.
type Query interface {
	Node
	query()
}

// Select is a data, schema or event query.
type Select struct {
	At     Pos
	Star   bool
	Props  []*Prop // the select list when not Star
	From   string
	FromAt Pos
	Meta   bool    // FROM meta_class: a schema query
	Within float64 // WITHIN seconds (event queries); 0 when absent
	Where  Expr    // nil when absent
	Group  *Group  // GROUP WITHIN ... (event queries)
}

// Group is an event query's GROUP WITHIN n [BY props] [HAVING ...].
type Group struct {
	At     Pos
	Within float64
	By     []*Prop
	Having *Compare // on NumberOfEvents
}

// Assoc is ASSOCIATORS OF or REFERENCES OF.
type Assoc struct {
	At         Pos
	References bool
	Path       string // the object path between the braces
	PathAt     Pos

	AssocClass, ResultClass, ResultRole, Role string
	RequiredQualifier, RequiredAssocQualifier string
	ClassDefsOnly, SchemaOnly, KeysOnly       bool
	AssocClassAt, ResultClassAt               Pos // where the class names are written
}

// Pos returns where the node starts.
func (s *Select) Pos() Pos { return s.At }

// Pos returns where the node starts.
func (a *Assoc) Pos() Pos { return a.At }

// Pos returns where the node starts.
func (g *Group) Pos() Pos { return g.At }

// Pos returns where the node starts.
func (p *Prop) Pos() Pos { return p.At }

// Pos returns where the node starts.
func (l *Literal) Pos() Pos { return l.At }

func (*Select) node()  {}
func (*Assoc) node()   {}
func (*Group) node()   {}
func (*Prop) node()    {}
func (*Literal) node() {}
func (*Select) query() {}
func (*Assoc) query()  {}

// Prop is a property reference: a name, a system property (__CLASS), or
// a dotted path into embedded objects (TargetInstance.Name).
type Prop struct {
	At   Pos
	Path []string
}

// String returns the dotted name.
func (p *Prop) String() string {
	s := p.Path[0]
	for _, n := range p.Path[1:] {
		s += "." + n
	}
	return s
}

// Expr is a WHERE expression: *Binary, *Not, *Compare, *IsNull or *Isa.
type Expr interface {
	Node
	expr()
}

// Binary is AND or OR.
type Binary struct {
	At   Pos
	Or   bool
	L, R Expr
}

// Not is NOT x.
type Not struct {
	At Pos
	X  Expr
}

// Op is a comparison operator.
type Op uint8

// The operators.
const (
	OpEq Op = iota
	OpNe
	OpLt
	OpGt
	OpLe
	OpGe
	OpLike
)

var opNames = [...]string{"=", "<>", "<", ">", "<=", ">=", "LIKE"}

// String is the operator as WQL writes it.
func (o Op) String() string { return opNames[o] }

// flip returns the operator for swapped operands (5 < x is x > 5).
func (o Op) flip() Op {
	switch o {
	case OpLt:
		return OpGt
	case OpGt:
		return OpLt
	case OpLe:
		return OpGe
	case OpGe:
		return OpLe
	}
	return o
}

// Compare is prop op literal (a literal first is turned around).
type Compare struct {
	At    Pos
	Prop  *Prop
	Op    Op
	Value *Literal
}

// IsNull is prop IS [NOT] NULL.
type IsNull struct {
	At   Pos
	Prop *Prop
	Not  bool
}

// Isa is prop ISA 'Class' (or __this ISA 'Class' in schema queries).
type Isa struct {
	At    Pos
	Prop  *Prop
	Class string
}

// Pos returns where the expression starts.
func (e *Binary) Pos() Pos { return e.At }

// Pos returns where the expression starts.
func (e *Not) Pos() Pos { return e.At }

// Pos returns where the expression starts.
func (e *Compare) Pos() Pos { return e.At }

// Pos returns where the expression starts.
func (e *IsNull) Pos() Pos { return e.At }

// Pos returns where the expression starts.
func (e *Isa) Pos() Pos { return e.At }

func (*Binary) node()  {}
func (*Not) node()     {}
func (*Compare) node() {}
func (*IsNull) node()  {}
func (*Isa) node()     {}
func (*Binary) expr()  {}
func (*Not) expr()     {}
func (*Compare) expr() {}
func (*IsNull) expr()  {}
func (*Isa) expr()     {}

// LitKind tells what a literal is.
type LitKind uint8

// The literal kinds.
const (
	LitString LitKind = iota
	LitInt
	LitReal
	LitBool
	LitNull
)

// Literal is a constant of a query.
type Literal struct {
	At   Pos
	Kind LitKind
	Text string // decoded string, or the number as written
	Int  int64  // LitInt (or 1/0 for booleans)
	Uint uint64 // LitInt values above MaxInt64
	Big  bool   // Uint holds the value
	Real float64
}
