package indication

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
)

// cursor is a subscription's place in its delivery (see the package
// comment).
type cursor struct {
	Context string `json:"context"`
	Seq     int64  `json:"seq"`     // SequenceNumber of the next indication
	Rev     int64  `json:"rev"`     // every event up to Rev delivered...
	N       int    `json:"n"`       // ... but of Rev's only the first N
	Created int64  `json:"created"` // the subscription's creation revision
}

// cursorPrefix is the prefix of every cursor.
var cursorPrefix = []byte{'d', 0}

// cursorKey is the key of a subscription's cursor.
func cursorKey(subKey string) []byte {
	k := append([]byte(nil), cursorPrefix...)
	k = append(k, cim.Fold(cimom.InteropNamespace)...)
	k = append(k, 0)
	return append(k, subKey...)
}

// newCursor starts a sequence at revision rev: a SequenceContext naming
// the subscription's creation and the start, SequenceNumber 0.
func newCursor(sub *cimom.IndicationSubscription, rev int64) cursor {
	return cursor{Context: fmt.Sprintf("wbemd:%d:%d", sub.Created, rev), Rev: rev, Created: sub.Created}
}

// loadCursor reads a subscription's cursor; a subscription without one
// (or with one left by an earlier subscription of the same keys) starts
// at its creation.
func loadCursor(ctx context.Context, st store.Store, sub *cimom.IndicationSubscription) (cursor, error) {
	kv, found, err := st.Get(ctx, cursorKey(sub.Key))
	if err != nil {
		return cursor{}, fmt.Errorf("indication: cursor of %s: %w", sub.Path, err)
	}
	if found {
		var c cursor
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return cursor{}, fmt.Errorf("indication: cursor of %s: %w", sub.Path, err)
		}
		if c.Created == sub.Created {
			return c, nil
		}
	}
	return newCursor(sub, sub.Created), nil
}

// saveCursor writes a subscription's cursor.
func saveCursor(ctx context.Context, st store.Store, subKey string, c cursor) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("indication: cursor: %w", err)
	}
	if _, err := st.Txn(ctx, nil, []store.Op{store.Put(cursorKey(subKey), b)}); err != nil {
		return fmt.Errorf("indication: cursor: %w", err)
	}
	return nil
}

// deleteCursor removes a subscription's cursor.
func deleteCursor(ctx context.Context, st store.Store, subKey string) error {
	if _, err := st.Txn(ctx, nil, []store.Op{store.Delete(cursorKey(subKey))}); err != nil {
		return fmt.Errorf("indication: cursor: %w", err)
	}
	return nil
}

// advance records the delivery of an event of revision rev.
func (c *cursor) advance(rev int64) {
	if rev == c.Rev {
		c.N++
	} else {
		c.Rev, c.N = rev, 1
	}
	c.Seq++
}

// from is the revision to read the feed after, so that the events of Rev
// come again when some of them were delivered (they are then skipped).
func (c *cursor) from() int64 {
	if c.N > 0 {
		return c.Rev - 1
	}
	return c.Rev
}
