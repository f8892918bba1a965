package auth

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

func testUsers(t *testing.T) (*Users, store.Store) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db), db
}

// TestVerifyFollowsChanges: a verified password is remembered, and every
// change to the user's record, made through these Users or another, is
// seen by the next Verify.
func TestVerifyFollowsChanges(t *testing.T) {
	ctx := context.Background()
	u, st := testUsers(t)
	if err := u.Add(ctx, "alice", "one", true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		p, err := u.Verify(ctx, "a", "Alice", "one")
		if err != nil || p.Name != "alice" || !p.IsAdmin() {
			t.Fatalf("verify %d: %+v, %v", i, p, err)
		}
	}
	if _, err := u.Verify(ctx, "a", "alice", "two"); err == nil {
		t.Fatal("a wrong password verified")
	}
	// Unrelated writes change the store's revision, not the record.
	if _, err := st.Txn(ctx, nil, []store.Op{store.Put([]byte("x"), []byte("y"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Verify(ctx, "a", "alice", "one"); err != nil {
		t.Fatalf("after an unrelated write: %v", err)
	}
	// Another Users on the same store changes the password.
	if err := New(st).SetPassword(ctx, "alice", "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Verify(ctx, "a", "alice", "one"); err == nil {
		t.Fatal("the old password still verifies")
	}
	if _, err := u.Verify(ctx, "a", "alice", "two"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	if err := New(st).Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Verify(ctx, "a", "alice", "two"); err == nil {
		t.Fatal("a deleted user verifies")
	}
}
