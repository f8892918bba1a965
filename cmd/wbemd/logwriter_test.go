package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter counts the writes it gets.
type countingWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.b.Write(p)
}

func (c *countingWriter) state() (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String(), c.writes
}

// TestBatchWriter: lines written back to back go out in a few writes, in
// order and whole; a lone line goes out by itself after a short wait; Flush
// writes what is pending.
func TestBatchWriter(t *testing.T) {
	w := &countingWriter{}
	b := newBatchWriter(w)
	var want strings.Builder
	for i := 0; i < 1000; i++ {
		line := fmt.Sprintf("line %04d %s\n", i, strings.Repeat("x", 90))
		want.WriteString(line)
		b.Write([]byte(line))
	}
	b.Flush()
	got, writes := w.state()
	if got != want.String() {
		t.Fatalf("the log differs from what was written (%d bytes, want %d)", len(got), want.Len())
	}
	if writes >= 100 {
		t.Errorf("1,000 lines took %d writes", writes)
	}
	b.Write([]byte("alone\n"))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _ := w.state(); strings.HasSuffix(got, "alone\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a lone line was not written without Flush")
		}
	}
}
