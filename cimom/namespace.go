package cimom

import (
	"context"
	"errors"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// childNamespaceOps returns the writes that create the namespace named by
// a __Namespace instance in parent: its record, with a security descriptor
// inherited from the parent, and its system classes. Updating an existing
// __Namespace instance changes nothing else.
func (c *CIMOM) childNamespaceOps(ctx context.Context, parent string, inst *cim.Object, exists bool) ([]store.Op, []store.Compare, error) {
	if exists {
		return nil, nil, nil
	}
	v, _ := inst.Get("Name")
	name, _ := v.V.(string)
	child, err := cim.NormalizeNamespace(parent + "/" + name)
	if err != nil || cim.EqualFold(child, parent) || name == "" || containsSep(name) {
		return nil, nil, cim.Errorf(cim.EInvalidParameter, "invalid namespace name %q", name).WithParam("Name")
	}
	parentSD, err := c.namespaceSD(ctx, parent)
	if err != nil {
		return nil, nil, err
	}
	sd := inheritSD(&SecurityDescriptor{Owner: parentSD.Owner, Group: parentSD.Group}, parentSD)
	return namespaceOps(child, sd), []store.Compare{{Key: nsKey(child)}}, nil
}

func containsSep(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == '\\' {
			return true
		}
	}
	return false
}

// namespaceTreeOps returns the writes that delete namespace ns and every
// namespace below it, with all their records.
func namespaceTreeOps(ns string) []store.Op {
	f := cim.Fold(ns)
	ops := []store.Op{
		store.Delete(nsKey(ns)),
		store.DeletePrefix(append(nsKey(ns), '/')),
	}
	for _, k := range nsKinds {
		ops = append(ops,
			store.DeletePrefix(prefix(k, f)),
			store.DeletePrefix(append(key(k, f), '/')),
		)
	}
	return ops
}

// CreateNamespace creates the namespace ns with every missing namespace on
// its path, in one transaction, and returns whether it created anything.
// WMI keeps every namespace below root; OpenPegasus and SFCB also have
// top-level namespaces (interop, test/static), which only this call
// creates: a top-level namespace has no __Namespace instance anywhere and
// inherits root's security. A namespace below an existing one gets its
// __Namespace instance in the parent, as PutInstance would make it.
// Only administrators may call it.
func (c *CIMOM) CreateNamespace(ctx context.Context, ns string, p Principal) (bool, error) {
	if err := c.enter(); err != nil {
		return false, fail("CreateNamespace", err)
	}
	defer c.leave()
	created, err := c.createNamespace(ctx, ns, p, nil)
	return created, fail("CreateNamespace", err)
}

// createNamespace is CreateNamespace; own, if not nil, gives the new
// namespace ns its own ACEs (and Protected), ahead of those it inherits.
func (c *CIMOM) createNamespace(ctx context.Context, ns string, p Principal, own *SecurityDescriptor) (bool, error) {
	if !p.IsAdmin() {
		return false, cim.Errorf(cim.EAccessDenied, "%s is not an administrator: only administrators create namespaces by path", p.Name)
	}
	ns, err := cim.NormalizeNamespace(ns)
	if err != nil {
		return false, err
	}
	parts := strings.Split(ns, "/")
	var ops []store.Op
	var cmps []store.Compare
	var parentSD *SecurityDescriptor
	for i := range parts {
		path := strings.Join(parts[:i+1], "/")
		rec, _, exists, err := c.loadNamespace(ctx, path)
		if err != nil {
			return false, err
		}
		if exists {
			parentSD = rec.SD
			continue
		}
		if parentSD == nil { // a new top-level namespace
			if parentSD, err = c.namespaceSD(ctx, "root"); err != nil {
				return false, err
			}
		}
		sd := inheritSD(&SecurityDescriptor{Owner: parentSD.Owner, Group: parentSD.Group}, parentSD)
		if own != nil && i == len(parts)-1 {
			sd = inheritSD(own, parentSD)
		}
		ops = append(ops, namespaceOps(path, sd)...)
		if i > 0 {
			ops = append(ops, namespaceInstanceOp(strings.Join(parts[:i], "/"), parts[i]))
		}
		cmps = append(cmps, store.Compare{Key: nsKey(path)})
		parentSD = sd
	}
	if len(ops) == 0 {
		return false, nil
	}
	if _, err := c.commit(ctx, cmps, ops); err != nil {
		if errors.Is(err, store.ErrCompareFailed) {
			return false, cim.Errorf(cim.ETransactionConflict, "namespace %s was created concurrently; retry", ns)
		}
		return false, err
	}
	return true, nil
}
