package cim

// ObjectPath is a parsed WMI object path:
//
//	[\\server\namespace:]Class[.Key1="v",Key2=5 | =@]
//
// Namespace components are kept with '/' separators ("root/cimv2"); the
// parser accepts '\' and '/' alike. A path with no Keys and no Singleton
// names a class.
type ObjectPath struct {
	Server    string // "" for a relative path; "." means the local machine
	Namespace string // "" for a path relative to the current namespace
	Class     string
	Singleton bool // Class=@
	Keys      []KeyBinding
}

// KeyBinding is one key of an instance path. Its Value is the literal as
// written in the path: TypeString for a quoted value, TypeSint64 or
// TypeUint64 for an integer, TypeBoolean for TRUE/FALSE. The repository
// converts it to the key property's declared type.
type KeyBinding struct {
	Name  string // "" when a single key was written without its name (Class="v")
	Value Value
}

// IsClass reports whether p names a class rather than an instance.
func (p *ObjectPath) IsClass() bool { return !p.Singleton && len(p.Keys) == 0 }
