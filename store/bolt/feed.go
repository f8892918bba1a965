package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/wbemd/wbemd/store"
)

// feedChunk is the size at which a feed record is closed: a transaction's
// events are packed into records of about this size, which fit in a page,
// rather than one record (and one B+tree insert) per event.
const feedChunk = 3000

// feedWriter packs one revision's events into feed records of about
// feedChunk bytes.
type feedWriter struct {
	feed  *bbolt.Bucket
	rev   int64
	seq   uint32
	chunk []byte
}

func (w *feedWriter) add(ev store.Event) error {
	if w.chunk == nil {
		// Sized for this event: most revisions write a record or two,
		// and appendEvent grows the chunk for more.
		w.chunk = append(make([]byte, 0, 1+eventRoom(ev)), chunkMarker)
	}
	w.chunk = appendEvent(w.chunk, ev)
	if len(w.chunk) >= feedChunk {
		return w.flush()
	}
	return nil
}

func (w *feedWriter) flush() error {
	if len(w.chunk) == 0 {
		return nil
	}
	fk := make([]byte, 12)
	binary.BigEndian.PutUint64(fk, uint64(w.rev))
	binary.BigEndian.PutUint32(fk[8:], w.seq)
	w.seq++
	err := w.feed.Put(fk, w.chunk)
	w.chunk = nil
	return err
}

// chunkMarker starts a feed record holding a chunk of events: each is a
// uvarint length and an encoded event. (A record that starts with an event
// type instead holds that one event, as files written before chunks do.)
const chunkMarker = 0xC0

// eventRoom is the most bytes appendEvent adds for ev.
func eventRoom(ev store.Event) int {
	return 3 + 4*binary.MaxVarintLen64 + len(ev.Key) + len(ev.Value) + len(ev.PrevValue)
}

// appendEvent appends one event to a chunk.
func appendEvent(b []byte, ev store.Event) []byte {
	b = slices.Grow(b, eventRoom(ev))
	start := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen64)...) // room for the length
	body := len(b)
	b = encodeEvent(b, ev)
	size := binary.PutUvarint(b[start:], uint64(len(b)-body))
	return append(b[:start+size], b[body:]...)
}

func encodeEvent(b []byte, ev store.Event) []byte {
	b = append(b, byte(ev.Type))
	b = binary.AppendUvarint(b, uint64(len(ev.Key)))
	b = append(b, ev.Key...)
	b = binary.AppendUvarint(b, uint64(len(ev.Value)))
	b = append(b, ev.Value...)
	if ev.PrevValue == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(ev.PrevValue)))
		b = append(b, ev.PrevValue...)
	}
	return b
}

// decodeRecord returns the events of one feed record.
func decodeRecord(rev int64, v []byte) ([]store.Event, error) {
	if len(v) == 0 || v[0] != chunkMarker {
		ev, err := decodeEvent(rev, v)
		if err != nil {
			return nil, err
		}
		return []store.Event{ev}, nil
	}
	var out []store.Event
	for b := v[1:]; len(b) > 0; {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, fmt.Errorf("bolt: corrupt feed chunk at revision %d", rev)
		}
		ev, err := decodeEvent(rev, b[k:k+int(n)])
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
		b = b[k+int(n):]
	}
	return out, nil
}

func decodeEvent(rev int64, b []byte) (store.Event, error) {
	bad := fmt.Errorf("bolt: corrupt feed entry at revision %d", rev)
	if len(b) < 1 {
		return store.Event{}, bad
	}
	ev := store.Event{Type: store.EventType(b[0]), Rev: rev}
	b = b[1:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		f := append([]byte(nil), b[k:k+int(n)]...)
		b = b[k+int(n):]
		return f, true
	}
	var ok bool
	if ev.Key, ok = field(); !ok {
		return store.Event{}, bad
	}
	if ev.Value, ok = field(); !ok {
		return store.Event{}, bad
	}
	if ev.Type == store.EventDelete {
		ev.Value = nil
	}
	if len(b) < 1 {
		return store.Event{}, bad
	}
	if b[0] == 1 {
		b = b[1:]
		if ev.PrevValue, ok = field(); !ok {
			return store.Event{}, bad
		}
	} else {
		b = b[1:]
	}
	if len(b) != 0 || (ev.Type != store.EventPut && ev.Type != store.EventDelete) {
		return store.Event{}, bad
	}
	return ev, nil
}

// feedRev returns the revision of a feed key: 8 bytes of revision, 4 of
// sequence.
func feedRev(k []byte) (int64, error) {
	if len(k) != 12 {
		return 0, fmt.Errorf("bolt: malformed feed key %x", k)
	}
	return int64(binary.BigEndian.Uint64(k[:8])), nil
}

// withoutNotes returns revs with no event carrying a note (store.Op.Note)
// for the overlay, which keeps the events for replays: a note lives only as
// long as its commit's delivery to the watchers. revs is not changed (the
// watchers receive it); revisions without a note are shared.
func withoutNotes(revs [][]store.Event) [][]store.Event {
	var out [][]store.Event
	for i, evs := range revs {
		if !slices.ContainsFunc(evs, func(ev store.Event) bool { return ev.Note != nil }) {
			continue
		}
		if out == nil {
			out = slices.Clone(revs)
		}
		out[i] = slices.Clone(evs)
		for j := range out[i] {
			out[i][j].Note = nil
		}
	}
	if out == nil {
		return revs
	}
	return out
}

// netEvents returns one transaction's events, which the committer records
// one per op in the order of the ops, as the store contract states them:
// one per key, for the net effect of the transaction on it, in key order.
// A key's event is its last one with the PrevValue of its first (the value
// before the transaction); a key absent before and deleted at the end has
// none. It returns evs itself when they already are so (a transaction
// without a range delete or a key written twice), and a new slice
// otherwise: evs may be shared.
func netEvents(evs []store.Event) []store.Event {
	sorted := true
	for i := 1; i < len(evs) && sorted; i++ {
		sorted = bytes.Compare(evs[i-1].Key, evs[i].Key) < 0
	}
	if sorted {
		return evs
	}
	in := slices.Clone(evs)
	slices.SortStableFunc(in, func(a, b store.Event) int { return bytes.Compare(a.Key, b.Key) })
	out := in[:0]
	for i := 0; i < len(in); {
		j := i
		for j+1 < len(in) && bytes.Equal(in[j+1].Key, in[i].Key) {
			j++
		}
		ev := in[j]
		ev.PrevValue = in[i].PrevValue
		if ev.Type == store.EventPut || ev.PrevValue != nil {
			out = append(out, ev)
		}
		i = j + 1
	}
	return out
}
