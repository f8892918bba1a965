package etcd

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// TestTxnMatchesBolt applies the same random transactions (puts, deletes
// and range deletes of overlapping keys, in any order, some guarded by
// compares) to this engine and to the embedded one, and compares the
// outcome and the contents after each, and at the end the change feeds:
// the events of each transaction (type, key, value, previous value, Last)
// in order, one per key in key order on both.
func TestTxnMatchesBolt(t *testing.T) {
	c := startCluster(t)
	e := mustOpen(t, c.URL("differential", ""))
	b, err := bolt.Open(filepath.Join(t.TempDir(), "ref.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	engines := []store.Store{e, b}
	var starts [2]int64
	for i, s := range engines {
		if starts[i], err = s.Rev(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(1))
	key := func() []byte { return []byte(fmt.Sprintf("k%d", rng.Intn(12))) }
	for round := 0; round < 300; round++ {
		var ops []store.Op
		for n := 1 + rng.Intn(6); n > 0; n-- {
			switch rng.Intn(5) {
			case 0, 1:
				ops = append(ops, store.Put(key(), []byte(fmt.Sprintf("v%d", round))))
			case 2:
				ops = append(ops, store.Delete(key()))
			case 3:
				if a, z := key(), key(); string(a) < string(z) {
					ops = append(ops, store.DeleteRange(a, z))
				}
			case 4:
				ops = append(ops, store.DeleteRange(key(), nil))
			}
		}
		guard, stale := key(), rng.Intn(3) == 0
		var errs [2]error
		for i, s := range engines {
			kv, _, err := s.Get(ctx, guard)
			if err != nil {
				t.Fatal(err)
			}
			if stale {
				kv.ModRev++
			}
			_, errs[i] = s.Txn(ctx, []store.Compare{{Key: guard, ModRev: kv.ModRev}}, ops)
		}
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("round %d %v: etcd %v, bolt %v", round, ops, errs[0], errs[1])
		}
		if a, b := dumpAll(t, ctx, e), dumpAll(t, ctx, b); a != b {
			t.Fatalf("round %d %v:\netcd %s\nbolt %s", round, ops, a, b)
		}
	}
	var feeds [2][][]store.Event
	for i, s := range engines {
		if _, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("zz"), []byte("end"))}); err != nil {
			t.Fatal(err)
		}
		last := int64(-1)
		for ev, err := range s.Watch(ctx, nil, starts[i]) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Rev != last {
				feeds[i], last = append(feeds[i], nil), ev.Rev
			}
			feeds[i][len(feeds[i])-1] = append(feeds[i][len(feeds[i])-1], ev)
			if string(ev.Key) == "zz" {
				break
			}
		}
	}
	for i, feed := range feeds {
		for _, g := range feed {
			for j := 1; j < len(g); j++ {
				if string(g[j-1].Key) >= string(g[j].Key) {
					t.Fatalf("%s: events of one transaction not one per key in key order: %s", engineNames[i], formatEvents(g))
				}
			}
			for j, ev := range g {
				if ev.Last != (j == len(g)-1) {
					t.Fatalf("%s: Last not on the last event of the transaction alone: %s", engineNames[i], formatEvents(g))
				}
			}
		}
	}
	var text [2][]string
	for i, feed := range feeds {
		for _, g := range feed {
			text[i] = append(text[i], formatEvents(g))
		}
	}
	if a, b := strings.Join(text[0], "\n"), strings.Join(text[1], "\n"); a != b {
		t.Fatalf("change feeds differ:\netcd:\n%s\nbolt:\n%s", a, b)
	}
	if len(text[0]) < 150 {
		t.Fatalf("only %d transactions changed something", len(text[0]))
	}
}

var engineNames = [2]string{"etcd", "bolt"}

func formatEvents(evs []store.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%d %s=%s (was %q, last %v) ", ev.Type, ev.Key, ev.Value, ev.PrevValue, ev.Last)
	}
	return b.String()
}

func dumpAll(t *testing.T, ctx context.Context, s store.Store) string {
	t.Helper()
	var b strings.Builder
	for kv, err := range s.Range(ctx, nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s ", kv.Key, kv.Value)
	}
	return b.String()
}
