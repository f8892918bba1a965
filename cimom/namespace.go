package cimom

import (
	"context"

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
