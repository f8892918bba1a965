package store

import (
	"context"
	"iter"
)

// DefaultChunk is the number of keys Chunked reads at a time when given
// n <= 0.
const DefaultChunk = 256

// chunkBytes ends a chunk early once its keys and values reach this size,
// so that a chunk of large values stays small in memory.
const chunkBytes = 1 << 20

// Chunked yields, in ascending key order, the keys in [start, end) (a nil
// end: to the end of the keyspace), as Range does but NOT from one
// snapshot: it reads at most n keys (and about 1 MiB) at a time, each chunk
// from a Range of its own that ends before the chunk is yielded, and
// resumes just after the last key read. No snapshot is held while the
// caller works on the keys, which makes Chunked the scan to use for
// results handed out across client requests (an open enumeration).
//
// Each chunk is consistent; no key is yielded twice; a key that exists
// and is not changed while the iteration runs is never skipped. A key
// written or deleted meanwhile may appear or not, as of the snapshot of the
// chunk that reaches it. The KV slices are valid only until the next
// iteration step.
func Chunked(ctx context.Context, s Store, start, end []byte, n int) iter.Seq2[KV, error] {
	if n <= 0 {
		n = DefaultChunk
	}
	type entry struct {
		keyEnd, valEnd int // offsets in buf: key at [previous valEnd, keyEnd), value at [keyEnd, valEnd)
		rev            int64
	}
	return func(yield func(KV, error) bool) {
		from := start
		var buf []byte
		var entries []entry
		for {
			buf, entries = buf[:0], entries[:0]
			for kv, err := range s.Range(ctx, from, end) {
				if err != nil {
					yield(KV{}, err)
					return
				}
				buf = append(buf, kv.Key...)
				keyEnd := len(buf)
				buf = append(buf, kv.Value...)
				entries = append(entries, entry{keyEnd: keyEnd, valEnd: len(buf), rev: kv.ModRev})
				if len(entries) == n || len(buf) >= chunkBytes {
					break
				}
			}
			full := len(entries) == n || len(buf) >= chunkBytes
			off := 0
			var last []byte
			for _, e := range entries {
				kv := KV{Key: buf[off:e.keyEnd:e.keyEnd], Value: buf[e.keyEnd:e.valEnd:e.valEnd], ModRev: e.rev}
				off, last = e.valEnd, kv.Key
				if !yield(kv, nil) {
					return
				}
			}
			if !full || len(entries) == 0 {
				return
			}
			// The smallest key after last: last followed by a zero byte.
			from = append(append(make([]byte, 0, len(last)+1), last...), 0)
		}
	}
}
