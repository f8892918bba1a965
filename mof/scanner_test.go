package mof

import (
	"fmt"
	"strings"
	"testing"
)

func scanAll(src string) ([]Token, []*Error) {
	s := NewScanner("t.mof", src)
	var toks []Token
	for {
		t := s.Next()
		if t.Kind == EOF {
			return toks, s.Errors
		}
		toks = append(toks, t)
	}
}

func TestScanTokens(t *testing.T) {
	src := "\uFEFF#pragma namespace(\"\\\\\\\\.\\\\root\\\\x\")\n" +
		"// a comment\n" +
		"[Key, Description(\"a\\tb\" \"c\") : ToSubclass]\n" +
		"class Disk : CIM_X { uint32 N = 0x1F; real64 R = -2.5e3; sint8 O = 017; uint8 B = 101b; char16 C = '\\x41'; };\n" +
		"/* block\n comment */ instance of Disk as $d1 { N = -7; };"
	toks, errs := scanAll(src)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, fmt.Sprintf("%v:%s", tk.Kind, tk.Text))
	}
	want := []string{"#pragma:#pragma", "identifier:namespace", "'(':(", `string:\\.\root\x`, "')':)",
		"'[':[", "identifier:Key", "',':,", "identifier:Description", "'(':(", "string:a\tb", "string:c", "')':)", "':'::", "identifier:ToSubclass", "']':]",
		"identifier:class", "identifier:Disk", "':'::", "identifier:CIM_X", "'{':{",
		"identifier:uint32", "identifier:N", "'=':=", "integer:0x1F", "';':;",
		"identifier:real64", "identifier:R", "'=':=", "real number:-2.5e3", "';':;",
		"identifier:sint8", "identifier:O", "'=':=", "integer:017", "';':;",
		"identifier:uint8", "identifier:B", "'=':=", "integer:101b", "';':;",
		"identifier:char16", "identifier:C", "'=':=", "char16 literal:A", "';':;", "'}':}", "';':;",
		"identifier:instance", "identifier:of", "identifier:Disk", "identifier:as", "alias:d1", "'{':{",
		"identifier:N", "'=':=", "integer:-7", "';':;", "'}':}", "';':;"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("tokens:\n%s\nwant:\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	if p := toks[5].Pos; p.Line != 3 || p.Col != 1 {
		t.Errorf("position of '[' = %v, want line 3 col 1", p)
	}
	if p := toks[len(toks)-12].Pos; p.String() != "t.mof:6:13" {
		t.Errorf("position of 'instance' = %v", p)
	}
}

func TestScanErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`"abc`, "t.mof:1:1: literal not terminated"},
		{"\"ab\ncd\"", "t.mof:1:1: literal not terminated"},
		{`"a\qb"`, `t.mof:1:3: unknown escape \q`},
		{`"\x"`, `t.mof:1:2: \x needs hexadecimal digits`},
		{`'ab'`, "t.mof:1:1: a char16 literal holds exactly one character"},
		{`x = 0x;`, "t.mof:1:5: malformed hexadecimal number 0x"},
		{`x = 019;`, "t.mof:1:5: malformed octal number 019"},
		{`x = 102b;`, "t.mof:1:5: malformed binary number 102b"},
		{`x = 1.2.3;`, "t.mof:1:5: malformed real number 1.2.3"},
		{`x = 99999999999999999999;`, "t.mof:1:5: malformed number 99999999999999999999"},
		{"/* open", "t.mof:1:1: comment not terminated"},
		{"#define x", "t.mof:1:1: expected #pragma or #include, found #define"},
		{"a @ b", "t.mof:1:3: unexpected character '@'"},
		{"$ x", "t.mof:1:1: expected an alias name after '$'"},
		{`'\xD800'`, `t.mof:1:2: \xD800 is a surrogate code unit`},
	}
	for _, c := range cases {
		_, errs := scanAll(c.src)
		if len(errs) == 0 || errs[0].Error() != c.want {
			t.Errorf("%q: errors %v, want %q", c.src, errs, c.want)
		}
	}
	// Scanning goes on after an error: both are reported.
	if _, errs := scanAll("a @ b # c"); len(errs) != 2 {
		t.Errorf("errors %v, want two", errs)
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range []string{`class A { uint32 x = 5; };`, `instance of A as $a { s = "a\x41" "b"; c = 'z'; };`, "#pragma locale(\"en_US\")", "/* c */ [Key] -1.5e-3 0x1f 101b 017"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s := NewScanner("f.mof", src)
		last := Pos{Line: 1}
		for i := 0; ; i++ {
			tok := s.Next()
			if tok.Kind == EOF {
				break
			}
			if tok.Pos.Line < last.Line || (tok.Pos.Line == last.Line && tok.Pos.Col < last.Col) {
				t.Fatalf("positions went backwards: %v after %v", tok.Pos, last)
			}
			last = tok.Pos
			if i > len(src)+1 {
				t.Fatalf("more tokens than bytes")
			}
		}
	})
}
