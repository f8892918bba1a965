package cimom

import "github.com/wbemd/wbemd/store"

// Limits returns the base store's limits: a batch commits in one
// transaction of the base store.
func (o *overlay) Limits() store.Limits { return o.base.Limits() }
