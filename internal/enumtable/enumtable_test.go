package enumtable

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type ctx struct {
	sync.Mutex
	closed atomic.Int32
}

func (c *ctx) Close() { c.closed.Add(1) }

func TestTable(t *testing.T) {
	var tb Table[*ctx]
	a := &ctx{}
	id, err := tb.Add(a, "uuid:", "alice", time.Hour, 2)
	if err != nil || len(id) != len("uuid:")+32 {
		t.Fatalf("Add: %q %v", id, err)
	}
	if _, ok := tb.Get(id, "bob"); ok {
		t.Error("another user got alice's context")
	}
	got, ok := tb.Get(id, "alice")
	if !ok || got != a {
		t.Fatal("alice did not get her context")
	}
	// Remove waits for the request holding the lock.
	removed := make(chan struct{})
	go func() { tb.Remove(id); close(removed) }()
	select {
	case <-removed:
		t.Fatal("Remove did not wait for the request in flight")
	case <-time.After(20 * time.Millisecond):
	}
	if a.closed.Load() != 0 {
		t.Fatal("closed while in use")
	}
	a.Unlock()
	<-removed
	if a.closed.Load() != 1 || tb.Len() != 0 {
		t.Fatalf("after Remove: closed %d times, %d open", a.closed.Load(), tb.Len())
	}
	if _, ok := tb.Get(id, "alice"); ok {
		t.Error("a removed context was handed out")
	}
	// The bound, and expiry.
	b, c := &ctx{}, &ctx{}
	tb.Add(b, "", "alice", time.Millisecond, 2)
	tb.Add(c, "", "alice", time.Hour, 2)
	if _, err := tb.Add(&ctx{}, "", "alice", time.Hour, 2); err != ErrFull {
		t.Errorf("third Add with a bound of 2: %v", err)
	}
	for b.closed.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if tb.Len() != 1 {
		t.Errorf("%d open after one expired, want 1", tb.Len())
	}
	tb.CloseAll()
	if c.closed.Load() != 1 || b.closed.Load() != 1 || tb.Len() != 0 {
		t.Errorf("CloseAll: closed %d and %d times, %d open", b.closed.Load(), c.closed.Load(), tb.Len())
	}
}
