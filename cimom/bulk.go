package cimom

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// PutInstances writes a batch of instances of namespace atomically, for
// bulk loads: each instance is checked exactly as PutInstance checks it
// (flags apply to each), then all of them commit in one store transaction,
// or none does. It returns the paths in order. An instance path may appear
// only once in a batch (WBEM_E_INVALID_PARAMETER). Its events come from
// the change feed, in one revision.
func (c *CIMOM) PutInstances(ctx context.Context, namespace string, p Principal, insts []*cim.Object, flags Flags) ([]string, error) {
	if err := c.enter(); err != nil {
		return nil, fail("PutInstance", err)
	}
	defer c.leave()
	paths, err := c.putInstances(ctx, namespace, p, insts, flags, putAssumeAbsent)
	if errors.Is(err, store.ErrCompareFailed) || errors.Is(err, errNeedsRead) {
		// Something exists, or changed, or a check may hide that
		// something exists: redo with reads to name it.
		paths, err = c.putInstances(ctx, namespace, p, insts, flags, putRead)
	}
	if errors.Is(err, store.ErrCompareFailed) {
		err = cim.Errorf(cim.ETransactionConflict, "the repository changed during the batch; nothing was written")
	}
	return paths, fail("PutInstance", err)
}

func (c *CIMOM) putInstances(ctx context.Context, namespace string, p Principal, insts []*cim.Object, flags Flags, mode putMode) ([]string, error) {
	s, err := c.connect(ctx, namespace, p)
	if err != nil {
		return nil, err
	}
	// Checking an instance is CPU work independent of the others: it runs
	// on every core, and the first failure in batch order is reported.
	preps := make([]preparedPut, len(insts))
	errs := make([]error, len(insts))
	workers := min(runtime.GOMAXPROCS(0), (len(insts)+255)/256)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(insts); i += workers {
				in := insts[i]
				if err := s.checkPutInstance(in, flags); err != nil {
					errs[i] = cim.AsError(err).WithParam(pathOrIndex(in, i))
					continue
				}
				preps[i], _, errs[i] = s.preparePut(ctx, in, flags, nil, mode)
			}
		}(w)
	}
	wg.Wait()
	paths := make([]string, 0, len(insts))
	seen := make(map[string]bool, len(insts))
	nops := 0
	for i := range preps {
		nops += len(preps[i].ops)
	}
	ops := make([]store.Op, 0, nops)
	cmps := make([]store.Compare, 0, len(preps)+1)
	guarded := map[string]bool{} // compares beyond the instance's own, which paths already make unique
	for i, pp := range preps {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if pp.ops == nil {
			return nil, cim.Errorf(cim.ENotSupported, "a batch cannot hold instances of the dynamic class %s", insts[i].Class).WithParam(insts[i].Class)
		}
		// By store key: paths that differ only in case are one instance.
		k := string(pp.cmps[0].Key)
		if seen[k] {
			return nil, cim.Errorf(cim.EInvalidParameter, "instance %s appears twice in the batch", pp.rel).WithParam(pp.rel)
		}
		seen[k] = true
		ops = append(ops, pp.ops...)
		cmps = append(cmps, pp.cmps[0])
		for _, cmp := range pp.cmps[1:] {
			if k := string(cmp.Key); !guarded[k] {
				guarded[k] = true
				cmps = append(cmps, cmp)
			}
		}
		paths = append(paths, pp.rel)
	}
	if len(ops) == 0 {
		return paths, nil
	}
	if _, err := c.commit(ctx, cmps, ops); err != nil {
		for i := range preps {
			if preps[i].called && errors.Is(err, store.ErrCompareFailed) {
				return nil, cim.Errorf(cim.ETransactionConflict, "the repository changed while the batch's providers ran; nothing was written, and the providers are not called again")
			}
		}
		return nil, err
	}
	return paths, nil
}

func pathOrIndex(o *cim.Object, i int) string {
	if o != nil {
		if p, err := o.ObjectPath(); err == nil {
			return p.RelPath()
		}
	}
	return "instance " + strconv.Itoa(i)
}
