package etcd

import (
	"context"
	"fmt"
	"testing"

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
