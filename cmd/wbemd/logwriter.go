package main

import (
	"io"
	"sync"
	"time"
)

// Batching of the log: every request is logged, and a write system call
// per line would cost each request more than the filters do.
const (
	logDelay = 10 * time.Millisecond // the longest a line waits
	logBatch = 32 << 10              // a batch this large goes out at once
)

// batchWriter writes the daemon's log to w in batches: a line joins the
// pending batch, which goes out logDelay after its first line, or at once
// when it reaches logBatch bytes. Flush writes what is pending (at exit);
// a process killed outright loses at most logDelay of log.
type batchWriter struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // armed while buf holds lines
}

func newBatchWriter(w io.Writer) *batchWriter {
	b := &batchWriter{w: w}
	b.timer = time.AfterFunc(time.Hour, b.Flush)
	b.timer.Stop()
	return b
}

// Write adds p (one log line) to the pending batch.
func (b *batchWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) == 0 {
		b.timer.Reset(logDelay)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= logBatch {
		return len(p), b.flush()
	}
	return len(p), nil
}

// Flush writes the pending batch.
func (b *batchWriter) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flush()
}

func (b *batchWriter) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	b.timer.Stop()
	return err
}
