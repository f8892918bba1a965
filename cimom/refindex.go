package cimom

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// The reverse-reference index: for every instance (usually an association)
// and every object its reference properties point at, one entry
//
//	r 0 <ns> 0 <target keyclass> 0 <target keys, 0 escaped> 0 0 <keyclass> 0 <keys>
//
// with an empty value, written in the transaction that writes the
// instance. ASSOCIATORS OF and REFERENCES OF read the entries under the
// source's prefix instead of scanning every association class. A target is
// named as canonicalOf names it: the key class its class resolves to when
// the instance is written (its class name when it does not resolve), and
// its keys in their stored, folded form (keyString of the keys read as the
// target class's key types, as identity folds them; format.go). The readers check every link found as a scan would: an entry
// made stale by later class changes finds nothing more than a scan; a
// reference written before its class existed is found if that class is
// its own key class (see SEMANTICS.md).

// escapeKeys escapes 0x00 as 0x00 0xFF, so that 0x00 0x00 ends the target.
func escapeKeys(b []byte, keys string) []byte {
	for i := 0; i < len(keys); i++ {
		b = append(b, keys[i])
		if keys[i] == 0 {
			b = append(b, 0xFF)
		}
	}
	return b
}

// refPrefix is the prefix of the entries of the references to one target.
func refPrefix(ns, targetKeyClass, targetKeys string) []byte {
	b := prefix('r', cim.Fold(ns), cim.Fold(targetKeyClass))
	b = escapeKeys(b, targetKeys)
	return append(b, sep, sep)
}

// refEntries returns the index entries of inst (stored under keyClass and
// keys), sorted and without duplicates. With unresolved, a reference whose
// class does not resolve has an entry under its class name (writes make
// it); without, it has none (Check requires only the others: a query
// never finds such a target).
func (c *CIMOM) refEntries(ctx context.Context, ns string, inst *cim.Object, keyClass, keys string, unresolved bool) ([][]byte, error) {
	if inst == nil {
		return nil, nil
	}
	var out [][]byte
	for i := range inst.Properties {
		p := &inst.Properties[i]
		path, ok := p.Value.V.(string)
		if p.Value.Type != cim.TypeReference || !ok {
			continue
		}
		op, err := cim.ParsePath(path)
		if err != nil || op.IsClass() {
			continue
		}
		tci, err := c.resolve(ctx, ns, op.Class)
		if err != nil {
			return nil, err
		}
		target, tkeys := op.Class, keyString(op) // a class that does not exist (yet): its name
		if tci != nil {
			target, tkeys = tci.keyClass, keyString(typedKeys(tci, op))
		} else if !unresolved {
			continue
		}
		k := refPrefix(ns, target, tkeys)
		k = append(k, cim.Fold(keyClass)...)
		k = append(append(k, sep), keys...)
		out = append(out, k)
	}
	slices.SortFunc(out, bytes.Compare)
	return slices.CompactFunc(out, bytes.Equal), nil
}

// refOps keeps the index of one instance: the entries of prev (nil when
// new) that inst (nil when deleted) no longer has are deleted, the new
// ones put.
func (c *CIMOM) refOps(ctx context.Context, ns, keyClass, keys string, prev, inst *cim.Object) ([]store.Op, error) {
	old, err := c.refEntries(ctx, ns, prev, keyClass, keys, true)
	if err != nil {
		return nil, err
	}
	cur, err := c.refEntries(ctx, ns, inst, keyClass, keys, true)
	if err != nil {
		return nil, err
	}
	var ops []store.Op
	for _, k := range old {
		if _, found := slices.BinarySearchFunc(cur, k, bytes.Compare); !found {
			ops = append(ops, store.Delete(k))
		}
	}
	for _, k := range cur {
		if _, found := slices.BinarySearchFunc(old, k, bytes.Compare); !found {
			ops = append(ops, store.Put(k, nil))
		}
	}
	return ops, nil
}

// refLinks returns the store keys of the instances that refer to the
// target (its key class and keys).
func (c *CIMOM) refLinks(ctx context.Context, ns, targetKeyClass, targetKeys string) ([][]byte, error) {
	p := refPrefix(ns, targetKeyClass, targetKeys)
	var out [][]byte
	for kv, err := range store.Chunked(ctx, c.st, p, store.PrefixEnd(p), 0) {
		if err != nil {
			return nil, err
		}
		rest := kv.Key[len(p):]
		i := bytes.IndexByte(rest, sep)
		if i < 0 {
			return nil, cim.Errorf(cim.ECriticalError, "malformed reference index entry %q", kv.Key)
		}
		out = append(out, key('i', cim.Fold(ns), string(rest[:i]), string(rest[i+1:])))
	}
	return out, nil
}

// refBatch returns the most ops and bytes of one transaction of an
// upgrade: half the store's limits, one op kept for the format record.
func refBatch(lim store.Limits) (maxOps, maxBytes int) {
	maxOps, maxBytes = 10000, 4<<20
	if lim.MaxOps > 0 {
		maxOps = min(maxOps, max(lim.MaxOps/2, 2))
	}
	if lim.MaxBytes > 0 {
		maxBytes = min(maxBytes, lim.MaxBytes/2)
	}
	return maxOps - 1, maxBytes
}

// upgradeTxn commits ops of an upgrade from format v: the format record,
// rewritten with the earlier version, marks the revision as an upgrade's
// (the change feed raises no events for it, decode.go) and keeps a
// repository whose upgrade is cut short at its earlier version.
func (c *CIMOM) upgradeTxn(ctx context.Context, v int, ops []store.Op) error {
	if len(ops) == 0 {
		return nil
	}
	ops = append(ops, store.Put(formatKey, []byte(strconv.Itoa(v))))
	_, err := txn(ctx, c.st, nil, ops)
	return err
}

// dropRefIndex deletes every reverse-reference index entry of a
// repository of format v, in transactions within half the store's limits
// (an etcd cluster takes 128 ops).
func (c *CIMOM) dropRefIndex(ctx context.Context, v int) (int, error) {
	maxOps, maxBytes := refBatch(c.st.Limits())
	var ops []store.Op
	size, n := 0, 0
	for kv, err := range store.Chunked(ctx, c.st, []byte("r\x00"), []byte("r\x01"), 0) {
		if err != nil {
			return n, err
		}
		if len(ops)+1 > maxOps || size+len(kv.Key) > maxBytes {
			if err := c.upgradeTxn(ctx, v, ops); err != nil {
				return n, err
			}
			ops, size = nil, 0
		}
		ops = append(ops, store.Delete(bytes.Clone(kv.Key)))
		size += len(kv.Key)
		n++
	}
	return n, c.upgradeTxn(ctx, v, ops)
}

// buildRefIndex writes the reverse-reference index entries of every
// instance of a repository of format v, in transactions within half the
// store's limits. It writes no final format record: checkFormat does,
// once the index is complete.
func (c *CIMOM) buildRefIndex(ctx context.Context, v int) (int, error) {
	maxOps, maxBytes := refBatch(c.st.Limits())
	var ops []store.Op
	size, n := 0, 0
	for kv, err := range store.Chunked(ctx, c.st, []byte("i\x00"), []byte("i\x01"), 0) {
		if err != nil {
			return n, err
		}
		_, parts, ok := keyParts(kv.Key, 3)
		if !ok {
			return n, fmt.Errorf("malformed instance key %q", kv.Key)
		}
		inst, ci, err := c.decodeInstance(ctx, parts[0], kv.Value)
		if err != nil {
			// Unreadable under its class, it is found by no query (as
			// findKeyMoves leaves it); repo check reports it.
			c.log.Warn("upgrade: instance record without reverse-reference entries", "key", string(kv.Key), "err", err)
			continue
		}
		if !ci.hasRefs {
			continue
		}
		entries, err := c.refEntries(ctx, parts[0], inst, parts[1], parts[2], true)
		if err != nil {
			return n, err
		}
		n++
		for _, k := range entries {
			if len(ops)+1 > maxOps || size+len(k) > maxBytes {
				if err := c.upgradeTxn(ctx, v, ops); err != nil {
					return n, err
				}
				ops, size = nil, 0
			}
			ops = append(ops, store.Put(k, nil))
			size += len(k)
		}
	}
	return n, c.upgradeTxn(ctx, v, ops)
}
