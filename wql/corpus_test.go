package wql_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/store/bolt"
)

var admin = cimom.Principal{Name: "root"}

// fixture compiles testdata/fixture.mof into root/cimv2 of a fresh
// repository on disk.
func fixture(t testing.TB) cimom.Services {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { om.Close(ctx); db.Close() })
	u, errs := mof.Load([]string{filepath.Join("testdata", "fixture.mof")}, nil, nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	err = om.Batch(ctx, func(view *cimom.CIMOM) error {
		root, err := view.Connect(ctx, "root/cimv2", admin)
		if err != nil {
			return err
		}
		if _, errs := mof.Compile(ctx, root, u, mof.Options{Namespace: "root/cimv2"}); len(errs) > 0 {
			return errs[0]
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := om.Connect(ctx, "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// ident names a result: an instance by Id, N, Since or Tag, a class by
// its name.
func ident(o *cim.Object) string {
	if o.Genus == cim.GenusClass {
		return o.Class
	}
	for _, n := range []string{"Id", "N", "Since", "Tag"} {
		if v, err := o.Get(n); err == nil && !v.IsNull() {
			return cim.FormatValue(v)
		}
	}
	return "?" + o.Class
}

func run(t *testing.T, svc cimom.Services, query string, scan bool) ([]string, error) {
	ctx := context.Background()
	var wctx *cimom.Context
	if scan {
		wctx = cimom.NewContext()
		wctx.SetValue(cimom.ForceScan, true)
	}
	e, err := svc.ExecQuery(ctx, "WQL", query, cimom.FlagForwardOnly, wctx)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var out []string
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			return nil, err
		}
		out = append(out, ident(o))
	}
	slices.Sort(out)
	return out, nil
}

func lines(t *testing.T, name string) [][2]string {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		i := strings.LastIndex(line, " | ")
		if i < 0 {
			t.Fatalf("%s: no \" | \" in %q", name, line)
		}
		out = append(out, [2]string{line[:i], line[i+3:]})
	}
	return out
}

// TestCorpus runs every query of testdata/queries.txt as planned and by
// scan, and checks both against the expected results.
func TestCorpus(t *testing.T) {
	svc := fixture(t)
	cases := lines(t, "queries.txt")
	if len(cases) < 150 {
		t.Fatalf("%d queries, want at least 150", len(cases))
	}
	plans := map[string]int{}
	for _, c := range cases {
		want := strings.Fields(c[1])
		if len(want) == 1 && want[0] == "-" {
			want = nil
		}
		slices.Sort(want)
		for _, scan := range []bool{false, true} {
			got, err := run(t, svc, c[0], scan)
			if err != nil {
				t.Errorf("%s (scan %v): %v", c[0], scan, err)
				continue
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s (scan %v):\n got  %v\n want %v", c[0], scan, got, want)
			}
		}
		if plan, err := svc.ExplainQuery(context.Background(), c[0], nil); err == nil {
			plans[strings.Fields(plan)[0]]++
		}
	}
	// The corpus exercises every plan.
	for _, p := range []string{"key", "index", "scan"} {
		if plans[p] == 0 {
			t.Errorf("no query of the corpus used a %s plan (%v)", p, plans)
		}
	}
	t.Logf("plans: %v", plans)
}

// TestInvalid runs every query of testdata/invalid.txt and checks its
// status and position.
func TestInvalid(t *testing.T) {
	svc := fixture(t)
	cases := lines(t, "invalid.txt")
	if len(cases) < 40 {
		t.Fatalf("%d invalid queries, want at least 40", len(cases))
	}
	for _, c := range cases {
		_, err := run(t, svc, c[0], false)
		if err == nil {
			t.Errorf("%s: no error, want %s", c[0], c[1])
			continue
		}
		e := cim.AsError(err)
		pos, _, _ := strings.Cut(e.Description, ": ")
		if got := e.Status.String() + " " + pos; got != c[1] {
			t.Errorf("%s:\n got  %s (%s)\n want %s", c[0], got, e.Description, c[1])
		}
	}
	// Too long a query is a quota violation.
	_, err := run(t, svc, "SELECT * FROM Q_Element WHERE Name = '"+strings.Repeat("x", 20000)+"'", false)
	if cim.StatusOf(err) != cim.EQuotaViolation {
		t.Errorf("a 20,000-character query: %v", err)
	}
	if _, err := svc.ExecQuery(context.Background(), "SQL", "SELECT * FROM Q_Element", 0, nil); cim.StatusOf(err) != cim.EInvalidQueryType {
		t.Errorf("query language SQL: %v", err)
	}
}
