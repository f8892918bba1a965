package cim

import "strings"

// Type is a CIM type, numbered as WMI's CIMTYPE enumeration. An array type
// is the element type OR-ed with TypeArray.
type Type uint16

// The CIM types. The values are WMI's CIMTYPE numbers.
const (
	TypeNone      Type = 0 // CIM_EMPTY: no type (a NULL value with no declared type)
	TypeSint16    Type = 2
	TypeSint32    Type = 3
	TypeReal32    Type = 4
	TypeReal64    Type = 5
	TypeString    Type = 8
	TypeBoolean   Type = 11
	TypeObject    Type = 13 // embedded object (instance or class)
	TypeSint8     Type = 16
	TypeUint8     Type = 17
	TypeUint16    Type = 18
	TypeUint32    Type = 19
	TypeSint64    Type = 20
	TypeUint64    Type = 21
	TypeDatetime  Type = 101
	TypeReference Type = 102
	TypeChar16    Type = 103

	TypeArray Type = 0x2000 // CIM_FLAG_ARRAY
)

// IsArray reports whether t is an array type.
func (t Type) IsArray() bool { return t&TypeArray != 0 }

// Elem returns the element type of an array type, or t itself.
func (t Type) Elem() Type { return t &^ TypeArray }

// ArrayOf returns the array type whose elements are t.
func (t Type) ArrayOf() Type { return t | TypeArray }

// Char16 is a CIM char16 value: one UCS-2 code unit.
type Char16 uint16

// Value is a typed CIM value. V holds the Go representation of Type, or nil
// for NULL:
//
//	sint8 int8, uint8 uint8, sint16 int16, uint16 uint16, sint32 int32,
//	uint32 uint32, sint64 int64, uint64 uint64, real32 float32,
//	real64 float64, boolean bool, string string, char16 Char16,
//	datetime Datetime, reference string (an object path, as WMI keeps it),
//	object *Object (an embedded instance or class).
//
// Arrays hold a slice of the element representation ([]int8 ... []*Object);
// an array value may be empty but its elements are never NULL.
type Value struct {
	Type Type
	V    any
}

// IsNull reports whether the value is NULL.
func (v Value) IsNull() bool { return v.V == nil }

// Null returns a NULL value of type t.
func Null(t Type) Value { return Value{Type: t} }

// Flavor is a set of WMI qualifier flavor bits (WBEM_FLAVOR_*).
type Flavor uint8

// Qualifier flavors. Restricted and EnableOverride are the zero bits; they
// are spelled out for readability.
const (
	FlavorToInstance       Flavor = 0x1  // WBEM_FLAVOR_FLAG_PROPAGATE_TO_INSTANCE
	FlavorToSubclass       Flavor = 0x2  // WBEM_FLAVOR_FLAG_PROPAGATE_TO_DERIVED_CLASS
	FlavorRestricted       Flavor = 0x0  // propagated nowhere
	FlavorEnableOverride   Flavor = 0x0  // WBEM_FLAVOR_OVERRIDABLE
	FlavorDisableOverride  Flavor = 0x10 // WBEM_FLAVOR_NOT_OVERRIDABLE
	FlavorOriginPropagated Flavor = 0x20 // read-only: the qualifier was inherited
	FlavorOriginSystem     Flavor = 0x40 // read-only: set by the system
	FlavorAmended          Flavor = 0x80 // localizable; DMTF's Translatable

	FlavorMaskPropagation Flavor = 0x0F
	FlavorMaskPermissions Flavor = 0x10
	FlavorMaskOrigin      Flavor = 0x60
	FlavorMaskAmended     Flavor = 0x80
)

// Qualifier is a named, typed value attached to a class, instance, property,
// method or parameter, with its flavor.
type Qualifier struct {
	Name   string
	Value  Value
	Flavor Flavor // propagation, override and amended bits; FlavorOriginPropagated when inherited
}

// Genus tells a class object from an instance object (__GENUS).
type Genus int32

// The two genera.
const (
	GenusClass    Genus = 1 // WBEM_GENUS_CLASS
	GenusInstance Genus = 2 // WBEM_GENUS_INSTANCE
)

// Property is a property of a class or an instance. In a class, Value is the
// default value; in an instance it is the property's value.
type Property struct {
	Name       string
	RefClass   string // the class of a reference or strongly typed embedded object; "" for any
	ArraySize  int    // the bound of a fixed-size array declared name[n]; 0 if none
	Value      Value
	Qualifiers []Qualifier
	Origin     string // the class that declares the property (GetPropertyOrigin)
	Type       Type
	Propagated bool // inherited from a superclass rather than declared or overridden locally
}

// Parameter is a method parameter. Direction is carried by the In and Out
// qualifiers, its position by ID.
type Parameter struct {
	Name       string
	Type       Type
	RefClass   string
	ArraySize  int
	Qualifiers []Qualifier
}

// Method is a method declared by a class.
type Method struct {
	Name       string
	ReturnType Type
	Parameters []Parameter
	Qualifiers []Qualifier
	Origin     string // the class that declares the method (GetMethodOrigin)
	Propagated bool   // inherited rather than declared or overridden locally
}

// Object is a CIM class or instance, as WMI's IWbemClassObject: Genus tells
// which. A class object returned by the repository is resolved: Properties
// and Methods include inherited members (with Origin and Propagated set),
// Qualifiers include propagated ones, and Derivation lists its superclasses.
// An instance's Properties hold one entry for every property of its class.
//
// The system properties (__CLASS, __PATH, ...) are never stored: SystemProperty
// computes them.
type Object struct {
	Genus      Genus
	Class      string   // __CLASS
	Superclass string   // __SUPERCLASS; "" for a root class
	Derivation []string // __DERIVATION: superclasses, nearest first; nil when unresolved
	Qualifiers []Qualifier
	Properties []Property
	Methods    []Method // classes only

	// Where the object lives; empty for an object that is not (yet) stored.
	Server    string // __SERVER
	Namespace string // __NAMESPACE, e.g. "root/cimv2"
	// Revision is the store revision that last wrote a stored instance,
	// as the object manager read it (0: not known, or not stored). It is
	// the instance's version for optimistic concurrency, not a property.
	Revision int64
}

// Fold returns the case-folded form of a CIM name (namespace, class,
// property, method or qualifier name). It is the only folding function:
// lookups and storage keys both use it.
func Fold(name string) string {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(name)
		}
	}
	return name
}

// EqualFold reports whether two CIM names are equal under Fold. The
// common prefix is compared byte by byte while both are ASCII: Fold maps
// that prefix to itself in lower case, so a difference there (or an
// ASCII string that is a strict prefix of the other) decides at once;
// only names with a non-ASCII byte go through Fold.
func EqualFold(a, b string) bool {
	if a == b {
		return true // the usual case: the name as the class spells it
	}
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca >= 0x80 || cb >= 0x80 {
			return Fold(a) == Fold(b)
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	if len(a) == len(b) {
		return true
	}
	// One is an ASCII prefix of the other, whose rest folds rune by rune
	// to something non-empty: the folded names differ in length.
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
