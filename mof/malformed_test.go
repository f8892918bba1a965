package mof_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/store"
)

var update = flag.Bool("update", false, "rewrite testdata/malformed.txt with the diagnostics seen")

// baseSchema is the repository every malformed input is compiled against.
const baseSchema = `
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
Qualifier Description : string = null, Scope(any), Flavor(EnableOverride, ToSubclass, Translatable);
Qualifier Abstract : boolean = false, Scope(class, association, indication), Flavor(EnableOverride, Restricted);
Qualifier In : boolean = true, Scope(parameter), Flavor(DisableOverride, ToSubclass);
Qualifier MaxLen : uint32 = null, Scope(property, method, parameter);
Qualifier Association : boolean = false, Scope(association), Flavor(DisableOverride, ToSubclass);
Qualifier Singleton : boolean = false, Scope(class);
[Abstract] class Base { [Key] string Id; };
class Disk : Base {
	uint32 Size; [MaxLen(8)] string Label; datetime When; Base ref Other; object Emb;
	uint32 Reset([In] boolean Force);
};
[Association] class Link { [Key] Base ref A; [Key] Base ref B; };
instance of Disk as $d { Id = "d1"; Size = 1; };
`

// malformedCase is one entry of testdata/malformed.txt:
//
//	=== name
//	MOF source (one or more lines)
//	--- [strict]
//	expected first diagnostic
type malformedCase struct {
	name, src, want string
	strict          bool
}

func readCases(t *testing.T, path string) []malformedCase {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []malformedCase
	for _, block := range strings.Split(string(data), "=== ")[1:] {
		name, rest, _ := strings.Cut(block, "\n")
		src, want, ok := strings.Cut(rest, "--- ")
		if !ok {
			src, want, _ = strings.Cut(rest, "---\n")
			want = "\n" + want
		}
		opts, want, _ := strings.Cut(want, "\n")
		out = append(out, malformedCase{name: name, src: strings.TrimSuffix(src, "\n"),
			want: strings.TrimSpace(want), strict: strings.TrimSpace(opts) == "strict"})
	}
	return out
}

func writeCases(t *testing.T, path string, cases []malformedCase) {
	var b strings.Builder
	b.WriteString("# Malformed or semantically wrong MOF: each input, then the first diagnostic wbemd\n# gives. Every input is compiled atomically against the base schema of malformed_test.go\n# and must leave the repository byte-identical.\n")
	for _, c := range cases {
		opts := ""
		if c.strict {
			opts = "strict"
		}
		fmt.Fprintf(&b, "=== %s\n%s\n--- %s\n%s\n", c.name, c.src, opts, c.want)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// digest hashes every key and value of the store.
func digest(t *testing.T, st store.Store) string {
	h := sha256.New()
	for kv, err := range st.Range(context.Background(), nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%q=%q@%d\n", kv.Key, kv.Value, kv.ModRev)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestMalformed compiles each malformed input and checks its first
// diagnostic (position, message, status) and that nothing changed.
func TestMalformed(t *testing.T) {
	om := openRepo(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.mof")
	if err := os.WriteFile(base, []byte(baseSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	compileFiles(t, om, "root/cimv2", base)
	st := repoStore(om)
	path := filepath.Join("testdata", "malformed.txt")
	cases := readCases(t, path)
	if len(cases) < 60 {
		t.Fatalf("%d cases, want at least 60", len(cases))
	}
	for i := range cases {
		c := &cases[i]
		file := filepath.Join(dir, "t.mof")
		if err := os.WriteFile(file, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		before := digest(t, st)
		var got []*mof.Error
		u, errs := mof.Load([]string{file}, nil, nil)
		if len(errs) > 0 {
			got = errs
		} else {
			_, err := compileUnit(om, "root/cimv2", u, mof.Options{Strict: c.strict})
			ce, ok := err.(compileErrors)
			if !ok {
				t.Errorf("%s: compiled without a diagnostic (%v)", c.name, err)
				continue
			}
			got = ce
		}
		first := strings.TrimPrefix(got[0].Error(), file)
		if *update {
			c.want = first
		} else if first != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, first, c.want)
		}
		if after := digest(t, st); after != before {
			t.Errorf("%s: the repository changed", c.name)
		}
	}
	if *update {
		writeCases(t, path, cases)
	}
}
