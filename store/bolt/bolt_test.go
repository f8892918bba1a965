package bolt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/storetest"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopenKeepsDataAndRevision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rev, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte("v"))})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r, _ := db.Rev(ctx); r != rev {
		t.Fatalf("Rev after reopen = %d, want %d", r, rev)
	}
	if kv, ok, _ := db.Get(ctx, []byte("k")); !ok || string(kv.Value) != "v" {
		t.Fatal("value lost on reopen")
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBackupOpensWithSameContents(t *testing.T) {
	db := openTemp(t)
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte{byte(i)}, bytes.Repeat([]byte{byte(i)}, 100))}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	n := 0
	for kv, err := range b.Range(ctx, nil, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kv.Value, bytes.Repeat(kv.Key, 100)) {
			t.Fatalf("backup value of %x differs", kv.Key)
		}
		n++
	}
	if n != 100 {
		t.Fatalf("backup holds %d keys, want 100", n)
	}
}

func TestWatchCompacted(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "s.db"), Options{FeedRetention: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte{byte(i)})}); err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range db.Watch(ctx, nil, 1) {
		if err != store.ErrCompacted {
			t.Fatalf("Watch from a compacted revision: %v, want ErrCompacted", err)
		}
		break
	}
}
