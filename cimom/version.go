package cimom

import (
	"context"
	"strconv"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// IfRevision is a context value that makes PutInstance and DeleteInstance
// conditional: the write happens only if the stored instance was last
// written at this revision (an int64, or its decimal text), the Revision
// that GetObject and the enumerations report. Otherwise the call fails
// with WBEM_E_TRANSACTION_CONFLICT and writes nothing; the check and the
// write are one store transaction. A put with IfRevision never creates
// an instance, and a provider's instances have no revision
// (WBEM_E_PROVIDER_NOT_CAPABLE). This is the optimistic concurrency of
// the JSON door's If-Match and `wbem put --if-version`.
const IfRevision = "__WBEMD_IF_REVISION"

// StartAfter is a context value (string: an instance's relative path)
// that makes CreateInstanceEnum start right after that instance in the
// store's key order, which is the order enumerations return: a page of a
// large class is read from the store key on, never from the class's first
// instance. The instance need not exist any more. A class served by a
// provider has no such order (WBEM_E_NOT_SUPPORTED).
const StartAfter = "__WBEMD_START_AFTER"

// revisionValue reads IfRevision from wctx; present is false when it is
// not set.
func revisionValue(wctx *Context) (rev int64, present bool, err error) {
	v, ok := wctx.GetValue(IfRevision)
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int64:
		rev = x
	case int32:
		rev = int64(x)
	case uint64:
		rev = int64(x)
	case string:
		if rev, err = strconv.ParseInt(x, 10, 64); err != nil {
			return 0, true, cim.Errorf(cim.EInvalidContext, "%s must be a revision number, not %q", IfRevision, x).WithParam(IfRevision)
		}
	default:
		return 0, true, cim.Errorf(cim.EInvalidContext, "%s must be a revision number", IfRevision).WithParam(IfRevision)
	}
	if rev <= 0 {
		return 0, true, cim.Errorf(cim.EInvalidContext, "%s must be positive", IfRevision).WithParam(IfRevision)
	}
	return rev, true, nil
}

// checkRevision applies IfRevision to a write of the instance rel, which
// is stored at revision have (0: absent); dynamic is true for a
// provider's instance.
func checkRevision(wctx *Context, rel string, have int64, dynamic bool) error {
	want, present, err := revisionValue(wctx)
	if err != nil || !present {
		return err
	}
	switch {
	case dynamic:
		return cim.Errorf(cim.EProviderNotCapable, "instance %s is a provider's: it has no revision to compare with %s", rel, IfRevision).WithParam(IfRevision)
	case have == 0:
		return cim.Errorf(cim.ETransactionConflict, "instance %s was expected at version %d; it no longer exists", rel, want).WithParam(rel)
	case have != want:
		return cim.Errorf(cim.ETransactionConflict, "instance %s changed: version %d was expected, it is now at version %d", rel, want, have).WithParam(rel)
	}
	return nil
}

// startAfter returns the store key right after the instance that
// StartAfter names, with the key class it belongs to; ok is false when
// wctx does not set StartAfter.
func (s *services) startAfter(ctx context.Context, wctx *Context) (key []byte, keyClass string, ok bool, err error) {
	v, present := wctx.GetValue(StartAfter)
	if !present {
		return nil, "", false, nil
	}
	path, isStr := v.(string)
	if !isStr {
		return nil, "", true, cim.Errorf(cim.EInvalidContext, "%s must be an instance path", StartAfter).WithParam(StartAfter)
	}
	op, err := cim.ParsePath(path)
	if err != nil {
		return nil, "", true, err
	}
	if op.IsClass() {
		return nil, "", true, cim.Errorf(cim.EInvalidObjectPath, "%s: %s names a class, not an instance", StartAfter, path).WithParam(StartAfter)
	}
	ref, err := s.bindPath(ctx, op)
	if err != nil {
		return nil, "", true, err
	}
	if ref.ci.dynamic {
		return nil, "", true, cim.Errorf(cim.ENotSupported, "instances of %s come from a provider: they cannot be read from a position", ref.ci.cls.Class).WithParam(StartAfter)
	}
	return append(ref.key, 0), ref.ci.keyClass, true, nil
}

// afterKey returns the range [lo, hi) of a key class's instances that an
// enumeration from start reads: all of them without start, those from
// start on in start's key class, none in a key class before it (skip).
func afterKey(p, start []byte, startClass, keyClass string, passed bool) (lo, hi []byte, skip bool) {
	hi = store.PrefixEnd(p)
	if start == nil || passed {
		return p, hi, false
	}
	if !cim.EqualFold(startClass, keyClass) {
		return nil, nil, true
	}
	return start, hi, false
}
