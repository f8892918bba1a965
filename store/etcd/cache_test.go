package etcd

import (
	"context"
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
)

// TestCacheSeesOtherWriters: a Get after a write that another client
// committed (another wbemd node, or anything else writing the prefix) sees
// it at once, whether the key was cached or not, and sees deletes; the
// cache answers most Gets of a key nobody writes.
func TestCacheSeesOtherWriters(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 3, MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes})
	ctx := context.Background()
	s := mustOpen(t, c.URL("cache", ""))
	other := c.Client()
	for i := 0; i < 200; i++ {
		k := fmt.Sprintf("k%d", i%7)
		v := fmt.Sprintf("v%d", i)
		if i%5 == 4 {
			if _, err := other.Delete(ctx, "/cache/"+k); err != nil {
				t.Fatal(err)
			}
			if _, found, err := s.Get(ctx, []byte(k)); err != nil || found {
				t.Fatalf("write %d: Get after a delete by another client: found=%v err=%v", i, found, err)
			}
			continue
		}
		resp, err := other.Put(ctx, "/cache/"+k, v)
		if err != nil {
			t.Fatal(err)
		}
		kv, found, err := s.Get(ctx, []byte(k))
		if err != nil || !found || string(kv.Value) != v || kv.ModRev != resp.Header.Revision {
			t.Fatalf("write %d: Get after another client's put of %s=%s at %d: %q rev %d found=%v err=%v", i, k, v, resp.Header.Revision, kv.Value, kv.ModRev, found, err)
		}
	}
	// A write on another prefix moves the cluster's revision past what the
	// cache's watch reports: Gets stay right.
	if _, err := other.Put(ctx, "/elsewhere", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("quiet"), []byte("q"))}); err != nil {
		t.Fatal(err)
	}
	h0 := s.cache.hits.Load()
	for i := 0; i < 100; i++ {
		kv, found, err := s.Get(ctx, []byte("quiet"))
		if err != nil || !found || string(kv.Value) != "q" {
			t.Fatalf("Get quiet: %q found=%v err=%v", kv.Value, found, err)
		}
		kv.Value[0] = 'x' // the caller owns what Get returns
	}
	if hits := s.cache.hits.Load() - h0; hits < 50 {
		t.Errorf("%d of 100 Gets of an unchanging key came from the cache", hits)
	}
	// The cache off: the same answers.
	off := mustOpen(t, c.URL("cache", "cache=0"))
	if off.cache != nil {
		t.Fatal("cache=0 opened a cache")
	}
	if kv, found, err := off.Get(ctx, []byte("quiet")); err != nil || !found || string(kv.Value) != "q" {
		t.Fatalf("cache=0 Get: %q found=%v err=%v", kv.Value, found, err)
	}
}

// TestSessionReads: with reads=session a node reads its own writes at
// once and without a barrier, sees another node's writes as soon as its
// watch brings them, and never reads back in time; a write whose outcome
// is unknown makes the next read take a barrier.
func TestSessionReads(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 3, MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes})
	ctx := context.Background()
	a := mustOpen(t, c.URL("sess", "reads=session"))
	b := mustOpen(t, c.URL("sess", "reads=session"))
	if !a.cfg.SessionReads {
		t.Fatal("reads=session not parsed")
	}
	// The first read may take a barrier while the watch starts; after
	// that, none.
	if _, _, err := a.Get(ctx, []byte("warm")); err != nil {
		t.Fatal(err)
	}
	sent := a.barriers.sent.Load()
	for i := 0; i < 300; i++ {
		k, v := fmt.Sprintf("k%d", i%5), fmt.Sprintf("v%d", i)
		rev, err := a.Txn(ctx, nil, []store.Op{store.Put([]byte(k), []byte(v))})
		if err != nil {
			t.Fatal(err)
		}
		kv, found, err := a.Get(ctx, []byte(k))
		if err != nil || !found || string(kv.Value) != v || kv.ModRev != rev {
			t.Fatalf("write %d: a Get on the writing node after its put of %s=%s at %d: %q rev %d found=%v err=%v", i, k, v, rev, kv.Value, kv.ModRev, found, err)
		}
		if r, err := a.Rev(ctx); err != nil || r < rev {
			t.Fatalf("write %d: Rev %d after a write at %d (err %v)", i, r, rev, err)
		}
	}
	if n := a.barriers.sent.Load() - sent; n != 0 {
		t.Errorf("300 writes and reads on one node took %d barriers, want none", n)
	}
	// The other node: each key reaches its last value soon, and what it
	// reads of a key never goes back.
	last := map[string]int64{}
	deadline := time.Now().Add(10 * time.Second)
	for done := 0; done < 5; {
		done = 0
		for i := 0; i < 5; i++ {
			k := fmt.Sprintf("k%d", i)
			kv, found, err := b.Get(ctx, []byte(k))
			if err != nil || !found {
				t.Fatalf("node b: Get %s: found=%v err=%v", k, found, err)
			}
			if kv.ModRev < last[k] {
				t.Fatalf("node b: %s went back from revision %d to %d", k, last[k], kv.ModRev)
			}
			last[k] = kv.ModRev
			if string(kv.Value) == fmt.Sprintf("v%d", 295+i) {
				done++
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b did not see node a's last writes in 10 s: %v", last)
		}
	}
	// A write whose outcome is unknown (its context ended): the next read
	// takes a barrier, and the ones after it do not.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	put := &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: a.key([]byte("k0")), Value: []byte("maybe")}}}
	if _, err := a.rawTxn(cctx, "put", nil, []*pb.RequestOp{put}); err == nil {
		t.Fatal("a write with an ended context succeeded")
	}
	sent = a.barriers.sent.Load()
	if _, _, err := a.Get(ctx, []byte("k1")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Get(ctx, []byte("k1")); err != nil {
		t.Fatal(err)
	}
	if n := a.barriers.sent.Load() - sent; n != 1 {
		t.Errorf("two reads after a write of unknown outcome took %d barriers, want 1", n)
	}
	// Linearizable reads (the default) take barriers.
	l := mustOpen(t, c.URL("sess", ""))
	sent = l.barriers.sent.Load()
	for range 3 {
		if _, _, err := l.Get(ctx, []byte("k1")); err != nil {
			t.Fatal(err)
		}
	}
	if l.barriers.sent.Load() == sent {
		t.Error("linearizable Gets took no barrier")
	}
}
