package bolt

import (
	"context"
	"fmt"
	"io"

	bbolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the store file to w.
func (d *DB) Backup(ctx context.Context, w io.Writer) error {
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if err := d.awaitCheckpoint(ctx); err != nil {
		return err
	}
	return d.db.View(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}

// awaitCheckpoint has the committer move every logged write into the
// B+tree, so that a reader of the bbolt file alone sees them all.
func (d *DB) awaitCheckpoint(ctx context.Context) error {
	req := &txnReq{checkpoint: true, reply: make(chan txnResult, 1)}
	d.reqs <- req
	select {
	case r := <-req.reply:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Check verifies the file: bbolt's own page checks, then that every value
// has its revision header, that no revision is newer than the store's, and
// that every feed entry decodes.
func (d *DB) Check(ctx context.Context) error {
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if err := d.awaitCheckpoint(ctx); err != nil {
		return err
	}
	return d.db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bolt: %w", err)
		}
		cur := readU64(tx.Bucket(bucketMeta).Get(metaRev))
		err := tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			if len(v) < 8 {
				return fmt.Errorf("bolt: key %q has no revision header", k)
			}
			if r := readU64(v[:8]); r <= 0 || r > cur {
				return fmt.Errorf("bolt: key %q has revision %d outside 1..%d", k, r, cur)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFeed).ForEach(func(k, v []byte) error {
			if len(k) != 12 {
				return fmt.Errorf("bolt: malformed feed key %x", k)
			}
			_, err := decodeRecord(readU64(k[:8]), v)
			return err
		})
	})
}
