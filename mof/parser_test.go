package mof

import (
	"strings"
	"testing"
)

func TestParseDeclarations(t *testing.T) {
	src := `#pragma namespace("\\\\.\\root\\x")
#include "more.mof"
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Description : ToSubclass Amended;
[Association, Description("a" "b") : Amended ToSubclass]
class Link as $L : Base {
	[Key] Base ref A;
	string Tags[4] = {"x", 'y'};
	uint32 Op([In, Out] sint8 P[], CIM_X ref R);
};
instance of Link as $i { A = $j; Tags = {}; E = instance of Base { N = NULL; }; };`
	f, errs := Parse("t.mof", src)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(f.Decls) != 6 {
		t.Fatalf("%d declarations, want 6", len(f.Decls))
	}
	if p := f.Decls[0].(*Pragma); p.Name != "namespace" || p.Args[0].Text != `\\.\root\x` {
		t.Errorf("pragma %+v", p)
	}
	if p := f.Decls[1].(*Pragma); p.Name != "include" || p.Args[0].Text != "more.mof" {
		t.Errorf("include %+v", p)
	}
	if q := f.Decls[2].(*QualifierDecl); q.Type != "boolean" || len(q.Scopes) != 2 || len(q.Flavors) != 2 || q.Default.Text != "false" {
		t.Errorf("qualifier %+v", q)
	}
	if q := f.Decls[3].(*QualifierDecl); q.Type != "" || len(q.Flavors) != 2 {
		t.Errorf("flavor statement %+v", q)
	}
	c := f.Decls[4].(*ClassDecl)
	if c.Name != "Link" || c.Alias != "L" || c.Superclass != "Base" || c.Qualifiers[1].Value.Text != "ab" || len(c.Qualifiers[1].Flavors) != 2 {
		t.Errorf("class %+v", c)
	}
	if a := c.Properties[0]; !a.Type.Ref || a.Type.Name != "Base" || a.At != (Pos{"t.mof", 7, 2}) {
		t.Errorf("reference %+v", a)
	}
	if p := c.Properties[1]; !p.Array || p.ArraySize != 4 || len(p.Default.Elems) != 2 || p.Default.Elems[1].Kind != ValueChar {
		t.Errorf("array %+v", p)
	}
	if m := c.Methods[0]; len(m.Params) != 2 || !m.Params[0].Array || !m.Params[1].Type.Ref {
		t.Errorf("method %+v", m)
	}
	in := f.Decls[5].(*InstanceDecl)
	if in.Alias != "i" || in.Props[0].Value.Kind != ValueAlias || in.Props[1].Value.Kind != ValueArray || in.Props[2].Value.Instance.Class != "Base" {
		t.Errorf("instance %+v", in)
	}
}

func TestParseRecovers(t *testing.T) {
	// Errors in two declarations, each reported; the good ones parse.
	_, errs := Parse("t.mof", "class A { uint32 X };\nclass B { };\ninstance of { };\nclass C { };")
	if len(errs) != 2 || errs[0].Pos.Line != 1 || errs[1].Pos.Line != 3 {
		t.Fatalf("errors %v", errs)
	}
	f, _ := Parse("t.mof", strings.Repeat("class ; ", 200))
	_ = f
	_, errs = Parse("t.mof", strings.Repeat("class ; ", 200))
	if len(errs) != MaxErrors {
		t.Errorf("%d errors, want the cap of %d", len(errs), MaxErrors)
	}
	// Deeply nested embedded instances stop at the nesting limit.
	deep := strings.Repeat("instance of A { E = ", 100) + "1" + strings.Repeat("; }", 100) + ";"
	if _, errs := Parse("t.mof", deep); len(errs) == 0 || !strings.Contains(errs[0].Msg, "nest deeper") {
		t.Errorf("deep nesting: %v", errs)
	}
}

// FuzzParse: any input parses without a panic, in bounded time, with
// errors that carry positions inside the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`class A : B { [Key] string Id; uint32 M([In] sint8 P[]); };`,
		`instance of A as $a { R = $b; E = instance of C { S = "x" "y"; }; L = {1, 2}; };`,
		`Qualifier Q : string[] = {"a"}, Scope(any), Flavor(EnableOverride, Restricted);`,
		`#pragma deleteclass("A", NOFAIL) [Q : Amended] class A { };`,
		`structure S { };`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := strings.Count(src, "\n") + 1
		file, errs := Parse("f.mof", src)
		for _, e := range errs {
			if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 {
				t.Fatalf("error position %v outside the input (%d lines)", e.Pos, lines)
			}
		}
		if len(errs) > MaxErrors {
			t.Fatalf("%d errors, more than the cap", len(errs))
		}
		for _, d := range file.Decls {
			if p := DeclPos(d); p.Line < 1 || p.Line > lines {
				t.Fatalf("declaration position %v outside the input", p)
			}
		}
	})
}

// BenchmarkParse measures parsing throughput on a synthetic schema shaped
// like the DMTF one (long descriptions, many qualifiers).
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 4<<20; i++ {
		sb.WriteString(`// Copyright
[Version ( "2.49.0" ), UMLPackagePath ( "CIM::Core" ), Description (
       "A long description of the class, as DMTF writes them, "
       "over several concatenated string literals.")]
class CIM_Class` + strings.Repeat("X", i%7) + ` : CIM_Parent {
      [Key, Description ( "The key." ), MaxLen ( 256 )]
   string InstanceID;
      [Description ( "A value map." ), ValueMap { "0", "1", "2", ".." }, Values { "Unknown", "Other", "Ok", "DMTF Reserved" }]
   uint16 Status = 0;
      [Description ( "A method." )]
   uint32 Start([IN, Description ( "p" )] string Param, [IN ( false ), OUT] CIM_Job REF Job);
};
`)
	}
	src := sb.String()
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, errs := Parse("b.mof", src); len(errs) > 0 {
			b.Fatal(errs[0])
		}
	}
}
