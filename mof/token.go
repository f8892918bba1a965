// Package mof reads MOF, the text form of CIM schemas and instances, in the
// CIM 2.x dialect of DSP0004 as WMI's mofcomp accepts it. It is built like
// go/scanner and go/parser: a scanner of tokens with positions, and errors
// that name file:line:col.
package mof

import (
	"fmt"

	"github.com/wbemd/wbemd/cim"
)

// Kind is the kind of a token.
type Kind uint8

// The token kinds. Keywords (class, instance, of, qualifier, ...) are
// identifiers: MOF keywords are case-insensitive and most may also be
// names, so the parser decides.
const (
	EOF       Kind = iota
	Ident          // Name, CIM_ManagedElement, true, class, ...
	Integer        // 42, -7, 0x1F, 017, 101b
	Real           // 1.5, -2e10, .5
	String         // "text" (one literal; adjacent literals are concatenated by the parser)
	Char           // 'a', '\x41'
	Alias          // $name
	Directive      // #pragma or #include (Text tells which)
	LBrace         // {
	RBrace         // }
	LBrack         // [
	RBrack         // ]
	LParen         // (
	RParen         // )
	Semi           // ;
	Comma          // ,
	Colon          // :
	Equal          // =
)

var kindNames = [...]string{EOF: "end of file", Ident: "identifier", Integer: "integer", Real: "real number",
	String: "string", Char: "char16 literal", Alias: "alias", Directive: "#pragma", LBrace: "'{'", RBrace: "'}'",
	LBrack: "'['", RBrack: "']'", LParen: "'('", RParen: "')'", Semi: "';'", Comma: "','", Colon: "':'", Equal: "'='"}

// String names the kind as diagnostics do.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Pos is a position in a MOF file: line and column are 1-based, columns
// count bytes.
type Pos struct {
	File      string
	Line, Col int
}

// String formats the position as file:line:col.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Token is one token. Text is the source text, except for String and Char,
// where it is the decoded value, and Alias, where it is the name without $.
type Token struct {
	Kind Kind
	Pos  Pos
	Text string
}

// Error is a diagnostic at a position: a syntax error, or a semantic one
// with the WBEM status of the failure where one applies.
type Error struct {
	Pos    Pos
	Msg    string
	Status cim.Status // 0 for syntax errors
}

// Error formats the diagnostic as file:line:col: message (STATUS).
func (e *Error) Error() string {
	s := e.Pos.String() + ": " + e.Msg
	if e.Status != 0 {
		s += " (" + e.Status.String() + ")"
	}
	return s
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
