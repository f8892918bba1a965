// Package cim is wbemd's object model: CIM types and values, datetimes,
// qualifiers and their flavors, classes and instances (one Object type, as
// WMI's IWbemClassObject), object paths, the WBEM status codes, and the
// compact binary encoding the repository stores.
//
// Names of namespaces, classes, properties, methods and qualifiers are
// case-insensitive and case-preserving; Fold is the one function that
// folds them. String key values are not folded.
//
// Everything above this package (the repository, the query engine, the
// protocols) is written against these types; nothing here does I/O.
package cim
