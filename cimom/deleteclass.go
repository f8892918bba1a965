package cimom

import (
	"bytes"
	"context"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// DeleteClassLeafOnly names the context value (a bool) that makes
// DeleteClass leaf-only; DeleteClassOptions stands for it.
const DeleteClassLeafOnly = "__DELETE_CLASS_LEAF_ONLY"

// DeleteClassOptions are the typed form of what DeleteClass takes beside
// the class name. Args turns them into the context DeleteClass (or
// DeleteClassCall) takes; DeleteClassOptionsOf reads them back.
type DeleteClassOptions struct {
	// LeafOnly refuses to delete a class that has subclasses
	// (WBEM_E_CLASS_HAS_CHILDREN) or stored instances
	// (WBEM_E_CLASS_HAS_INSTANCES), as DSP0200's DeleteClass does, where
	// WMI's deletes them with it. The refusal holds in the delete's own
	// transaction: a subclass or an instance created while the delete runs
	// is never deleted with it. The instances of a dynamic class are its
	// provider's and do not count.
	LeafOnly bool
	// Context holds other named values for the call; Args copies it and
	// sets DeleteClassLeafOnly in the copy.
	Context *Context
}

// Args returns the context that carries o to Services.DeleteClass: nil
// when it would be empty.
func (o DeleteClassOptions) Args() *Context {
	if !o.LeafOnly && len(o.Context.Names()) == 0 {
		return nil
	}
	wctx := o.Context.Clone()
	wctx.DeleteValue(DeleteClassLeafOnly)
	if o.LeafOnly {
		wctx.SetValue(DeleteClassLeafOnly, true)
	}
	if len(wctx.values) == 0 {
		return nil
	}
	return wctx
}

// DeleteClassOptionsOf reads the options a DeleteClass context gives;
// DeleteClassLeafOnly must be a boolean (WBEM_E_INVALID_CONTEXT). The
// result's Context is wctx.
func DeleteClassOptionsOf(wctx *Context) (DeleteClassOptions, error) {
	leaf, _, ok := wctx.boolValue(DeleteClassLeafOnly)
	if !ok {
		return DeleteClassOptions{}, cim.Errorf(cim.EInvalidContext, "%s must be a boolean", DeleteClassLeafOnly).WithParam(DeleteClassLeafOnly)
	}
	return DeleteClassOptions{LeafOnly: leaf, Context: wctx}, nil
}

// DeleteClassLeaf deletes a class that has neither subclasses nor stored
// instances (DSP0200's DeleteClass), on any Services: over CIM-XML
// (package client) DeleteClass is leaf-only by itself.
func DeleteClassLeaf(ctx context.Context, svc Services, class string) error {
	return svc.DeleteClass(ctx, class, 0, DeleteClassOptions{LeafOnly: true}.Args())
}

// leafGuards checks that the class ci resolves has no subclass and, unless
// it is dynamic, no stored instance, and returns the compares that keep
// both true until the delete commits: no key under its subclass index
// prefix and none of its instances.
func (s *services) leafGuards(ctx context.Context, ci *classInfo) ([]store.Compare, error) {
	class := ci.cls.Class
	kids, err := s.c.subclasses(ctx, s.ns, class)
	if err != nil {
		return nil, err
	}
	if len(kids) > 0 {
		return nil, cim.Errorf(cim.EClassHasChildren, "class %s has subclasses (%s first)", class, kids[0]).WithParam(class)
	}
	cmps := []store.Compare{store.AbsentPrefix(subPrefix(s.ns, class))}
	if ci.dynamic {
		return cmps, nil // a provider's instances are not the repository's
	}
	hasInstances := cim.Errorf(cim.EClassHasInstances, "class %s has instances", class).WithParam(class)
	p := instPrefix(s.ns, ci.keyClass)
	if cim.EqualFold(ci.keyClass, class) {
		// The class declares its keys: every instance under its prefix is
		// its own (it has no subclass).
		for _, err := range s.c.st.Range(ctx, p, store.PrefixEnd(p)) {
			if err != nil {
				return nil, err
			}
			return nil, hasInstances
		}
		return append(cmps, store.AbsentPrefix(p)), nil
	}
	// The class inherits its keys: its instances would share the key
	// class's prefix with those of other classes. The guard is the prefix
	// as read: each key keeps its revision, and no key appears between
	// them; a store that takes fewer compares in one transaction refuses
	// the delete.
	from := p
	others := 0
	for kv, err := range s.c.st.Range(ctx, p, store.PrefixEnd(p)) {
		if err != nil {
			return nil, err
		}
		name, err := cim.DecodeInstanceClassName(kv.Value)
		if err != nil {
			return nil, err
		}
		if cim.EqualFold(name, class) {
			return nil, hasInstances
		}
		k := bytes.Clone(kv.Key)
		if !bytes.Equal(from, k) {
			cmps = append(cmps, store.Absent(from, k))
		}
		cmps = append(cmps, store.Compare{Key: k, ModRev: kv.ModRev})
		from = append(k[:len(k):len(k)], 0) // the first key after k
		others++
	}
	cmps = append(cmps, store.Absent(from, store.PrefixEnd(p)))
	if limit := s.c.st.Limits().MaxOps; limit > 0 && len(cmps)+1 > limit {
		return nil, cim.Errorf(cim.EQuotaViolation, "class %s shares its key class %s with %d instances of other classes: "+
			"a leaf-only delete guards each of them, and this store takes %d compares in one transaction; nothing was deleted",
			class, ci.keyClass, others, limit).WithParam(class)
	}
	return cmps, nil
}
