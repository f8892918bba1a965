package cimom

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// etcdSized is the embedded engine stating an etcd cluster's default
// limits (128 ops, 1.5 MiB), as a repository on etcd would.
type etcdSized struct{ *bolt.DB }

func (etcdSized) Limits() store.Limits { return store.Limits{MaxOps: 128, MaxBytes: 1536 << 10} }

// TestStoreLimits: a write larger than the store's stated limits fails
// with WBEM_E_QUOTA_VIOLATION and changes nothing; one within them is
// written.
func TestStoreLimits(t *testing.T) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "repo.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The repository's first start (root and its namespaces with their
	// system classes, about 160 writes in one transaction) needs more than
	// 128 ops: make it on the engine's own limits, then reopen it as an
	// etcd-sized store.
	first, err := Open(ctx, db, Options{Server: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, etcdSized{db}, Options{Server: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := c.Connect(ctx, "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	r := &testRepo{t: t, db: db, c: c, svc: svc}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.Close(cctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	r.baseSchema()
	items := func(n int) []*cim.Object {
		out := make([]*cim.Object, n)
		for i := range out {
			out[i] = r.inst("Item", "Id", fmt.Sprintf("i%04d", i), "Size", i)
		}
		return out
	}
	before := r.snapshot()
	_, err = c.PutInstances(ctx, "root/cimv2", admin, items(200), 0)
	wantStatus(t, err, cim.EQuotaViolation)
	err = c.Batch(ctx, func(view *CIMOM) error {
		vs, err := view.Connect(ctx, "root/cimv2", admin)
		if err != nil {
			return err
		}
		for _, o := range items(200) {
			if _, err := vs.PutInstance(ctx, o, 0, nil); err != nil {
				return err
			}
		}
		return nil
	})
	wantStatus(t, err, cim.EQuotaViolation)
	big := r.inst("Item", "Id", "big", "Label", string(make([]byte, 2<<20)))
	_, err = svc.PutInstance(ctx, big, 0, nil)
	wantStatus(t, err, cim.EQuotaViolation)
	if !sameSnapshot(before, r.snapshot()) {
		t.Fatal("a write past the store's limits changed the repository")
	}
	if _, err := c.PutInstances(ctx, "root/cimv2", admin, items(20), 0); err != nil {
		t.Fatalf("a batch within the limits: %v", err)
	}
}
