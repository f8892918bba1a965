package cimom

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// queryIDs runs a WQL query, planned or by scan, and returns the Id
// values found, sorted.
func queryIDs(t *testing.T, svc Services, q string, scan bool) []string {
	t.Helper()
	ctx := context.Background()
	var wctx *Context
	if scan {
		wctx = NewContext()
		wctx.SetValue(ForceScan, true)
	}
	e, err := svc.ExecQuery(ctx, "WQL", q, FlagForwardOnly, wctx)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer e.Close()
	var out []string
	for o, err := range All(ctx, e) {
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		v, _ := o.Get("Id")
		out = append(out, fmt.Sprint(v.V))
	}
	slices.Sort(out)
	return out
}

// wantIDs runs q planned and by scan; both must find want.
func wantIDs(t *testing.T, svc Services, q string, want ...string) {
	t.Helper()
	for _, scan := range []bool{false, true} {
		if got := queryIDs(t, svc, q, scan); !slices.Equal(got, want) {
			t.Errorf("%s (scan %v): %v, want %v", q, scan, got, want)
		}
	}
}

// TestKeyCase: WMI compares object paths, key values included, without
// regard to case (wmi-semantics.md §4.4), and WQL compares strings so
// (§6). An instance keeps the case it was created with; any case finds it.
func TestKeyCase(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	if p := r.put(r.inst("Item", "Id", "w1", "Size", 1), FlagCreateOnly); p != `Item.Id="w1"` {
		t.Fatalf("path %q", p)
	}
	for _, p := range []string{`Item.Id="W1"`, `ITEM.ID="w1"`, `Item="W1"`} {
		o, err := r.svc.GetObject(ctx, p, 0, nil)
		if err != nil {
			t.Fatalf("GetObject(%s): %v", p, err)
		}
		if v, _ := o.Get("Id"); v.V != "w1" {
			t.Fatalf("GetObject(%s): Id %v, want the case it was created with", p, v.V)
		}
	}
	_, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "W1", "Size", 9), FlagCreateOnly, nil)
	wantStatus(t, err, cim.EAlreadyExists)
	// An update through another case changes the instance, not its keys.
	if p := r.put(r.inst("Item", "Id", "W1", "Size", 2), FlagUpdateOnly); p != `Item.Id="w1"` {
		t.Fatalf("update path %q", p)
	}
	o, err := r.svc.GetObject(ctx, `Item.Id="w1"`, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := o.Get("Id"); id.V != "w1" {
		t.Fatalf("Id %v after an update as W1", id.V)
	}
	if size, _ := o.Get("Size"); size.V != uint32(2) {
		t.Fatalf("Size %v after the update", size.V)
	}
	// A batch cannot hold one instance twice, in any case.
	_, err = r.c.PutInstances(ctx, "root/cimv2", admin, []*cim.Object{r.inst("Item", "Id", "b1"), r.inst("Item", "Id", "B1")}, 0)
	wantStatus(t, err, cim.EInvalidParameter)

	// WHERE on the key, planned (key lookup, key range) and by scan.
	r.put(r.inst("Item", "Id", "W2"), FlagCreateOnly)
	wantIDs(t, r.svc, "SELECT * FROM Item WHERE Id = 'W1'", "w1")
	wantIDs(t, r.svc, "SELECT * FROM Item WHERE Id = 'w2'", "W2")
	wantIDs(t, r.svc, "SELECT * FROM Item WHERE Id LIKE 'W%'", "W2", "w1")
	wantIDs(t, r.svc, "SELECT * FROM Item WHERE Id >= 'W2'", "W2")
	wantIDs(t, r.svc, "SELECT * FROM Item WHERE Id < 'W2'", "w1")
	// The secondary index of an Indexed string property, planned and scanned.
	r.put(r.inst("Strict", "Id", "S1", "Name", "n", "Tag", "Blue"), FlagCreateOnly)
	wantIDs(t, r.svc, "SELECT * FROM Strict WHERE Tag = 'BLUE'", "S1")
	wantIDs(t, r.svc, "SELECT * FROM Strict WHERE Id = 's1' AND Tag = 'blue'", "S1")

	// Reference keys fold the same way: the path inside the key is
	// compared as a path.
	r.putClass(class("Link", "", nil, cim.Property{Name: "To", Type: cim.TypeReference, RefClass: "Item", Value: cim.Null(cim.TypeReference), Qualifiers: []cim.Qualifier{qTrue("Key")}}))
	link := r.inst("Link")
	to, _ := link.Property("To")
	to.Value = cim.Value{Type: cim.TypeReference, V: `Item.Id="w1"`}
	r.put(link, FlagCreateOnly)
	if _, err := r.svc.GetObject(ctx, `Link.To="ITEM.ID=\"W1\""`, 0, nil); err != nil {
		t.Fatalf("GetObject of a reference key in another case: %v", err)
	}
	link2 := r.inst("Link")
	to2, _ := link2.Property("To")
	to2.Value = cim.Value{Type: cim.TypeReference, V: `item.id="W1"`}
	_, err = r.svc.PutInstance(ctx, link2, FlagCreateOnly, nil)
	wantStatus(t, err, cim.EAlreadyExists)

	// Associations find their ends whatever the case of the paths.
	refProp := func(name string) cim.Property {
		return cim.Property{Name: name, Type: cim.TypeReference, RefClass: "Item", Value: cim.Null(cim.TypeReference), Qualifiers: []cim.Qualifier{qTrue("Key")}}
	}
	r.putClass(class("Pairing", "", []cim.Qualifier{qTrue("Association")}, refProp("A"), refProp("B")))
	pairing := r.inst("Pairing")
	pa, _ := pairing.Property("A")
	pa.Value = cim.Value{Type: cim.TypeReference, V: `Item.Id="W1"`}
	pb, _ := pairing.Property("B")
	pb.Value = cim.Value{Type: cim.TypeReference, V: `ITEM.ID="w2"`}
	r.put(pairing, FlagCreateOnly)
	wantIDs(t, r.svc, `ASSOCIATORS OF {Item.Id="w1"} WHERE ResultClass = Item`, "W2")
	wantIDs(t, r.svc, `ASSOCIATORS OF {item.id="W2"}`, "w1")
	if got := queryIDs(t, r.svc, `REFERENCES OF {Item.Id="w1"}`, false); len(got) != 2 { // Link and Pairing
		t.Errorf("REFERENCES OF in another case: %v", got)
	}
	if _, err := r.svc.GetObject(ctx, `Pairing.A="item.id=\"w1\"",B="Item.Id=\"W2\""`, 0, nil); err != nil {
		t.Errorf("GetObject of an association by differently cased references: %v", err)
	}

	if rep, err := Check(ctx, r.db); err != nil {
		t.Fatalf("Check: %v", err)
	} else if rep.IndexEntries != 1 {
		t.Fatalf("Check: %v", rep)
	}
	if err := r.svc.DeleteInstance(ctx, `Item.Id="W1"`, 0, nil); err != nil {
		t.Fatalf("DeleteInstance in another case: %v", err)
	}
	_, err = r.svc.GetObject(ctx, `Item.Id="w1"`, 0, nil)
	wantStatus(t, err, cim.ENotFound)
}

// oldKeyString is the storage form of keys in format 1: names folded,
// string values as written.
func oldKeyString(op *cim.ObjectPath) string {
	keys := slices.Clone(op.Keys)
	slices.SortFunc(keys, func(a, b cim.KeyBinding) int { return strings.Compare(cim.Fold(a.Name), cim.Fold(b.Name)) })
	var parts []string
	for _, k := range keys {
		v := cim.FormatValue(k.Value)
		if s, ok := k.Value.V.(string); ok {
			v = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		parts = append(parts, cim.Fold(k.Name)+"="+v)
	}
	return strings.Join(parts, ",")
}

// downgrade rewrites a repository in format 1: every instance under its
// keys as written, with its index entries, and no format record.
func downgrade(t *testing.T, c *CIMOM, st store.Store) {
	t.Helper()
	ctx := context.Background()
	var ops []store.Op
	for kv, err := range st.Range(ctx, []byte("i\x00"), []byte("i\x01")) {
		if err != nil {
			t.Fatal(err)
		}
		_, parts, _ := keyParts(kv.Key, 3)
		inst, ci, err := c.decodeInstance(ctx, parts[0], kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		op, err := inst.ObjectPath()
		if err != nil {
			t.Fatal(err)
		}
		old := oldKeyString(op)
		if op.Singleton || old == parts[2] {
			continue
		}
		ops = append(ops, store.Delete(kv.Key), store.Put(key('i', parts[0], parts[1], old), kv.Value))
		for _, i := range ci.indexed {
			if v := inst.Properties[i].Value; !v.IsNull() {
				name := ci.cls.Properties[i].Name
				ops = append(ops, store.Delete(idxKey(parts[0], ci.keyClass, name, v, parts[2])), store.Put(idxKey(parts[0], ci.keyClass, name, v, old), nil))
			}
		}
	}
	ops = append(ops, store.Delete(formatKey))
	for chunk := range slices.Chunk(ops, 100) {
		if _, err := st.Txn(ctx, nil, chunk); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeyFormatUpgrade: a repository of format 1 (string key values stored
// as written) is re-keyed when opened, within the store's limits, and
// reads as a new one; one whose keys would collide when folded is refused
// with nothing written; one of a later format is refused.
func TestKeyFormatUpgrade(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, bolt.Options{})
	first := openOn(t, db, Options{})
	svc := mustConnect(t, first, "root/cimv2", admin)
	r := &testRepo{t: t, db: db, c: first, svc: svc}
	r.baseSchema()
	// Enough instances that the upgrade takes several transactions at an
	// etcd cluster's limits (128 ops): each move is 4 ops with its index entry.
	const n = 150
	var objs []*cim.Object
	for i := range n {
		objs = append(objs, r.inst("Strict", "Id", fmt.Sprintf("Mixed%03d", i), "Name", "n", "Tag", fmt.Sprintf("Tag%d", i%3)))
	}
	for chunk := range slices.Chunk(objs, 25) {
		if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, chunk, FlagCreateOnly); err != nil {
			t.Fatal(err)
		}
	}
	r.put(r.inst("Item", "Id", "lower"), FlagCreateOnly)
	r.put(r.inst("Item", "Id", "UPPER"), FlagCreateOnly)
	r.put(r.inst("__NAMESPACE", "Name", "Sub"), FlagCreateOnly)
	downgrade(t, first, db)
	if v, err := readFormat(ctx, db); err != nil || v != 1 {
		t.Fatalf("format after the downgrade: %d %v", v, err)
	}
	if _, found, err := db.Get(ctx, key('i', "root/cimv2", "strict", `id="Mixed007"`)); err != nil || !found {
		t.Fatalf("the downgrade wrote no format 1 key: %v", err)
	}

	// Records keyed by an instance's keys (a subscription's creator and
	// delivery cursor) move with it.
	for _, kind := range keyedKinds {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put(key(kind, "root/cimv2", `id="UPPER"`), []byte{kind})}); err != nil {
			t.Fatal(err)
		}
	}
	// An upgrade cut short (here: half the moves made, the format not
	// recorded) is resumed by the next Open.
	moves, err := first.findKeyMoves(ctx)
	if err != nil || len(moves) != n+2 {
		t.Fatalf("moves: %d %v", len(moves), err)
	}
	if err := first.moveKeys(ctx, 1, moves[:len(moves)/2]); err != nil {
		t.Fatal(err)
	}
	// The upgrade re-keys without changing anything: its revisions raise
	// no events (a subscriber from before it sees only the next write).
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := first.Subscribe(subCtx, SubscribeOptions{Namespace: "root/cimv2", Principal: admin, From: storeRev(t, db)})
	if err != nil {
		t.Fatal(err)
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
	for _, kind := range keyedKinds {
		kv, found, err := db.Get(ctx, key(kind, "root/cimv2", `id="upper"`))
		if err != nil || !found || string(kv.Value) != string([]byte{kind}) {
			t.Fatalf("record %c after the upgrade: %v %v", kind, found, err)
		}
		if _, found, _ := db.Get(ctx, key(kind, "root/cimv2", `id="UPPER"`)); found {
			t.Fatalf("record %c left under the old keys", kind)
		}
	}
	rep, err := Check(ctx, db)
	if err != nil {
		t.Fatalf("Check after the upgrade: %v", err)
	}
	if rep.IndexEntries != n {
		t.Fatalf("Check after the upgrade: %v", rep)
	}
	svc = mustConnect(t, c, "root/cimv2", admin)
	for _, p := range []string{`Strict.Id="mixed007"`, `Strict.Id="MIXED007"`, `Strict.Id="Mixed007"`} {
		o, err := svc.GetObject(ctx, p, 0, nil)
		if err != nil {
			t.Fatalf("GetObject(%s) after the upgrade: %v", p, err)
		}
		if id, _ := o.Get("Id"); id.V != "Mixed007" {
			t.Fatalf("Id %v after the upgrade", id.V)
		}
	}
	wantIDs(t, svc, "SELECT * FROM Item WHERE Id = 'upper'", "UPPER")
	wantIDs(t, svc, "SELECT * FROM Item WHERE Id = 'LOWER'", "lower")
	if got := queryIDs(t, svc, "SELECT * FROM Strict WHERE Tag = 'TAG1'", false); len(got) != n/3 {
		t.Fatalf("indexed query after the upgrade: %d instances, want %d", len(got), n/3)
	}
	if got := queryIDs(t, svc, "SELECT * FROM Strict WHERE Tag = 'TAG1'", true); len(got) != n/3 {
		t.Fatalf("scanned query after the upgrade: %d instances, want %d", len(got), n/3)
	}
	if _, err := mustConnect(t, c, "root/cimv2/SUB", admin).GetObject(ctx, "__Namespace", 0, nil); err != nil {
		t.Fatalf("the namespace Sub after the upgrade: %v", err)
	}
	_, err = svc.PutInstance(ctx, r.inst("Item", "Id", "Upper"), FlagCreateOnly, nil)
	wantStatus(t, err, cim.EAlreadyExists)
	r.put(r.inst("Item", "Id", "after"), FlagCreateOnly)
	for ev, err := range events {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Class != "__InstanceCreationEvent" || ev.Target == nil {
			t.Fatalf("event of the upgrade: %s %v", ev.Class, ev.Target)
		}
		if id, _ := ev.Target.Get("Id"); id.V != "after" {
			t.Fatalf("event of the upgrade: %s of %v", ev.Class, id.V)
		}
		break
	}
	cancel()

	// repo check finds an instance not stored under its folded keys.
	stray := r.inst("Item", "Id", "Stray")
	strayKey := key('i', "root/cimv2", "item", `id="Stray"`)
	if _, err := db.Txn(ctx, nil, []store.Op{store.Put(strayKey, cim.EncodeInstance(nil, stray))}); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(ctx, db); err == nil || !strings.Contains(err.Error(), "wrong key") {
		t.Fatalf("Check of an instance under unfolded keys: %v", err)
	}
	if _, err := db.Txn(ctx, nil, []store.Op{store.Delete(strayKey)}); err != nil {
		t.Fatal(err)
	}

	// Keys that differ only in case cannot both survive: refused, nothing
	// written.
	if _, err := svc.PutInstance(ctx, r.inst("Item", "Id", "Twin"), FlagCreateOnly, nil); err != nil {
		t.Fatal(err)
	}
	downgrade(t, c, db)
	twin := r.inst("Item", "Id", "TWIN")
	if _, err := db.Txn(ctx, nil, []store.Op{store.Put(key('i', "root/cimv2", "item", `id="TWIN"`), cim.EncodeInstance(nil, twin))}); err != nil {
		t.Fatal(err)
	}
	before := (&testRepo{t: t, db: db}).snapshot()
	_, err = Open(ctx, db, Options{Server: "testhost"})
	if cim.StatusOf(err) != cim.EAlreadyExists || !strings.Contains(err.Error(), "TWIN") || !strings.Contains(err.Error(), "Twin") {
		t.Fatalf("Open with keys colliding when folded: %v", err)
	}
	if !sameSnapshot(before, (&testRepo{t: t, db: db}).snapshot()) {
		t.Fatal("a refused upgrade wrote")
	}

	// A later format is refused, with its version.
	if _, err := db.Txn(ctx, nil, []store.Op{store.Put(formatKey, []byte(strconv.Itoa(formatVersion+1)))}); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, db, Options{Server: "testhost"})
	if !errors.Is(err, ErrFormatTooNew) || !strings.Contains(err.Error(), "format version "+strconv.Itoa(formatVersion+1)) {
		t.Fatalf("Open of a later format: %v", err)
	}
}
