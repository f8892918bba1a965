package cim

// qsKind tells which qualifier set a QualifierSet designates.
type qsKind uint8

const (
	qsObject   qsKind = iota // the class's or instance's own qualifiers
	qsProperty               // a property's qualifiers
	qsMethod                 // a method's qualifiers
)

// QualifierSet is a handle on one qualifier set of an object, as WMI's
// IWbemQualifierSet: the object's own set ((*Object).QualifierSet), a
// property's ((*Object).PropertyQualifierSet) or a method's
// ((*Object).MethodQualifierSet). Changes are visible in the object at
// once. Writes never modify a qualifier slice in place; they install a new
// slice, so a slice shared with a cached class is never changed behind its
// other owners.
type QualifierSet struct {
	o      *Object
	kind   qsKind
	member string // property or method name
}

// QualifierSet returns the handle on o's own qualifiers.
func (o *Object) QualifierSet() QualifierSet { return QualifierSet{o: o, kind: qsObject} }

// PropertyQualifierSet returns the handle on the qualifiers of property
// name. A system property has none (WBEM_E_SYSTEM_PROPERTY); an unknown
// property is WBEM_E_NOT_FOUND.
func (o *Object) PropertyQualifierSet(name string) (QualifierSet, error) {
	if IsSystemName(name) {
		return QualifierSet{}, Errorf(ESystemProperty, "system property %s has no qualifiers", name).WithParam(name)
	}
	if _, ok := o.Property(name); !ok {
		return QualifierSet{}, Errorf(ENotFound, "%s has no property %s", o.Class, name).WithParam(name)
	}
	return QualifierSet{o: o, kind: qsProperty, member: name}, nil
}

// MethodQualifierSet returns the handle on the qualifiers of method name.
func (o *Object) MethodQualifierSet(name string) (QualifierSet, error) {
	if _, ok := o.GetMethod(name); !ok {
		return QualifierSet{}, Errorf(ENotFound, "%s has no method %s", o.Class, name).WithParam(name)
	}
	return QualifierSet{o: o, kind: qsMethod, member: name}, nil
}

// slot returns the qualifier slice the set designates, and the property it
// belongs to for a property set.
func (s QualifierSet) slot() (*[]Qualifier, *Property, error) {
	if s.o == nil {
		return nil, nil, Errorf(EInvalidParameter, "qualifier set of no object")
	}
	switch s.kind {
	case qsProperty:
		p, ok := s.o.Property(s.member)
		if !ok {
			return nil, nil, Errorf(ENotFound, "%s has no property %s", s.o.Class, s.member).WithParam(s.member)
		}
		return &p.Qualifiers, p, nil
	case qsMethod:
		m, ok := s.o.GetMethod(s.member)
		if !ok {
			return nil, nil, Errorf(ENotFound, "%s has no method %s", s.o.Class, s.member).WithParam(s.member)
		}
		return &m.Qualifiers, nil, nil
	}
	return &s.o.Qualifiers, nil, nil
}

// Get returns the qualifier called name, with its flavor including the
// read-only origin bits.
func (s QualifierSet) Get(name string) (Qualifier, bool) {
	qs, _, err := s.slot()
	if err != nil {
		return Qualifier{}, false
	}
	q, ok := FindQualifier(*qs, name)
	if !ok {
		return Qualifier{}, false
	}
	return *q, true
}

// Names returns the names of the qualifiers in the set, in order.
func (s QualifierSet) Names() []string {
	qs, _, err := s.slot()
	if err != nil {
		return nil
	}
	names := make([]string, len(*qs))
	for i := range *qs {
		names[i] = (*qs)[i].Name
	}
	return names
}

// Put adds or replaces the qualifier name with value v and flavor f:
//   - the name follows WMI's rules for user names (WBEM_E_INVALID_PARAMETER,
//     or WBEM_E_QUALIFIER_NAME_TOO_WIDE);
//   - v must be sint32, real64, string or boolean, or an array of those;
//     other integer widths become sint32 when they fit, real32 becomes
//     real64; anything else is WBEM_E_INVALID_QUALIFIER_TYPE;
//   - f may combine ToInstance, ToSubclass, DisableOverride and Amended
//     (else WBEM_E_INVALID_FLAVOR); the origin bits are read-only and
//     ignored on input;
//   - a propagated DisableOverride qualifier cannot be given another value
//     (WBEM_E_OVERRIDE_NOT_ALLOWED);
//   - Key goes only on a class's property of a type that can be a key
//     (WBEM_E_CANNOT_BE_KEY).
func (s QualifierSet) Put(name string, v Value, f Flavor) error {
	qs, prop, err := s.slot()
	if err != nil {
		return err
	}
	if err := checkUserName(name, "qualifier"); err != nil {
		return err
	}
	f &^= FlavorMaskOrigin
	if f&^(FlavorToInstance|FlavorToSubclass|FlavorDisableOverride|FlavorAmended) != 0 {
		return Errorf(EInvalidFlavor, "qualifier %s: invalid flavor %#02x", name, uint8(f)).WithParam(name)
	}
	nv, err := NormalizeQualifierValue(v)
	if err != nil {
		return AsError(err).WithParam(name)
	}
	if EqualFold(name, "Key") {
		if err := s.checkKey(prop); err != nil {
			return err
		}
	}
	q := Qualifier{Name: name, Value: nv, Flavor: f}
	i := qualifierIndex(*qs, name)
	if i < 0 {
		*qs = append((*qs)[:len(*qs):len(*qs)], q)
		return nil
	}
	old := (*qs)[i]
	if old.Flavor&FlavorOriginPropagated != 0 && old.Flavor&FlavorDisableOverride != 0 {
		if old.Value.Equal(nv) {
			return nil
		}
		return Errorf(EOverrideNotAllowed, "qualifier %s is propagated with DisableOverride", old.Name).WithParam(name)
	}
	c := append([]Qualifier(nil), *qs...)
	c[i] = q
	*qs = c
	return nil
}

// checkKey enforces where a Key qualifier may be put.
func (s QualifierSet) checkKey(prop *Property) error {
	switch {
	case s.o.Genus == GenusInstance:
		return Errorf(ECannotBeKey, "a Key qualifier cannot be put on an instance").WithParam("Key")
	case prop == nil:
		return Errorf(ECannotBeKey, "Key applies to properties only").WithParam("Key")
	case prop.Type.IsArray() || prop.Type.IsReal() || prop.Type == TypeObject:
		return Errorf(ECannotBeKey, "property %s of type %v cannot be a key", prop.Name, prop.Type).WithParam(prop.Name)
	}
	return nil
}

// Delete removes the qualifier name. A propagated qualifier cannot be
// deleted (WBEM_E_PROPAGATED_QUALIFIER); an unknown one is
// WBEM_E_NOT_FOUND.
func (s QualifierSet) Delete(name string) error {
	qs, _, err := s.slot()
	if err != nil {
		return err
	}
	i := qualifierIndex(*qs, name)
	if i < 0 {
		return Errorf(ENotFound, "qualifier %s not found", name).WithParam(name)
	}
	if (*qs)[i].Flavor&FlavorOriginPropagated != 0 {
		return Errorf(EPropagatedQualifier, "qualifier %s is propagated and cannot be deleted", (*qs)[i].Name).WithParam(name)
	}
	c := make([]Qualifier, 0, len(*qs)-1)
	c = append(c, (*qs)[:i]...)
	*qs = append(c, (*qs)[i+1:]...)
	return nil
}

// NormalizeQualifierValue returns v in a type a qualifier may hold:
// sint32, real64, string, boolean or an array of those. Other integer
// widths become sint32 when every value fits, real32 becomes real64; any
// other type, or an untyped NULL, is WBEM_E_INVALID_QUALIFIER_TYPE.
func NormalizeQualifierValue(v Value) (Value, error) {
	var to Type
	switch e := v.Type.Elem(); {
	case e == TypeSint32 || e == TypeReal64 || e == TypeString || e == TypeBoolean:
		to = e
	case e.IsInteger():
		to = TypeSint32
	case e == TypeReal32:
		to = TypeReal64
	default:
		return Value{}, Errorf(EInvalidQualifierType, "a qualifier cannot hold a %v value", v.Type)
	}
	if v.Type.IsArray() {
		to = to.ArrayOf()
	}
	nv, err := Convert(v, to)
	if err != nil {
		return Value{}, Errorf(EInvalidQualifierType, "qualifier value: %v", AsError(err).Description)
	}
	return nv, nil
}

func qualifierIndex(qs []Qualifier, name string) int {
	for i := range qs {
		if EqualFold(qs[i].Name, name) {
			return i
		}
	}
	return -1
}

// NameFlags select the names GetNames returns. The values are WMI's.
type NameFlags int32

// The GetNames flags.
const (
	NamesAlways          NameFlags = 0x0 // WBEM_FLAG_ALWAYS: every name; the qualifier is not used
	NamesOnlyIfTrue      NameFlags = 0x1 // WBEM_FLAG_ONLY_IF_TRUE: properties that have the qualifier
	NamesOnlyIfFalse     NameFlags = 0x2 // WBEM_FLAG_ONLY_IF_FALSE: properties that do not have it
	NamesOnlyIfIdentical NameFlags = 0x3 // WBEM_FLAG_ONLY_IF_IDENTICAL: the qualifier with an equal value

	NamesKeysOnly       NameFlags = 0x4  // WBEM_FLAG_KEYS_ONLY: key properties
	NamesRefsOnly       NameFlags = 0x8  // WBEM_FLAG_REFS_ONLY: reference properties
	NamesLocalOnly      NameFlags = 0x10 // WBEM_FLAG_LOCAL_ONLY: declared by the object's class itself
	NamesPropagatedOnly NameFlags = 0x20 // WBEM_FLAG_PROPAGATED_ONLY: inherited (overridden or not)
	NamesSystemOnly     NameFlags = 0x30 // WBEM_FLAG_SYSTEM_ONLY: system properties
	NamesNonsystemOnly  NameFlags = 0x40 // WBEM_FLAG_NONSYSTEM_ONLY: non-system properties

	NamesClassOverridesOnly     NameFlags = 0x100 // WBEM_FLAG_CLASS_OVERRIDES_ONLY: inherited and overridden here
	NamesClassLocalAndOverrides NameFlags = 0x200 // WBEM_FLAG_CLASS_LOCAL_AND_OVERRIDES: declared or overridden here

	NamesMaskPrimaryCondition NameFlags = 0x3  // WBEM_MASK_PRIMARY_CONDITION
	NamesMaskConditionOrigin  NameFlags = 0x70 // WBEM_MASK_CONDITION_ORIGIN
)

// GetNames returns property names selected by flags, as WMI's
// IWbemClassObject::GetNames: system properties first (when selected),
// then the properties in declaration order. The primary condition tests
// the qualifier called qualifier: NamesOnlyIfTrue keeps properties that
// have it, NamesOnlyIfFalse those that do not, NamesOnlyIfIdentical those
// whose qualifier value equals *qualValue. A condition without a qualifier
// name (or IDENTICAL without a value) is WBEM_E_INVALID_PARAMETER, as in
// WMI. System properties are listed only under NamesAlways or
// NamesOnlyIfFalse, with no origin condition or NamesSystemOnly, and never
// with the key, reference or override conditions.
func (o *Object) GetNames(qualifier string, flags NameFlags, qualValue *Value) ([]string, error) {
	cond := flags & NamesMaskPrimaryCondition
	if cond != NamesAlways && (qualifier == "" || (cond == NamesOnlyIfIdentical && qualValue == nil)) {
		return nil, Errorf(EInvalidParameter, "GetNames: the condition needs a qualifier name (and a value for IDENTICAL)")
	}
	origin := flags & NamesMaskConditionOrigin
	var names []string
	if (origin == 0 || origin == NamesSystemOnly) && flags&(NamesKeysOnly|NamesRefsOnly|NamesClassOverridesOnly|NamesClassLocalAndOverrides) == 0 &&
		(cond == NamesAlways || cond == NamesOnlyIfFalse) {
		names = append(names, systemPropertyNames...)
	}
	if origin == NamesSystemOnly {
		return names, nil
	}
	for i := range o.Properties {
		p := &o.Properties[i]
		if o.selectProperty(p, qualifier, flags, qualValue) {
			names = append(names, p.Name)
		}
	}
	return names, nil
}

// selectProperty applies GetNames' conditions to one property.
func (o *Object) selectProperty(p *Property, qualifier string, flags NameFlags, qualValue *Value) bool {
	local := p.Origin == "" || EqualFold(p.Origin, o.Class)
	overridden := !local && !p.Propagated
	switch flags & NamesMaskConditionOrigin {
	case NamesLocalOnly:
		if !local {
			return false
		}
	case NamesPropagatedOnly:
		if local {
			return false
		}
	}
	if flags&NamesClassOverridesOnly != 0 && !overridden {
		return false
	}
	if flags&NamesClassLocalAndOverrides != 0 && !local && !overridden {
		return false
	}
	if flags&NamesKeysOnly != 0 && !p.IsKey() {
		return false
	}
	if flags&NamesRefsOnly != 0 && p.Type != TypeReference {
		return false
	}
	switch flags & NamesMaskPrimaryCondition {
	case NamesOnlyIfTrue:
		_, ok := FindQualifier(p.Qualifiers, qualifier)
		return ok
	case NamesOnlyIfFalse:
		_, ok := FindQualifier(p.Qualifiers, qualifier)
		return !ok
	case NamesOnlyIfIdentical:
		q, ok := FindQualifier(p.Qualifiers, qualifier)
		if !ok {
			return false
		}
		want, err := Convert(*qualValue, q.Value.Type)
		return err == nil && want.Equal(q.Value)
	}
	return true
}
