package mof

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// splitAll splits src into pieces of about size bytes. Split reads in
// chunks: reading src one byte at a time, and in reads of 3 bytes, must cut
// the same pieces.
func splitAll(t testing.TB, src string, size int) []Piece {
	split := func(r io.Reader) []Piece {
		var out []Piece
		if err := Split(r, size, func(p Piece) error {
			out = append(out, p)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := split(strings.NewReader(src))
	for _, r := range []io.Reader{iotest.OneByteReader(strings.NewReader(src)), &shortReader{r: strings.NewReader(src), n: 3}} {
		if again := split(r); !reflect.DeepEqual(again, out) {
			t.Fatalf("size %d: pieces cut from short reads %v differ from %v", size, again, out)
		}
	}
	return out
}

// shortReader reads at most n bytes at a time.
type shortReader struct {
	r io.Reader
	n int
}

func (s *shortReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// TestSplit checks that the pieces of real MOF files, parsed one by one,
// give the declarations of the whole file at the same positions, whatever
// the piece size, and that a piece never ends inside a string, a comment
// or braces.
func TestSplit(t *testing.T) {
	files := []string{filepath.Join("..", "examples", "sample.mof"), filepath.Join("..", "wql", "testdata", "fixture.mof")}
	tricky := "// a comment; with a semicolon {\n" +
		"Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);\n" +
		"/* a block; comment { */ class T { [Key] string Id; string S = \"a;b}\\\";{\"; char16 C = ';'; };\n" +
		"#pragma namespace(\"root/x;y\")\n" +
		"instance of T { Id = \"1;\"; S = \"}\"; };\ninstance of T { Id = \"2\"; };\n"
	srcs := map[string]string{"tricky.mof": tricky}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f] = string(b)
	}
	for name, src := range srcs {
		whole, errs := Parse(name, src)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs[0])
		}
		for _, size := range []int{1, 7, 100, 4096, 1 << 20} {
			pieces := splitAll(t, src, size)
			var text strings.Builder
			var decls []Decl
			for i, p := range pieces {
				text.WriteString(p.Text)
				if i < len(pieces)-1 && !strings.HasSuffix(p.Text, ";") {
					t.Fatalf("%s size %d: piece %d does not end with ';': %q", name, size, i, p.Text)
				}
				u, errs := ParsePiece(name, p.Text, p.Line, p.End, int64(len(src)))
				if len(errs) > 0 {
					t.Fatalf("%s size %d: piece %d (line %d): %v\n%s", name, size, i, p.Line, errs[0], p.Text)
				}
				for _, it := range u.items {
					decls = append(decls, it.decl)
				}
			}
			if text.String() != src {
				t.Fatalf("%s size %d: the pieces do not make the file", name, size)
			}
			if len(decls) != len(whole.Decls) {
				t.Fatalf("%s size %d: %d declarations, want %d", name, size, len(decls), len(whole.Decls))
			}
			for i := range decls {
				if DeclPos(decls[i]) != DeclPos(whole.Decls[i]) {
					t.Fatalf("%s size %d: declaration %d at %v, want %v", name, size, i, DeclPos(decls[i]), DeclPos(whole.Decls[i]))
				}
			}
		}
	}
}

// FuzzSplit: the pieces of any text make the text, and every piece but
// the last ends with ';'.
func FuzzSplit(f *testing.F) {
	f.Add("class A { string S = \"x;\"; };\ninstance of A { S = 'c'; };", 3)
	f.Add("/* ; */ // ;\n;;", 1)
	f.Fuzz(func(t *testing.T, src string, size int) {
		size = size%64 + 1
		if size < 1 {
			size = 1
		}
		pieces := splitAll(t, src, size)
		var text strings.Builder
		for i, p := range pieces {
			text.WriteString(p.Text)
			if i < len(pieces)-1 && !strings.HasSuffix(p.Text, ";") {
				t.Fatalf("piece %d does not end with ';': %q", i, p.Text)
			}
		}
		if text.String() != src {
			t.Fatalf("pieces %v do not make %q", pieces, src)
		}
	})
}
