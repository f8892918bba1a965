package wql_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/wql"
)

// FlagForwardOnly is short for the tests.
const FlagForwardOnly = cimom.FlagForwardOnly

var admin = cimom.Principal{Name: "root"}

// fixture compiles testdata/fixture.mof into root/cimv2 of a fresh
// repository on disk.
func fixture(t testing.TB) cimom.Services {
	t.Helper()
	ctx := context.Background()
	om := testdata.NewCIMOM(t)
	u, errs := mof.Load([]string{filepath.Join("testdata", "fixture.mof")}, nil, nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	err := om.Batch(ctx, func(view *cimom.CIMOM) error {
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
			kind, _, _ := strings.Cut(plan, " of ")
			plans[kind]++
		}
	}
	// The corpus exercises every plan.
	for _, p := range []string{"key lookup", "key range scan", "index range scan", "scan"} {
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

// TestEventQueries checks event queries (evaluated by the events issue)
// against the system event classes of the fixture's namespace.
func TestEventQueries(t *testing.T) {
	svc := fixture(t)
	ctx := context.Background()
	cases := []struct{ query, want string }{
		{"SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Q_Disk'", ""},
		{"SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'Q_Disk' AND TargetInstance.Rank > 2", ""},
		{"SELECT * FROM __InstanceOperationEvent WITHIN 0.5 GROUP WITHIN 10 BY TargetInstance.Team HAVING NumberOfEvents > 3", ""},
		{"SELECT TargetInstance FROM __InstanceDeletionEvent", ""},
		{"SELECT * FROM Q_Disk WITHIN 5", "WBEM_E_NOT_EVENT_CLASS 1:15"},
		{"SELECT * FROM __InstanceCreationEvent GROUP WITHIN 5 BY TargetInstance", "WBEM_E_AGGREGATING_BY_OBJECT 1:57"},
		{"SELECT * FROM __InstanceCreationEvent GROUP BY TargetInstance.Name", "WBEM_E_MISSING_GROUP_WITHIN 1:45"},
		{"SELECT * FROM __InstanceCreationEvent WHERE Nope = 1", "WBEM_E_INVALID_PROPERTY 1:45"},
		{"SELECT * FROM __InstanceCreationEvent WITHIN 500000", "WBEM_E_INVALID_QUERY 1:46"},
		{"SELECT * FROM __InstanceCreationEvent GROUP WITHIN 5 HAVING Count > 1", "WBEM_E_INVALID_QUERY 1:54"},
	}
	for _, c := range cases {
		got := ""
		q, err := wql.Parse(c.query)
		if err == nil {
			s := q.(*wql.Select)
			cls, gerr := svc.GetObject(ctx, s.From, 0, nil)
			if gerr != nil {
				t.Fatal(gerr)
			}
			err = wql.CheckEvent(s, cls)
		}
		if err != nil {
			e := err.(*wql.Error)
			got = e.Status.String() + " " + e.Pos.String()
		}
		if got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.query, got, err, c.want)
		}
	}
	// ExecQuery sends event queries elsewhere.
	if _, err := svc.ExecQuery(ctx, "WQL", "SELECT * FROM __InstanceCreationEvent", 0, nil); cim.StatusOf(err) != cim.EInvalidQueryType {
		t.Errorf("ExecQuery of an event query: %v", err)
	}
}

// TestQueryFlags checks projections, PROTOTYPE, semisynchronous delivery
// and the Associators operation.
func TestQueryFlags(t *testing.T) {
	svc := fixture(t)
	ctx := context.Background()
	e, err := svc.ExecQuery(ctx, "WQL", "SELECT Name FROM Q_Disk WHERE Rank = 3", FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs, st, err := e.Next(ctx, cimom.Infinite, 10)
	e.Close()
	if err != nil || st != cim.SFalse || len(objs) != 1 {
		t.Fatalf("Next: %v %v %v", objs, st, err)
	}
	d3 := objs[0]
	if len(d3.Properties) != 2 || d3.Properties[0].Name != "Id" || d3.Properties[1].Name != "Name" {
		t.Errorf("projection kept %v, want Id (the key) and Name", d3.Properties)
	}
	if v, _ := d3.SystemProperty("__PATH"); v.V != `\\test\root\cimv2:Q_Disk.Id="d3"` {
		t.Errorf("__PATH of a projected result: %v", v.V)
	}
	pe, err := svc.ExecQuery(ctx, "WQL", "SELECT Name, Rank FROM Q_Disk", cimom.FlagPrototype, nil)
	if err != nil {
		t.Fatal(err)
	}
	protos, _, _ := pe.Next(ctx, cimom.Infinite, 10)
	pe.Close()
	if len(protos) != 1 || protos[0].Genus != cim.GenusClass || len(protos[0].Properties) != 3 {
		t.Errorf("PROTOTYPE: %+v", protos)
	}
	// Semisynchronous: all results, then WBEM_S_FALSE.
	se, err := svc.ExecQuery(ctx, "WQL", "SELECT * FROM Q_Element", cimom.FlagReturnImmediately|FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		objs, st, err := se.Next(ctx, 5*time.Second, 3)
		if err != nil {
			t.Fatal(err)
		}
		total += len(objs)
		if st == cim.SFalse {
			break
		}
	}
	se.Close()
	if total != 7 {
		t.Errorf("semisynchronous query returned %d, want 7", total)
	}
	ae, err := svc.Associators(ctx, &wql.Assoc{Path: `Q_Person.Id="p1"`, ResultClass: "Q_Disk", KeysOnly: true}, FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for o, err := range cimom.All(ctx, ae) {
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Properties) != 1 {
			t.Errorf("KeysOnly kept %v", o.Properties)
		}
		ids = append(ids, ident(o))
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"D5", "d3"}) {
		t.Errorf("Associators: %v", ids)
	}
	if _, err := svc.ExecQuery(ctx, "WQL", "SELECT * FROM Q_Element", cimom.FlagSendStatus, nil); cim.StatusOf(err) != cim.EInvalidParameter {
		t.Errorf("ExecQuery with WBEM_FLAG_SEND_STATUS: %v", err)
	}
}

// TestPlanBounds checks what the planner reads (ExplainQuery): both ends
// of a range whichever order they are written in, the narrowest of several
// candidates, and IN-like lists as several ranges.
func TestPlanBounds(t *testing.T) {
	svc := fixture(t)
	cases := []struct{ query, want string }{
		{"SELECT * FROM Q_Element WHERE Rank >= 1 AND Rank < 5", "index range scan of Q_Element.Rank (Rank >= 1 AND Rank < 5; 1 range, estimate 3 entries)"},
		{"SELECT * FROM Q_Element WHERE Rank < 5 AND Rank >= 1", "index range scan of Q_Element.Rank (Rank < 5 AND Rank >= 1; 1 range, estimate 3 entries)"},
		{"SELECT * FROM Q_Element WHERE Rank > 5 AND Rank < 3", "index range scan of Q_Element.Rank (Rank > 5 AND Rank < 3; 0 ranges, estimate 0 entries)"},
		{"SELECT * FROM Q_Element WHERE Rank = 1 OR Rank = 5 OR Rank = 20", "((Rank = 1 OR Rank = 5 OR Rank = 20); 3 ranges, estimate 3 entries)"},
		{"SELECT * FROM Q_Element WHERE Team = 'red' OR Team = 'RED'", "1 range, estimate 3 entries"},
		// Keys are stored folded: D5 is counted in Id > 'd' (the filter
		// compares as WQL does).
		{"SELECT * FROM Q_Element WHERE Id > 'd' AND Rank = 2", "index range scan of Q_Element.Rank (Rank = 2; 1 range, estimate 1 entry; other candidates: Id 7 entries), filtered"},
		{"SELECT * FROM Q_Element WHERE Rank >= 1 AND Id = 'd2' OR Id = 'p1' AND Id < 'p'", "scan of Q_Element"},
		{"SELECT * FROM Q_Element WHERE Team = 'blue' AND Rank >= 3 AND Rank < 100", "index range scan of Q_Element.Team (Team = 'blue'; 1 range, estimate 3 entries; other candidates: Rank 4 entries), filtered"},
		{"SELECT * FROM Q_Element WHERE Id < 'd4' AND Id >= 'd2'", "key range scan of Q_Element (Id < 'd4' AND Id >= 'd2'; 1 range, estimate 3 entries)"},
		{"SELECT * FROM Q_Element WHERE Id = 'd1' OR Id = 'p2' OR Id = 'zz'", "key range scan of Q_Element ((Id = 'd1' OR Id = 'p2' OR Id = 'zz'); 3 ranges, estimate 2 entries)"},
	}
	for _, c := range cases {
		plan, err := svc.ExplainQuery(context.Background(), c.query, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if !strings.Contains(plan, c.want) {
			t.Errorf("%s:\n plan %s\n want %s", c.query, plan, c.want)
		}
	}
}
