package cimom

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// The repository's format version, in the record
//
//	f                                          the format version, in decimal
//
// A repository without the record is of version 1. Versions:
//
//	1  string key values stored as written (exact identity), no
//	   reverse-reference index
//	2  1 with the reverse-reference index (refindex.go)
//	3  string, char16 and reference key values stored folded
//	   (cim.KeyString): identity without regard to case, as WMI; no
//	   reverse-reference index
//	4  3 with the reverse-reference index, its targets' keys folded as
//	   identity folds them
//
// Open upgrades a repository of an earlier version and refuses one of a
// later version than the code knows. The upgrade re-keys the instances of
// a version before 3 (upgradeKeys), then drops every reverse-reference
// entry and builds the index again from the instances (an index of
// version 2 names targets by unfolded keys, and re-keyed instances refer
// from new keys), then writes version 4. Every transaction of an upgrade
// rewrites the format record with the earlier version: one cut short
// leaves that version and the next Open starts the upgrade again (each
// step is idempotent).
var formatKey = []byte("f")

// formatVersion is the format this code writes.
const formatVersion = 4

// ErrFormatTooNew is wrapped by the error of Open for a repository written
// by a later wbemd, in a format this one does not know.
var ErrFormatTooNew = errors.New("the repository's format is newer than this wbemd knows")

// keyedKinds are the record kinds keyed by an instance's keys in its
// namespace (keys.go): a subscription's creator (e) and its delivery
// cursor (d, package indication).
var keyedKinds = []byte{'e', 'd'}

// maxCollisions bounds the instances an upgrade's refusal names.
const maxCollisions = 10

// readFormat returns the repository's format version (1 when it has no
// format record).
func readFormat(ctx context.Context, st store.Store) (int, error) {
	kv, found, err := st.Get(ctx, formatKey)
	if err != nil || !found {
		return 1, err
	}
	v, err := strconv.Atoi(string(kv.Value))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("the format record %q is not a version number", kv.Value)
	}
	return v, nil
}

// checkFormat brings the repository to formatVersion: it refuses a later
// format and upgrades an earlier one. It enables the reverse-reference
// index once the repository is of formatVersion; a read-only repository
// whose keys need no re-keying is answered by scans instead.
func (c *CIMOM) checkFormat(ctx context.Context) error {
	v, err := readFormat(ctx, c.st)
	if err != nil {
		return err
	}
	switch {
	case v > formatVersion:
		return fmt.Errorf("%w: it is format version %d, this wbemd reads versions up to %d; open it with the wbemd that wrote it or a later one",
			ErrFormatTooNew, v, formatVersion)
	case v == formatVersion:
		c.refIndex = true
		return nil
	}
	moved := 0
	if v < 3 {
		if moved, err = c.upgradeKeys(ctx, v); err != nil {
			return err
		}
	}
	dropped, err := c.dropRefIndex(ctx, v)
	var built int
	if err == nil {
		built, err = c.buildRefIndex(ctx, v)
	}
	if err == nil {
		_, err = txn(ctx, c.st, nil, []store.Op{store.Put(formatKey, []byte(strconv.Itoa(formatVersion)))})
	}
	if err != nil && moved == 0 && errors.Is(err, store.ErrReadOnly) {
		// Nothing re-keyed: the repository reads the same in both
		// formats, and associations are found by scanning.
		c.log.Warn("the repository is read-only and of an earlier format: associations are found by scanning", "format", v, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("upgrade from format %d to %d: %w", v, formatVersion, err)
	}
	c.log.Info("repository upgraded: string key values folded, reverse-reference index built", "from", v, "format", formatVersion,
		"instances re-keyed", moved, "index entries dropped", dropped, "instances with references", built)
	c.refIndex = true
	return nil
}

// keyMove is one instance record an upgrade re-keys.
type keyMove struct {
	ns, keyClass     string // folded, as in the record's key
	oldKeys, newKeys string
}

// upgradeKeys re-keys the instances of a repository of format version v
// (before 3) whose stored keys are not in the folded form, with their
// index entries, and returns how many it moved. A first pass finds the
// records to move and refuses the upgrade, writing nothing, if two
// instances differ only in the case of their keys (or a record's folded
// key is taken): they would become one. The second moves each instance
// with its index entries and the records keyedKinds name, all in one
// transaction, several instances per transaction within half the store's
// limits, each guarded by compares so that a concurrent writer (another
// wbemd on the same cluster) makes the upgrade start again. An upgrade cut
// short leaves every instance either moved or not, and the format record
// at v: the next Open resumes.
func (c *CIMOM) upgradeKeys(ctx context.Context, v int) (int, error) {
	for attempt := 0; ; attempt++ {
		moves, err := c.findKeyMoves(ctx)
		if err != nil {
			return 0, err
		}
		err = c.moveKeys(ctx, v, moves)
		if errors.Is(err, store.ErrCompareFailed) && attempt < 3 {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("upgrade from format %d to %d: re-keying: %w", v, formatVersion, err)
		}
		return len(moves), nil
	}
}

// findKeyMoves lists the instance records whose stored keys differ from
// their folded form.
func (c *CIMOM) findKeyMoves(ctx context.Context) ([]keyMove, error) {
	var moves []keyMove
	target := map[string]string{} // new store key -> the path moving there
	var collisions []string
	for kv, err := range store.Chunked(ctx, c.st, []byte("i\x00"), []byte("i\x01"), 0) {
		if err != nil {
			return nil, err
		}
		_, parts, ok := keyParts(kv.Key, 3)
		if !ok {
			return nil, fmt.Errorf("malformed instance key %q", kv.Key)
		}
		inst, _, err := c.decodeInstance(ctx, parts[0], kv.Value)
		if err != nil {
			// Unreadable under its class, it is unreachable in either format.
			c.log.Warn("upgrade: instance record left as it is", "key", string(kv.Key), "err", err)
			continue
		}
		op, err := inst.ObjectPath()
		if err != nil {
			c.log.Warn("upgrade: instance record left as it is", "key", string(kv.Key), "err", err)
			continue
		}
		keys := keyString(op)
		if keys == parts[2] {
			continue
		}
		nk := string(key('i', parts[0], parts[1], keys))
		where := parts[0] + ":" + op.RelPath()
		if other, dup := target[nk]; dup {
			collisions = append(collisions, other+" and "+where)
		} else if _, found, err := c.st.Get(ctx, []byte(nk)); err != nil {
			return nil, err
		} else if found {
			collisions = append(collisions, where+" and the instance stored under "+strconv.Quote(keys))
		}
		target[nk] = where
		moves = append(moves, keyMove{ns: parts[0], keyClass: parts[1], oldKeys: parts[2], newKeys: keys})
	}
	if len(collisions) > 0 {
		n := len(collisions)
		if n > maxCollisions {
			collisions = collisions[:maxCollisions]
		}
		return nil, cim.Errorf(cim.EAlreadyExists,
			"%d pairs of instances differ only in the case of their keys and would become one when keys are folded (format %d); delete one of each with the earlier wbemd, then open again: %q",
			n, formatVersion, collisions)
	}
	return moves, nil
}

// moveKeys moves the records of moves, with their index entries, in a
// repository of format v.
func (c *CIMOM) moveKeys(ctx context.Context, v int, moves []keyMove) error {
	maxOps, maxBytes := refBatch(c.st.Limits())
	var ops []store.Op
	var cmps []store.Compare
	size := 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		// The format record, rewritten with the earlier version, marks
		// the revision as an upgrade's: the change feed raises no events
		// for it (decode.go).
		ops = append(ops, store.Put(formatKey, []byte(strconv.Itoa(v))))
		_, err := txn(ctx, c.st, cmps, ops)
		ops, cmps, size = nil, nil, 0
		return err
	}
	for _, m := range moves {
		oldKey := key('i', m.ns, m.keyClass, m.oldKeys)
		newKey := key('i', m.ns, m.keyClass, m.newKeys)
		kv, found, err := c.st.Get(ctx, oldKey)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: instance record %q is gone", store.ErrCompareFailed, oldKey)
		}
		inst, ci, err := c.decodeInstance(ctx, m.ns, kv.Value)
		if err != nil {
			return fmt.Errorf("instance record %q: %w", oldKey, err)
		}
		mops := []store.Op{store.Delete(oldKey), store.Put(newKey, kv.Value)}
		for _, i := range ci.indexed {
			if v := inst.Properties[i].Value; !v.IsNull() && !v.Type.IsArray() {
				name := ci.cls.Properties[i].Name
				mops = append(mops, store.Delete(idxKey(m.ns, ci.keyClass, name, v, m.oldKeys)),
					store.Put(idxKey(m.ns, ci.keyClass, name, v, m.newKeys), nil))
			}
		}
		mcmps := []store.Compare{{Key: oldKey, ModRev: kv.ModRev}, {Key: newKey}}
		// Records keyed by the instance's keys in its namespace move with it.
		for _, kind := range keyedKinds {
			okv, found, err := c.st.Get(ctx, key(kind, m.ns, m.oldKeys))
			if err != nil {
				return err
			}
			if found {
				mops = append(mops, store.Delete(okv.Key), store.Put(key(kind, m.ns, m.newKeys), okv.Value))
				mcmps = append(mcmps, store.Compare{Key: okv.Key, ModRev: okv.ModRev})
			}
		}
		msize := len(oldKey) + 2*len(newKey) + len(kv.Value)
		for _, op := range mops[2:] {
			msize += len(op.Key) + len(op.Value)
		}
		if len(ops)+len(mops) > maxOps || len(cmps)+len(mcmps) > maxOps || size+msize > maxBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		ops, cmps, size = append(ops, mops...), append(cmps, mcmps...), size+msize
	}
	return flush()
}
