package cimom

import (
	"context"
	"errors"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// self is the principal wbemd acts as when it maintains its own
// namespaces and classes.
var self = Principal{Name: providerSelf, Groups: []string{GroupAdministrators}}

// CreateNamespaceWith is CreateNamespace; own, if not nil, gives the new
// namespace ns its own ACEs (and Protected, to inherit none) in the same
// transaction, so that it is never seen with other rights.
func (c *CIMOM) CreateNamespaceWith(ctx context.Context, ns string, p Principal, own *SecurityDescriptor) (bool, error) {
	if err := c.enter(); err != nil {
		return false, fail("CreateNamespace", err)
	}
	defer c.leave()
	if own != nil {
		if err := validateSD(own); err != nil {
			return false, fail("CreateNamespace", err)
		}
	}
	created, err := c.createNamespace(ctx, ns, p, own)
	return created, fail("CreateNamespace", err)
}

// DeclareClasses stores the classes of ns (given parents first, as
// declared) that are not declared yet, in one transaction: wbemd's own
// classes, written without PutClass's checks; a class already declared is
// kept as it is.
func (c *CIMOM) DeclareClasses(ctx context.Context, ns string, classes []*cim.Object) error {
	for attempt := 0; ; attempt++ {
		var ops []store.Op
		var cmps []store.Compare
		for _, cls := range classes {
			_, found, err := c.st.Get(ctx, classKey(ns, cls.Class))
			if err != nil {
				return err
			}
			if !found {
				ops = append(ops, classOps(ns, cls)...)
				cmps = append(cmps, store.Compare{Key: classKey(ns, cls.Class)})
			}
		}
		if len(ops) == 0 {
			return nil
		}
		_, err := c.commit(ctx, cmps, ops)
		if !errors.Is(err, store.ErrCompareFailed) || attempt == 2 {
			return err
		}
	}
}
