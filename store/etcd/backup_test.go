package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// fill writes n keys with values of various sizes and returns the store's
// contents as text.
func fill(t *testing.T, s store.Store, n int) string {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i += 50 {
		var ops []store.Op
		for j := i; j < i+50 && j < n; j++ {
			ops = append(ops, store.Put([]byte(fmt.Sprintf("ns/root/i/%05d", j)), bytes.Repeat([]byte{byte(j)}, j%300)))
		}
		if _, err := s.Txn(ctx, nil, ops); err != nil {
			t.Fatal(err)
		}
	}
	return dumpAll(t, ctx, s)
}

// TestBackupRestore: a dump taken while writes go on restores into another
// prefix with the contents of one revision, in transactions within the
// limits; it loads into the embedded engine too.
func TestBackupRestore(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	src := mustOpen(t, c.URL("src", ""))
	want := fill(t, src, 1000)
	var dump bytes.Buffer
	done := make(chan error)
	go func() { // writes during the backup are not in it
		for i := 0; i < 20; i++ {
			if _, err := src.Txn(ctx, nil, []store.Op{store.Put([]byte(fmt.Sprintf("z/late/%d", i)), nil)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	rev, _ := src.Rev(ctx)
	if err := src.Backup(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	dumpRev, _, err := ReadDump(bytes.NewReader(dump.Bytes()))
	if err != nil || dumpRev < rev {
		t.Fatalf("dump of revision %d (%v), want at least %d", dumpRev, err, rev)
	}
	at := dumpAll(t, ctx, &atRev{src, dumpRev})
	// Into an empty prefix of the same cluster.
	res, err := Restore(ctx, c.URL("dst", ""), Options{}, bytes.NewReader(dump.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if n := 1000 + strings.Count(at, "z/late/"); res.DumpRev != dumpRev || res.Keys != n {
		t.Errorf("restored %+v, want %d keys of revision %d", res, n, dumpRev)
	}
	dst := mustOpen(t, c.URL("dst", ""))
	if got := dumpAll(t, ctx, dst); got != at {
		t.Fatalf("restored contents differ from the snapshot")
	}
	if !strings.HasPrefix(at, want) {
		t.Fatal("the snapshot lacks keys written before the backup began")
	}
	// Into a non-empty prefix: refused, nothing changed.
	before, _ := dst.Rev(ctx)
	if _, err := Restore(ctx, c.URL("dst", ""), Options{}, bytes.NewReader(dump.Bytes())); err == nil || !strings.Contains(err.Error(), "empty prefix") {
		t.Errorf("restore into a repository: %v", err)
	}
	if r, _ := dst.Rev(ctx); r != before {
		t.Errorf("a refused restore moved the revision %d -> %d", before, r)
	}
	// The same dump loads into the embedded engine.
	b, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, recs, err := ReadDump(bytes.NewReader(dump.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var ops []store.Op
	for kv, err := range recs {
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, store.Put(kv.Key, kv.Value))
	}
	if _, err := b.Txn(ctx, nil, ops); err != nil {
		t.Fatal(err)
	}
	if got := dumpAll(t, ctx, b); got != at {
		t.Fatal("the dump loaded into bolt differs from the snapshot")
	}
}

// TestRestoreInterrupted: a restore from a damaged dump leaves the prefix
// marked, Open refuses it, and a restore from the intact dump replaces the
// partial one.
func TestRestoreInterrupted(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	src := mustOpen(t, c.URL("src", ""))
	want := fill(t, src, 600)
	var dump bytes.Buffer
	if err := src.Backup(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(dump.Bytes())
	damaged[len(damaged)-40] ^= 1 // in the last value: every record is loaded before the checksum fails
	url := c.URL("dst", "max-txn-ops=128")
	_, err := Restore(ctx, url, Options{}, bytes.NewReader(damaged))
	if !errors.Is(err, ErrBadDump) || !strings.Contains(err.Error(), "partial restore") {
		t.Fatalf("restore of a damaged dump: %v", err)
	}
	if _, err := Open(ctx, url, Options{}); !errors.Is(err, ErrRestoreUnfinished) {
		t.Fatalf("open of a partial restore: %v, want ErrRestoreUnfinished", err)
	}
	if _, err := Restore(ctx, url, Options{}, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := dumpAll(t, ctx, mustOpen(t, url)); got != want {
		t.Fatal("contents after the second restore differ")
	}
}

// atRev reads a store as of one revision (for comparing with a dump).
type atRev struct {
	*Store
	rev int64
}

func (a *atRev) Range(ctx context.Context, start, end []byte) iter.Seq2[store.KV, error] {
	return func(yield func(store.KV, error) bool) {
		a.scan(ctx, start, end, a.rev, func(kv store.KV) bool { return yield(kv, nil) }, func(err error) { yield(store.KV{}, err) })
	}
}

// FuzzReadDump: any input either reads as a dump whose records are in key
// order and whose checksum holds, or fails with ErrBadDump; nothing panics.
func FuzzReadDump(f *testing.F) {
	var good bytes.Buffer
	d := newDumpWriter(&good, 42)
	d.record(store.KV{Key: []byte("a"), Value: []byte("1"), ModRev: 3})
	d.record(store.KV{Key: []byte("b"), Value: nil, ModRev: 41})
	if err := d.finish(); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte(dumpMagic))
	f.Add([]byte(dumpMagic + "\x01\x05hello\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, recs, err := ReadDump(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrBadDump) {
				t.Fatalf("error %v does not wrap ErrBadDump", err)
			}
			return
		}
		var last []byte
		for kv, err := range recs {
			if err != nil {
				if !errors.Is(err, ErrBadDump) {
					t.Fatalf("error %v does not wrap ErrBadDump", err)
				}
				return
			}
			if last != nil && bytes.Compare(kv.Key, last) <= 0 {
				t.Fatalf("key %q after %q", kv.Key, last)
			}
			last = kv.Key
		}
	})
}
