package cimom

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// TestUpgradeFormat2: a repository of format 2 (string key values stored
// as written, with a reverse-reference index naming its targets by those
// unfolded keys) is re-keyed when opened, its index dropped and built
// again with folded target keys, within the store's limits; associations
// are then found through the index in any case, and Check verifies it.
func TestUpgradeFormat2(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, bolt.Options{})
	first := openOn(t, db, Options{})
	r := &testRepo{t: t, db: db, c: first, svc: mustConnect(t, first, "root/cimv2", admin)}
	r.putClass(class("UNode", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	ref := func(name string) cim.Property {
		return cim.Property{Name: name, Type: cim.TypeReference, RefClass: "UNode", Value: cim.Null(cim.TypeReference), Qualifiers: []cim.Qualifier{qTrue("Key")}}
	}
	r.putClass(class("UEdge", "", []cim.Qualifier{qTrue("Association")}, ref("From"), ref("To")))
	// Enough links that dropping and building the index takes several
	// transactions at an etcd cluster's limits (128 ops).
	const n = 100
	r.put(r.inst("UNode", "Id", "Hub"), 0)
	for i := range n {
		r.put(r.inst("UNode", "Id", fmt.Sprintf("Leaf%03d", i)), 0)
		o := r.inst("UEdge")
		o.Put("From", cim.Value{Type: cim.TypeReference, V: `UNode.Id="Hub"`})
		o.Put("To", cim.Value{Type: cim.TypeReference, V: fmt.Sprintf(`UNode.Id="Leaf%03d"`, i)})
		r.put(o, 0)
	}
	// Format 2, as the earlier wbemd wrote it: instances under their keys
	// as written, index entries naming targets and sources by those keys.
	downgrade(t, first, db)
	var ops []store.Op
	for kv, err := range db.Range(ctx, []byte("r\x00"), []byte("r\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, store.Delete(bytes.Clone(kv.Key)))
	}
	for kv, err := range db.Range(ctx, []byte("i\x00"), []byte("i\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		_, parts, _ := keyParts(kv.Key, 3)
		inst, _, err := first.decodeInstance(ctx, parts[0], kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range inst.Properties {
			if p.Value.Type != cim.TypeReference || p.Value.IsNull() {
				continue
			}
			op, err := cim.ParsePath(p.Value.V.(string))
			if err != nil {
				t.Fatal(err)
			}
			k := refPrefix(parts[0], "unode", oldKeyString(op))
			ops = append(ops, store.Put(append(append(append(k, parts[1]...), sep), parts[2]...), nil))
		}
	}
	ops = append(ops, store.Put(formatKey, []byte("2")))
	for chunk := range slices.Chunk(ops, 100) {
		if _, err := db.Txn(ctx, nil, chunk); err != nil {
			t.Fatal(err)
		}
	}
	unfolded := 0
	for kv, err := range db.Range(ctx, []byte("r\x00"), []byte("r\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(kv.Key, []byte(`id="Hub"`)) {
			unfolded++
		}
	}
	if unfolded != n {
		t.Fatalf("format 2 repository: %d index entries name Hub unfolded, want %d", unfolded, n)
	}

	// Open upgrades; on the embedded engine, at etcd's limits.
	var up store.Store = db
	if b, ok := db.(*bolt.DB); ok {
		up = etcdSized{b}
	}
	c := openOn(t, up, Options{})
	if v, err := readFormat(ctx, db); err != nil || v != formatVersion {
		t.Fatalf("format after the upgrade: %d %v", v, err)
	}
	if !c.refIndex {
		t.Fatal("the reverse-reference index is not used after the upgrade")
	}
	entries := 0
	for kv, err := range db.Range(ctx, []byte("r\x00"), []byte("r\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		entries++
		if bytes.Contains(kv.Key, []byte("Hub")) || bytes.Contains(kv.Key, []byte("Leaf")) {
			t.Fatalf("an index entry with unfolded keys after the upgrade: %q", kv.Key)
		}
	}
	if entries != 2*n {
		t.Fatalf("%d index entries after the upgrade, want %d", entries, 2*n)
	}
	rep, err := Check(ctx, db)
	if err != nil || rep.RefEntries != 2*n {
		t.Fatalf("Check after the upgrade: %v, %s", err, rep)
	}
	// An entry naming its target by unfolded keys is found by Check.
	stale := append(refPrefix("root/cimv2", "unode", `id="Hub"`), `uedge`...)
	stale = append(append(stale, sep), `from="unode.id=\"hub\"",to="unode.id=\"leaf000\""`...)
	if _, err := db.Txn(ctx, nil, []store.Op{store.Put(stale, nil)}); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(ctx, db); err == nil || !strings.Contains(err.Error(), "names no reference of its instance") {
		t.Fatalf("Check with an unfolded index entry: %v", err)
	}
	if _, err := db.Txn(ctx, nil, []store.Op{store.Delete(stale)}); err != nil {
		t.Fatal(err)
	}
	svc := mustConnect(t, c, "root/cimv2", admin)
	if got := assocIDs(t, svc, `ASSOCIATORS OF {UNode.Id="HUB"}`); len(got) != n {
		t.Fatalf("associators of HUB after the upgrade: %d, want %d", len(got), n)
	}
	if got := assocIDs(t, svc, `REFERENCES OF {unode.id="leaf007"}`); len(got) != 1 {
		t.Fatalf("references of leaf007 after the upgrade: %v", got)
	}
	plan, err := svc.ExplainQuery(ctx, `ASSOCIATORS OF {UNode.Id="hub"}`, nil)
	if err != nil || !bytes.Contains([]byte(plan), []byte("reverse-reference index")) {
		t.Fatalf("plan %q, %v", plan, err)
	}
}
