package bolt

import (
	"context"
	"fmt"
	"io"

	bbolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the store file to w.
func (d *DB) Backup(ctx context.Context, w io.Writer) error {
	return d.viewAll(ctx, func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}

// viewAll runs fn in a bbolt read transaction after a checkpoint: the
// B+tree then holds every write acknowledged before the call.
func (d *DB) viewAll(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := d.enter(ctx); err != nil {
		return err
	}
	defer d.leave()
	if err := d.awaitCheckpoint(ctx); err != nil {
		return err
	}
	return d.db.View(fn)
}

// awaitCheckpoint has the committer move every logged write into the
// B+tree, so that a reader of the bbolt file alone sees them all.
func (d *DB) awaitCheckpoint(ctx context.Context) error {
	return d.await(ctx, &txnReq{checkpoint: true, reply: make(chan txnResult, 1)})
}

// await hands the committer a request that is not a transaction and waits
// for its answer.
func (d *DB) await(ctx context.Context, req *txnReq) error {
	if err := d.enqueue(ctx, req); err != nil {
		return err
	}
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
	return d.viewAll(ctx, func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bolt: %w", err)
		}
		cur, err := metaU64(tx.Bucket(bucketMeta), metaRev)
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			_, r, err := unstamp(k, v)
			if err != nil {
				return err
			}
			if r <= 0 || r > cur {
				return fmt.Errorf("bolt: key %q has revision %d outside 1..%d", k, r, cur)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketFeed).ForEach(func(k, v []byte) error {
			rev, err := feedRev(k)
			if err != nil {
				return err
			}
			_, err = decodeRecord(rev, v)
			return err
		})
	})
}
