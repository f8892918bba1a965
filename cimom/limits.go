package cimom

import (
	"context"
	"errors"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// txn commits cmps and ops in one transaction of st. A transaction beyond
// the limits st states (store.Limits: ops, bytes, key length; an etcd
// cluster allows far less than the embedded engine) fails with
// WBEM_E_QUOTA_VIOLATION before anything is sent, and nothing is written.
// Every write of the repository goes through it.
func txn(ctx context.Context, st store.Store, cmps []store.Compare, ops []store.Op) (int64, error) {
	err := store.CheckTxn(st.Limits(), cmps, ops)
	var rev int64
	if err == nil {
		rev, err = st.Txn(ctx, cmps, ops)
	}
	switch {
	case errors.Is(err, store.ErrTxnTooLarge):
		return 0, cim.Errorf(cim.EQuotaViolation, "the change is larger than the repository's store takes in one transaction (%v); nothing was written", err)
	case errors.Is(err, store.ErrNoSpace):
		// The store's error names the server's files: the engine logs it,
		// the client is told what happened and what to do.
		return 0, cim.Errorf(cim.EOutOfDiskSpace, "the repository's disk is full; nothing was written, and writes resume once space is freed")
	case errors.Is(err, store.ErrReadOnly):
		// %.0w wraps the store's error without printing it: Open tells
		// a read-only store from other failures (format.go).
		return 0, cim.Errorf(cim.EFailed, "the repository is read-only after a storage failure (the server's log says which); nothing was written, and a restart of wbemd recovers it%.0w", err)
	}
	return rev, err
}

// Limits returns the base store's limits: a batch commits in one
// transaction of the base store.
func (o *overlay) Limits() store.Limits { return o.base.Limits() }
