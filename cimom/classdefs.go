package cimom

import "github.com/wbemd/wbemd/cim"

// The builders of the classes wbemd declares itself: the system classes,
// the indication and subscription models, the interop discovery classes
// and the provider registrations.

// nullProp is a property of type t, NULL by default.
func nullProp(name string, t cim.Type, quals ...cim.Qualifier) cim.Property {
	return cim.Property{Name: name, Type: t, Value: cim.Null(t), Qualifiers: quals}
}

// defaultProp is a property whose default is v.
func defaultProp(name string, v cim.Value) cim.Property {
	return cim.Property{Name: name, Type: v.Type, Value: v}
}

// refProp is a reference to class, NULL by default.
func refProp(name, class string, quals ...cim.Qualifier) cim.Property {
	return cim.Property{Name: name, Type: cim.TypeReference, RefClass: class, Value: cim.Null(cim.TypeReference), Qualifiers: quals}
}

// declaredClass is a class with its qualifiers and properties, the
// properties originating in it.
func declaredClass(name, super string, quals []cim.Qualifier, props ...cim.Property) *cim.Object {
	o := &cim.Object{Genus: cim.GenusClass, Class: name, Superclass: super, Properties: props, Qualifiers: quals}
	for i := range o.Properties {
		o.Properties[i].Origin = name
	}
	return o
}

// systemClass is a declared class without qualifiers but Abstract, if
// asked.
func systemClass(name, super string, abstract bool, props ...cim.Property) *cim.Object {
	var quals []cim.Qualifier
	if abstract {
		quals = []cim.Qualifier{{Name: "Abstract", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}
	}
	return declaredClass(name, super, quals, props...)
}
