package cimom

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// maxTxnRetries bounds how often a write is redone after another writer
// changed what it read (possible only across processes sharing a store).
const maxTxnRetries = 3

// PutInstance creates or updates an instance, in the order of WMI's
// processing (see SEMANTICS.md): parameters, namespace access, class
// resolution, static or dynamic rights, put extensions, keys and NULLs,
// path length, existence, the provider chain, the store, the event, and
// the result path.
func (s *services) PutInstance(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (string, error) {
	var path string
	err := s.call("PutInstance", func() error {
		if flags&FlagReturnImmediately != 0 {
			return cim.Errorf(cim.EInvalidParameter, "WBEM_FLAG_RETURN_IMMEDIATELY needs a call result (use PutInstanceCall)").WithParam("lFlags")
		}
		if err := s.checkPutInstance(inst, flags); err != nil {
			return err
		}
		var err error
		path, err = s.putInstance(ctx, inst, flags, wctx)
		return err
	})
	return path, err
}

// PutInstanceCall is PutInstance with a call result.
func (s *services) PutInstanceCall(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (*CallResult, error) {
	if err := s.checkPutInstance(inst, flags&^FlagReturnImmediately); err != nil {
		return nil, fail("PutInstance", err)
	}
	return s.startCall(ctx, "PutInstance", flags, func(ctx context.Context) (string, *cim.Object, error) {
		p, err := s.putInstance(ctx, inst, flags&^FlagReturnImmediately, wctx)
		return p, nil, err
	})
}

// startCall runs a semisynchronous operation under the drain gate.
func (s *services) startCall(ctx context.Context, op string, flags Flags, fn func(context.Context) (string, *cim.Object, error)) (*CallResult, error) {
	if err := s.c.enter(); err != nil {
		return nil, fail(op, err)
	}
	return runCall(ctx, flags&FlagReturnImmediately != 0, func(ctx context.Context) (string, *cim.Object, error) {
		defer s.c.leave()
		str, obj, err := fn(ctx)
		return str, obj, fail(op, err)
	}), nil
}

// checkPutInstance is step 1: the parameters.
func (s *services) checkPutInstance(inst *cim.Object, flags Flags) error {
	if inst == nil {
		return cim.Errorf(cim.EInvalidParameter, "no instance given").WithParam("pInst")
	}
	if inst.Genus != cim.GenusInstance {
		return cim.Errorf(cim.EInvalidObject, "PutInstance needs an instance, not a class").WithParam("pInst")
	}
	if err := checkFlags(flags, FlagCreateOnly|FlagUpdateOnly|FlagUseAmendedQualifiers|FlagReturnImmediately); err != nil {
		return err
	}
	_, err := putModeOf(flags)
	return err
}

// putExtensions is step 5: the context's __PUT_EXT_* values, by WMI's
// rules, whose property list must name properties of the class.
func putExtensions(wctx *Context, flags Flags, ci *classInfo) (PutOptions, error) {
	o, err := PutOptionsOf(flags, wctx)
	if err != nil {
		return o, err
	}
	if err := checkPutExtensions(wctx, o); err != nil {
		return o, err
	}
	for _, name := range o.Properties {
		if _, ok := ci.cls.Property(name); !ok {
			return o, cim.Errorf(cim.EInvalidContext, "%s names %s, which class %s does not have", PutExtProperties, name, ci.cls.Class).WithParam(name)
		}
	}
	return o, nil
}

// writeRight is step 4: the right a write of an instance of ci needs.
func writeRight(ci *classInfo) Rights {
	switch {
	case ci.dynamic:
		return RightWriteProvider
	case ci.system:
		return RightFullWrite
	}
	return RightPartialWrite
}

func (s *services) putInstance(ctx context.Context, inst *cim.Object, flags Flags, wctx *Context) (string, error) {
	// 2. Namespace access.
	if err := s.require(ctx, RightEnable); err != nil {
		return "", err
	}
	// A create-only write does not read the instance first: the commit's
	// compare proves it absent (on a networked engine a read is a round
	// trip). A failed compare is redone with the read, which names the
	// error (the instance exists) or sees the class changed.
	mode := putLock
	if flags&FlagCreateOnly != 0 {
		mode = putAssumeAbsent
	}
	for attempt := 0; ; attempt++ {
		path, err := s.putInstanceOnce(ctx, inst, flags, wctx, mode)
		if mode == putAssumeAbsent && errors.Is(err, errNeedsRead) {
			mode = putLock
			attempt--
			continue
		}
		if !errors.Is(err, store.ErrCompareFailed) {
			return path, err
		}
		if mode == putAssumeAbsent {
			mode = putLock
			attempt--
			continue
		}
		if attempt == maxTxnRetries {
			return "", cim.Errorf(cim.ETransactionConflict, "the instance or its class kept changing during the write; retry")
		}
		if err := s.c.sync(ctx); err != nil { // the class may have changed: bring the caches up to date
			return "", err
		}
	}
}

func (s *services) putInstanceOnce(ctx context.Context, in *cim.Object, flags Flags, wctx *Context, mode putMode) (string, error) {
	pp, unlock, err := s.preparePut(ctx, in, flags, wctx, mode)
	if unlock != nil {
		defer unlock()
	}
	if err != nil {
		return "", err
	}
	// 10. Store (static classes), then the event.
	if len(pp.ops) > 0 {
		if _, err := s.c.commit(ctx, pp.cmps, pp.ops); err != nil {
			if pp.called && errors.Is(err, store.ErrCompareFailed) {
				return "", cim.Errorf(cim.ETransactionConflict, "instance %s changed while its providers ran; the providers are not called again: retry", pp.rel)
			}
			return "", err
		}
	}
	// 11. The result: the relative path.
	return pp.rel, nil
}

// preparedPut is a validated PutInstance: the writes it takes, the guards
// they need, and what the event and the result report.
type preparedPut struct {
	rel        string
	inst, prev *cim.Object
	ops        []store.Op
	cmps       []store.Compare
	shared     bool // inst's properties are the caller's (see conform)
	called     bool // providers accepted the write: it is not redone
}

// errNeedsRead sends a putAssumeAbsent write back to putLock: a check
// failed that the instance's existence might have preceded.
var errNeedsRead = errors.New("cimom: the write must read the instance first")

// putMode says how preparePut tests existence.
type putMode int

const (
	// putLock reads the instance under its stripe lock, held until the
	// caller commits and runs unlock.
	putLock putMode = iota
	// putRead reads the instance without a lock: the commit's compares
	// guard against a concurrent writer.
	putRead
	// putAssumeAbsent does not read: for create-only writes the commit's
	// compare (ModRev 0) proves absence, and a failed compare sends the
	// caller back to putRead to name the precise error.
	putAssumeAbsent
)

// preparePut runs steps 3 to 9 of PutInstance and returns the writes of
// step 10 (see putMode for the existence test).
func (s *services) preparePut(ctx context.Context, in *cim.Object, flags Flags, wctx *Context, mode putMode) (preparedPut, func(), error) {
	var none preparedPut
	// 3. Class resolution.
	ci, err := s.c.resolve(ctx, s.ns, in.Class)
	if err != nil {
		return none, nil, err
	}
	if ci == nil {
		return none, nil, cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", in.Class, s.ns).WithParam(in.Class)
	}
	cls := ci.cls
	switch {
	case ci.abstract:
		return none, nil, cim.Errorf(cim.EInvalidOperation, "class %s is abstract: it cannot have instances", cls.Class).WithParam(cls.Class)
	case ci.amendment:
		return none, nil, cim.Errorf(cim.EInvalidOperation, "class %s carries the Amendment qualifier: it cannot have instances", cls.Class).WithParam(cls.Class)
	case isLocaleNamespace(s.ns):
		return none, nil, cim.Errorf(cim.EInvalidOperation, "classes in the localization namespace %s behave as abstract", s.ns).WithParam(cls.Class)
	}
	if flags&FlagUseAmendedQualifiers == 0 && hasAmended(in) {
		return none, nil, cim.Errorf(cim.EAmendedObject, "the instance carries amended qualifiers; write it with WBEM_FLAG_USE_AMENDED_QUALIFIERS").WithParam("lFlags")
	}
	// 4. Static or dynamic, and the right that takes.
	if err := s.require(ctx, writeRight(ci)); err != nil {
		return none, nil, err
	}
	var owner InstanceProvider
	if ci.dynamic {
		owner = s.c.dynamicProvider(ctx, s.ns, cls)
		if owner == nil {
			return none, nil, cim.Errorf(cim.EProviderNotCapable, "no provider serves the dynamic class %s", cls.Class).WithParam(cls.Class)
		}
	}
	// The provider chain (step 9), top first; for a dynamic class the
	// owner provider writes the data. Providers are never called under
	// the instance's lock: with a chain, existence is read without it and
	// the commit's compares catch a concurrent writer.
	chain := s.c.providerChain(ctx, s.ns, cls)
	if ci.dynamic && !containsProvider(chain, owner) {
		chain = append(chain, owner)
	}
	if len(chain) > 0 {
		mode = putRead
	}
	// 5. Put extensions.
	ext, err := putExtensions(wctx, flags, ci)
	if err != nil {
		return none, nil, err
	}
	// Build the instance as the class defines it.
	inst, shared, omitted, err := conform(in, ci, flags&FlagUseAmendedQualifiers != 0)
	if err != nil {
		return none, nil, err
	}
	// 6. Keys and NULLs (for a partial update, after the merge below).
	if len(ci.keys) == 0 && !ci.singleton {
		return none, nil, cim.Errorf(cim.ENoKey, "class %s has no key and is not a singleton", cls.Class).WithParam(cls.Class)
	}
	if err := s.indicationDefaults(ci, inst, &shared); err != nil {
		return none, nil, err
	}
	if err := fillKeys(inst, ci, &shared); err != nil {
		return none, nil, err
	}
	op, err := inst.ObjectPath()
	if err != nil {
		return none, nil, err
	}
	// 7. Path length.
	rel := op.RelPath()
	if len(rel) > cim.MaxPathLen {
		return none, nil, cim.Errorf(cim.EQuotaViolation, "__RELPATH of %d characters is longer than %d", len(rel), cim.MaxPathLen).WithParam("__RELPATH")
	}
	keyStr := keyString(op)
	ik := instKey(s.ns, ci.keyClass, keyStr)

	var unlock func()
	if mode == putLock {
		m := s.c.lockFor(ik)
		m.Lock()
		unlock = m.Unlock
	}
	bail := func(err error) (preparedPut, func(), error) { return none, unlock, err }

	// 8. Existence, within the key-defining hierarchy.
	var prev *cim.Object
	var prevRec []byte
	var prevRev int64
	unread := !ci.dynamic && mode == putAssumeAbsent && flags&FlagCreateOnly != 0
	if !ci.dynamic && !unread {
		kv, found, err := s.c.st.Get(ctx, ik)
		if err != nil {
			return bail(err)
		}
		if found {
			storedClass, err := cim.DecodeInstanceClassName(kv.Value)
			if err != nil {
				return bail(err)
			}
			if !cim.EqualFold(storedClass, cls.Class) {
				return bail(cim.Errorf(cim.EAlreadyExists, "an instance with these keys exists as class %s; delete it before creating it as %s", storedClass, cls.Class).WithParam(rel))
			}
			pci, err := s.c.resolve(ctx, s.ns, storedClass)
			if err != nil {
				return bail(err)
			}
			if prev, err = pci.decode(kv.Value); err != nil {
				return bail(err)
			}
			prevRec, prevRev = kv.Value, kv.ModRev
		}
	}
	// A dynamic instance is its provider's: as in WMI, the owner gets the
	// flags and the context and answers for existence
	// (WBEM_E_ALREADY_EXISTS, WBEM_E_NOT_FOUND) and for a partial update
	// (WBEM_E_PROVIDER_NOT_CAPABLE if it takes none).
	switch {
	case ci.dynamic:
	case prev != nil && flags&FlagCreateOnly != 0:
		return bail(cim.Errorf(cim.EAlreadyExists, "instance %s already exists", rel).WithParam(rel))
	case prev == nil && flags&FlagUpdateOnly != 0:
		return bail(cim.Errorf(cim.ENotFound, "instance %s does not exist", rel).WithParam(rel))
	}
	// Keys are compared folded (cim.KeyString); the instance keeps the
	// key values it was created with, whatever the case of an update's.
	if prev != nil && keepKeyCase(inst, prev, ci, &shared) {
		if op, err = inst.ObjectPath(); err != nil {
			return bail(err)
		}
		rel = op.RelPath()
	}
	if err := checkRevision(wctx, rel, prevRev, ci.dynamic); err != nil {
		return bail(err)
	}
	partial := ext.Properties != nil
	if len(omitted) > 0 && !partial && prev == nil && (!ci.dynamic || flags&FlagCreateOnly != 0) {
		withDefaults(inst, cls, omitted) // conform made inst: not shared
	}
	if partial && !ci.dynamic {
		inst, shared = mergePartial(prev, inst, ext), false
	}
	// A check that fails after step 8 when existence was not read may
	// hide the error existence gives first (WBEM_E_ALREADY_EXISTS): the
	// caller redoes the write with the read (no provider has run then).
	checked := func(err error) error {
		if unread {
			return errNeedsRead
		}
		return err
	}
	if !(partial && ci.dynamic) { // a partial dynamic instance holds only its keys and the named properties
		if err := checkNulls(inst, ci); err != nil {
			return bail(checked(err))
		}
	}
	if err := s.registrationPut(ctx, ci, inst); err != nil {
		return bail(checked(err))
	}
	extraOps, err := s.indicationPut(ctx, ci, inst, prev, keyStr)
	if err != nil {
		return bail(err)
	}
	// 9. The provider chain.
	if len(chain) > 0 {
		own(inst, &shared) // providers may change it
	}
	for _, p := range chain {
		if err := p.PutInstance(s.forProvider(ctx), s.ns, inst, flags, wctx); err != nil {
			return bail(providerError(p, err))
		}
	}
	// A provider may have assigned keys.
	if op2, err := inst.ObjectPath(); err == nil && keyString(op2) != keyStr {
		return bail(cim.Errorf(cim.EProviderFailure, "a provider changed the keys of %s", rel))
	}
	inst.Namespace, inst.Server = s.ns, s.c.opts.Server
	pp := preparedPut{rel: rel, inst: inst, prev: prev, shared: shared, called: len(chain) > 0}
	if !ci.dynamic {
		pp.ops = []store.Op{store.Put(ik, cim.EncodeInstance(nil, inst))}
		pp.ops = append(pp.ops, indexOps(s.ns, ci, prev, inst, keyStr)...)
		pp.ops = append(pp.ops, extraOps...)
		rops, err := s.c.refOps(ctx, s.ns, ci.keyClass, keyStr, prev, inst)
		if err != nil {
			return bail(err)
		}
		pp.ops = append(pp.ops, rops...)
		pp.cmps = []store.Compare{{Key: ik, ModRev: prevRev}, {Key: classKey(s.ns, cls.Class), ModRev: ci.modRev}}
		if cim.EqualFold(cls.Class, namespaceClass) || cls.InheritsFrom(namespaceClass) {
			nsOps, nsCmps, err := s.c.childNamespaceOps(ctx, s.ns, inst, prev != nil)
			if err != nil {
				return bail(err)
			}
			pp.ops, pp.cmps = append(pp.ops, nsOps...), append(pp.cmps, nsCmps...)
		}
		pp.ops[0].Note = s.c.noteInstance(ctx, ci, inst, prev, prevRec) // last: it may set prev's Namespace
	}
	return pp, unlock, nil
}

// keepKeyCase gives inst the key values of prev (the stored instance with
// the same folded keys) where they differ in case; it reports whether it
// changed any.
func keepKeyCase(inst, prev *cim.Object, ci *classInfo, shared *bool) bool {
	changed := false
	for _, i := range ci.keys {
		name := ci.cls.Properties[i].Name
		pp, ok := prev.Property(name)
		if !ok {
			continue
		}
		for j := range inst.Properties {
			p := &inst.Properties[j]
			if !cim.EqualFold(p.Name, name) || p.Value.Equal(pp.Value) {
				continue
			}
			own(inst, shared)
			inst.Properties[j].Value = pp.Value
			changed = true
		}
	}
	return changed
}

func containsProvider(chain []InstanceProvider, p InstanceProvider) bool {
	for _, q := range chain {
		if q == p {
			return true
		}
	}
	return false
}

func (c *CIMOM) lockFor(k []byte) *sync.Mutex {
	h := fnv.New32a()
	h.Write(k)
	return &c.locks[h.Sum32()%uint32(len(c.locks))]
}

// keyString is the storage form of an instance path's keys.
func keyString(op *cim.ObjectPath) string {
	if op.Singleton {
		return "@"
	}
	return cim.KeyString(op.Keys)
}

// hasAmended reports whether an object carries Amended-flavor qualifiers.
func hasAmended(o *cim.Object) bool {
	for _, q := range o.Qualifiers {
		if q.Flavor&cim.FlavorAmended != 0 && q.Flavor&cim.FlavorOriginPropagated == 0 {
			return true
		}
	}
	for i := range o.Properties {
		for _, q := range o.Properties[i].Qualifiers {
			if q.Flavor&cim.FlavorAmended != 0 && q.Flavor&cim.FlavorOriginPropagated == 0 {
				return true
			}
		}
	}
	return false
}

// conform returns the instance as its class defines it: one property per
// class property, each value converted to the declared type. A property the
// class does not have is WBEM_E_INVALID_PROPERTY; a value that does not
// convert is WBEM_E_TYPE_MISMATCH. Instance qualifiers that do not come
// from the class are kept (except Key, which cannot be added per
// instance); amended ones are dropped when stripAmended is set.
//
// When in already has the class's shape (as an instance made by
// SpawnInstance of the class does), the result shares in's property slice
// instead of copying it, and shared is true: the caller must copy it
// before changing a property (see own) and before handing the object to
// anyone who keeps it.
//
// omitted lists, in class order, the class properties in did not carry:
// they are NULL in out, and take the class's default when the instance is
// created (see withDefaults).
func conform(in *cim.Object, ci *classInfo, stripAmended bool) (out *cim.Object, shared bool, omitted []int, err error) {
	cls := ci.cls
	if conformant(in, ci) {
		return &cim.Object{Genus: cim.GenusInstance, Class: cls.Class, Superclass: cls.Superclass, Derivation: cls.Derivation,
			Qualifiers: ci.tmpl.Qualifiers(), Properties: in.Properties}, true, nil, nil
	}
	given := make([]bool, len(cls.Properties))
	out = &cim.Object{Genus: cim.GenusInstance, Class: cls.Class, Superclass: cls.Superclass, Derivation: cls.Derivation,
		Qualifiers: ci.tmpl.Qualifiers(), Properties: make([]cim.Property, len(cls.Properties))}
	for i := range cls.Properties {
		p := &cls.Properties[i]
		out.Properties[i] = cim.Property{Name: p.Name, Type: p.Type, RefClass: p.RefClass, ArraySize: p.ArraySize,
			Value: cim.Null(p.Type), Qualifiers: ci.tmpl.PropertyQualifiers(i), Origin: p.Origin, Propagated: true}
	}
	for i := range in.Properties {
		p := &in.Properties[i]
		if cim.IsSystemName(p.Name) {
			continue
		}
		// Properties usually arrive in class order: try position i first.
		var dst *cim.Property
		j := -1
		if i < len(out.Properties) && out.Properties[i].Name == p.Name {
			j = i
		} else {
			for k := range out.Properties {
				if cim.EqualFold(out.Properties[k].Name, p.Name) {
					j = k
					break
				}
			}
		}
		if j < 0 {
			return nil, false, nil, cim.Errorf(cim.EInvalidProperty, "class %s has no property %s", cls.Class, p.Name).WithParam(p.Name)
		}
		dst, given[j] = &out.Properties[j], true
		v, err := cim.Convert(p.Value, dst.Type)
		if err != nil {
			return nil, false, nil, cim.AsError(err).WithParam(p.Name)
		}
		dst.Value = v
		qs, err := mergeInstanceQualifiers(dst.Qualifiers, p.Qualifiers, stripAmended, true)
		if err != nil {
			return nil, false, nil, cim.AsError(err).WithParam(p.Name)
		}
		dst.Qualifiers = qs
	}
	qs, err := mergeInstanceQualifiers(out.Qualifiers, in.Qualifiers, stripAmended, false)
	if err != nil {
		return nil, false, nil, err
	}
	out.Qualifiers = qs
	for i, g := range given {
		if !g {
			omitted = append(omitted, i)
		}
	}
	return out, false, omitted, nil
}

// withDefaults gives the properties a new instance omitted the class's
// default values: an instance is created as the class spawns it (WMI's
// SpawnInstance; DSP0200 1.4 §5.3.2.6 CreateInstance: a property NewInstance
// does not carry takes its default value from the class). A property given
// as NULL stays NULL.
func withDefaults(inst *cim.Object, cls *cim.Object, omitted []int) {
	for _, i := range omitted {
		if d := cls.Properties[i].Value; !d.IsNull() {
			inst.Properties[i].Value = cim.CloneValue(d)
		}
	}
}

// conformant reports whether in already has the class's shape: the
// class's properties in its order, with its types and origins, values of
// the declared types, and no qualifier of its own.
func conformant(in *cim.Object, ci *classInfo) bool {
	cls := ci.cls
	if len(in.Properties) != len(cls.Properties) {
		return false
	}
	for _, q := range in.Qualifiers {
		if q.Flavor&cim.FlavorOriginPropagated == 0 {
			return false
		}
	}
	for i := range in.Properties {
		p, c := &in.Properties[i], &cls.Properties[i]
		if p.Name != c.Name || p.Type != c.Type || p.Value.Type != c.Type || p.RefClass != c.RefClass ||
			p.ArraySize != c.ArraySize || p.Origin != c.Origin || !p.Propagated {
			return false
		}
		for _, q := range p.Qualifiers {
			if q.Flavor&cim.FlavorOriginPropagated == 0 {
				return false
			}
		}
	}
	return true
}

// own gives inst a property slice of its own if conform shared the
// caller's.
func own(inst *cim.Object, shared *bool) {
	if *shared {
		inst.Properties = slices.Clone(inst.Properties)
		*shared = false
	}
}

// mergeInstanceQualifiers lays the qualifiers an instance carries over the
// ones it has from its class: a qualifier equal to the class's is the
// class's own; a different value overrides it unless the class's is
// DisableOverride (WBEM_E_OVERRIDE_NOT_ALLOWED); a new one is the
// instance's own, except Key on a property (WBEM_E_CANNOT_BE_KEY). The
// class's slice is never modified.
func mergeInstanceQualifiers(fromClass, given []cim.Qualifier, stripAmended, property bool) ([]cim.Qualifier, error) {
	out := fromClass
	copied := false
	for _, q := range given {
		if q.Flavor&cim.FlavorOriginPropagated != 0 || (stripAmended && q.Flavor&cim.FlavorAmended != 0) {
			continue
		}
		if cur, ok := cim.FindQualifier(out, q.Name); ok {
			if cur.Value.Equal(q.Value) {
				continue
			}
			if cur.Flavor&cim.FlavorDisableOverride != 0 {
				return nil, cim.Errorf(cim.EOverrideNotAllowed, "qualifier %s cannot be overridden", q.Name).WithParam(q.Name)
			}
		} else if property && cim.EqualFold(q.Name, "Key") {
			return nil, cim.Errorf(cim.ECannotBeKey, "the Key qualifier cannot be added to an instance property")
		}
		if !copied {
			out = append([]cim.Qualifier(nil), out...)
			copied = true
		}
		if cur, ok := cim.FindQualifier(out, q.Name); ok {
			*cur = q
		} else {
			out = append(out, q)
		}
	}
	return out, nil
}

// fillKeys gives a NULL string key a new GUID (WMI's rule; the text form
// is "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}", upper case, as WMI prints
// GUIDs). Any other NULL key is WBEM_E_ILLEGAL_NULL, and a string key may
// not hold characters below U+0020.
func fillKeys(inst *cim.Object, ci *classInfo, shared *bool) error {
	for _, i := range ci.keys {
		p := &inst.Properties[i]
		if p.Value.IsNull() {
			if p.Type != cim.TypeString {
				return cim.Errorf(cim.EIllegalNull, "key property %s is NULL", p.Name).WithParam(p.Name)
			}
			own(inst, shared)
			p = &inst.Properties[i]
			p.Value = cim.Value{Type: cim.TypeString, V: newGUID()}
			continue
		}
		if str, ok := p.Value.V.(string); ok {
			for _, r := range str {
				if r < 0x20 {
					return cim.Errorf(cim.EInvalidParameter, "key property %s holds a control character", p.Name).WithParam(p.Name)
				}
			}
		}
	}
	return nil
}

// checkNulls applies Not_Null and Indexed: such properties may not be NULL.
func checkNulls(inst *cim.Object, ci *classInfo) error {
	for _, list := range [][]int{ci.notNull, ci.indexed} {
		for _, i := range list {
			if p := &inst.Properties[i]; p.Value.IsNull() {
				return cim.Errorf(cim.EIllegalNull, "property %s may not be NULL", p.Name).WithParam(p.Name)
			}
		}
	}
	return nil
}

// mergePartial lays the listed properties of in over the stored instance.
// Without strict NULLs a NULL listed value leaves the stored value as it
// is (WMI's provider guidance); with it, the value becomes NULL.
func mergePartial(prev, in *cim.Object, ext PutOptions) *cim.Object {
	out := prev.Clone()
	// Property qualifiers come from the written instance, conformed to
	// the class: a decoded instance's property qualifiers include the
	// class's unmarked, and written back they would be stored as its own.
	for i := range out.Properties {
		if i < len(in.Properties) && cim.EqualFold(in.Properties[i].Name, out.Properties[i].Name) {
			out.Properties[i].Qualifiers = in.Properties[i].Qualifiers
		}
	}
	for _, name := range ext.Properties {
		src, _ := in.Property(name)
		dst, _ := out.Property(name)
		if src.Value.IsNull() && !ext.StrictNulls {
			continue
		}
		dst.Value = src.Value
	}
	return out
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("{%x-%x-%x-%x-%x}", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// indexOps writes the secondary index entries of inst's Indexed properties
// and removes those of prev that changed.
func indexOps(ns string, ci *classInfo, prev, inst *cim.Object, keys string) []store.Op {
	var ops []store.Op
	for _, i := range ci.indexed {
		name := ci.cls.Properties[i].Name
		nv := inst.Properties[i].Value
		if prev != nil {
			if pp, ok := prev.Property(name); ok && !pp.Value.IsNull() {
				if pp.Value.Equal(nv) {
					continue
				}
				ops = append(ops, store.Delete(idxKey(ns, ci.keyClass, name, pp.Value, keys)))
			}
		}
		if !nv.IsNull() && !nv.Type.IsArray() {
			ops = append(ops, store.Put(idxKey(ns, ci.keyClass, name, nv, keys), nil))
		}
	}
	return ops
}
