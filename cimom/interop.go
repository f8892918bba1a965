package cimom

import (
	"context"
	"fmt"
	"iter"

	"github.com/wbemd/wbemd/cim"
)

// The interop namespace (DSP1033, Profile Registration) is where a client
// that knows nothing of a WBEM server discovers it: pywbem's WBEMServer
// and SMI-S tools look for CIM_Namespace in "interop", "root/interop" or
// OpenPegasus's "root/PG_InterOp", then read CIM_ObjectManager,
// CIM_Namespace and CIM_RegisteredProfile there. wbemd keeps it in
// root/interop and answers the other two names as aliases of it (when no
// namespace of that name exists). Its discovery classes are served by an
// in-process provider that reads the repository's namespace list at each
// call, so they are never stale; nothing of them is stored but the class
// declarations.

// InteropNamespace is the interop namespace.
const InteropNamespace = "root/interop"

// interopAliases are the other names clients probe for the interop
// namespace, folded.
var interopAliases = []string{"interop", "root/pg_interop"}

// interopAlias returns the interop namespace when ns is one of its
// aliases.
func interopAlias(ns string) (string, bool) {
	f := cim.Fold(ns)
	for _, a := range interopAliases {
		if f == a {
			return InteropNamespace, true
		}
	}
	return "", false
}

// The concrete discovery classes, served by interopProvider.
const (
	objectManagerClass         = "CIM_ObjectManager"
	namespaceInstanceClass     = "CIM_Namespace"
	namespaceInManagerClass    = "CIM_NamespaceInManager"
	registeredProfileClass     = "CIM_RegisteredProfile"
	elementConformsToProfile   = "CIM_ElementConformsToProfile"
	computerSystemClass        = "CIM_ComputerSystem"
	objectManagerName          = "wbemd"
	profileRegistrationName    = "Profile Registration"
	profileRegistrationVersion = "1.0.0"
)

// interopClasses returns the classes of the interop namespace, as
// declared, parents first: a part of the DMTF CIM schema 2.49 (the keys,
// and the properties discovery reads), with the concrete classes [Dynamic]
// and served by wbemd.
func interopClasses() []*cim.Object {
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	str, u16 := cim.TypeString, cim.TypeUint16
	prop := nullProp
	ref := func(name, class string) cim.Property { return refProp(name, class, keyQualifier()) }
	key := keyQualifier()
	list := func(name string, v ...string) cim.Qualifier {
		return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeString.ArrayOf(), V: v}, Flavor: cim.FlavorToSubclass}
	}
	override := func(name string) cim.Qualifier {
		return cim.Qualifier{Name: "Override", Value: cim.Value{Type: cim.TypeString, V: name}, Flavor: cim.FlavorToSubclass}
	}
	class := func(name, super string, names []string, props ...cim.Property) *cim.Object {
		var quals []cim.Qualifier
		for _, q := range names {
			switch q {
			case "Provider":
				quals = append(quals, cim.Qualifier{Name: q, Value: cim.Value{Type: cim.TypeString, V: providerSelf}})
			case "Association":
				quals = append(quals, cim.Qualifier{Name: q, Value: yes, Flavor: cim.FlavorToSubclass | cim.FlavorDisableOverride})
			default:
				quals = append(quals, cim.Qualifier{Name: q, Value: yes})
			}
		}
		return declaredClass(name, super, quals, props...)
	}
	abstract := []string{"Abstract"}
	served := []string{"Dynamic", "Provider"}
	return []*cim.Object{
		class("CIM_ManagedElement", "", abstract,
			prop("InstanceID", str), prop("Caption", str), prop("Description", str), prop("ElementName", str)),
		class("CIM_ManagedSystemElement", "CIM_ManagedElement", abstract, prop("Name", str)),
		class("CIM_LogicalElement", "CIM_ManagedSystemElement", abstract),
		class("CIM_EnabledLogicalElement", "CIM_LogicalElement", abstract,
			prop("EnabledState", u16,
				list("ValueMap", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11..32767", "32768..65535"),
				list("Values", "Unknown", "Other", "Enabled", "Disabled", "Shutting Down", "Not Applicable", "Enabled but Offline",
					"In Test", "Deferred", "Quiesce", "Starting", "DMTF Reserved", "Vendor Reserved"))),
		class("CIM_Service", "CIM_EnabledLogicalElement", abstract,
			prop("SystemCreationClassName", str, key), prop("SystemName", str, key), prop("CreationClassName", str, key),
			prop("Name", str, key, override("Name")), prop("Started", cim.TypeBoolean)),
		class("CIM_WBEMService", "CIM_Service", abstract),
		class(objectManagerClass, "CIM_WBEMService", served, prop("GatherStatisticalData", cim.TypeBoolean)),
		class(namespaceInstanceClass, "CIM_ManagedElement", served,
			prop("SystemCreationClassName", str, key), prop("SystemName", str, key),
			prop("ObjectManagerCreationClassName", str, key), prop("ObjectManagerName", str, key),
			prop("CreationClassName", str, key), prop("Name", str, key),
			prop("ClassInfo", u16,
				list("ValueMap", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "200", "201", "202"),
				list("Values", "Unknown", "Other", "CIM 1.0", "CIM 2.0", "CIM 2.1", "CIM 2.2", "CIM 2.3", "CIM 2.4", "CIM 2.5",
					"CIM 2.6", "CIM 2.7", "CIM 2.8", "DMI Recast", "SNMP Recast", "CMIP Recast")),
			prop("ClassType", u16,
				list("ValueMap", "0", "1", "2", "200", "201", "202"),
				list("Values", "Unknown", "Other", "CIM", "DMI Recast", "SNMP Recast", "CMIP Recast"))),
		class("CIM_Dependency", "", []string{"Association", "Abstract"},
			ref("Antecedent", "CIM_ManagedElement"), ref("Dependent", "CIM_ManagedElement")),
		class("CIM_HostedDependency", "CIM_Dependency", []string{"Association", "Abstract"},
			ref("Antecedent", "CIM_ManagedElement"), ref("Dependent", "CIM_ManagedElement")),
		class(namespaceInManagerClass, "CIM_HostedDependency", append([]string{"Association"}, served...),
			ref("Antecedent", objectManagerClass), ref("Dependent", namespaceInstanceClass)),
		class("CIM_RegisteredSpecification", "CIM_ManagedElement", abstract,
			prop("InstanceID", str, key, override("InstanceID")),
			prop("RegisteredOrganization", u16,
				list("ValueMap", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18",
					"19", "20", "21", ".."),
				list("Values", "Other", "DMTF", "CompTIA", "Consortium for Service Innovation", "FAST", "GGF", "INTAP", "itSMF",
					"NAC", "Northwest Energy Efficiency Alliance", "SNIA", "TM Forum", "The Open Group", "ANSI", "IEEE", "IETF",
					"INCITS", "ISO", "W3C", "OGF", "The Green Grid", "DMTF Reserved")),
			prop("OtherRegisteredOrganization", str), prop("RegisteredName", str), prop("RegisteredVersion", str),
			prop("AdvertiseTypes", u16.ArrayOf(),
				list("ValueMap", "1", "2", "3", "4"), list("Values", "Other", "Not Advertised", "SLP", "WS-Identify")),
			prop("AdvertiseTypeDescriptions", str.ArrayOf())),
		class(registeredProfileClass, "CIM_RegisteredSpecification", served),
		class(elementConformsToProfile, "", append([]string{"Association"}, served...),
			ref("ConformantStandard", registeredProfileClass), ref("ManagedElement", "CIM_ManagedElement")),
	}
}

func keyQualifier() cim.Qualifier {
	return cim.Qualifier{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass | cim.FlavorToInstance | cim.FlavorDisableOverride}
}

// ServeInterop creates the interop namespace if it is missing (through
// CreateNamespace's path; its own ACE lets every authenticated user read
// it, remotely too, besides what it inherits from root), declares there the
// discovery classes it lacks (a class already declared, by a schema
// compiled into the namespace, is kept), and serves their instances: one
// CIM_ObjectManager (ElementName "wbemd", Description "wbemd version
// <version>"), a CIM_Namespace and a CIM_NamespaceInManager per namespace
// of the repository, and the CIM_RegisteredProfile of each DMTF profile
// wbemd implements — Profile Registration 1.0.0 (DSP1033), tied to the
// object manager by CIM_ElementConformsToProfile.
func (c *CIMOM) ServeInterop(ctx context.Context, version string) error {
	// Any authenticated user may discover the server, remotely too.
	own := &SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators, DACL: []ACE{
		{Trustee: GroupAuthenticatedUsers, Mask: RightEnable | RightRemoteEnable, Flags: ACEContainerInherit}}}
	if _, err := c.CreateNamespaceWith(ctx, InteropNamespace, self, own); err != nil && cim.StatusOf(err) != cim.ETransactionConflict {
		return fmt.Errorf("cimom: interop namespace: %w", err)
	}
	if err := c.DeclareClasses(ctx, InteropNamespace, append(interopClasses(), indicationClasses()...)); err != nil {
		return fmt.Errorf("cimom: interop classes: %w", err)
	}
	if err := c.serveIndications(ctx); err != nil {
		return fmt.Errorf("cimom: indication service: %w", err)
	}
	if err := c.serveSubscriptions(ctx); err != nil {
		return err
	}
	p := &interopProvider{c: c, version: version}
	for _, class := range []string{objectManagerClass, namespaceInstanceClass, namespaceInManagerClass, registeredProfileClass, elementConformsToProfile} {
		if err := c.RegisterProvider(InteropNamespace, class, p); err != nil {
			return err
		}
	}
	return nil
}

// interopProvider serves the discovery classes of the interop namespace.
type interopProvider struct {
	c       *CIMOM
	version string
}

var (
	_ InstanceGetter     = (*interopProvider)(nil)
	_ InstanceEnumerator = (*interopProvider)(nil)
)

func (p *interopProvider) Name() string { return providerSelf }

func (p *interopProvider) PutInstance(ctx context.Context, ns string, inst *cim.Object, flags Flags, wctx *Context) error {
	return cim.Errorf(cim.EProviderNotCapable, "%s is served by wbemd and read-only: namespaces are created with __Namespace instances or `wbem ns create`", inst.Class)
}

// GetInstance finds the instance of path's class with path's keys.
func (p *interopProvider) GetInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *Context) (*cim.Object, error) {
	for inst, err := range p.EnumerateInstances(ctx, ns, path.Class, wctx) {
		if err != nil {
			return nil, err
		}
		if sameKeys(inst, path) {
			return inst, nil
		}
	}
	return nil, cim.Errorf(cim.ENotFound, "instance %s does not exist", path.RelPath()).WithParam(path.RelPath())
}

// sameKeys reports whether inst has the key values of path: strings
// compared without regard to case, references as object paths.
func sameKeys(inst *cim.Object, path *cim.ObjectPath) bool {
	for _, k := range path.Keys {
		v, err := inst.Get(k.Name)
		if err != nil {
			return false
		}
		want, _ := k.Value.V.(string)
		have, _ := v.V.(string)
		switch v.Type {
		case cim.TypeReference:
			a, errA := cim.ParsePath(have)
			b, errB := cim.ParsePath(want)
			if errA != nil || errB != nil || !cim.EqualPaths(a, b) {
				return false
			}
		case cim.TypeString:
			if !cim.EqualFold(have, want) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// EnumerateInstances yields the instances of class, read from the
// namespace list of the moment.
func (p *interopProvider) EnumerateInstances(ctx context.Context, ns, class string, wctx *Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		ci, err := p.c.resolve(ctx, ns, class)
		if err == nil && ci == nil {
			err = cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", class, ns)
		}
		if err != nil {
			yield(nil, err)
			return
		}
		host := p.c.opts.Server
		om := p.objectManagerPath(ns)
		profile := &cim.ObjectPath{Namespace: ns, Class: registeredProfileClass, Keys: []cim.KeyBinding{
			strKey("InstanceID", "wbemd:DMTF:"+profileRegistrationName+":"+profileRegistrationVersion)}}
		emit := func(set []field) bool {
			inst, err := ci.cls.SpawnInstance()
			if err == nil {
				for _, f := range set {
					if err = putValue(inst, f.name, f.v); err != nil {
						break
					}
				}
			}
			return yield(inst, err)
		}
		switch {
		case cim.EqualFold(class, objectManagerClass):
			emit(append(keyFields(om), field{"ElementName", objectManagerName}, field{"Caption", objectManagerName},
				field{"Description", objectManagerName + " version " + p.version}, field{"Started", true},
				field{"EnabledState", uint16(2)}, field{"GatherStatisticalData", false}))
		case cim.EqualFold(class, namespaceInstanceClass), cim.EqualFold(class, namespaceInManagerClass):
			names, err := p.c.Namespaces(ctx)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, name := range names {
				nsPath := &cim.ObjectPath{Namespace: ns, Class: namespaceInstanceClass, Keys: []cim.KeyBinding{
					strKey("SystemCreationClassName", computerSystemClass), strKey("SystemName", host),
					strKey("ObjectManagerCreationClassName", objectManagerClass), strKey("ObjectManagerName", objectManagerName),
					strKey("CreationClassName", namespaceInstanceClass), strKey("Name", name)}}
				set := append(keyFields(nsPath), field{"ClassInfo", uint16(0)}, field{"ClassType", uint16(2)})
				if cim.EqualFold(class, namespaceInManagerClass) {
					set = []field{{"Antecedent", refValue(om)}, {"Dependent", refValue(nsPath)}}
				}
				if !emit(set) {
					return
				}
			}
		case cim.EqualFold(class, registeredProfileClass):
			emit(append(keyFields(profile), field{"RegisteredOrganization", uint16(2)},
				field{"RegisteredName", profileRegistrationName}, field{"RegisteredVersion", profileRegistrationVersion},
				field{"AdvertiseTypes", []uint16{2}}, field{"ElementName", profileRegistrationName}))
		case cim.EqualFold(class, elementConformsToProfile):
			emit([]field{{"ConformantStandard", refValue(profile)}, {"ManagedElement", refValue(om)}})
		}
	}
}

// objectManagerPath is the path of the CIM_ObjectManager instance.
func (p *interopProvider) objectManagerPath(ns string) *cim.ObjectPath {
	return &cim.ObjectPath{Namespace: ns, Class: objectManagerClass, Keys: []cim.KeyBinding{
		strKey("SystemCreationClassName", computerSystemClass), strKey("SystemName", p.c.opts.Server),
		strKey("CreationClassName", objectManagerClass), strKey("Name", objectManagerName)}}
}

// field is a property value to set: a Go value of the property's type,
// or a cim.Value.
type field struct {
	name string
	v    any
}

// keyFields are the key values of p as fields.
func keyFields(p *cim.ObjectPath) []field {
	out := make([]field, len(p.Keys))
	for i, k := range p.Keys {
		out[i] = field{k.Name, k.Value}
	}
	return out
}

func refValue(p *cim.ObjectPath) cim.Value { return cim.Value{Type: cim.TypeReference, V: p.String()} }

func strKey(name, v string) cim.KeyBinding {
	return cim.KeyBinding{Name: name, Value: cim.Value{Type: cim.TypeString, V: v}}
}

// putValue sets a property of inst from a Go value (a cim.Value as it is).
func putValue(inst *cim.Object, name string, x any) error {
	if v, ok := x.(cim.Value); ok {
		return inst.Put(name, v)
	}
	prop, ok := inst.Property(name)
	if !ok {
		return cim.Errorf(cim.ECriticalError, "class %s has no property %s", inst.Class, name)
	}
	v, err := cim.NewValue(prop.Type, x)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", inst.Class, name, err)
	}
	return inst.Put(name, v)
}
