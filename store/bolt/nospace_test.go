package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store"
)

// MountTmpfs mounts a tmpfs of size bytes on a new directory for the rest
// of the test; it skips the test, saying why, when it cannot (not root, or
// no right to mount).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the full-disk test mounts a small tmpfs: run it as root (it is skipped otherwise)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("cannot mount a tmpfs on %s (%v): the full-disk test needs root with CAP_SYS_ADMIN", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillDisk writes the file path until the file system has no space left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
}

// freeDisk gives back n bytes of the file at path.
func freeDisk(t *testing.T, path string, n int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, max(fi.Size()-n, 0)); err != nil {
		t.Fatal(err)
	}
}

// lockedLog is a log destination shared by the engine's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// TestDiskFull runs the engine on a small tmpfs (mounted by the test, as
// root) and fills it: every write then either succeeds or fails with
// store.ErrNoSpace, the engine stays healthy, no acknowledged write is
// lost, checkpoints back off instead of retrying in a loop, and writes come
// back as soon as a little space is freed. Closed and reopened on a full
// disk, the store serves every acknowledged write, refuses new ones with
// ErrNoSpace, and takes them again once space is freed; reopened with
// room, it holds everything and passes Check.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, 16<<20)
	path, filler := filepath.Join(dir, "repository.db"), filepath.Join(dir, "filler")
	logs := &lockedLog{}
	opts := Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acked := map[string]string{}
	n := 0
	put := func() error {
		k, v := fmt.Sprintf("k%06d", n), strings.Repeat(fmt.Sprintf("v%06d", n), 100)
		n++
		_, err := db.Txn(ctx, nil, []store.Op{store.Put([]byte(k), []byte(v))})
		if err == nil {
			acked[k] = v
		}
		return err
	}
	for i := 0; i < 300; i++ {
		if err := put(); err != nil {
			t.Fatal(err)
		}
	}
	fillDisk(t, filler)

	// Full: writes go on into the log while it has room, then fail with
	// ErrNoSpace, never anything else.
	refused := 0
	for i := 0; i < 5000 && refused < 50; i++ {
		if err := put(); err != nil {
			if !errors.Is(err, store.ErrNoSpace) {
				t.Fatalf("write %d on a full disk: %v, want ErrNoSpace", n, err)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("5,000 writes on a full disk all succeeded: the disk is not full")
	}
	if err := db.Health(); err != nil {
		t.Fatalf("health on a full disk: %v, want nil (the engine stays writable)", err)
	}
	t.Logf("full disk: %d writes acknowledged in all, %d refused with ErrNoSpace", len(acked), refused)
	// Checkpoints back off: over 2.5 s of idleness, a handful of attempts
	// (1 s, 2 s, ...), not one every 100 ms.
	before := logs.count("store checkpoint deferred")
	time.Sleep(2500 * time.Millisecond)
	if tries := logs.count("store checkpoint deferred") - before; tries > 3 {
		t.Errorf("%d checkpoint attempts in 2.5 s on a full disk, want back-off", tries)
	}
	check := func(what string, db *DB) {
		t.Helper()
		for k, v := range acked {
			kv, ok, err := db.Get(ctx, []byte(k))
			if err != nil || !ok || string(kv.Value) != v {
				t.Fatalf("%s: acknowledged %s reads %v %v, %v", what, k, ok, len(kv.Value), err)
			}
		}
	}
	check("full disk", db)

	// 64 KiB freed: the next write succeeds.
	freeDisk(t, filler, 64<<10)
	if err := put(); err != nil {
		t.Fatalf("a write after freeing 64 KiB: %v", err)
	}

	// Full again, and closed: the final checkpoint finds no space and the
	// log stays for the next Open.
	fillDisk(t, filler)
	for refused = 0; refused == 0; {
		if err := put(); err != nil {
			if !errors.Is(err, store.ErrNoSpace) {
				t.Fatal(err)
			}
			refused++
		}
	}
	if err := db.Close(); err != nil && !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("close on a full disk: %v", err)
	}
	db, err = Open(path, opts)
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	check("reopened on a full disk", db)
	if err := put(); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("a write after reopening on a full disk: %v, want ErrNoSpace", err)
	}
	if !strings.Contains(logs.b.String(), "store log replayed into memory") {
		t.Error("the reopen did not replay the log into memory")
	}

	// Space back: writes come back, a checkpoint empties the log, and a
	// reopen holds everything.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := put(); err != nil {
			t.Fatalf("a write once space is back: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close with space: %v", err)
	}
	db, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check("reopened with space", db)
	if err := db.Check(ctx); err != nil {
		t.Errorf("check: %v", err)
	}
	t.Logf("%d writes acknowledged, all read back after two reopens", len(acked))
}
