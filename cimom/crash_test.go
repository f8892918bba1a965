package cimom

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store/bolt"
)

const crashRepoEnv = "WBEMD_CRASH_CHILD_REPO"

// TestCrashChild is the child of TestCrashRecovery: four writers write
// instances in a loop, each printing an instance's id once PutInstance has
// returned, until the process is killed. The instances' size comes from
// the parent: small ones leave the writes in the store's log, large ones
// fill it and make checkpoints run every few hundred writes.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashRepoEnv)
	if path == "" {
		t.Skip("run by TestCrashRecovery")
	}
	start, _ := strconv.Atoi(os.Getenv(crashRepoEnv + "_START"))
	ctx := context.Background()
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	c, err := Open(ctx, db, Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	svc, err := c.Connect(ctx, "root/cimv2", admin)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	if _, err := svc.GetObject(ctx, "Crash", 0, nil); err != nil {
		cls := class("Crash", "", nil, prop("Id", cim.TypeUint32, qTrue("Key")), prop("Tag", cim.TypeString, qTrue("Indexed")), prop("Blob", cim.TypeString))
		if err := svc.PutClass(ctx, cls, 0, nil); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
	}
	cls, _ := svc.GetObject(ctx, "Crash", 0, nil)
	size, _ := strconv.Atoi(os.Getenv(crashRepoEnv + "_BLOB"))
	blob := strings.Repeat("x", size)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
		mu.Unlock()
	}
	var next atomic.Int64
	next.Store(int64(start))
	for w := 0; w < 4; w++ {
		go func() {
			for {
				i := next.Add(1) - 1
				inst, _ := cls.SpawnInstance()
				inst.Put("Id", cim.Value{Type: cim.TypeUint32, V: uint32(i)})
				inst.Put("Tag", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("tag-%d", i)})
				inst.Put("Blob", cim.Value{Type: cim.TypeString, V: blob})
				if _, err := svc.PutInstance(ctx, inst, FlagCreateOnly, nil); err != nil {
					say("ERR %v", err)
					os.Exit(1)
				}
				say("ACK %d", i)
			}
		}()
	}
	select {}
}

// TestCrashRecovery kills a writing child with SIGKILL at random moments,
// then reopens the repository: it must open, pass both checks, hold every
// acknowledged write with its value and index entry, and hold no torn one.
func TestCrashRecovery(t *testing.T) {
	skipOnEtcd(t, "it kills a process writing to the embedded engine (store/etcd and server test kills on etcd)")
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "repo.db")
	acked := map[int]bool{}
	next := 0
	rounds := 25
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		blob := 2000
		if round%2 == 1 {
			blob = 40000 // 8 MiB of log in about 200 writes: checkpoints run, and kills land in them
		}
		cmd.Env = append(os.Environ(), crashRepoEnv+"="+path, fmt.Sprintf("%s_START=%d", crashRepoEnv, next), fmt.Sprintf("%s_BLOB=%d", crashRepoEnv, blob))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let it write for a random while, then kill it without warning:
		// in even rounds counted from its start (a kill may land while it
		// opens and recovers the store), in odd ones from its first
		// acknowledged write (a slow start, as under the race detector on
		// a loaded machine, must not leave every round without writes).
		wait := time.Duration(20+rand.IntN(180)) * time.Millisecond
		var kill <-chan time.Time
		if round%2 == 0 {
			kill = time.After(wait)
		}
		killed := false
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if strings.HasPrefix(l, "ERR") {
					t.Fatalf("round %d: child failed: %s", round, l)
				}
				var id int
				if _, err := fmt.Sscanf(l, "ACK %d", &id); err == nil {
					acked[id] = true
					if id >= next {
						next = id + 1
					}
					if round%2 == 1 && kill == nil && !killed {
						kill = time.After(wait)
					}
				}
			case <-kill:
				cmd.Process.Signal(syscall.SIGKILL)
				kill, killed = nil, true
			}
		}
		cmd.Wait()
		// Writes in flight at the kill may have landed without an ACK:
		// the next round starts past them.
		next += 1000

		db, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if err := db.Check(ctx); err != nil {
			t.Fatalf("round %d: store check: %v", round, err)
		}
		rep, err := Check(ctx, db)
		if err != nil {
			t.Fatalf("round %d: repository check: %v", round, err)
		}
		c, err := Open(ctx, db, Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := c.Connect(ctx, "root/cimv2", admin)
		if err != nil {
			t.Fatal(err)
		}
		for id := range acked {
			o, err := svc.GetObject(ctx, fmt.Sprintf("Crash.Id=%d", id), 0, nil)
			if err != nil {
				t.Fatalf("round %d: acknowledged instance %d lost: %v", round, id, err)
			}
			if v, _ := o.Get("Tag"); v.V != fmt.Sprintf("tag-%d", id) {
				t.Fatalf("round %d: instance %d holds Tag %v", round, id, v)
			}
		}
		c.Close(ctx)
		db.Close()
		t.Logf("round %d: %d acknowledged so far; %s", round, len(acked), rep)
	}
	if len(acked) == 0 {
		t.Fatal("the child never acknowledged a write")
	}
}
