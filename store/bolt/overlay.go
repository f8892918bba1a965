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

// changeCursor walks the changes of a tree (an overlay's, or the
// committer's) of keys in [start, end) (a nil end: to the end of the
// keyspace), in key order. It takes them from the tree a few at a time, so
// that a scan that stops early costs what it read, not the whole range.
type changeCursor struct {
	tree *btree.BTreeG[change]
	from []byte // where the next fetch starts
	end  []byte
	buf  []change
	done bool
}

// changeFetch is how many changes a cursor takes from the tree at a time.
const changeFetch = 64

func newChangeCursor(tree *btree.BTreeG[change], start, end []byte) *changeCursor {
	return &changeCursor{tree: tree, from: start, end: end, done: tree.Len() == 0}
}

// peek returns the next change; false at the end.
func (c *changeCursor) peek() (change, bool) {
	if len(c.buf) == 0 && !c.done {
		c.fetch()
	}
	if len(c.buf) == 0 {
		return change{}, false
	}
	return c.buf[0], true
}

// next moves past the change peek returned.
func (c *changeCursor) next() { c.buf = c.buf[1:] }

func (c *changeCursor) fetch() {
	c.buf = make([]change, 0, changeFetch)
	visit := func(ch change) bool {
		c.buf = append(c.buf, ch)
		return len(c.buf) < changeFetch
	}
	if c.end == nil {
		c.tree.AscendGreaterOrEqual(change{key: c.from}, visit)
	} else {
		c.tree.AscendRange(change{key: c.from}, change{key: c.end}, visit)
	}
	if len(c.buf) < changeFetch {
		c.done = true
		return
	}
	last := c.buf[len(c.buf)-1].key
	c.from = append(append(make([]byte, 0, len(last)+1), last...), 0) // the smallest key after last
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
