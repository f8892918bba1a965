package bolt

import (
	"bytes"

	"github.com/google/btree"

	"github.com/wbemd/wbemd/store"
)

// change is the newest write of one key since the last checkpoint.
type change struct {
	key     []byte
	value   []byte // the new value; nil when deleted
	rev     int64
	deleted bool
}

func lessChange(a, b change) bool { return bytes.Compare(a.key, b.key) < 0 }

func newTree() *btree.BTreeG[change] { return btree.NewG(32, lessChange) }

// overlay is what the write-ahead log holds and the B+tree does not yet:
// the writes since the last checkpoint, as a sorted tree of their newest
// values, and their events. The committer publishes a new overlay after
// each group commit's log sync; a published overlay is never modified, so
// a reader pairs one with a bbolt read transaction (see DB.snapshot) and
// sees one consistent state: the B+tree's, with the overlay's changes on
// top.
type overlay struct {
	tree   *btree.BTreeG[change] // read-only once published
	events [][]store.Event       // one slice per revision base+1..rev (appended to, never rewritten)
	base   int64                 // the B+tree's revision
	rev    int64                 // the newest revision held
	bytes  int                   // rough memory held, for the checkpoint trigger
}

// between returns the overlay's changes of keys in [start, end) (a nil end:
// to the end of the keyspace), in key order.
func (o *overlay) between(start, end []byte) []change {
	if o.tree.Len() == 0 {
		return nil
	}
	var out []change
	visit := func(c change) bool {
		out = append(out, c)
		return true
	}
	if end == nil {
		o.tree.AscendGreaterOrEqual(change{key: start}, visit)
	} else {
		o.tree.AscendRange(change{key: start}, change{key: end}, visit)
	}
	return out
}

// eventsAfter returns the overlay's events after revision from whose keys
// start with prefix.
func (o *overlay) eventsAfter(prefix []byte, from int64) []store.Event {
	var out []store.Event
	for i := max(from-o.base, 0); i < int64(len(o.events)); i++ {
		for _, ev := range o.events[i] {
			if bytes.HasPrefix(ev.Key, prefix) {
				out = append(out, ev)
			}
		}
	}
	return out
}
