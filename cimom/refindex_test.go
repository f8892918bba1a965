package cimom

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// assocIDs runs an ASSOCIATORS OF / REFERENCES OF query, by the index and
// by scan, checks that both give the same results, and returns their
// relative paths sorted.
func assocIDs(t *testing.T, svc Services, query string) []string {
	t.Helper()
	ctx := context.Background()
	var results [2][]string
	for i, scan := range []bool{false, true} {
		var wctx *Context
		if scan {
			wctx = NewContext()
			wctx.SetValue(ForceScan, true)
		}
		e, err := svc.ExecQuery(ctx, "WQL", query, FlagForwardOnly, wctx)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		for o, err := range All(ctx, e) {
			if err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			v, _ := o.SystemProperty("__RELPATH")
			results[i] = append(results[i], cim.FormatValue(v))
		}
		e.Close()
		slices.Sort(results[i])
	}
	if !slices.Equal(results[0], results[1]) {
		t.Fatalf("%s:\n index %v\n scan  %v", query, results[0], results[1])
	}
	return results[0]
}

// TestRefIndex checks the reverse-reference index: associators through it
// match a scan as links are created, changed and deleted; Check verifies
// it and finds an entry missing; a repository without it (an earlier
// format) gets it on open.
func TestRefIndex(t *testing.T) {
	skipOnEtcd(t, "rewrites the store's keys directly")
	ctx := context.Background()
	r := newRepo(t)
	r.putClass(class("RNode", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	r.putClass(class("RKid", "RNode", nil))
	ref := func(name, class string) cim.Property {
		return cim.Property{Name: name, Type: cim.TypeReference, RefClass: class, Value: cim.Null(cim.TypeReference), Qualifiers: []cim.Qualifier{qTrue("Key")}}
	}
	r.putClass(class("REdge", "", []cim.Qualifier{qTrue("Association")}, ref("From", "RNode"), ref("To", "RNode")))
	for i := 0; i < 6; i++ {
		cls := "RNode"
		if i%2 == 1 {
			cls = "RKid"
		}
		r.put(r.inst(cls, "Id", fmt.Sprintf("n%d", i)), 0)
	}
	edge := func(from, to string) *cim.Object {
		o := r.inst("REdge")
		o.Put("From", cim.Value{Type: cim.TypeReference, V: from})
		o.Put("To", cim.Value{Type: cim.TypeReference, V: to})
		return o
	}
	for i := 1; i < 6; i++ {
		r.put(edge(`RNode.Id="n0"`, fmt.Sprintf(`RNode.Id="n%d"`, i)), 0)
	}
	r.put(edge(`RKid.Id="n1"`, `RNode.Id="n0"`), 0)       // through a subclass name
	r.put(edge(`RNode.Id="n2"`, `RNode.Id="missing"`), 0) // dangling
	r.putClass(class("RAny", "", []cim.Qualifier{qTrue("Association")}, ref("From", ""), ref("To", "")))
	anyEdge := r.inst("RAny")
	anyEdge.Put("From", cim.Value{Type: cim.TypeReference, V: `RNode.Id="n3"`})
	anyEdge.Put("To", cim.Value{Type: cim.TypeReference, V: `Later.Id="x"`}) // a class not yet declared
	r.put(anyEdge, 0)
	if got := assocIDs(t, r.svc, `ASSOCIATORS OF {RNode.Id="n0"}`); len(got) != 6 {
		t.Errorf("associators of n0: %v", got)
	}
	if got := assocIDs(t, r.svc, `REFERENCES OF {RKid.Id="n1"}`); len(got) != 2 {
		t.Errorf("references of n1: %v", got)
	}
	assocIDs(t, r.svc, `ASSOCIATORS OF {RNode.Id="n2"} WHERE ResultClass = RKid`)
	assocIDs(t, r.svc, `REFERENCES OF {RNode.Id="n0"} WHERE Role = To`)
	plan, err := r.svc.ExplainQuery(ctx, `ASSOCIATORS OF {RNode.Id="n0"}`, nil)
	if err != nil || !strings.Contains(plan, "reverse-reference index") {
		t.Errorf("plan %q, %v", plan, err)
	}
	// Deleting a link and a node keep the index whole.
	if err := r.svc.DeleteInstance(ctx, `REdge.From="RNode.Id=\"n0\"",To="RNode.Id=\"n5\""`, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.DeleteInstance(ctx, `RNode.Id="n4"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := assocIDs(t, r.svc, `ASSOCIATORS OF {RNode.Id="n0"}`); len(got) != 4 {
		t.Errorf("associators of n0 after the deletes: %v", got)
	}
	// The class declared after the reference to it.
	r.putClass(class("Later", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	r.put(r.inst("Later", "Id", "x"), 0)
	if got := assocIDs(t, r.svc, `ASSOCIATORS OF {Later.Id="x"}`); len(got) != 1 {
		t.Errorf("associators of Later.Id=x: %v", got)
	}
	assocIDs(t, r.svc, `ASSOCIATORS OF {RNode.Id="n3"} WHERE KeysOnly`)
	rep, err := Check(ctx, r.db)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RefEntries != 14 {
		t.Errorf("check counted %d reverse-reference entries, want 14 (%s)", rep.RefEntries, rep)
	}
	// An entry missing is found by Check.
	var entries [][]byte
	for kv, err := range r.db.Range(ctx, []byte("r\x00"), []byte("r\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, kv.Key)
	}
	if _, err := r.db.Txn(ctx, nil, []store.Op{store.Delete(entries[3])}); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(ctx, r.db); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("check with an entry deleted: %v", err)
	}
	// A repository of the earlier format: no entries, no format record.
	ops := []store.Op{store.DeleteRange([]byte("r\x00"), []byte("r\x01")), store.Delete(formatKey)}
	if _, err := r.db.Txn(ctx, nil, ops); err != nil {
		t.Fatal(err)
	}
	c2, err := Open(ctx, r.db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if !c2.refIndex {
		t.Fatal("no index after the upgrade")
	}
	rep, err = Check(ctx, r.db)
	if err != nil || rep.RefEntries != 14 {
		t.Fatalf("after the upgrade: %v, %s", err, rep)
	}
	svc2, err := c2.Connect(ctx, "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	if got := assocIDs(t, svc2, `ASSOCIATORS OF {RNode.Id="n0"}`); len(got) != 4 {
		t.Errorf("associators of n0 after the upgrade: %v", got)
	}
}
