package cimom

import (
	"context"
	"slices"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/wql"
)

// instanceRef is an instance path resolved against its class.
type instanceRef struct {
	ci   *classInfo
	path *cim.ObjectPath // keys typed and named as the class declares them
	keys string          // storage form of the keys
	key  []byte          // storage key
}

// bindPath resolves an instance path: the class must exist
// (WBEM_E_INVALID_CLASS) and the path must name exactly its keys, with
// values of their types (WBEM_E_INVALID_OBJECT_PATH otherwise).
func (s *services) bindPath(ctx context.Context, op *cim.ObjectPath) (*instanceRef, error) {
	ci, err := s.c.resolve(ctx, s.ns, op.Class)
	if err != nil {
		return nil, err
	}
	if ci == nil {
		return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", op.Class, s.ns).WithParam(op.Class)
	}
	bad := func(format string, args ...any) error {
		return cim.Errorf(cim.EInvalidObjectPath, format, args...).WithParam(op.String())
	}
	ref := &instanceRef{ci: ci, path: &cim.ObjectPath{Server: s.c.opts.Server, Namespace: s.ns, Class: ci.cls.Class}}
	if op.Singleton {
		if len(ci.keys) != 0 {
			return nil, bad("class %s has keys; it is not a singleton", ci.cls.Class)
		}
		ref.path.Singleton = true
	} else {
		if len(op.Keys) != len(ci.keys) {
			return nil, bad("class %s has %d key properties; the path gives %d", ci.cls.Class, len(ci.keys), len(op.Keys))
		}
		for _, kb := range op.Keys {
			var p *cim.Property
			if kb.Name == "" {
				if len(ci.keys) != 1 {
					return nil, bad("a key without a name needs a class with one key")
				}
				p = &ci.cls.Properties[ci.keys[0]]
			} else if q, ok := ci.cls.Property(kb.Name); ok && q.IsKey() {
				p = q
			} else {
				return nil, bad("%s is not a key property of %s", kb.Name, ci.cls.Class)
			}
			v, err := keyValue(kb.Value, p.Type)
			if err != nil {
				return nil, bad("key %s: %v", p.Name, err)
			}
			for _, have := range ref.path.Keys {
				if cim.EqualFold(have.Name, p.Name) {
					return nil, bad("key %s given twice", p.Name)
				}
			}
			ref.path.Keys = append(ref.path.Keys, cim.KeyBinding{Name: p.Name, Value: v})
		}
	}
	ref.keys = keyString(ref.path)
	ref.key = instKey(s.ns, ci.keyClass, ref.keys)
	return ref, nil
}

// keyValue converts a path literal to a key property's type: quoted text
// to numbers too, as paths write `Class.Id="5"` as well as `Class.Id=5`.
func keyValue(v cim.Value, t cim.Type) (cim.Value, error) {
	if s, ok := v.V.(string); ok && (t.IsInteger() || t == cim.TypeBoolean) {
		return cim.ParseValue(t, s)
	}
	return cim.Convert(v, t)
}

// parseInstancePath parses path and, if it names another namespace,
// returns the services of that namespace.
func (s *services) target(ctx context.Context, path string) (*services, *cim.ObjectPath, error) {
	op, err := cim.ParsePath(path)
	if err != nil {
		return nil, nil, err
	}
	if op.Namespace == "" || cim.EqualFold(op.Namespace, s.ns) {
		return s, op, nil
	}
	other, err := s.c.connect(ctx, op.Namespace, s.p)
	if err != nil {
		return nil, nil, err
	}
	return other, op, nil
}

func (s *services) GetObject(ctx context.Context, path string, flags Flags, wctx *Context) (*cim.Object, error) {
	var out *cim.Object
	err := s.call("GetObject", func() error {
		if flags&FlagReturnImmediately != 0 {
			return cim.Errorf(cim.EInvalidParameter, "WBEM_FLAG_RETURN_IMMEDIATELY needs a call result (use GetObjectCall)").WithParam("lFlags")
		}
		if err := checkFlags(flags, FlagUseAmendedQualifiers|FlagDirectRead); err != nil {
			return err
		}
		var err error
		out, err = s.getObject(ctx, path, flags, wctx)
		return err
	})
	return out, err
}

func (s *services) GetObjectCall(ctx context.Context, path string, flags Flags, wctx *Context) (*CallResult, error) {
	if err := checkFlags(flags, FlagUseAmendedQualifiers|FlagDirectRead|FlagReturnImmediately); err != nil {
		return nil, fail("GetObject", err)
	}
	return s.startCall(ctx, "GetObject", flags, func(ctx context.Context) (string, *cim.Object, error) {
		o, err := s.getObject(ctx, path, flags&^FlagReturnImmediately, wctx)
		return "", o, err
	})
}

func (s *services) getObject(ctx context.Context, path string, flags Flags, wctx *Context) (*cim.Object, error) {
	if err := s.require(ctx, RightEnable); err != nil {
		return nil, err
	}
	if path == "" {
		return &cim.Object{Genus: cim.GenusClass}, nil
	}
	t, op, err := s.target(ctx, path)
	if err != nil {
		return nil, err
	}
	if op.IsClass() {
		ci, err := t.c.resolve(ctx, t.ns, op.Class)
		if err != nil {
			return nil, err
		}
		if ci == nil {
			return nil, cim.Errorf(cim.ENotFound, "class %s does not exist in %s", op.Class, t.ns).WithParam(op.Class)
		}
		cls := ci.cls.Clone()
		if flags&FlagUseAmendedQualifiers != 0 {
			if err := t.mergeAmended(ctx, cls, wctx); err != nil {
				return nil, err
			}
		}
		return cls, nil
	}
	ref, err := t.bindPath(ctx, op)
	if err != nil {
		return nil, err
	}
	inst, err := t.getInstance(ctx, ref, wctx)
	if err != nil {
		return nil, err
	}
	return applyGetExtensions(inst, wctx)
}

// getKeys is getObject of an instance for its keys alone (KeysOnly
// associators): a stored instance's keys are all that is decoded.
func (s *services) getKeys(ctx context.Context, path string, wctx *Context) (*cim.Object, error) {
	t, op, err := s.target(ctx, path)
	if err != nil {
		return nil, err
	}
	if op.IsClass() {
		return s.getObject(ctx, path, 0, wctx)
	}
	ref, err := t.bindPath(ctx, op)
	if err != nil {
		return nil, err
	}
	if ref.ci.dynamic {
		inst, err := t.getInstance(ctx, ref, wctx)
		if err != nil {
			return nil, err
		}
		return keysOnly(inst), nil
	}
	kv, found, err := t.c.st.Get(ctx, ref.key)
	if err != nil {
		return nil, err
	}
	var inst *cim.Object
	if found {
		name, err := cim.DecodeInstanceClassName(kv.Value)
		if err != nil {
			return nil, err
		}
		ci, err := t.c.resolve(ctx, t.ns, name)
		if err != nil {
			return nil, err
		}
		if ci != nil {
			if inst, err = ci.decodeKeys(kv.Value); err != nil {
				return nil, err
			}
		}
	}
	if inst == nil || !inst.IsA(ref.ci.cls.Class) {
		return nil, cim.Errorf(cim.ENotFound, "instance %s does not exist", ref.path.RelPath()).WithParam(ref.path.RelPath())
	}
	return inst, nil
}

// getInstance reads one instance by its resolved path.
func (s *services) getInstance(ctx context.Context, ref *instanceRef, wctx *Context) (*cim.Object, error) {
	if ref.ci.dynamic {
		p := s.c.dynamicProvider(ctx, s.ns, ref.ci.cls)
		g, ok := p.(InstanceGetter)
		if !ok {
			return nil, cim.Errorf(cim.EProviderNotCapable, "no provider can get instances of %s", ref.ci.cls.Class).WithParam(ref.ci.cls.Class)
		}
		inst, err := g.GetInstance(s.forProvider(ctx), s.ns, ref.path, wctx)
		if err != nil {
			return nil, cim.AsError(providerError(p, err)).WithParam(ref.path.RelPath())
		}
		return inst, nil
	}
	kv, found, err := s.c.st.Get(ctx, ref.key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, cim.Errorf(cim.ENotFound, "instance %s does not exist", ref.path.RelPath()).WithParam(ref.path.RelPath())
	}
	inst, _, err := s.c.decodeInstance(ctx, s.ns, kv.Value)
	if err != nil {
		return nil, err
	}
	inst.Revision = kv.ModRev
	if !inst.IsA(ref.ci.cls.Class) {
		return nil, cim.Errorf(cim.ENotFound, "instance %s does not exist (an instance of %s has these keys)", ref.path.RelPath(), inst.Class).WithParam(ref.path.RelPath())
	}
	return inst, nil
}

// decodeInstance decodes a stored instance against its (resolved) class.
func (c *CIMOM) decodeInstance(ctx context.Context, ns string, rec []byte) (*cim.Object, *classInfo, error) {
	name, err := cim.DecodeInstanceClassName(rec)
	if err != nil {
		return nil, nil, err
	}
	ci, err := c.resolve(ctx, ns, name)
	if err != nil {
		return nil, nil, err
	}
	if ci == nil {
		return nil, nil, cim.Errorf(cim.ECriticalError, "stored instance of missing class %s", name)
	}
	inst, err := ci.decode(rec)
	return inst, ci, err
}

// KeysOnlyContext is the context that asks an enumeration for the
// instances' keys alone (WMI's __GET_EXTENSIONS with __GET_EXT_KEYS_ONLY):
// the instances come back with their key properties alone, which is all
// the repository decodes. The doors use it for EnumerateInstanceNames and `--names`.
func KeysOnlyContext() *Context {
	c := NewContext()
	c.SetValue(GetExtensions, true)
	c.SetValue(GetExtKeysOnly, true)
	return c
}

// enumKeysOnly reports whether an enumeration of the repository needs the
// instances' keys alone: the context asks for them (KeysOnlyContext), or
// the data query q selects only keys of ci and has no WHERE clause.
func enumKeysOnly(wctx *Context, ci *classInfo, q *wql.Select) (bool, error) {
	if q != nil {
		if q.Star || q.Where != nil {
			return false, nil
		}
		for _, p := range q.Props {
			if len(p.Path) != 1 {
				return false, nil
			}
			key := false
			for _, i := range ci.keys {
				if cim.EqualFold(ci.cls.Properties[i].Name, p.Path[0]) {
					key = true
				}
			}
			if !key {
				return false, nil
			}
		}
		return true, nil
	}
	ext, present, ok := wctx.boolValue(GetExtensions)
	if !ok {
		return false, cim.Errorf(cim.EInvalidContext, "%s must be a boolean", GetExtensions)
	}
	if !present || !ext {
		return false, nil
	}
	keysOnly, _, ok := wctx.boolValue(GetExtKeysOnly)
	if !ok {
		return false, cim.Errorf(cim.EInvalidContext, "%s must be a boolean", GetExtKeysOnly)
	}
	return keysOnly, nil
}

// applyGetExtensions honours __GET_EXT_KEYS_ONLY and __GET_EXT_PROPERTIES:
// properties not asked for come back NULL (keys always stay).
func applyGetExtensions(inst *cim.Object, wctx *Context) (*cim.Object, error) {
	ext, present, ok := wctx.boolValue(GetExtensions)
	if !ok {
		return nil, cim.Errorf(cim.EInvalidContext, "%s must be a boolean", GetExtensions)
	}
	if !present || !ext {
		return inst, nil
	}
	keysOnly, _, ok := wctx.boolValue(GetExtKeysOnly)
	if !ok {
		return nil, cim.Errorf(cim.EInvalidContext, "%s must be a boolean", GetExtKeysOnly)
	}
	props, propsPresent, ok := wctx.stringsValue(GetExtProperties)
	if !ok {
		return nil, cim.Errorf(cim.EInvalidContext, "%s must be an array of strings", GetExtProperties)
	}
	if !keysOnly && !propsPresent {
		return inst, nil
	}
	for i := range inst.Properties {
		p := &inst.Properties[i]
		if p.IsKey() {
			continue
		}
		keep := false
		if !keysOnly {
			for _, n := range props {
				if cim.EqualFold(n, p.Name) {
					keep = true
				}
			}
		}
		if !keep {
			p.Value = cim.Null(p.Type)
		}
	}
	return inst, nil
}

func (s *services) DeleteInstance(ctx context.Context, path string, flags Flags, wctx *Context) error {
	return s.call("DeleteInstance", func() error {
		if err := checkFlags(flags, 0); err != nil {
			return err
		}
		return s.deleteInstance(ctx, path, wctx)
	})
}

func (s *services) DeleteInstanceCall(ctx context.Context, path string, flags Flags, wctx *Context) (*CallResult, error) {
	if err := checkFlags(flags, FlagReturnImmediately); err != nil {
		return nil, fail("DeleteInstance", err)
	}
	return s.startCall(ctx, "DeleteInstance", flags, func(ctx context.Context) (string, *cim.Object, error) {
		return "", nil, s.deleteInstance(ctx, path, wctx)
	})
}

func (s *services) deleteInstance(ctx context.Context, path string, wctx *Context) error {
	if err := s.require(ctx, RightEnable); err != nil {
		return err
	}
	t, op, err := s.target(ctx, path)
	if err != nil {
		return err
	}
	if op.IsClass() {
		return cim.Errorf(cim.EInvalidObjectPath, "%s names a class, not an instance", path).WithParam(path)
	}
	ref, err := t.bindPath(ctx, op)
	if err != nil {
		return err
	}
	if err := t.require(ctx, writeRight(ref.ci)); err != nil {
		return err
	}
	if ref.ci.dynamic {
		if err := checkRevision(wctx, ref.path.RelPath(), 0, true); err != nil {
			return err
		}
		p := t.c.dynamicProvider(ctx, t.ns, ref.ci.cls)
		d, ok := p.(InstanceDeleter)
		if !ok {
			return cim.Errorf(cim.EProviderNotCapable, "no provider can delete instances of %s", ref.ci.cls.Class).WithParam(ref.ci.cls.Class)
		}
		if err := d.DeleteInstance(t.forProvider(ctx), t.ns, ref.path, wctx); err != nil {
			return cim.AsError(providerError(p, err)).WithParam(ref.path.RelPath())
		}
		return nil
	}
	lock := t.c.lockFor(ref.key)
	lock.Lock()
	locked := true
	defer func() {
		if locked {
			lock.Unlock()
		}
	}()
	kv, found, err := t.c.st.Get(ctx, ref.key)
	if err != nil {
		return err
	}
	if !found {
		return cim.Errorf(cim.ENotFound, "instance %s does not exist", ref.path.RelPath()).WithParam(ref.path.RelPath())
	}
	prev, pci, err := t.c.decodeInstance(ctx, t.ns, kv.Value)
	if err != nil {
		return err
	}
	if !prev.IsA(ref.ci.cls.Class) {
		return cim.Errorf(cim.ENotFound, "instance %s does not exist", ref.path.RelPath()).WithParam(ref.path.RelPath())
	}
	if err := checkRevision(wctx, ref.path.RelPath(), kv.ModRev, false); err != nil {
		return err
	}
	if err := t.registrationDelete(ctx, pci, prev); err != nil {
		return err
	}
	extraOps, err := t.indicationDelete(ctx, pci, prev, ref.keys)
	if err != nil {
		return err
	}
	chain := t.c.providerChain(ctx, t.ns, pci.cls)
	if len(chain) > 0 {
		// Providers are never called under a lock; the commit's compare
		// catches a concurrent writer.
		lock.Unlock()
		locked = false
	}
	for _, p := range chain {
		if d, ok := p.(InstanceDeleter); ok {
			if err := d.DeleteInstance(t.forProvider(ctx), t.ns, ref.path, wctx); err != nil {
				return providerError(p, err)
			}
		}
	}
	ops := append([]store.Op{store.Delete(ref.key)}, extraOps...)
	for _, i := range pci.indexed {
		if v := prev.Properties[i].Value; !v.IsNull() && !v.Type.IsArray() {
			ops = append(ops, store.Delete(idxKey(t.ns, pci.keyClass, pci.cls.Properties[i].Name, v, ref.keys)))
		}
	}
	rops, err := t.c.refOps(ctx, t.ns, pci.keyClass, ref.keys, prev, nil)
	if err != nil {
		return err
	}
	ops = append(ops, rops...)
	isNamespace := cim.EqualFold(pci.cls.Class, namespaceClass)
	if isNamespace {
		name, _ := prev.Get("Name")
		child, _ := name.V.(string)
		ops = append(ops, namespaceTreeOps(t.ns+"/"+child)...)
	}
	if _, err := t.c.commit(ctx, []store.Compare{{Key: ref.key, ModRev: kv.ModRev}}, ops); err != nil {
		if err == store.ErrCompareFailed {
			return cim.Errorf(cim.ETransactionConflict, "instance %s changed during the delete; retry", ref.path.RelPath())
		}
		return err
	}
	return nil
}

func (s *services) CreateInstanceEnum(ctx context.Context, class string, flags Flags, wctx *Context) (Enumerator, error) {
	return s.openEnum(ctx, "CreateInstanceEnum", flags, func() (source, error) {
		return s.instanceSource(ctx, class, flags, wctx)
	})
}

// instanceSource checks an instance enumeration and returns its stream:
// the instances of class and its subclasses (unless FlagShallow), read from
// the key-class ranges of the classes involved, or from providers for
// dynamic classes.
func (s *services) instanceSource(ctx context.Context, class string, flags Flags, wctx *Context) (source, error) {
	return s.querySource(ctx, class, flags, wctx, nil)
}

// querySource is instanceSource for the data query q, which it gives to
// the providers that take queries (nil: an enumeration).
func (s *services) querySource(ctx context.Context, class string, flags Flags, wctx *Context, q *wql.Select) (source, error) {
	if err := checkFlags(flags, FlagShallow|FlagForwardOnly|FlagReturnImmediately|FlagUseAmendedQualifiers|FlagDirectRead); err != nil {
		return nil, err
	}
	if err := s.require(ctx, RightEnable); err != nil {
		return nil, err
	}
	ci, err := s.c.resolve(ctx, s.ns, class)
	if err != nil {
		return nil, err
	}
	if ci == nil {
		return nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", class, s.ns).WithParam(class)
	}
	classes := []string{ci.cls.Class}
	if flags&FlagShallow == 0 {
		sub, err := s.c.deepSubclasses(ctx, s.ns, ci.cls.Class)
		if err != nil {
			return nil, err
		}
		classes = append(classes, sub...)
	}
	want := map[string]bool{}
	var keyClasses []string
	seenKC := map[string]bool{}
	var dynamic []*classInfo
	for _, name := range classes {
		sci, err := s.c.resolve(ctx, s.ns, name)
		if err != nil {
			return nil, err
		}
		if sci == nil {
			continue
		}
		want[cim.Fold(name)] = true
		if sci.dynamic {
			dynamic = append(dynamic, sci)
			continue
		}
		if kc := cim.Fold(sci.keyClass); !seenKC[kc] && !sci.abstract {
			seenKC[kc] = true
			keyClasses = append(keyClasses, sci.keyClass)
		}
	}
	amended := flags&FlagUseAmendedQualifiers != 0
	start, startClass, from, err := s.startAfter(ctx, wctx)
	if err != nil {
		return nil, err
	}
	if from {
		if len(dynamic) > 0 {
			return nil, cim.Errorf(cim.ENotSupported, "instances of %s come from a provider: they cannot be read from a position", dynamic[0].cls.Class).WithParam(StartAfter)
		}
		if !slices.ContainsFunc(keyClasses, func(kc string) bool { return cim.EqualFold(kc, startClass) }) {
			return nil, cim.Errorf(cim.EInvalidParameter, "%s names an instance outside the enumeration of %s", StartAfter, ci.cls.Class).WithParam(StartAfter)
		}
	}
	keysOnly, err := enumKeysOnly(wctx, ci, q)
	if err != nil {
		return nil, err
	}
	return func(yield func(*cim.Object, error) bool) {
		// Instances of one key-class range are mostly of one class: the
		// decision and the class of the last name seen are kept.
		var lastName string
		var lastCI *classInfo
		var lastWanted bool
		passed := false
		for _, kc := range keyClasses {
			lo, hi, skip := afterKey(instPrefix(s.ns, kc), start, startClass, kc, passed)
			if skip {
				continue
			}
			passed = true
			for kv, err := range store.Chunked(ctx, s.c.st, lo, hi, 0) {
				if err != nil {
					yield(nil, err)
					return
				}
				name, err := cim.DecodeInstanceClassName(kv.Value)
				if err != nil {
					yield(nil, err)
					return
				}
				if name != lastName || lastCI == nil {
					lastName, lastWanted = name, want[cim.Fold(name)]
					if lastCI, err = s.c.resolve(ctx, s.ns, name); err == nil && lastCI == nil {
						err = cim.Errorf(cim.ECriticalError, "stored instance of missing class %s", name)
					}
					if err != nil {
						yield(nil, err)
						return
					}
				}
				if !lastWanted {
					continue
				}
				var inst *cim.Object
				if keysOnly {
					inst, err = lastCI.decodeKeys(kv.Value)
				} else {
					inst, err = lastCI.decode(kv.Value)
				}
				if err == nil {
					inst.Revision = kv.ModRev
				}
				if err == nil && amended {
					err = s.mergeAmended(ctx, inst, wctx)
				}
				if !yield(inst, err) || err != nil {
					return
				}
			}
		}
		for _, dci := range dynamic {
			p := s.c.dynamicProvider(ctx, s.ns, dci.cls)
			var insts source
			if qp, ok := p.(InstanceQuerier); ok && q != nil {
				insts = qp.ExecQuery(s.forProvider(ctx), s.ns, dci.cls.Class, q, wctx)
			} else if e, ok := p.(InstanceEnumerator); ok {
				insts = e.EnumerateInstances(s.forProvider(ctx), s.ns, dci.cls.Class, wctx)
			} else {
				yield(nil, cim.Errorf(cim.EProviderNotCapable, "no provider can enumerate %s", dci.cls.Class))
				return
			}
			for inst, err := range insts {
				if err != nil {
					yield(nil, providerError(p, err))
					return
				}
				if flags&FlagShallow != 0 && !cim.EqualFold(inst.Class, dci.cls.Class) {
					continue
				}
				if !yield(inst, nil) {
					return
				}
			}
		}
	}, nil
}
