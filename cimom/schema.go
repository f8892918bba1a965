package cimom

import (
	"context"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

const namespaceClass = "__Namespace"

// classInfo is a resolved class with what the rules need to know about it,
// computed once per resolution.
type classInfo struct {
	cls       *cim.Object // resolved; Namespace and Server set
	modRev    int64       // ModRev of the class's own record
	keyClass  string      // top-most class declaring the keys (the class itself if keyless)
	keys      []int       // indexes of key properties in cls.Properties
	indexed   []int       // indexes of Indexed properties
	notNull   []int       // indexes of Not_Null properties
	abstract  bool
	singleton bool
	dynamic   bool   // [Dynamic]: instances come from a provider
	provider  string // the Provider qualifier
	system    bool   // the class or an ancestor is a system class ("__" prefix)
	amendment bool   // carries the Amendment qualifier
	hasRefs   bool   // has a scalar reference property (reverse-reference index entries)

	// tmpl spawns and decodes the class's instances with the qualifiers
	// they have from the class shared, marked propagated, as
	// SpawnInstance gives them (nil if the class cannot spawn one).
	tmpl *cim.Template
}

// decode decodes a stored instance of the class, with the qualifiers it
// has from the class shared (see cim.Template.Decode).
func (ci *classInfo) decode(rec []byte) (*cim.Object, error) {
	if ci.tmpl != nil {
		return ci.tmpl.Decode(rec)
	}
	return cim.DecodeInstance(rec, ci.cls)
}

// decodeKeys is decode for the key properties alone.
func (ci *classInfo) decodeKeys(rec []byte) (*cim.Object, error) {
	if ci.tmpl != nil {
		return ci.tmpl.DecodeKeys(rec)
	}
	return cim.DecodeInstanceKeys(rec, ci.cls, ci.keys)
}

func newClassInfo(cls *cim.Object, modRev int64) *classInfo {
	ci := &classInfo{cls: cls, modRev: modRev, keyClass: cls.Class}
	qs := cls.Qualifiers
	// Abstract is the class's own property (DMTF declares it Restricted):
	// an inherited copy does not make a subclass abstract.
	if q, ok := cim.FindQualifier(qs, "Abstract"); ok && q.Flavor&cim.FlavorOriginPropagated == 0 {
		ci.abstract = cim.HasTrueQualifier(qs, "Abstract")
	}
	ci.singleton = cim.HasTrueQualifier(qs, "Singleton")
	ci.dynamic = cim.HasTrueQualifier(qs, "Dynamic")
	ci.amendment = cim.HasTrueQualifier(qs, "Amendment")
	if q, ok := cim.FindQualifier(qs, "Provider"); ok {
		ci.provider, _ = q.Value.V.(string)
	}
	ci.tmpl, _ = cim.NewTemplate(cls)
	ci.system = cim.IsSystemName(cls.Class)
	for _, d := range cls.Derivation {
		if cim.IsSystemName(d) {
			ci.system = true
		}
	}
	for i := range cls.Properties {
		p := &cls.Properties[i]
		if p.IsKey() {
			if len(ci.keys) == 0 && p.Origin != "" {
				ci.keyClass = p.Origin
			}
			ci.keys = append(ci.keys, i)
		}
		if p.Type == cim.TypeReference {
			ci.hasRefs = true
		}
		if cim.HasTrueQualifier(p.Qualifiers, "Indexed") {
			ci.indexed = append(ci.indexed, i)
		}
		if cim.HasTrueQualifier(p.Qualifiers, "Not_Null") {
			ci.notNull = append(ci.notNull, i)
		}
	}
	return ci
}

// schemaCache holds resolved classes. The change feed clears it when a
// class changes or goes (that class and every class derived from it may
// be stale): class writes are rare and resolution is cheap to redo.
// Lookups first try the names exactly as spelled (no folding, no
// allocation), then folded.
type schemaCache struct {
	mu    sync.RWMutex
	m     map[nameKey]*classInfo // folded names
	exact map[nameKey]*classInfo // names as callers spelled them
	max   int
	gen   uint64 // raised by clear: a resolution that began before may not insert
}

type nameKey struct{ ns, class string }

func newSchemaCache(max int) *schemaCache {
	return &schemaCache{m: map[nameKey]*classInfo{}, exact: map[nameKey]*classInfo{}, max: max}
}

func cacheKey(ns, class string) nameKey { return nameKey{cim.Fold(ns), cim.Fold(class)} }

func (sc *schemaCache) get(ns, class string) *classInfo {
	k := nameKey{ns, class}
	sc.mu.RLock()
	ci := sc.exact[k]
	sc.mu.RUnlock()
	if ci != nil {
		return ci
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	ci = sc.m[cacheKey(ns, class)]
	if ci != nil && len(sc.exact) < sc.max {
		sc.exact[k] = ci
	}
	return ci
}

// generation returns the cache's generation, to be read before reading
// the store for an insertion.
func (sc *schemaCache) generation() uint64 {
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	return sc.gen
}

// put inserts a resolution made from what the store held after generation
// gen began; it is dropped if the cache was cleared since.
func (sc *schemaCache) put(ns, class string, ci *classInfo, gen uint64) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if gen != sc.gen {
		return
	}
	if len(sc.m) >= sc.max {
		sc.m = map[nameKey]*classInfo{} // bounded: start over rather than grow
		sc.exact = map[nameKey]*classInfo{}
	}
	sc.m[cacheKey(ns, class)] = ci
}

func (sc *schemaCache) clear() {
	sc.mu.Lock()
	sc.m = map[nameKey]*classInfo{}
	sc.exact = map[nameKey]*classInfo{}
	sc.gen++
	sc.mu.Unlock()
}

// resolve returns the resolved class; nil (and no error) if it does not
// exist.
func (c *CIMOM) resolve(ctx context.Context, ns, class string) (*classInfo, error) {
	if ci := c.schema.get(ns, class); ci != nil {
		return ci, nil
	}
	gen := c.schema.generation()
	var chain []*cim.Object // the class, then its uncached ancestors
	var revs []int64
	var parent *cim.Object // the cached ancestor where the walk stopped
	name := class
	for depth := 0; name != ""; depth++ {
		if depth > 256 {
			return nil, cim.Errorf(cim.ECriticalError, "class %s: superclass chain too long or circular", class)
		}
		if depth > 0 {
			if ci := c.schema.get(ns, name); ci != nil {
				parent = ci.cls
				break
			}
		}
		kv, found, err := c.st.Get(ctx, classKey(ns, name))
		if err != nil {
			return nil, err
		}
		if !found {
			if depth == 0 {
				return nil, nil
			}
			return nil, cim.Errorf(cim.ECriticalError, "class %s: superclass %s is missing from the repository", class, name)
		}
		local, err := cim.DecodeClass(kv.Value)
		if err != nil {
			return nil, err
		}
		chain = append(chain, local)
		revs = append(revs, kv.ModRev)
		name = local.Superclass
	}
	// Derive from the top down, caching each level.
	var ci *classInfo
	for i := len(chain) - 1; i >= 0; i-- {
		cls, err := cim.Derive(parent, chain[i])
		if err != nil {
			return nil, cim.Errorf(cim.ECriticalError, "class %s does not resolve: %v", chain[i].Class, err)
		}
		cls.Namespace, cls.Server = ns, c.opts.Server
		ci = newClassInfo(cls, revs[i])
		c.schema.put(ns, cls.Class, ci, gen)
		parent = cls
	}
	return ci, nil
}

// subclasses returns the names of the direct subclasses of class ("" for
// the top-level classes).
func (c *CIMOM) subclasses(ctx context.Context, ns, class string) ([]string, error) {
	var out []string
	p := subPrefix(ns, class)
	for kv, err := range c.st.Range(ctx, p, store.PrefixEnd(p)) {
		if err != nil {
			return nil, err
		}
		out = append(out, string(kv.Value))
	}
	return out, nil
}

// deepSubclasses returns every class below class, parents before children.
func (c *CIMOM) deepSubclasses(ctx context.Context, ns, class string) ([]string, error) {
	var out []string
	queue := []string{class}
	for len(queue) > 0 {
		kids, err := c.subclasses(ctx, ns, queue[0])
		if err != nil {
			return nil, err
		}
		queue = append(queue[1:], kids...)
		out = append(out, kids...)
		if len(out) > 1<<20 {
			return nil, cim.Errorf(cim.ECriticalError, "class hierarchy below %s is too large or circular", class)
		}
	}
	return out, nil
}

// systemClasses returns WMI's system classes that every namespace holds,
// as declared.
func systemClasses() []*cim.Object {
	str := func(n string) cim.Property {
		return cim.Property{Name: n, Type: cim.TypeString, Value: cim.Null(cim.TypeString)}
	}
	typed := func(n string, t cim.Type, ref string) cim.Property {
		return cim.Property{Name: n, Type: t, RefClass: ref, Value: cim.Null(t)}
	}
	key := func(p cim.Property) cim.Property {
		p.Qualifiers = []cim.Qualifier{keyQualifier()}
		return p
	}
	class := systemClass
	out := []*cim.Object{
		class("__SystemClass", "", true),
		class(namespaceClass, "__SystemClass", false, key(str("Name"))),
		class("__NotifyStatus", "__SystemClass", false, typed("StatusCode", cim.TypeUint32, "")),
		class("__ExtendedStatus", "__NotifyStatus", false, str("Description"), str("Operation"), str("ParameterInfo"), str("ProviderName")),
		systemSecurityDecl(class("__SystemSecurity", "__SystemClass", false)),
		class("__IndicationRelated", "__SystemClass", true),
		class("__Event", "__IndicationRelated", true, typed("SECURITY_DESCRIPTOR", cim.TypeUint8.ArrayOf(), ""), typed("TIME_CREATED", cim.TypeUint64, "")),
		class("__InstanceOperationEvent", "__Event", true, typed("TargetInstance", cim.TypeObject, "")),
		class("__InstanceCreationEvent", "__InstanceOperationEvent", false),
		class("__InstanceDeletionEvent", "__InstanceOperationEvent", false),
		class("__InstanceModificationEvent", "__InstanceOperationEvent", false, typed("PreviousInstance", cim.TypeObject, "")),
		class("__ClassOperationEvent", "__Event", true, typed("TargetClass", cim.TypeObject, "")),
		class("__ClassCreationEvent", "__ClassOperationEvent", false),
		class("__ClassDeletionEvent", "__ClassOperationEvent", false),
		class("__ClassModificationEvent", "__ClassOperationEvent", false, typed("PreviousClass", cim.TypeObject, "")),
		class("__NamespaceOperationEvent", "__Event", true, typed("TargetNamespace", cim.TypeObject, namespaceClass)),
		class("__NamespaceCreationEvent", "__NamespaceOperationEvent", false),
		class("__NamespaceDeletionEvent", "__NamespaceOperationEvent", false),
		class("__NamespaceModificationEvent", "__NamespaceOperationEvent", false, typed("PreviousNamespace", cim.TypeObject, namespaceClass)),
	}
	subs, _ := wmiSubscriptionClasses()
	return onceEach(append(append(out, subs...), extrinsicClasses()...))
}

// isLocaleNamespace reports whether ns is a localization namespace
// (its last component is ms_<lcid>).
func isLocaleNamespace(ns string) bool {
	last := ns[strings.LastIndexByte(ns, '/')+1:]
	return len(last) > 3 && strings.EqualFold(last[:3], "ms_")
}
