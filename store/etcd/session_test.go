package etcd

import (
	"context"
	"errors"
	"testing"

	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
)

// TestSession: the reads of one session share one revision barrier; a
// new session sees a write another node acknowledged; a session sees its
// own write, and what made its compare fail, even after it learned an
// older revision.
func TestSession(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 3, MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes})
	a := mustOpen(t, c.URL("sess", ""))
	b := mustOpen(t, c.URL("sess", "")) // another node on the same prefix
	bg := context.Background()
	put := func(s *Store, ctx context.Context, k, v string) int64 {
		t.Helper()
		rev, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte(k), []byte(v))})
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	get := func(ctx context.Context, k string) string {
		t.Helper()
		kv, found, err := a.Get(ctx, []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			return ""
		}
		return string(kv.Value)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		put(a, bg, k, "v0")
	}
	get(bg, "k1") // fills the cache
	get(bg, "k2")
	get(bg, "k3")

	sess := store.WithSession(bg)
	sent := a.barriers.sent.Load()
	for range 10 {
		for _, k := range []string{"k1", "k2", "k3"} {
			if v := get(sess, k); v != "v0" {
				t.Fatalf("Get %s in a session: %q", k, v)
			}
		}
	}
	if n := a.barriers.sent.Load() - sent; n != 1 {
		t.Errorf("30 Gets of one session sent %d barrier reads, want 1", n)
	}
	if rev, err := a.Rev(sess); err != nil || rev != store.SessionOf(sess).Rev() {
		t.Errorf("Rev in the session: %d, %v; the session's revision is %d", rev, err, store.SessionOf(sess).Rev())
	}

	put(b, bg, "k1", "v1") // acknowledged by another node
	if v := get(store.WithSession(bg), "k1"); v != "v1" {
		t.Errorf("a new session after another node's write: %q, want v1", v)
	}
	if v := get(bg, "k1"); v != "v1" {
		t.Errorf("a Get outside sessions after another node's write: %q, want v1", v)
	}

	put(a, sess, "k2", "mine") // the old session writes: its reads see it
	if v := get(sess, "k2"); v != "mine" {
		t.Errorf("a session's read of its own write: %q", v)
	}

	old := store.WithSession(bg)
	get(old, "k3") // learns a revision
	put(b, bg, "k3", "theirs")
	_, err := a.Txn(old, []store.Compare{{Key: []byte("k3"), ModRev: 1}}, []store.Op{store.Put([]byte("k3"), []byte("x"))})
	if !errors.Is(err, store.ErrCompareFailed) {
		t.Fatalf("a compare on a changed key: %v", err)
	}
	if v := get(old, "k3"); v != "theirs" {
		t.Errorf("after a failed compare, the session reads %q, want what made it fail", v)
	}
}
