package cim

import "strings"

var systemPropertyNames = []string{
	"__GENUS", "__CLASS", "__SUPERCLASS", "__DYNASTY", "__RELPATH", "__PROPERTY_COUNT",
	"__DERIVATION", "__SERVER", "__NAMESPACE", "__PATH",
}

// SystemPropertyNames returns the names of the system properties, in the
// order WMI lists them.
func SystemPropertyNames() []string { return append([]string(nil), systemPropertyNames...) }

// SystemProperty computes a system property (they are never stored).
// Properties that do not apply are NULL: __SUPERCLASS of a root class, and
// __PATH, __SERVER and __NAMESPACE of an object that is not stored. ok is
// false for an unknown name.
func (o *Object) SystemProperty(name string) (Value, bool) {
	str := func(s string) Value {
		if s == "" {
			return Null(TypeString)
		}
		return Value{Type: TypeString, V: s}
	}
	switch strings.ToUpper(name) {
	case "__GENUS":
		return Value{Type: TypeSint32, V: int32(o.Genus)}, true
	case "__CLASS":
		return str(o.Class), true
	case "__SUPERCLASS":
		return str(o.Superclass), true
	case "__DYNASTY":
		if n := len(o.Derivation); n > 0 {
			return str(o.Derivation[n-1]), true
		}
		return str(o.Class), true
	case "__DERIVATION":
		return Value{Type: TypeString.ArrayOf(), V: append([]string{}, o.Derivation...)}, true
	case "__PROPERTY_COUNT":
		return Value{Type: TypeSint32, V: int32(len(o.Properties))}, true
	case "__RELPATH":
		p, err := o.ObjectPath()
		if err != nil {
			return Null(TypeString), true
		}
		return str(p.RelPath()), true
	case "__PATH":
		p, err := o.ObjectPath()
		if err != nil || o.Namespace == "" {
			return Null(TypeString), true
		}
		return str(p.String()), true
	case "__SERVER":
		if o.Namespace == "" {
			return Null(TypeString), true
		}
		return str(o.Server), true
	case "__NAMESPACE":
		return str(strings.ReplaceAll(o.Namespace, "/", `\`)), true
	}
	return Value{}, false
}

// ObjectPath returns the path of the object: the class name for a class;
// for an instance its key values (WBEM_E_ILLEGAL_NULL for a NULL key), or
// Class=@ for an instance with no key properties.
func (o *Object) ObjectPath() (*ObjectPath, error) {
	p := &ObjectPath{Server: o.Server, Namespace: o.Namespace, Class: o.Class}
	if o.Genus == GenusClass {
		return p, nil
	}
	keys := o.KeyProperties()
	if len(keys) == 0 {
		p.Singleton = true
		return p, nil
	}
	p.Keys = make([]KeyBinding, len(keys))
	for i, k := range keys {
		if k.Value.IsNull() {
			return nil, Errorf(EIllegalNull, "key property %s of %s is NULL", k.Name, o.Class).WithParam(k.Name)
		}
		p.Keys[i] = KeyBinding{Name: k.Name, Value: k.Value}
	}
	return p, nil
}
