package cimom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// CheckReport counts what Check verified, and lists the references that
// point at nothing.
type CheckReport struct {
	Namespaces, Classes, Qualifiers, Instances, IndexEntries int
	References                                               int // reference values checked
	RefEntries                                               int // reverse-reference index entries
	// Dangling lists the first maxDangling references (of stored
	// instances) whose target does not exist, as "ns:path.Property ->
	// target"; DanglingCount counts them all.
	Dangling      []string
	DanglingCount int
}

// maxDangling bounds CheckReport.Dangling.
const maxDangling = 100

// String summarises the report on one line: "ok: ..." when every record
// is sound and every reference points at an instance.
func (r CheckReport) String() string {
	counts := fmt.Sprintf("%d namespaces, %d classes, %d qualifier declarations, %d instances, %d index entries, %d references, %d reverse-reference entries",
		r.Namespaces, r.Classes, r.Qualifiers, r.Instances, r.IndexEntries, r.References, r.RefEntries)
	if r.DanglingCount > 0 {
		return fmt.Sprintf("%d dangling references: %s", r.DanglingCount, counts)
	}
	return "ok: " + counts
}

// Check verifies a repository: every namespace record, class record and
// qualifier declaration decodes and every class resolves; every instance decodes against its
// class and is stored under its class's key class and keys, in the folded
// form of the repository's format (format.go); every Indexed
// property value of an instance has its index entry, and every index entry
// belongs to an instance with that value; likewise every reference of an
// instance has its reverse-reference index entry and every entry belongs
// to a reference (once the repository's format has the index). A damaged
// record is an error
// (the first found). Every reference of a stored instance is followed: one
// whose target is missing — its namespace, its class or the instance —
// is listed in the report as dangling (WMI does not keep references
// whole: deleting an instance or a class leaves the associations that
// point at it); targets of [Dynamic] classes, which only their provider
// knows, are not followed. It reads from one store snapshot per record
// kind: writes made while it runs may be reported as problems.
func Check(ctx context.Context, st store.Store) (CheckReport, error) {
	var rep CheckReport
	c, err := Open(ctx, st, Options{})
	if err != nil {
		return rep, err
	}
	defer c.Close(ctx)
	if v, err := readFormat(ctx, st); err != nil || v != formatVersion {
		return rep, fmt.Errorf("the repository's format is version %d, not %d: %v", v, formatVersion, err)
	}
	expectIdx, expectRef := map[string]bool{}, map[string]bool{}
	refIndex := c.refIndex
	for kv, err := range st.Range(ctx, []byte("n\x00"), []byte("n\x01")) {
		if err != nil {
			return rep, err
		}
		var rec nsRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil || rec.SD == nil {
			return rep, fmt.Errorf("namespace record %q does not decode", kv.Key)
		}
		if !bytes.Equal(kv.Key, nsKey(rec.Name)) {
			return rep, fmt.Errorf("namespace %s is stored under the wrong key %q", rec.Name, kv.Key)
		}
		rep.Namespaces++
		ns := rec.Name
		cp := classPrefix(ns)
		for ckv, err := range st.Range(ctx, cp, store.PrefixEnd(cp)) {
			if err != nil {
				return rep, err
			}
			local, err := cim.DecodeClass(ckv.Value)
			if err != nil {
				return rep, fmt.Errorf("class record %q: %w", ckv.Key, err)
			}
			ci, err := c.resolve(ctx, ns, local.Class)
			if err != nil || ci == nil {
				return rep, fmt.Errorf("class %s in %s does not resolve: %v", local.Class, ns, err)
			}
			if _, found, err := st.Get(ctx, subKey(ns, local.Superclass, local.Class)); err != nil || !found {
				return rep, fmt.Errorf("class %s in %s is missing from the subclass index", local.Class, ns)
			}
			rep.Classes++
		}
		qp := qualPrefix(ns)
		for qkv, err := range st.Range(ctx, qp, store.PrefixEnd(qp)) {
			if err != nil {
				return rep, err
			}
			d, err := cim.DecodeQualifierDecl(qkv.Value)
			if err != nil {
				return rep, fmt.Errorf("qualifier record %q: %w", qkv.Key, err)
			}
			if !bytes.Equal(qkv.Key, qualKey(ns, d.Name)) {
				return rep, fmt.Errorf("qualifier %s is stored under the wrong key %q", d.Name, qkv.Key)
			}
			rep.Qualifiers++
		}
		ip := prefix('i', cim.Fold(ns))
		for ikv, err := range st.Range(ctx, ip, store.PrefixEnd(ip)) {
			if err != nil {
				return rep, err
			}
			inst, ci, err := c.decodeInstance(ctx, ns, ikv.Value)
			if err != nil {
				return rep, fmt.Errorf("instance record %q: %w", ikv.Key, err)
			}
			op, err := inst.ObjectPath()
			if err != nil {
				return rep, fmt.Errorf("instance record %q: %w", ikv.Key, err)
			}
			keys := keyString(op)
			if !bytes.Equal(ikv.Key, instKey(ns, ci.keyClass, keys)) {
				return rep, fmt.Errorf("instance %s is stored under the wrong key %q (keys are stored folded: %q)", op.RelPath(), ikv.Key, keys)
			}
			c.checkReferences(ctx, ns, inst, op, &rep)
			for _, i := range ci.indexed {
				if v := inst.Properties[i].Value; !v.IsNull() && !v.Type.IsArray() {
					expectIdx[string(idxKey(ns, ci.keyClass, ci.cls.Properties[i].Name, v, keys))] = true
				}
			}
			if refIndex {
				entries, err := c.refEntries(ctx, ns, inst, ci.keyClass, keys, false)
				if err != nil {
					return rep, err
				}
				for _, k := range entries {
					expectRef[string(k)] = true
				}
			}
			rep.Instances++
		}
	}
	for kv, err := range st.Range(ctx, []byte("x\x00"), []byte("x\x01")) {
		if err != nil {
			return rep, err
		}
		if !expectIdx[string(kv.Key)] {
			return rep, fmt.Errorf("index entry %q belongs to no instance", kv.Key)
		}
		delete(expectIdx, string(kv.Key))
		rep.IndexEntries++
	}
	for k := range expectIdx {
		return rep, fmt.Errorf("index entry %q is missing", k)
	}
	if refIndex {
		for kv, err := range st.Range(ctx, []byte("r\x00"), []byte("r\x01")) {
			if err != nil {
				return rep, err
			}
			if !expectRef[string(kv.Key)] {
				// Made stale by a class change: harmless while its
				// instance exists (readers check every link), if one of
				// its references names the target's keys as this format
				// writes them (folded, format.go).
				holder, err := c.refHolder(ctx, kv.Key)
				if err == nil && holder == nil {
					err = fmt.Errorf("reverse-reference index entry %q belongs to no instance", kv.Key)
				}
				if err == nil && !c.refNamesTarget(ctx, kv.Key, holder) {
					err = fmt.Errorf("reverse-reference index entry %q names no reference of its instance by its keys in the folded form of format %d", kv.Key, formatVersion)
				}
				if err != nil {
					return rep, err
				}
			}
			delete(expectRef, string(kv.Key))
			rep.RefEntries++
		}
		for k := range expectRef {
			return rep, fmt.Errorf("reverse-reference index entry %q is missing", k)
		}
	}
	return rep, nil
}

// refParts splits a reverse-reference index entry into its namespace, the
// target's escaped keys, and the store key of the instance it names.
func refParts(entry []byte) (ns string, targetKeys, holder []byte, ok bool) {
	_, parts, ok := keyParts(entry, 3)
	if !ok {
		return "", nil, nil, false
	}
	rest := []byte(parts[2])
	i := bytes.Index(rest, []byte{sep, sep})
	if i < 0 {
		return "", nil, nil, false
	}
	targetKeys, rest = rest[:i], rest[i+2:]
	j := bytes.IndexByte(rest, sep)
	if j < 0 {
		return "", nil, nil, false
	}
	return parts[0], targetKeys, key('i', parts[0], string(rest[:j]), string(rest[j+1:])), true
}

// refHolder returns the instance a reverse-reference index entry names,
// or nil when it does not exist.
func (c *CIMOM) refHolder(ctx context.Context, entry []byte) (*cim.Object, error) {
	ns, _, hk, ok := refParts(entry)
	if !ok {
		return nil, nil
	}
	kv, found, err := c.st.Get(ctx, hk)
	if err != nil || !found {
		return nil, err
	}
	inst, _, err := c.decodeInstance(ctx, ns, kv.Value)
	if err != nil {
		return nil, fmt.Errorf("instance record %q: %w", hk, err)
	}
	return inst, nil
}

// refNamesTarget reports whether a reference of inst names the target of
// entry by its keys as refEntries writes them: folded, read as the key
// types of the class the reference names, or as written when it does not
// resolve.
func (c *CIMOM) refNamesTarget(ctx context.Context, entry []byte, inst *cim.Object) bool {
	ns, want, _, ok := refParts(entry)
	if !ok {
		return false
	}
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
		if bytes.Equal(escapeKeys(nil, keyString(op)), want) {
			return true
		}
		if tci, err := c.resolve(ctx, ns, op.Class); err == nil && tci != nil && bytes.Equal(escapeKeys(nil, keyString(typedKeys(tci, op))), want) {
			return true
		}
	}
	return false
}
