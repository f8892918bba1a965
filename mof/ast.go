package mof

// The syntax tree of a MOF file. Every node keeps the position where it
// starts; names are kept as written. Values stay in their source form
// (Value.Text for numbers) until the compiler knows the target type.

// File is one parsed MOF file.
type File struct {
	Name  string
	Decls []Decl
}

// Decl is a top-level production: *Pragma, *QualifierDecl, *ClassDecl or
// *InstanceDecl.
type Decl interface{ declPos() Pos }

// Pragma is a compiler directive: #pragma name(args) or #include "file".
type Pragma struct {
	At   Pos
	Name string   // "namespace", "include", "locale", "classflags", ...
	Args []*Value // string literals, or identifiers such as FAIL (Kind ValueIdent)
}

// QualifierDecl declares a qualifier type (DSP0004), or, when Type is
// empty, sets the default flavors of later uses of the qualifier in the
// compile (WMI's "Qualifier Description : ToSubclass;").
type QualifierDecl struct {
	At        Pos
	Name      string
	Type      string // a CIM type name; "" for a flavor statement
	Array     bool
	ArraySize int
	Default   *Value // nil when none was given
	Scopes    []Word // class, association, indication, property, reference, method, parameter, any
	Flavors   []Word
}

// Word is a keyword argument (a scope or a flavor) with its position.
type Word struct {
	At   Pos
	Name string
}

// Qualifier is one qualifier of a qualifier list.
type Qualifier struct {
	At      Pos
	Name    string
	Value   *Value // nil when the qualifier has no parameter (a boolean TRUE)
	Flavors []Word
}

// ClassDecl is a class, association or indication declaration (the kind is
// told by the Association and Indication qualifiers, as in DSP0004).
type ClassDecl struct {
	At         Pos
	Qualifiers []*Qualifier
	Name       string
	Alias      string
	Superclass string
	SuperAt    Pos
	Properties []*PropertyDecl
	Methods    []*MethodDecl
}

// TypeRef is the declared type of a property, parameter or method:
// a CIM type name, a class name with Ref for a reference, or a class name
// alone for a strongly typed embedded object.
type TypeRef struct {
	At   Pos
	Name string
	Ref  bool
}

// PropertyDecl declares a property or reference of a class, or a method
// parameter (which has no Default).
type PropertyDecl struct {
	At         Pos
	Qualifiers []*Qualifier
	Type       TypeRef
	Name       string
	Array      bool
	ArraySize  int
	Default    *Value
}

// MethodDecl declares a method.
type MethodDecl struct {
	At         Pos
	Qualifiers []*Qualifier
	Return     TypeRef
	Name       string
	Params     []*PropertyDecl
}

// InstanceDecl is "instance of Class [as $alias] { ... }", at top level or
// as an embedded instance value.
type InstanceDecl struct {
	At         Pos
	Qualifiers []*Qualifier
	Class      string
	ClassAt    Pos
	Alias      string
	Props      []*PropertyValue
}

// PropertyValue is one "Name = value;" of an instance.
type PropertyValue struct {
	At         Pos
	Qualifiers []*Qualifier
	Name       string
	Value      *Value
}

// ValueKind tells what a Value holds.
type ValueKind uint8

// The value kinds.
const (
	ValueNull     ValueKind = iota
	ValueBool               // Text "true" or "false"
	ValueInteger            // Text as written: -7, 0x1F, 017, 101b
	ValueReal               // Text as written
	ValueString             // Text decoded, adjacent literals joined
	ValueChar               // Text decoded (one character)
	ValueAlias              // Text is the alias name without $
	ValueIdent              // a bare identifier (pragma arguments such as FAIL)
	ValueArray              // Elems
	ValueInstance           // Instance
)

// Value is a literal, an alias reference, an array or an embedded instance.
type Value struct {
	At       Pos
	Kind     ValueKind
	Text     string
	Elems    []*Value
	Instance *InstanceDecl
}

func (d *Pragma) declPos() Pos        { return d.At }
func (d *QualifierDecl) declPos() Pos { return d.At }
func (d *ClassDecl) declPos() Pos     { return d.At }
func (d *InstanceDecl) declPos() Pos  { return d.At }

// DeclPos returns where a declaration starts.
func DeclPos(d Decl) Pos { return d.declPos() }
