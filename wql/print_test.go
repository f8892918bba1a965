package wql

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpusQueries returns the query text of every line of the corpus files
// (testdata/queries.txt and testdata/invalid.txt).
func corpusQueries(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, name := range []string{"queries.txt", "invalid.txt"} {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			q, _, _ := strings.Cut(line, " | ")
			out = append(out, q)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// extraQueries reach what the corpus does not: every operator and
// keyword, literal forms, nesting the printer must parenthesize, and
// strings that need escapes.
var extraQueries = []string{
	`SELECT * FROM A WHERE a = 1 OR (b = 2 OR c = 3)`,
	`SELECT * FROM A WHERE (a = 1 OR b = 2) AND c = 3 AND (d = 4 AND e = 5)`,
	`SELECT * FROM A WHERE NOT (a = 1 AND b = 2) OR NOT NOT c IS NOT NULL`,
	`SELECT * FROM A WHERE x NOT LIKE 'a%' AND 5 < y AND z != -0x1F AND w >= +2.5e-3 AND v <= .5`,
	`SELECT * FROM A WHERE s = "it's" OR s = "say \"hi\"" OR s = 'back\\slash \' quote' OR s = 'a\qb'`,
	`SELECT * FROM A WHERE b = true AND c = False AND d = null AND e = 18446744073709551615`,
	"SELECT * FROM A WHERE s = 'line\nbreak' AND t = 'ü'",
	`SELECT a, b.c, __CLASS FROM meta_class WHERE __this ISA 'B' AND __CLASS = "A"`,
	`SELECT * FROM __InstanceModificationEvent WITHIN 0.5 WHERE TargetInstance ISA 'A' GROUP WITHIN 418937 BY TargetInstance.Name, X HAVING 3 > NumberOfEvents`,
	`SELECT * FROM E GROUP WITHIN 1`,
	`ASSOCIATORS OF {A.Name="x}y",N=1} WHERE AssocClass = L ResultClass = 'odd name' ResultRole = R Role = select RequiredQualifier = Q RequiredAssocQualifier = '' SchemaOnly`,
	`ASSOCIATORS OF {A.Name="x"} WHERE ClassDefsOnly AssocClass = L`,
	`REFERENCES OF { \\host\root\cimv2:A.K='it''s' } WHERE ResultClass = L Role = R KeysOnly SchemaOnly`,
	`associators of {A=@}`,
}

// stripPos zeroes every Pos in a syntax tree.
func stripPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			stripPos(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			stripPos(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(Pos{}) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			stripPos(v.Field(i))
		}
	}
}

// equalTrees reports whether two trees are equal, positions aside.
func equalTrees(a, b Node) bool {
	stripPos(reflect.ValueOf(a))
	stripPos(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

// roundTrip checks that Format(Parse(query)) parses to the same tree and
// formats to itself. It reports whether query parsed at all.
func roundTrip(t *testing.T, query string) bool {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		return false
	}
	text := Format(q)
	if len(text) > MaxQueryLen {
		return true // a query at the length limit may print longer
	}
	q2, err := Parse(text)
	if err != nil {
		t.Fatalf("Format(%q) = %q, which does not parse: %v", query, text, err)
	}
	if again := Format(q2); again != text {
		t.Fatalf("Format is not stable: %q, then %q", text, again)
	}
	if !equalTrees(q, q2) {
		t.Fatalf("Format(%q) = %q parses to another tree", query, text)
	}
	return true
}

// TestFormatRoundTrip: every query of the corpus, and the extra ones,
// prints to text that parses back to the same tree.
func TestFormatRoundTrip(t *testing.T) {
	parsed := 0
	for _, q := range append(corpusQueries(t), extraQueries...) {
		if roundTrip(t, q) {
			parsed++
		}
	}
	if parsed < 250 {
		t.Errorf("only %d corpus queries parsed: the corpus was not read", parsed)
	}
	for _, q := range extraQueries {
		if _, err := Parse(q); err != nil {
			t.Errorf("extra query %q does not parse: %v", q, err)
		}
	}
}

// TestFormat pins the printed form: upper-case keywords, parentheses only
// where the tree needs them, constants as written, strings re-quoted.
func TestFormat(t *testing.T) {
	cases := []struct{ in, want string }{
		{`select name,b . c from a where not x like 'a' or b=1 and (c=2 or d=3)`, `SELECT name, b.c FROM a WHERE NOT x LIKE 'a' OR b = 1 AND (c = 2 OR d = 3)`},
		{`select * from a where (a=1 or b=2) or (c=3 or d=4)`, `SELECT * FROM a WHERE a = 1 OR b = 2 OR (c = 3 OR d = 4)`},
		{`select * from a where 5 <= n and m != 0x10 and s = "x'y\"z"`, `SELECT * FROM a WHERE n >= 5 AND m <> 0x10 AND s = 'x\'y"z'`},
		{`select * from e within 5 group within 10 by a having numberofevents>2`, `SELECT * FROM e WITHIN 5 GROUP WITHIN 10 BY a HAVING numberofevents > 2`},
		{`references of {A.K=1} where role=r`, `REFERENCES OF {A.K=1} WHERE Role = r`},
	}
	for _, c := range cases {
		q, err := Parse(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := Format(q); got != c.want {
			t.Errorf("Format(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// TestFormatBuilt: a tree built by hand prints to a query that parses to
// it; a string constant with quotes and backslashes keeps its value.
func TestFormatBuilt(t *testing.T) {
	value := `O'Brien \ "the" \\ end\`
	q := &Select{Star: true, From: "Sample_Disk", Where: &Binary{
		L: &Compare{Prop: &Prop{Path: []string{"Name"}}, Op: OpEq, Value: &Literal{Kind: LitString, Text: value}},
		R: &Binary{Or: true,
			L: &Compare{Prop: &Prop{Path: []string{"Size"}}, Op: OpGt, Value: &Literal{Kind: LitInt, Int: -7}},
			R: &Compare{Prop: &Prop{Path: []string{"Ratio"}}, Op: OpLt, Value: &Literal{Kind: LitReal, Real: 2}}}}}
	text := Format(q)
	want := `SELECT * FROM Sample_Disk WHERE Name = 'O\'Brien \\ "the" \\\\ end\\' AND (Size > -7 OR Ratio < 2.0)`
	if text != want {
		t.Errorf("got  %s\nwant %s", text, want)
	}
	back, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	lit := back.(*Select).Where.(*Binary).L.(*Compare).Value
	if lit.Kind != LitString || lit.Text != value {
		t.Errorf("the string came back as %q", lit.Text)
	}
	if r := back.(*Select).Where.(*Binary).R.(*Binary).R.(*Compare).Value; r.Kind != LitReal || r.Real != 2 {
		t.Errorf("the real came back as %+v", r)
	}
	if got := Format(&Literal{Kind: LitInt, Big: true, Uint: 1 << 63}); got != "9223372036854775808" {
		t.Errorf("a big integer printed %s", got)
	}
}

// FuzzFormat: whatever parses, prints to text that parses to the same
// tree, and prints the same again.
func FuzzFormat(f *testing.F) {
	for _, q := range append(corpusQueries(f), extraQueries...) {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		roundTrip(t, query)
	})
}
