package bolt

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/store"
)

// A full disk is not a failure of the disk: what is on it is known. A log
// record that could not be written for lack of space was never
// acknowledged and is overwritten by the next one, and a bbolt commit that
// could not grow or write its file rolled back before its meta page, so the
// B+tree is as it was. So running out of space refuses the write with an
// error wrapping store.ErrNoSpace and keeps the engine writable:
//
//   - the log grows in logGrowth steps; short of space it grows by what
//     the record needs only, and gives back what a failed step took, so
//     writes resume as soon as the next record fits;
//   - a checkpoint that finds no space is retried with exponential back-off
//     (checkpointBackoff up to maxCheckpointBackoff), one log line each,
//     while writes go on into the log;
//   - Open on a full disk replays the log into the overlay instead of the
//     B+tree, so reads see every acknowledged write and the checkpoint waits
//     for space as above.
//
// Only a failed sync, or a failure of another kind, stops the engine.

// isNoSpace reports whether err is the file system's "no space" (ENOSPC,
// or EDQUOT for a quota).
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// noSpace returns the error of a write refused for lack of space: it
// wraps store.ErrNoSpace and the file system's error.
func noSpace(what string, cause error) error {
	return fmt.Errorf("bolt: %s: %w (%w)", what, store.ErrNoSpace, cause)
}

// Checkpoint back-off after a checkpoint found no space.
const (
	checkpointBackoff    = time.Second
	maxCheckpointBackoff = time.Minute
)

// deferCheckpoint records a checkpoint that found no space: the next one
// waits twice as long as the last wait (checkpointBackoff at first, at
// most maxCheckpointBackoff). Called by the committer only.
func (d *DB) deferCheckpoint(err error) {
	if d.cpWait == 0 {
		d.cpWait = checkpointBackoff
	} else {
		d.cpWait = min(2*d.cpWait, maxCheckpointBackoff)
	}
	d.cpRetry = time.Now().Add(d.cpWait)
	d.log.Warn("store checkpoint deferred: the disk is full; writes go on into the log while it has room", "retry_in", d.cpWait, "err", err)
}

// checkpointDue reports whether the committer may try a checkpoint it was
// not asked for: not while a checkpoint that found no space backs off.
func (d *DB) checkpointDue() bool { return d.cpRetry.IsZero() || !time.Now().Before(d.cpRetry) }

// logNoSpace logs a write refused for lack of space, at most once per
// second (a client may retry in a loop).
func (d *DB) logNoSpace(err error, batch int) {
	now := time.Now()
	if now.Sub(d.noSpaceLogged) < time.Second {
		return
	}
	d.noSpaceLogged = now
	d.log.Warn("store write refused: the disk is full", "batch", batch, "err", err)
}
