package cimom

import (
	"context"
	"errors"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// unimportantQualifiers may change on a class that has instances or
// subclasses in any update mode: they describe, they do not shape.
var unimportantQualifiers = []string{"Description", "DisplayName", "Locale", "Amendment"}

func (s *services) PutClass(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) error {
	return s.call("PutClass", func() error {
		if flags&FlagReturnImmediately != 0 {
			return cim.Errorf(cim.EInvalidParameter, "WBEM_FLAG_RETURN_IMMEDIATELY needs a call result (use PutClassCall)").WithParam("lFlags")
		}
		if err := checkPutClass(class, flags); err != nil {
			return err
		}
		return s.putClass(ctx, class, flags, wctx)
	})
}

func (s *services) PutClassCall(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) (*CallResult, error) {
	if err := checkPutClass(class, flags&^FlagReturnImmediately); err != nil {
		return nil, fail("PutClass", err)
	}
	return s.startCall(ctx, "PutClass", flags, func(ctx context.Context) (string, *cim.Object, error) {
		return "", nil, s.putClass(ctx, class, flags&^FlagReturnImmediately, wctx)
	})
}

func checkPutClass(class *cim.Object, flags Flags) error {
	if class == nil {
		return cim.Errorf(cim.EInvalidParameter, "no class given").WithParam("pObject")
	}
	if class.Genus != cim.GenusClass {
		return cim.Errorf(cim.EInvalidClass, "PutClass needs a class, not an instance").WithParam("pObject")
	}
	if err := checkFlags(flags, FlagCreateOnly|FlagUpdateOnly|FlagUpdateSafeMode|FlagUpdateForceMode|FlagUseAmendedQualifiers|FlagOwnerUpdate|FlagStrongValidation|FlagReturnImmediately); err != nil {
		return err
	}
	if flags&FlagCreateOnly != 0 && flags&FlagUpdateOnly != 0 {
		return cim.Errorf(cim.EInvalidParameter, "WBEM_FLAG_CREATE_ONLY and WBEM_FLAG_UPDATE_ONLY exclude each other").WithParam("lFlags")
	}
	if flags&FlagUpdateSafeMode != 0 && flags&FlagUpdateForceMode != 0 {
		return cim.Errorf(cim.EInvalidParameter, "safe and force update modes exclude each other").WithParam("lFlags")
	}
	return checkClassName(class.Class)
}

// checkClassName applies PutClass's name rules: a leading '_' is reserved
// for system classes (WBEM_E_INVALID_OPERATION), a trailing one is
// WBEM_E_INVALID_OBJECT, other bad names WBEM_E_INVALID_PARAMETER.
func checkClassName(name string) error {
	switch {
	case name == "":
		return cim.Errorf(cim.EInvalidParameter, "a class needs a name").WithParam("__CLASS")
	case name[0] == '_':
		return cim.Errorf(cim.EInvalidOperation, "class names starting with '_' are reserved for system classes").WithParam(name)
	case name[len(name)-1] == '_':
		return cim.Errorf(cim.EInvalidObject, "a class name may not end with '_'").WithParam(name)
	}
	return cim.CheckName(name, "class")
}

func (s *services) putClass(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) error {
	if err := s.require(ctx, RightEnable); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err := s.putClassOnce(ctx, class, flags, wctx)
		if !errors.Is(err, store.ErrCompareFailed) {
			return err
		}
		if attempt == maxTxnRetries {
			return cim.Errorf(cim.ETransactionConflict, "the schema kept changing during the write; retry")
		}
	}
}

func (s *services) putClassOnce(ctx context.Context, class *cim.Object, flags Flags, wctx *Context) error {
	local := class.LocalDefinition()
	var amended *cim.Object
	if flags&FlagUseAmendedQualifiers != 0 {
		local, amended = splitAmended(local)
	}
	if err := validateLocal(local); err != nil {
		return err
	}
	if err := s.applyDecls(ctx, local); err != nil {
		return err
	}
	// The superclass, and the class as it would resolve.
	var parent *classInfo
	if local.Superclass != "" {
		p, err := s.c.resolve(ctx, s.ns, local.Superclass)
		if err != nil {
			return err
		}
		if p == nil {
			return cim.Errorf(cim.ENotFound, "superclass %s does not exist in %s", local.Superclass, s.ns).WithParam(local.Superclass)
		}
		if cim.EqualFold(p.cls.Class, local.Class) || p.cls.InheritsFrom(local.Class) {
			return cim.Errorf(cim.ECircularReference, "class %s would derive from itself", local.Class).WithParam(local.Class)
		}
		parent = p
		local.Superclass = p.cls.Class
	}
	var parentCls *cim.Object
	if parent != nil {
		parentCls = parent.cls
	}
	resolved, err := cim.Derive(parentCls, local)
	if err != nil {
		return err
	}
	ci := newClassInfo(resolved, 0)
	if ci.dynamic {
		if err := s.require(ctx, RightWriteProvider); err != nil {
			return err
		}
	} else if err := s.require(ctx, RightFullWrite); err != nil {
		return err
	}
	decls, err := s.c.decls(ctx, s.ns)
	if err != nil {
		return err
	}
	_, dmtf := decls["abstract"]
	if err := checkClassRules(parent, local, ci, dmtf); err != nil {
		return err
	}
	// Create or update.
	cur, err := s.c.resolve(ctx, s.ns, local.Class)
	if err != nil {
		return err
	}
	switch {
	case cur != nil && flags&FlagCreateOnly != 0:
		return cim.Errorf(cim.EAlreadyExists, "class %s already exists", local.Class).WithParam(local.Class)
	case cur == nil && flags&FlagUpdateOnly != 0:
		return cim.Errorf(cim.ENotFound, "class %s does not exist", local.Class).WithParam(local.Class)
	}
	ops := classOps(s.ns, local)
	cmps := []store.Compare{{Key: classKey(s.ns, local.Class)}}
	if parent != nil {
		cmps = append(cmps, store.Compare{Key: classKey(s.ns, parent.cls.Class), ModRev: parent.modRev})
	}
	if cur != nil {
		cmps[0].ModRev = cur.modRev
		local.Class = cur.cls.Class // keep the name's first spelling
		ops = classOps(s.ns, local)
		if !cim.EqualFold(cur.cls.Superclass, local.Superclass) {
			ops = append(ops, store.Delete(subKey(s.ns, cur.cls.Superclass, cur.cls.Class)))
		}
		more, err := s.classUpdateOps(ctx, cur, local, flags)
		if err != nil {
			return err
		}
		ops = append(ops, more...)
	}
	if amended != nil {
		more, err := s.c.localeClassOps(ctx, s.ns, s.c.locale(wctx), amended)
		if err != nil {
			return err
		}
		ops = append(ops, more...)
	}
	_, err = s.c.commit(ctx, cmps, ops)
	return err
}

// validateLocal checks the names and types a class declares.
func validateLocal(local *cim.Object) error {
	seen := map[string]bool{}
	for i := range local.Properties {
		p := &local.Properties[i]
		if err := cim.CheckName(p.Name, "property"); err != nil {
			return err
		}
		if seen[cim.Fold(p.Name)] {
			return cim.Errorf(cim.EInvalidParameter, "property %s is declared twice", p.Name).WithParam(p.Name)
		}
		seen[cim.Fold(p.Name)] = true
		if !p.Type.Valid() {
			return cim.Errorf(cim.EInvalidPropertyType, "property %s has no valid CIM type", p.Name).WithParam(p.Name)
		}
		if v, err := cim.Convert(p.Value, p.Type); err != nil {
			return cim.AsError(err).WithParam(p.Name)
		} else {
			p.Value = v
		}
		for _, q := range p.Qualifiers {
			if cim.EqualFold(q.Name, "CIMTYPE") {
				return cim.Errorf(cim.EInvalidQualifier, "the CIMTYPE qualifier is maintained by wbemd and cannot be written").WithParam(p.Name)
			}
		}
	}
	if len(local.Properties) > 1024 {
		return cim.Errorf(cim.ETooManyProperties, "a class has at most 1024 properties").WithParam(local.Class)
	}
	for _, m := range local.Methods {
		if err := cim.CheckName(m.Name, "method"); err != nil {
			return err
		}
	}
	return nil
}

// checkClassRules applies the key, singleton and abstract rules. WMI
// refuses an abstract class below a concrete one; DSP0004 allows it and the
// DMTF CIM schema has such classes (CIM_PolicyInSystem below
// CIM_HostedDependency), so in a namespace that declares the Abstract
// qualifier (dmtf), DSP0004's rule applies.
func checkClassRules(parent *classInfo, local *cim.Object, ci *classInfo, dmtf bool) error {
	for _, q := range local.Qualifiers {
		if cim.EqualFold(q.Name, "Key") {
			return cim.Errorf(cim.EInvalidQualifier, "Key is a property qualifier, not a class qualifier").WithParam(local.Class)
		}
	}
	for _, i := range ci.keys {
		p := &ci.cls.Properties[i]
		t := p.Type
		if t.IsArray() || t.IsReal() || t == cim.TypeObject {
			return cim.Errorf(cim.ECannotBeKey, "property %s of type %s cannot be a key", p.Name, t).WithParam(p.Name)
		}
		if parent != nil && len(parent.keys) > 0 && !p.Propagated {
			if _, inherited := parent.cls.Property(p.Name); !inherited {
				return cim.Errorf(cim.ECannotChangeKeyInheritance, "class %s adds key %s below the keyed class %s", local.Class, p.Name, parent.keyClass).WithParam(p.Name)
			}
		}
	}
	if parent != nil && len(parent.keys) > 0 && len(ci.keys) != len(parent.keys) {
		return cim.Errorf(cim.ECannotChangeKeyInheritance, "class %s changes the keys inherited from %s", local.Class, parent.cls.Class).WithParam(local.Class)
	}
	if ci.singleton {
		if len(ci.keys) > 0 {
			return cim.Errorf(cim.ECannotBeSingleton, "class %s has keys and cannot be a singleton", local.Class).WithParam(local.Class)
		}
		if parent != nil && !parent.singleton && !parent.abstract {
			return cim.Errorf(cim.ECannotBeSingleton, "class %s derives from the non-singleton class %s", local.Class, parent.cls.Class).WithParam(local.Class)
		}
	}
	if ci.abstract && parent != nil && !parent.abstract && !parent.system && !dmtf {
		return cim.Errorf(cim.ECannotBeAbstract, "class %s cannot be abstract below the concrete class %s", local.Class, parent.cls.Class).WithParam(local.Class)
	}
	if ci.dynamic && ci.provider == "" {
		return cim.Errorf(cim.EInvalidProviderRegistration, "dynamic class %s names no Provider", local.Class).WithParam(local.Class)
	}
	return nil
}

// classUpdateOps decides an update of an existing class by WMI's modes and
// returns the extra writes it takes:
//   - a change of descriptive qualifiers only is always allowed;
//   - compatible (default): no subclasses (WBEM_E_CLASS_HAS_CHILDREN) and no
//     instances (WBEM_E_CLASS_HAS_INSTANCES);
//   - safe: subclasses allowed when they still resolve under the new
//     definition, no instances;
//   - force: subclasses must still resolve; a static class's instances
//     (and its subclasses' instances) are deleted. wbemd resolves the
//     documented conflict that way: force never deletes subclass members.
func (s *services) classUpdateOps(ctx context.Context, cur *classInfo, local *cim.Object, flags Flags) ([]store.Op, error) {
	old := cur.cls.LocalDefinition()
	if sameShape(old, local) {
		return nil, nil
	}
	kids, err := s.c.deepSubclasses(ctx, s.ns, cur.cls.Class)
	if err != nil {
		return nil, err
	}
	if len(kids) > 0 {
		if flags&(FlagUpdateSafeMode|FlagUpdateForceMode) == 0 {
			return nil, cim.Errorf(cim.EClassHasChildren, "class %s has subclasses; use safe or force mode", cur.cls.Class).WithParam(cur.cls.Class)
		}
		if err := s.checkChildrenResolve(ctx, local, kids); err != nil {
			return nil, err
		}
	}
	classes := append([]string{cur.cls.Class}, kids...)
	n, err := s.countInstances(ctx, classes, 1)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	if flags&FlagUpdateForceMode == 0 || cur.dynamic {
		return nil, cim.Errorf(cim.EClassHasInstances, "class %s has instances; only force mode may change it (deleting them)", cur.cls.Class).WithParam(cur.cls.Class)
	}
	return s.deleteInstancesOps(ctx, classes)
}

// sameShape reports whether two definitions differ only in descriptive
// qualifiers.
func sameShape(a, b *cim.Object) bool {
	strip := func(o *cim.Object) *cim.Object {
		c := o.Clone()
		c.Qualifiers = dropQualifiers(c.Qualifiers)
		for i := range c.Properties {
			c.Properties[i].Qualifiers = dropQualifiers(c.Properties[i].Qualifiers)
		}
		for i := range c.Methods {
			c.Methods[i].Qualifiers = dropQualifiers(c.Methods[i].Qualifiers)
		}
		return c
	}
	return strip(a).CompareTo(strip(b), cim.CompareIgnoreObjectSource|cim.CompareIgnoreFlavor)
}

func dropQualifiers(qs []cim.Qualifier) []cim.Qualifier {
	var out []cim.Qualifier
	for _, q := range qs {
		keep := true
		for _, n := range unimportantQualifiers {
			if cim.EqualFold(q.Name, n) {
				keep = false
			}
		}
		if keep {
			out = append(out, q)
		}
	}
	return out
}

// checkChildrenResolve re-derives every subclass under the new definition.
func (s *services) checkChildrenResolve(ctx context.Context, local *cim.Object, kids []string) error {
	parentCI, err := s.c.resolve(ctx, s.ns, local.Superclass)
	if err != nil {
		return err
	}
	var parent *cim.Object
	if parentCI != nil {
		parent = parentCI.cls
	}
	top, err := cim.Derive(parent, local)
	if err != nil {
		return err
	}
	resolved := map[string]*cim.Object{cim.Fold(local.Class): top}
	for _, k := range kids {
		kv, found, err := s.c.st.Get(ctx, classKey(s.ns, k))
		if err != nil || !found {
			return err
		}
		kl, err := cim.DecodeClass(kv.Value)
		if err != nil {
			return err
		}
		p := resolved[cim.Fold(kl.Superclass)]
		r, err := cim.Derive(p, kl)
		if err != nil {
			e := cim.AsError(err)
			status := cim.EClassHasChildren
			switch e.Status {
			case cim.EInvalidPropertyType:
				status = cim.EUpdateTypeMismatch
			case cim.EOverrideNotAllowed:
				status = cim.EUpdateOverrideNotAllowed
			case cim.EPropagatedMethod:
				status = cim.EUpdatePropagatedMethod
			}
			return cim.Errorf(status, "the change conflicts with subclass %s: %s", k, e.Description).WithParam(k)
		}
		resolved[cim.Fold(k)] = r
	}
	return nil
}

// countInstances counts stored instances of the given classes, stopping at
// limit (0: no limit).
func (s *services) countInstances(ctx context.Context, classes []string, limit int) (int, error) {
	n := 0
	err := s.forInstances(ctx, classes, func(kv store.KV) bool {
		n++
		return limit == 0 || n < limit
	})
	return n, err
}

// forInstances calls fn for each stored instance of the given classes.
func (s *services) forInstances(ctx context.Context, classes []string, fn func(store.KV) bool) error {
	want := map[string]bool{}
	var keyClasses []string
	seen := map[string]bool{}
	for _, name := range classes {
		want[cim.Fold(name)] = true
		ci, err := s.c.resolve(ctx, s.ns, name)
		if err != nil {
			return err
		}
		if ci != nil && !seen[cim.Fold(ci.keyClass)] {
			seen[cim.Fold(ci.keyClass)] = true
			keyClasses = append(keyClasses, ci.keyClass)
		}
	}
	for _, kc := range keyClasses {
		p := instPrefix(s.ns, kc)
		for kv, err := range s.c.st.Range(ctx, p, store.PrefixEnd(p)) {
			if err != nil {
				return err
			}
			name, err := cim.DecodeInstanceClassName(kv.Value)
			if err != nil {
				return err
			}
			if want[cim.Fold(name)] && !fn(kv) {
				return nil
			}
		}
	}
	return nil
}

// deleteInstancesOps returns the deletes of every stored instance of the
// given classes and of their index entries.
func (s *services) deleteInstancesOps(ctx context.Context, classes []string) ([]store.Op, error) {
	var ops []store.Op
	var decodeErr error
	err := s.forInstances(ctx, classes, func(kv store.KV) bool {
		inst, ci, err := s.c.decodeInstance(ctx, s.ns, kv.Value)
		if err != nil {
			decodeErr = err
			return false
		}
		key := append([]byte(nil), kv.Key...)
		ops = append(ops, store.Delete(key))
		keys := string(key[len(instPrefix(s.ns, ci.keyClass)):])
		for _, i := range ci.indexed {
			if v := inst.Properties[i].Value; !v.IsNull() && !v.Type.IsArray() {
				ops = append(ops, store.Delete(idxKey(s.ns, ci.keyClass, ci.cls.Properties[i].Name, v, keys)))
			}
		}
		rops, err := s.c.refOps(ctx, s.ns, ci.keyClass, keys, inst, nil)
		if err != nil {
			decodeErr = err
			return false
		}
		ops = append(ops, rops...)
		return true
	})
	if decodeErr != nil {
		return nil, decodeErr
	}
	return ops, err
}

func (s *services) DeleteClass(ctx context.Context, class string, flags Flags, wctx *Context) error {
	return s.call("DeleteClass", func() error {
		o, err := checkDeleteClass(flags, wctx)
		if err != nil {
			return err
		}
		return s.deleteClass(ctx, class, o)
	})
}

func (s *services) DeleteClassCall(ctx context.Context, class string, flags Flags, wctx *Context) (*CallResult, error) {
	o, err := checkDeleteClass(flags&^FlagReturnImmediately, wctx)
	if err != nil {
		return nil, fail("DeleteClass", err)
	}
	return s.startCall(ctx, "DeleteClass", flags, func(ctx context.Context) (string, *cim.Object, error) {
		return "", nil, s.deleteClass(ctx, class, o)
	})
}

// checkDeleteClass checks DeleteClass's flags and reads its options.
func checkDeleteClass(flags Flags, wctx *Context) (DeleteClassOptions, error) {
	if flags&FlagUseAmendedQualifiers != 0 {
		return DeleteClassOptions{}, cim.Errorf(cim.EInvalidParameter, "DeleteClass does not take WBEM_FLAG_USE_AMENDED_QUALIFIERS").WithParam("lFlags")
	}
	if err := checkFlags(flags, 0); err != nil {
		return DeleteClassOptions{}, err
	}
	return DeleteClassOptionsOf(wctx)
}

// deleteClass deletes a class, its subclasses, and all their instances and
// index entries in one transaction; a leaf-only delete (o.LeafOnly) is
// refused when there are subclasses or instances, and redone when one
// appears before it commits, so that it answers with the precise refusal.
// It raises one __ClassDeletionEvent per class and no per-instance events
// (WMI does not document them; a class delete would otherwise flood
// subscribers).
func (s *services) deleteClass(ctx context.Context, class string, o DeleteClassOptions) error {
	for attempt := 0; ; attempt++ {
		err := s.deleteClassOnce(ctx, class, o)
		if !errors.Is(err, store.ErrCompareFailed) {
			return err
		}
		if !o.LeafOnly || attempt == maxTxnRetries {
			return cim.Errorf(cim.ETransactionConflict, "class %s changed during the delete; retry", class)
		}
		if err := s.c.sync(ctx); err != nil { // bring the caches up to date before the new check
			return err
		}
	}
}

func (s *services) deleteClassOnce(ctx context.Context, class string, o DeleteClassOptions) error {
	if err := s.require(ctx, RightEnable); err != nil {
		return err
	}
	if strings.HasPrefix(class, "_") {
		return cim.Errorf(cim.EInvalidOperation, "system class %s cannot be deleted", class).WithParam(class)
	}
	ci, err := s.c.resolve(ctx, s.ns, class)
	if err != nil {
		return err
	}
	if ci == nil {
		return cim.Errorf(cim.ENotFound, "class %s does not exist in %s", class, s.ns).WithParam(class)
	}
	need := RightFullWrite
	if ci.dynamic {
		need = RightWriteProvider
	}
	if err := s.require(ctx, need); err != nil {
		return err
	}
	cmps := []store.Compare{{Key: classKey(s.ns, ci.cls.Class), ModRev: ci.modRev}}
	classes := []string{ci.cls.Class}
	var ops []store.Op
	if o.LeafOnly {
		guards, err := s.leafGuards(ctx, ci)
		if err != nil {
			return err
		}
		cmps = append(cmps, guards...)
	} else {
		kids, err := s.c.deepSubclasses(ctx, s.ns, ci.cls.Class)
		if err != nil {
			return err
		}
		classes = append(classes, kids...)
		if ops, err = s.deleteInstancesOps(ctx, classes); err != nil {
			return err
		}
	}
	for _, name := range classes {
		k, err := s.c.resolve(ctx, s.ns, name)
		if err != nil {
			return err
		}
		if k == nil {
			continue
		}
		ops = append(ops, store.Delete(classKey(s.ns, name)), store.Delete(subKey(s.ns, k.cls.Superclass, name)))
	}
	_, err = s.c.commit(ctx, cmps, ops)
	return err
}

func (s *services) CreateClassEnum(ctx context.Context, superclass string, flags Flags, wctx *Context) (Enumerator, error) {
	return s.openEnum(ctx, "CreateClassEnum", flags, func() (source, error) {
		objs, err := s.classList(ctx, superclass, flags, wctx)
		return sliceSource(objs), err
	})
}

// classList returns the classes of a CreateClassEnum: every subclass of
// superclass (all classes for ""), or with FlagShallow the immediate ones
// (the top-level classes for "").
func (s *services) classList(ctx context.Context, superclass string, flags Flags, wctx *Context) ([]*cim.Object, error) {
	if err := checkFlags(flags, FlagShallow|FlagForwardOnly|FlagReturnImmediately|FlagUseAmendedQualifiers); err != nil {
		return nil, err
	}
	if err := s.require(ctx, RightEnable); err != nil {
		return nil, err
	}
	if superclass != "" {
		ci, err := s.c.resolve(ctx, s.ns, superclass)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", superclass, s.ns).WithParam(superclass)
		}
		superclass = ci.cls.Class
	}
	var names []string
	var err error
	if flags&FlagShallow != 0 {
		names, err = s.c.subclasses(ctx, s.ns, superclass)
	} else {
		names, err = s.c.deepSubclasses(ctx, s.ns, superclass)
	}
	if err != nil {
		return nil, err
	}
	out := make([]*cim.Object, 0, len(names))
	for _, n := range names {
		ci, err := s.c.resolve(ctx, s.ns, n)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			continue
		}
		cls := ci.cls.Clone()
		if flags&FlagUseAmendedQualifiers != 0 {
			if err := s.mergeAmended(ctx, cls, wctx); err != nil {
				return nil, err
			}
		}
		out = append(out, cls)
	}
	return out, nil
}
