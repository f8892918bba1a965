package cimom

import (
	"context"
	"fmt"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// assocSource answers ASSOCIATORS OF and REFERENCES OF, as MS-WMI
// §3.1.4.3.18 describes for repository data: the association classes are
// those with a reference property that can point at the source's class;
// their instances that refer to the source are the references, and the
// objects at their other references the associators.
func (s *services) assocSource(ctx context.Context, a *wql.Assoc, flags Flags, wctx *Context) (source, error) {
	qerr := func(at wql.Pos, st cim.Status, format string, args ...any) error {
		return (&wql.Error{Pos: at, Status: st, Msg: fmt.Sprintf(format, args...)}).CIMError()
	}
	t, op, err := s.target(ctx, a.Path)
	if err != nil {
		return nil, qerr(a.PathAt, cim.EInvalidObjectPath, "%s", cim.AsError(err).Description)
	}
	if t.ns != s.ns {
		return nil, qerr(a.PathAt, cim.EInvalidQuery, "the source must be in the query's namespace %s", s.ns)
	}
	srcCI, err := s.c.resolve(ctx, s.ns, op.Class)
	if err != nil {
		return nil, err
	}
	if srcCI == nil {
		return nil, qerr(a.PathAt, cim.EInvalidClass, "class %s does not exist in %s", op.Class, s.ns)
	}
	schema := op.IsClass()
	if schema != a.SchemaOnly && !(schema && a.ClassDefsOnly) {
		if schema {
			return nil, qerr(a.PathAt, cim.EInvalidQuery, "the source is a class: add SchemaOnly")
		}
		return nil, qerr(a.PathAt, cim.EInvalidQuery, "SchemaOnly needs a class as the source")
	}
	var srcKey, srcKeyClass, srcKeys string
	srcClass := srcCI.cls
	if !schema {
		ref, err := s.bindPath(ctx, op)
		if err != nil {
			e := cim.AsError(err)
			return nil, qerr(a.PathAt, e.Status, "%s", e.Description)
		}
		inst, err := s.getInstance(ctx, ref, wctx)
		if err != nil {
			e := cim.AsError(err)
			return nil, qerr(a.PathAt, e.Status, "%s", e.Description)
		}
		srcClass = s.classOf(ctx, inst.Class, srcClass)
		srcKey = canonicalKey(ref.ci, op)
		srcKeyClass, srcKeys = ref.ci.keyClass, ref.keys
	}
	force, _, _ := wctx.boolValue(ForceScan)
	useIndex := s.c.refIndex && !force
	for i, name := range []string{a.AssocClass, a.ResultClass} {
		if name == "" {
			continue
		}
		if ci, err := s.c.resolve(ctx, s.ns, name); err != nil || ci == nil {
			if err == nil {
				at := []wql.Pos{a.AssocClassAt, a.ResultClassAt}[i]
				err = qerr(at, cim.EInvalidClass, "class %s does not exist in %s", name, s.ns)
			}
			return nil, err
		}
	}
	assocs, err := s.associationClasses(ctx, srcClass, a)
	if err != nil {
		return nil, err
	}
	return func(yield func(*cim.Object, error) bool) {
		seenClass := map[string]bool{}
		emitClass := func(name string) bool {
			if seenClass[cim.Fold(name)] {
				return true
			}
			seenClass[cim.Fold(name)] = true
			ci, err := s.c.resolve(ctx, s.ns, name)
			if err != nil || ci == nil {
				return yield(nil, err)
			}
			return yield(ci.cls.Clone(), nil)
		}
		if schema {
			for _, ac := range assocs {
				if a.References {
					if resultOK(ac.ci.cls, a.ResultClass, a.RequiredQualifier) && !emitClass(ac.ci.cls.Class) {
						return
					}
					continue
				}
				for _, other := range ac.others {
					p := &ac.ci.cls.Properties[other]
					if p.RefClass == "" || (len(ac.roles) == 1 && ac.roles[0] == other) {
						continue // the source's own end
					}
					oc := s.classOf(ctx, p.RefClass, nil)
					if oc != nil && resultOK(oc, a.ResultClass, a.RequiredQualifier) && !emitClass(oc.Class) {
						return
					}
				}
			}
			return
		}
		keyOf := map[string]string{} // ref value -> canonical key
		// link handles one instance of the association class ac; false
		// stops the enumeration.
		link := func(ac *assocClass, link *cim.Object) bool {
			if !s.refersTo(ctx, link, ac.roles, srcKey, keyOf) {
				return true
			}
			if a.References {
				if !resultOK(s.classOf(ctx, link.Class, nil), a.ResultClass, a.RequiredQualifier) {
					return true
				}
				switch {
				case a.ClassDefsOnly:
					return emitClass(link.Class)
				case a.KeysOnly:
					return yield(keysOnly(link), nil)
				default:
					return yield(link, nil)
				}
			}
			for _, other := range ac.others {
				v := link.Properties[other].Value
				path, ok := v.V.(string)
				if !ok || s.canonicalOf(ctx, path, keyOf) == srcKey {
					continue
				}
				var end *cim.Object
				var err error
				if a.KeysOnly && !a.ClassDefsOnly {
					end, err = s.getKeys(ctx, path, wctx)
				} else {
					end, err = s.getObject(ctx, path, 0, wctx)
				}
				if cim.StatusOf(err) == cim.ENotFound {
					continue // a dangling reference
				}
				if err != nil {
					return yield(nil, err)
				}
				if !resultOK(s.classOf(ctx, end.Class, nil), a.ResultClass, a.RequiredQualifier) {
					continue
				}
				switch {
				case a.ClassDefsOnly:
					if !emitClass(end.Class) {
						return false
					}
				case a.KeysOnly:
					if !yield(keysOnly(end), nil) {
						return false
					}
				default:
					if !yield(end, nil) {
						return false
					}
				}
			}
			return true
		}
		scan := assocs
		if useIndex {
			// The repository's links come from the reverse-reference
			// index; provider-served association classes are scanned.
			scan = nil
			static := map[string]*assocClass{}
			for i := range assocs {
				if assocs[i].ci.dynamic {
					scan = append(scan, assocs[i])
				} else {
					static[cim.Fold(assocs[i].ci.cls.Class)] = &assocs[i]
				}
			}
			keys, err := s.c.refLinks(ctx, s.ns, srcKeyClass, srcKeys)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, k := range keys {
				kv, found, err := s.c.st.Get(ctx, k)
				if err != nil {
					yield(nil, err)
					return
				}
				if !found {
					continue // deleted since the index was read
				}
				name, err := cim.DecodeInstanceClassName(kv.Value)
				if err != nil {
					yield(nil, err)
					return
				}
				ac := static[cim.Fold(name)]
				if ac == nil {
					continue // not an association class the query covers
				}
				inst, _, err := s.c.decodeInstance(ctx, s.ns, kv.Value)
				if err != nil {
					yield(nil, err)
					return
				}
				if !link(ac, inst) {
					return
				}
			}
		}
		for i := range scan {
			src, err := s.instanceSource(ctx, scan[i].ci.cls.Class, FlagShallow|FlagForwardOnly, wctx)
			if err != nil {
				yield(nil, err)
				return
			}
			for inst, err := range src {
				if err != nil {
					yield(nil, err)
					return
				}
				if !link(&scan[i], inst) {
					return
				}
			}
		}
	}, nil
}

// assocClass is an association class that can refer to the source: roles
// are its reference properties that may hold the source, others those
// whose objects are associators (after ResultRole).
type assocClass struct {
	ci     *classInfo
	roles  []int
	others []int
}

func (s *services) associationClasses(ctx context.Context, src *cim.Object, a *wql.Assoc) ([]assocClass, error) {
	names, err := s.c.deepSubclasses(ctx, s.ns, "")
	if err != nil {
		return nil, err
	}
	var out []assocClass
	for _, name := range names {
		ci, err := s.c.resolve(ctx, s.ns, name)
		if err != nil {
			return nil, err
		}
		if ci == nil || ci.system {
			continue
		}
		cls := ci.cls
		if a.AssocClass != "" && !cim.EqualFold(cls.Class, a.AssocClass) && !cls.InheritsFrom(a.AssocClass) {
			continue
		}
		if a.RequiredAssocQualifier != "" && !hasQualifier(cls, a.RequiredAssocQualifier) {
			continue
		}
		var ac assocClass
		ac.ci = ci
		for i := range cls.Properties {
			p := &cls.Properties[i]
			if p.Type != cim.TypeReference {
				continue
			}
			canHold := p.RefClass == "" || cim.EqualFold(p.RefClass, src.Class) || src.InheritsFrom(p.RefClass)
			if canHold && (a.Role == "" || cim.EqualFold(a.Role, p.Name)) {
				ac.roles = append(ac.roles, i)
			}
			if a.ResultRole == "" || cim.EqualFold(a.ResultRole, p.Name) {
				ac.others = append(ac.others, i)
			}
		}
		if len(ac.roles) > 0 {
			out = append(out, ac)
		}
	}
	return out, nil
}

func hasQualifier(o *cim.Object, name string) bool {
	_, ok := cim.FindQualifier(o.Qualifiers, name)
	return ok
}

// resultOK applies ResultClass and RequiredQualifier to the class of a
// result.
func resultOK(cls *cim.Object, resultClass, requiredQualifier string) bool {
	if cls == nil {
		return false
	}
	if resultClass != "" && !cim.EqualFold(cls.Class, resultClass) && !cls.InheritsFrom(resultClass) {
		return false
	}
	return requiredQualifier == "" || hasQualifier(cls, requiredQualifier)
}

// refersTo reports whether one of the link's role properties holds the
// source.
func (s *services) refersTo(ctx context.Context, link *cim.Object, roles []int, srcKey string, keyOf map[string]string) bool {
	for _, i := range roles {
		if path, ok := link.Properties[i].Value.V.(string); ok && s.canonicalOf(ctx, path, keyOf) == srcKey {
			return true
		}
	}
	return false
}

// canonicalOf names the instance a reference value points at by its key
// class and keys, so that a path through a superclass or subclass name
// matches; "" when it does not resolve.
func (s *services) canonicalOf(ctx context.Context, path string, cache map[string]string) string {
	if k, ok := cache[path]; ok {
		return k
	}
	k := ""
	if op, err := cim.ParsePath(path); err == nil && !op.IsClass() {
		if ci, err := s.c.resolve(ctx, s.ns, op.Class); err == nil && ci != nil {
			k = canonicalKey(ci, op)
		}
	}
	cache[path] = k
	return k
}

func canonicalKey(ci *classInfo, op *cim.ObjectPath) string {
	return cim.Fold(ci.keyClass) + "\x00" + keyString(typedKeys(ci, op))
}

// typedKeys returns op with its key values read as the class's key
// properties read them (as read.go does for a lookup), so that a
// reference key written as text in a path folds as the reference it is
// (cim.KeyString); a value that does not convert is left as written.
func typedKeys(ci *classInfo, op *cim.ObjectPath) *cim.ObjectPath {
	if op.Singleton || len(op.Keys) == 0 {
		return op
	}
	out := *op
	out.Keys = make([]cim.KeyBinding, len(op.Keys))
	for i, kb := range op.Keys {
		name := kb.Name
		if name == "" && len(ci.keys) == 1 {
			name = ci.cls.Properties[ci.keys[0]].Name
		}
		if p, ok := ci.cls.Property(name); ok && p.IsKey() {
			if v, err := keyValue(kb.Value, p.Type); err == nil {
				kb = cim.KeyBinding{Name: p.Name, Value: v}
			}
		}
		out.Keys[i] = kb
	}
	return &out
}

// classOf returns the resolved class name, or def when it does not resolve.
func (s *services) classOf(ctx context.Context, name string, def *cim.Object) *cim.Object {
	ci, err := s.c.resolve(ctx, s.ns, name)
	if err != nil || ci == nil {
		return def
	}
	return ci.cls
}

// keysOnly keeps an instance's key properties (KeysOnly).
func keysOnly(inst *cim.Object) *cim.Object {
	out := *inst
	out.Properties = nil
	for i := range inst.Properties {
		if inst.Properties[i].IsKey() {
			out.Properties = append(out.Properties, inst.Properties[i])
		}
	}
	return &out
}
