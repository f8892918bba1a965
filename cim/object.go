package cim

import (
	"strings"
)

// FindQualifier returns the qualifier called name (case-insensitive).
func FindQualifier(qs []Qualifier, name string) (*Qualifier, bool) {
	if i := qualifierIndex(qs, name); i >= 0 {
		return &qs[i], true
	}
	return nil, false
}

// HasTrueQualifier reports whether qs holds a boolean qualifier called name
// whose value is true (or NULL: a boolean qualifier given without a value
// means TRUE, as [Key] in MOF).
func HasTrueQualifier(qs []Qualifier, name string) bool {
	q, ok := FindQualifier(qs, name)
	if !ok {
		return false
	}
	if q.Value.V == nil {
		return q.Value.Type == TypeBoolean || q.Value.Type == TypeNone
	}
	b, isBool := q.Value.V.(bool)
	return isBool && b
}

// IsSystemName reports whether name is a system name (it starts with "__").
func IsSystemName(name string) bool { return strings.HasPrefix(name, "__") }

// Property returns the property called name (case-insensitive).
func (o *Object) Property(name string) (*Property, bool) {
	for i := range o.Properties {
		if EqualFold(o.Properties[i].Name, name) {
			return &o.Properties[i], true
		}
	}
	return nil, false
}

// PropertyNear is Property for a caller that reads names in about the
// order of o's properties (an instance decoded against its class): it
// tries index hint first and returns the index found, so that matching a
// whole instance takes linear time instead of quadratic.
func (o *Object) PropertyNear(name string, hint int) (*Property, int, bool) {
	if hint >= 0 && hint < len(o.Properties) && EqualFold(o.Properties[hint].Name, name) {
		return &o.Properties[hint], hint, true
	}
	// The name as the class spells it, the usual case, compares cheaply
	// (by length first).
	for i := range o.Properties {
		if o.Properties[i].Name == name {
			return &o.Properties[i], i, true
		}
	}
	for i := range o.Properties {
		if EqualFold(o.Properties[i].Name, name) {
			return &o.Properties[i], i, true
		}
	}
	return nil, -1, false
}

// Get returns the value of a property or system property; an unknown name
// is WBEM_E_NOT_FOUND, as IWbemClassObject::Get.
func (o *Object) Get(name string) (Value, error) {
	if IsSystemName(name) {
		if v, ok := o.SystemProperty(name); ok {
			return v, nil
		}
	} else if p, ok := o.Property(name); ok {
		return p.Value, nil
	}
	return Value{}, Errorf(ENotFound, "%s has no property %s", o.Class, name).WithParam(name)
}

// Put sets a property. On an instance the property must exist and the
// value is converted to its declared type (WBEM_E_TYPE_MISMATCH); system
// properties are read-only (WBEM_E_READ_ONLY). On a class, Put declares
// the property with the value's type (or replaces its default when it
// exists); a user property name may not start or end with '_'.
func (o *Object) Put(name string, v Value) error {
	if IsSystemName(name) {
		if o.Genus == GenusClass && EqualFold(name, "__CLASS") {
			s, ok := v.V.(string)
			if !ok || s == "" {
				return Errorf(EInvalidParameter, "__CLASS must be a non-empty string").WithParam(name)
			}
			o.Class = s
			return nil
		}
		return Errorf(EReadOnly, "system property %s is read-only", name).WithParam(name)
	}
	if p, ok := o.Property(name); ok {
		cv, err := Convert(v, p.Type)
		if err != nil {
			return AsError(err).WithParam(name)
		}
		p.Value = cv
		if o.Genus == GenusClass && p.Propagated {
			p.Propagated = false // a new default overrides the inherited one
		}
		return nil
	}
	if o.Genus != GenusClass {
		return Errorf(EInvalidProperty, "class %s has no property %s", o.Class, name).WithParam(name)
	}
	if err := checkUserName(name, "property"); err != nil {
		return err
	}
	if !v.Type.Valid() {
		return Errorf(EInvalidCIMType, "property %s needs a CIM type", name).WithParam(name)
	}
	o.Properties = append(o.Properties, Property{Name: name, Type: v.Type, Value: v, Origin: o.Class})
	return nil
}

// checkUserName applies WMI's rule for user-defined names: not empty, not
// starting or ending with '_', at most 255 characters.
func checkUserName(name, what string) error {
	if name == "" || name[0] == '_' || name[len(name)-1] == '_' {
		return Errorf(EInvalidParameter, "invalid %s name %q: names may not be empty or start or end with '_'", what, name).WithParam(name)
	}
	for i := 0; i < len(name); i++ {
		if !isNameChar(name[i]) {
			return Errorf(EInvalidParameter, "invalid %s name %q", what, name).WithParam(name)
		}
	}
	if len(name) > 255 {
		s := map[string]Status{"property": EPropertyNameTooWide, "class": EClassNameTooWide, "method": EMethodNameTooWide, "qualifier": EQualifierNameTooWide}[what]
		if s == 0 {
			s = EInvalidParameter
		}
		return Errorf(s, "%s name longer than 255 characters", what).WithParam(name)
	}
	return nil
}

// CheckName validates a user-defined class, property, method or qualifier
// name (what is one of those words) with WMI's rules.
func CheckName(name, what string) error { return checkUserName(name, what) }

// PutProperty declares or replaces a property of a class.
func (o *Object) PutProperty(p Property) error {
	if o.Genus != GenusClass {
		return Errorf(EIllegalOperation, "properties can only be declared on a class").WithParam(p.Name)
	}
	if err := checkUserName(p.Name, "property"); err != nil {
		return err
	}
	if !p.Type.Valid() {
		return Errorf(EInvalidPropertyType, "property %s: invalid CIM type %d", p.Name, uint16(p.Type)).WithParam(p.Name)
	}
	v, err := Convert(p.Value, p.Type)
	if err != nil {
		return AsError(err).WithParam(p.Name)
	}
	p.Value = v
	if p.Origin == "" {
		p.Origin = o.Class
	}
	if cur, ok := o.Property(p.Name); ok {
		*cur = p
		return nil
	}
	o.Properties = append(o.Properties, p)
	return nil
}

// Delete removes a property. On a class only a local property can be
// removed (WBEM_E_PROPAGATED_PROPERTY for an inherited one); on an
// instance the value is reset to NULL.
func (o *Object) Delete(name string) error {
	if IsSystemName(name) {
		return Errorf(ESystemProperty, "system property %s cannot be deleted", name).WithParam(name)
	}
	for i := range o.Properties {
		p := &o.Properties[i]
		if !EqualFold(p.Name, name) {
			continue
		}
		if o.Genus != GenusClass {
			p.Value = Null(p.Type)
			return nil
		}
		if p.Propagated || (p.Origin != "" && !EqualFold(p.Origin, o.Class)) {
			return Errorf(EPropagatedProperty, "property %s is inherited from %s", name, p.Origin).WithParam(name)
		}
		o.Properties = append(o.Properties[:i], o.Properties[i+1:]...)
		return nil
	}
	return Errorf(ENotFound, "%s has no property %s", o.Class, name).WithParam(name)
}

// GetPropertyOrigin returns the class that declares the property.
func (o *Object) GetPropertyOrigin(name string) (string, error) {
	if IsSystemName(name) {
		if _, ok := o.SystemProperty(name); ok {
			return "___SYSTEM", nil
		}
	}
	p, ok := o.Property(name)
	if !ok {
		return "", Errorf(ENotFound, "%s has no property %s", o.Class, name).WithParam(name)
	}
	if p.Origin == "" {
		return o.Class, nil
	}
	return p.Origin, nil
}

// GetMethod returns the method called name.
func (o *Object) GetMethod(name string) (*Method, bool) {
	for i := range o.Methods {
		if EqualFold(o.Methods[i].Name, name) {
			return &o.Methods[i], true
		}
	}
	return nil, false
}

// PutMethod declares or replaces a method of a class.
func (o *Object) PutMethod(m Method) error {
	if o.Genus != GenusClass {
		return Errorf(EIllegalOperation, "methods can only be declared on a class").WithParam(m.Name)
	}
	if err := checkUserName(m.Name, "method"); err != nil {
		return err
	}
	if m.ReturnType.IsArray() {
		return Errorf(EInvalidMethod, "method %s cannot return an array", m.Name).WithParam(m.Name)
	}
	if m.Origin == "" {
		m.Origin = o.Class
	}
	if cur, ok := o.GetMethod(m.Name); ok {
		*cur = m
		return nil
	}
	o.Methods = append(o.Methods, m)
	return nil
}

// DeleteMethod removes a local method of a class.
func (o *Object) DeleteMethod(name string) error {
	for i := range o.Methods {
		m := &o.Methods[i]
		if !EqualFold(m.Name, name) {
			continue
		}
		if m.Propagated {
			return Errorf(EPropagatedMethod, "method %s is inherited from %s", name, m.Origin).WithParam(name)
		}
		o.Methods = append(o.Methods[:i], o.Methods[i+1:]...)
		return nil
	}
	return Errorf(ENotFound, "%s has no method %s", o.Class, name).WithParam(name)
}

// GetMethodOrigin returns the class that declares the method.
func (o *Object) GetMethodOrigin(name string) (string, error) {
	m, ok := o.GetMethod(name)
	if !ok {
		return "", Errorf(ENotFound, "%s has no method %s", o.Class, name).WithParam(name)
	}
	return m.Origin, nil
}

// MethodNames returns the method names in declaration order.
func (o *Object) MethodNames() []string {
	names := make([]string, len(o.Methods))
	for i := range o.Methods {
		names[i] = o.Methods[i].Name
	}
	return names
}

// InheritsFrom reports whether the object's class is class or derives from
// it (the object's own class does not count, as WMI's InheritsFrom).
func (o *Object) InheritsFrom(class string) bool {
	for _, c := range o.Derivation {
		if EqualFold(c, class) {
			return true
		}
	}
	return false
}

// IsA reports whether the object's class is class or a subclass of it.
func (o *Object) IsA(class string) bool { return EqualFold(o.Class, class) || o.InheritsFrom(class) }

// KeyProperties returns the key properties in declaration order.
func (o *Object) KeyProperties() []*Property {
	var keys []*Property
	for i := range o.Properties {
		if HasTrueQualifier(o.Properties[i].Qualifiers, "Key") {
			keys = append(keys, &o.Properties[i])
		}
	}
	return keys
}

// IsKey reports whether p carries a true Key qualifier.
func (p *Property) IsKey() bool { return HasTrueQualifier(p.Qualifiers, "Key") }

// Clone returns a deep copy of the object.
func (o *Object) Clone() *Object {
	if o == nil {
		return nil
	}
	c := *o
	c.Derivation = append([]string(nil), o.Derivation...)
	c.Qualifiers = cloneQualifiers(o.Qualifiers)
	c.Properties = make([]Property, len(o.Properties))
	for i, p := range o.Properties {
		p.Value = cloneValue(p.Value)
		p.Qualifiers = cloneQualifiers(p.Qualifiers)
		c.Properties[i] = p
	}
	if o.Methods != nil {
		c.Methods = make([]Method, len(o.Methods))
		for i, m := range o.Methods {
			m.Qualifiers = cloneQualifiers(m.Qualifiers)
			ps := make([]Parameter, len(m.Parameters))
			for j, p := range m.Parameters {
				p.Qualifiers = cloneQualifiers(p.Qualifiers)
				ps[j] = p
			}
			m.Parameters = ps
			c.Methods[i] = m
		}
	}
	return &c
}

func cloneQualifiers(qs []Qualifier) []Qualifier {
	if qs == nil {
		return nil
	}
	out := make([]Qualifier, len(qs))
	for i, q := range qs {
		q.Value = cloneValue(q.Value)
		out[i] = q
	}
	return out
}

// CloneValue returns a copy of v that shares no mutable state with it
// (arrays and embedded objects are copied).
func CloneValue(v Value) Value { return cloneValue(v) }

// cloneValue copies arrays and embedded objects so that the copy shares no
// mutable state with the original.
func cloneValue(v Value) Value {
	switch x := v.V.(type) {
	case *Object:
		return Value{Type: v.Type, V: x.Clone()}
	case nil:
		return v
	}
	if v.Type.IsArray() {
		n := v.Len()
		out := makeSlice(v.Type.Elem(), n)
		for i := 0; i < n; i++ {
			e := cloneValue(v.Index(i))
			out.Index(i).Set(valueOf(e.V))
		}
		return Value{Type: v.Type, V: out.Interface()}
	}
	return v
}

// SpawnDerivedClass returns a new, empty subclass of the class o.
func (o *Object) SpawnDerivedClass(name string) (*Object, error) {
	if o.Genus != GenusClass {
		return nil, Errorf(EIllegalOperation, "SpawnDerivedClass needs a class, not an instance")
	}
	local := &Object{Genus: GenusClass, Class: name, Superclass: o.Class}
	return Derive(o, local)
}

// SpawnInstance returns a new instance of the class o: one property per
// class property holding the class default, and the class qualifiers that
// propagate to instances.
func (o *Object) SpawnInstance() (*Object, error) {
	if o.Genus != GenusClass {
		return nil, Errorf(EIllegalOperation, "SpawnInstance needs a class, not an instance")
	}
	inst := &Object{
		Genus:      GenusInstance,
		Class:      o.Class,
		Superclass: o.Superclass,
		Derivation: o.Derivation,
		Qualifiers: instanceQualifiers(o.Qualifiers),
		Properties: make([]Property, len(o.Properties)),
		Namespace:  o.Namespace,
		Server:     o.Server,
	}
	// The properties' qualifiers share one allocation; each property's
	// slice is capped at its length, so that appending to one copies it.
	n := 0
	for i := range o.Properties {
		n += len(o.Properties[i].Qualifiers)
	}
	slab := make([]Qualifier, 0, n)
	for i := range o.Properties {
		p := &o.Properties[i]
		var qs []Qualifier
		if len(p.Qualifiers) > 0 {
			start := len(slab)
			for _, q := range p.Qualifiers {
				q.Flavor |= FlavorOriginPropagated
				slab = append(slab, q)
			}
			qs = slab[start:len(slab):len(slab)]
		}
		inst.Properties[i] = Property{Name: p.Name, Type: p.Type, RefClass: p.RefClass, ArraySize: p.ArraySize,
			Value: cloneValue(p.Value), Qualifiers: qs, Origin: p.Origin, Propagated: true}
	}
	return inst, nil
}

// Template spawns instances of one class as SpawnInstance does, but
// cheaply: the qualifiers the instances receive from the class are
// computed once and shared by every instance it spawns. They are
// read-only: each slice is capped at its length, so that appending to one
// copies it, and nothing may change a shared qualifier in place. The
// class must not change while the template is in use.
type Template struct {
	cls   *Object
	quals []Qualifier
	keys  []int      // the indexes of the class's key properties (not nil)
	props []Property // an instance's properties, as SpawnInstance gives them
	deep  []int      // the indexes of the properties whose values a spawn clones
}

// NewTemplate returns the template of a class.
func NewTemplate(cls *Object) (*Template, error) {
	inst, err := cls.SpawnInstance()
	if err != nil {
		return nil, err
	}
	t := &Template{cls: cls, quals: inst.Qualifiers[:len(inst.Qualifiers):len(inst.Qualifiers)], keys: []int{}, props: inst.Properties}
	for i := range t.props {
		p := &t.props[i]
		if p.IsKey() {
			t.keys = append(t.keys, i)
		}
		if _, obj := p.Value.V.(*Object); obj || p.Value.V != nil && p.Value.Type.IsArray() {
			t.deep = append(t.deep, i) // what cloneValue copies
		}
	}
	return t, nil
}

// Class returns the template's class.
func (t *Template) Class() *Object { return t.cls }

// Qualifiers returns the qualifiers the class gives its instances, marked
// propagated (shared: read-only).
func (t *Template) Qualifiers() []Qualifier { return t.quals }

// PropertyQualifiers returns the qualifiers the class gives its
// instances' property i, marked propagated (shared: read-only).
func (t *Template) PropertyQualifiers(i int) []Qualifier { return t.props[i].Qualifiers }

// Spawn returns a new instance of the class, equal to what SpawnInstance
// returns, whose qualifiers are the template's shared ones.
func (t *Template) Spawn() *Object {
	return t.spawn(nil)
}

// SpawnKeys is Spawn for the key properties alone (in class order): the
// shape of an instance read for its name (DecodeKeys).
func (t *Template) SpawnKeys() *Object { return t.spawn(t.keys) }

// spawn spawns the properties at the indexes only (all when only is nil).
func (t *Template) spawn(only []int) *Object {
	o := t.cls
	n := len(o.Properties)
	if only != nil {
		n = len(only)
	}
	inst := &Object{
		Genus:      GenusInstance,
		Class:      o.Class,
		Superclass: o.Superclass,
		Derivation: o.Derivation,
		Qualifiers: t.quals,
		Properties: make([]Property, n),
		Namespace:  o.Namespace,
		Server:     o.Server,
	}
	if only == nil {
		copy(inst.Properties, t.props)
		for _, i := range t.deep {
			inst.Properties[i].Value = cloneValue(t.props[i].Value)
		}
		return inst
	}
	for i, ci := range only {
		inst.Properties[i] = t.props[ci]
		inst.Properties[i].Value = cloneValue(t.props[ci].Value)
	}
	return inst
}

// instanceQualifiers returns the class qualifiers that propagate to
// instances, marked as propagated.
func instanceQualifiers(qs []Qualifier) []Qualifier {
	var out []Qualifier
	for _, q := range qs {
		if q.Flavor&FlavorToInstance != 0 {
			q.Flavor |= FlavorOriginPropagated
			out = append(out, q)
		}
	}
	return out
}

// CompareFlags select what CompareTo ignores (WMI's WBEM_COMPARISON_FLAG
// values).
type CompareFlags uint32

// The comparison flags.
const (
	CompareIncludeAll          CompareFlags = 0
	CompareIgnoreQualifiers    CompareFlags = 0x1
	CompareIgnoreObjectSource  CompareFlags = 0x2
	CompareIgnoreDefaultValues CompareFlags = 0x4
	CompareIgnoreClass         CompareFlags = 0x8
	CompareIgnoreCase          CompareFlags = 0x10
	CompareIgnoreFlavor        CompareFlags = 0x20
)

// CompareTo reports whether o and other are the same object under flags,
// as IWbemClassObject::CompareTo.
func (o *Object) CompareTo(other *Object, flags CompareFlags) bool {
	if o.Genus != other.Genus || !EqualFold(o.Class, other.Class) {
		return false
	}
	if flags&CompareIgnoreObjectSource == 0 && (!EqualFold(o.Namespace, other.Namespace) || !EqualFold(o.Server, other.Server)) {
		return false
	}
	if flags&CompareIgnoreClass == 0 && o.Genus == GenusClass && !EqualFold(o.Superclass, other.Superclass) {
		return false
	}
	if flags&CompareIgnoreQualifiers == 0 && !qualifiersEqual(o.Qualifiers, other.Qualifiers, flags) {
		return false
	}
	if len(o.Properties) != len(other.Properties) {
		return false
	}
	for i := range o.Properties {
		p := &o.Properties[i]
		q, ok := other.Property(p.Name)
		if !ok || p.Type != q.Type {
			return false
		}
		if !(o.Genus == GenusClass && flags&CompareIgnoreDefaultValues != 0) && !valuesEqual(p.Value, q.Value, flags) {
			return false
		}
		if flags&CompareIgnoreQualifiers == 0 && o.Genus == GenusClass && !qualifiersEqual(p.Qualifiers, q.Qualifiers, flags) {
			return false
		}
	}
	if len(o.Methods) != len(other.Methods) {
		return false
	}
	for i := range o.Methods {
		m := &o.Methods[i]
		n, ok := other.GetMethod(m.Name)
		if !ok || m.ReturnType != n.ReturnType || len(m.Parameters) != len(n.Parameters) {
			return false
		}
		for j := range m.Parameters {
			a, b := &m.Parameters[j], &n.Parameters[j]
			if !EqualFold(a.Name, b.Name) || a.Type != b.Type || !EqualFold(a.RefClass, b.RefClass) {
				return false
			}
			if flags&CompareIgnoreQualifiers == 0 && !qualifiersEqual(a.Qualifiers, b.Qualifiers, flags) {
				return false
			}
		}
		if flags&CompareIgnoreQualifiers == 0 && !qualifiersEqual(m.Qualifiers, n.Qualifiers, flags) {
			return false
		}
	}
	return true
}

func valuesEqual(a, b Value, flags CompareFlags) bool {
	if flags&CompareIgnoreCase != 0 {
		sa, oka := a.V.(string)
		sb, okb := b.V.(string)
		if oka && okb && a.Type == b.Type {
			return strings.EqualFold(sa, sb)
		}
	}
	return a.Equal(b)
}

func qualifiersEqual(a, b []Qualifier, flags CompareFlags) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		q, ok := FindQualifier(b, a[i].Name)
		if !ok || !valuesEqual(a[i].Value, q.Value, flags) {
			return false
		}
		if flags&CompareIgnoreFlavor == 0 && a[i].Flavor != q.Flavor {
			return false
		}
	}
	return true
}
