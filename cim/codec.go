package cim

import (
	"encoding/binary"
	"math"
	"reflect"
	"slices"
)

// The repository's record encoding. Every record starts with a format
// version byte and a kind byte:
//
//	class record:    1 'C' <object>        a class as declared (LocalDefinition)
//	instance record: 1 'I' <class name> <qualifiers> <n> n×(<name> <value> <qualifiers>)
//
// Integers are varints, strings are a length and bytes, floats are their
// IEEE bits. An embedded object is self-describing (<object> with its
// genus). Decoding checks every length against the bytes left and bounds
// nesting at MaxObjectNesting, so that corrupt or hostile bytes give an
// error, never a panic or a huge allocation. A corrupt record is
// WBEM_E_CRITICAL_ERROR ("internal, critical, and unexpected error").
const (
	recordVersion    byte = 1
	kindClass        byte = 'C'
	kindInstance     byte = 'I'
	propPropagated   byte = 1
	methPropagated   byte = 1
	valueNull        byte = 0
	valuePresent     byte = 1
	maxDecodeCount        = 1 << 24
	MaxObjectNesting      = 64 // WMI's WBEM_MAX_OBJECT_NESTING
)

// EncodeClass appends the record of a class as declared to dst.
func EncodeClass(dst []byte, c *Object) []byte {
	dst = append(dst, recordVersion, kindClass)
	return appendObject(dst, c)
}

// DecodeClass decodes a class record.
func DecodeClass(b []byte) (*Object, error) {
	d := &decoder{b: b}
	d.header(kindClass)
	o := d.object(0)
	if d.err == nil && o.Genus != GenusClass {
		d.fail("class record holds an instance")
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return o, nil
}

// EncodeInstance appends the record of an instance to dst: its class name,
// its own qualifiers (not those propagated from the class) and its
// non-NULL property values.
func EncodeInstance(dst []byte, inst *Object) []byte {
	if dst == nil {
		dst = make([]byte, 0, 64+32*len(inst.Properties))
	}
	dst = append(dst, recordVersion, kindInstance)
	dst = appendString(dst, inst.Class)
	dst = appendQualifiers(dst, localQualifiers(inst.Qualifiers))
	n := 0
	for i := range inst.Properties {
		if !inst.Properties[i].Value.IsNull() {
			n++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for i := range inst.Properties {
		p := &inst.Properties[i]
		if p.Value.IsNull() {
			continue
		}
		dst = appendString(dst, p.Name)
		dst = appendValue(dst, p.Value)
		dst = appendQualifiers(dst, localQualifiers(p.Qualifiers))
	}
	return dst
}

// DecodeInstanceClassName returns the class name of an instance record.
func DecodeInstanceClassName(b []byte) (string, error) {
	d := &decoder{b: b}
	d.header(kindInstance)
	name := d.string()
	return name, d.err
}

// DecodeInstance decodes an instance record against its resolved class:
// the result has one property per class property (NULL unless stored),
// the class qualifiers that propagate to instances, and the stored
// instance qualifiers. The property qualifier slices are shared with the
// class and must be treated as read-only (Clone before changing them). A
// stored property the class no longer declares is dropped; a stored value
// whose type differs from the declared type is converted, and the record
// is corrupt if it does not convert.
func DecodeInstance(b []byte, class *Object) (*Object, error) {
	return decodeInstance(b, class, nil, nil)
}

// Decode decodes an instance record of the template's class as
// DecodeInstance does, except that the qualifiers the instance has from
// its class are the template's, shared and marked propagated, as Spawn
// gives them: an instance read back has the qualifiers of the spawned
// instance it was put as, and decoding copies none.
func (t *Template) Decode(b []byte) (*Object, error) {
	return decodeInstance(b, t.cls, nil, t)
}

// IsStored reports whether inst is, but for Namespace and Server, what
// Decode returns for the record EncodeInstance writes of it: then a writer
// can give the readers of the record inst itself rather than have them
// decode it. It holds for the shape a write gives an instance of the
// class: one property per class property, in class order, described and
// qualified as the class's, each value NULL or of its declared type, and
// no embedded object or qualifier of the instance's own.
func (t *Template) IsStored(inst *Object) bool {
	cls := t.cls
	if inst.Genus != GenusInstance || inst.Class != cls.Class || inst.Superclass != cls.Superclass ||
		!slices.Equal(inst.Derivation, cls.Derivation) || inst.Methods != nil || inst.Revision != 0 ||
		len(inst.Properties) != len(t.props) || !sameQualifiers(inst.Qualifiers, t.quals) {
		return false
	}
	for i := range inst.Properties {
		p, tp := &inst.Properties[i], &t.props[i]
		if p.Name != tp.Name || p.Type != tp.Type || p.RefClass != tp.RefClass || p.ArraySize != tp.ArraySize ||
			p.Origin != tp.Origin || p.Propagated != tp.Propagated || !sameQualifiers(p.Qualifiers, tp.Qualifiers) {
			return false
		}
		switch v := p.Value; {
		case v.Type != p.Type:
			return false // a record would hold it converted
		case v.V == nil:
		case v.Type.Elem() == TypeObject || !holdsGoType(v):
			return false // decoded anew, or converted
		case v.Type.IsArray() && reflect.ValueOf(v.V).IsNil():
			return false // its record holds an empty array
		}
	}
	return true
}

// sameQualifiers reports whether reflect.DeepEqual holds for a and b,
// quickly when they are one slice.
func sameQualifiers(a, b []Qualifier) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Flavor != b[i].Flavor || !identical(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// identical reports whether reflect.DeepEqual holds for a and b, quickly
// for scalars of their types' Go types (all comparable with ==).
func identical(a, b Value) bool {
	if a.Type != b.Type {
		return false
	}
	if !a.Type.IsArray() && a.Type != TypeObject && holdsGoType(a) && holdsGoType(b) {
		return a.V == b.V
	}
	return reflect.DeepEqual(a.V, b.V)
}

// DecodeKeys is Decode for the class's key properties alone (the shape
// SpawnKeys gives), as DecodeInstanceKeys.
func (t *Template) DecodeKeys(b []byte) (*Object, error) {
	return decodeInstance(b, t.cls, t.keys, t)
}

// DecodeInstanceKeys is DecodeInstance for the properties at the indexes
// keys of class's properties (its keys, for names): the result has those
// properties alone, and the other stored values are skipped, not decoded;
// reading stops after the last key (keys are usually stored first). What
// it reads is checked as DecodeInstance checks it.
func DecodeInstanceKeys(b []byte, class *Object, keys []int) (*Object, error) {
	if keys == nil {
		keys = []int{}
	}
	return decodeInstance(b, class, keys, nil)
}

// decodeInstance decodes an instance record against class, for the
// properties at keys (all when keys is nil), with the qualifiers of t if
// it is set.
func decodeInstance(b []byte, class *Object, keys []int, t *Template) (*Object, error) {
	d := &decoder{b: b}
	d.header(kindInstance)
	name := d.string()
	if d.err == nil && !EqualFold(name, class.Class) {
		d.fail("instance record of class " + name + " decoded as " + class.Class)
	}
	n := len(class.Properties)
	if keys != nil {
		n = len(keys)
	}
	inst := &Object{
		Genus: GenusInstance, Class: class.Class, Superclass: class.Superclass,
		Derivation: class.Derivation, Server: class.Server, Namespace: class.Namespace,
		Properties: make([]Property, n),
	}
	if t != nil {
		inst.Qualifiers = t.quals // capped: appending copies
		if own := d.ownQualifiers(); len(own) > 0 {
			inst.Qualifiers = append(inst.Qualifiers, own...)
		}
	} else {
		inst.Qualifiers = append(instanceQualifiers(class.Qualifiers), d.ownQualifiers()...)
	}
	for i := range inst.Properties {
		ci := i
		if keys != nil {
			ci = keys[i]
		}
		p := &class.Properties[ci]
		if t != nil {
			inst.Properties[i] = t.props[ci]
			inst.Properties[i].Value = Value{Type: p.Type}
			continue
		}
		inst.Properties[i] = Property{Name: p.Name, Type: p.Type, RefClass: p.RefClass, ArraySize: p.ArraySize,
			Value: Value{Type: p.Type}, Qualifiers: p.Qualifiers, Origin: p.Origin, Propagated: true}
	}
	count, found := d.count(), 0
	for j := 0; j < count && d.err == nil; j++ {
		if keys != nil && found == len(keys) {
			return inst, nil // the keys are all read: the rest is not looked at
		}
		pname := d.bytes()
		// Stored properties usually come in class order: try position j first.
		i := -1
		if j < len(inst.Properties) && inst.Properties[j].Name == string(pname) {
			i = j
		} else {
			i = propertyIndex(inst.Properties, pname)
		}
		if i < 0 {
			// Not wanted, or no longer declared: checked, not kept.
			if keys != nil {
				d.skipValue(0)
			} else {
				d.value(0)
			}
			d.ownQualifiers()
			continue
		}
		v := d.value(0)
		qs := d.ownQualifiers()
		if d.err != nil {
			break
		}
		found++
		p := &inst.Properties[i]
		if v.Type != p.Type {
			cv, err := Convert(v, p.Type)
			if err != nil {
				d.fail("stored value of " + p.Name + " does not convert to its declared type")
				break
			}
			v = cv
		}
		p.Value = v
		if len(qs) > 0 {
			p.Qualifiers = append(append([]Qualifier(nil), p.Qualifiers...), qs...)
		}
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return inst, nil
}

func propertyIndex(ps []Property, name []byte) int {
	for i := range ps {
		if equalFoldBytes(ps[i].Name, name) {
			return i
		}
	}
	return -1
}

func equalFoldBytes(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c, d := s[i], b[i]
		if c == d {
			continue
		}
		if c >= 0x80 || d >= 0x80 {
			return EqualFold(s, string(b))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

func appendQualifiers(dst []byte, qs []Qualifier) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(qs)))
	for i := range qs {
		dst = appendString(dst, qs[i].Name)
		dst = append(dst, byte(qs[i].Flavor))
		dst = appendValue(dst, qs[i].Value)
	}
	return dst
}

func appendObject(dst []byte, o *Object) []byte {
	dst = binary.AppendUvarint(dst, uint64(o.Genus))
	dst = appendString(dst, o.Class)
	dst = appendString(dst, o.Superclass)
	dst = appendStrings(dst, o.Derivation)
	dst = appendQualifiers(dst, o.Qualifiers)
	dst = binary.AppendUvarint(dst, uint64(len(o.Properties)))
	for i := range o.Properties {
		p := &o.Properties[i]
		dst = appendString(dst, p.Name)
		dst = binary.AppendUvarint(dst, uint64(p.Type))
		dst = appendString(dst, p.RefClass)
		dst = binary.AppendUvarint(dst, uint64(p.ArraySize))
		dst = appendString(dst, p.Origin)
		flags := byte(0)
		if p.Propagated {
			flags |= propPropagated
		}
		dst = append(dst, flags)
		dst = appendValue(dst, p.Value)
		dst = appendQualifiers(dst, p.Qualifiers)
	}
	dst = binary.AppendUvarint(dst, uint64(len(o.Methods)))
	for i := range o.Methods {
		m := &o.Methods[i]
		dst = appendString(dst, m.Name)
		dst = binary.AppendUvarint(dst, uint64(m.ReturnType))
		dst = appendString(dst, m.Origin)
		flags := byte(0)
		if m.Propagated {
			flags |= methPropagated
		}
		dst = append(dst, flags)
		dst = appendQualifiers(dst, m.Qualifiers)
		dst = binary.AppendUvarint(dst, uint64(len(m.Parameters)))
		for j := range m.Parameters {
			pa := &m.Parameters[j]
			dst = appendString(dst, pa.Name)
			dst = binary.AppendUvarint(dst, uint64(pa.Type))
			dst = appendString(dst, pa.RefClass)
			dst = binary.AppendUvarint(dst, uint64(pa.ArraySize))
			dst = appendQualifiers(dst, pa.Qualifiers)
		}
	}
	return dst
}

func appendValue(dst []byte, v Value) []byte {
	dst = binary.AppendUvarint(dst, uint64(v.Type))
	if v.V == nil {
		return append(dst, valueNull)
	}
	dst = append(dst, valuePresent)
	if v.Type.IsArray() {
		n := v.Len()
		dst = binary.AppendUvarint(dst, uint64(n))
		for i := 0; i < n; i++ {
			dst = appendScalar(dst, v.Index(i).V)
		}
		return dst
	}
	return appendScalar(dst, v.V)
}

func appendScalar(dst []byte, x any) []byte {
	switch n := x.(type) {
	case int8:
		return binary.AppendVarint(dst, int64(n))
	case int16:
		return binary.AppendVarint(dst, int64(n))
	case int32:
		return binary.AppendVarint(dst, int64(n))
	case int64:
		return binary.AppendVarint(dst, n)
	case uint8:
		return binary.AppendUvarint(dst, uint64(n))
	case uint16:
		return binary.AppendUvarint(dst, uint64(n))
	case uint32:
		return binary.AppendUvarint(dst, uint64(n))
	case uint64:
		return binary.AppendUvarint(dst, n)
	case Char16:
		return binary.AppendUvarint(dst, uint64(n))
	case float32:
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(n))
	case float64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(n))
	case bool:
		if n {
			return append(dst, 1)
		}
		return append(dst, 0)
	case string:
		return appendString(dst, n)
	case Datetime:
		return appendString(dst, n.String())
	case *Object:
		return appendObject(dst, n)
	}
	panic("cim: cannot encode a value of Go type " + typeNameOf(x))
}

func typeNameOf(x any) string {
	return valueOf(x).Type().String()
}

// decoder reads a record; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = Errorf(ECriticalError, "corrupt repository record: %s", msg)
	}
	d.b = nil
}

func (d *decoder) header(kind byte) {
	if len(d.b) < 2 {
		d.fail("truncated header")
		return
	}
	if d.b[0] != recordVersion {
		d.fail("unknown record format version")
		return
	}
	if d.b[1] != kind {
		d.fail("unexpected record kind")
		return
	}
	d.b = d.b[2:]
}

func (d *decoder) end() {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an element count; each element needs at least one byte, so
// a count larger than the bytes left is corrupt.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) || n > maxDecodeCount {
		d.fail("count larger than the record")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("string longer than the record")
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) typ() Type {
	t := Type(d.uvarint())
	if d.err == nil && t != TypeNone && !t.Valid() {
		d.fail("invalid CIM type")
	}
	return t
}

func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.string())
	}
	return out
}

func (d *decoder) qualifiers(depth int) []Qualifier {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]Qualifier, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		q := Qualifier{Name: d.string(), Flavor: Flavor(d.byte())}
		q.Value = d.value(depth)
		out = append(out, q)
	}
	d.unique("qualifier", len(out), func(i int) string { return out[i].Name })
	return out
}

// unique fails the decode when two of n names (name(i)) are equal but for
// case: a record never holds two members of one name.
func (d *decoder) unique(what string, n int, name func(i int) string) {
	if d.err != nil || n < 2 {
		return
	}
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if EqualFold(name(i), name(j)) {
					d.fail(what + " " + name(i) + " appears twice")
					return
				}
			}
		}
		return
	}
	seen := make(map[string]struct{}, n)
	for i := 0; i < n; i++ {
		k := Fold(name(i))
		if _, dup := seen[k]; dup {
			d.fail(what + " " + name(i) + " appears twice")
			return
		}
		seen[k] = struct{}{}
	}
}

// ownQualifiers reads an instance's own qualifiers: the encoder never
// writes propagated ones, so one marked propagated is corrupt.
func (d *decoder) ownQualifiers() []Qualifier {
	qs := d.qualifiers(0)
	for _, q := range qs {
		if q.Flavor&FlavorOriginPropagated != 0 {
			d.fail("instance qualifier marked as propagated")
			return nil
		}
	}
	return qs
}

func (d *decoder) object(depth int) *Object {
	if depth > MaxObjectNesting {
		d.fail("objects nested too deep")
		return nil
	}
	o := &Object{Genus: Genus(d.uvarint())}
	if d.err == nil && o.Genus != GenusClass && o.Genus != GenusInstance {
		d.fail("invalid genus")
		return nil
	}
	o.Class = d.string()
	o.Superclass = d.string()
	o.Derivation = d.strings()
	o.Qualifiers = d.qualifiers(depth)
	n := d.count()
	if n > 0 {
		o.Properties = make([]Property, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		p := Property{Name: d.string(), Type: d.typ(), RefClass: d.string(), ArraySize: int(d.uvarint() & 0x7fffffff), Origin: d.string()}
		p.Propagated = d.byte()&propPropagated != 0
		p.Value = d.value(depth)
		p.Qualifiers = d.qualifiers(depth)
		if d.err == nil && p.Value.Type != p.Type {
			d.fail("property value type differs from its declaration")
		}
		o.Properties = append(o.Properties, p)
	}
	d.unique("property", len(o.Properties), func(i int) string { return o.Properties[i].Name })
	n = d.count()
	if n > 0 {
		o.Methods = make([]Method, 0, n)
	}
	for i := 0; i < n && d.err == nil; i++ {
		m := Method{Name: d.string(), ReturnType: d.typ(), Origin: d.string()}
		m.Propagated = d.byte()&methPropagated != 0
		m.Qualifiers = d.qualifiers(depth)
		np := d.count()
		for j := 0; j < np && d.err == nil; j++ {
			pa := Parameter{Name: d.string(), Type: d.typ(), RefClass: d.string(), ArraySize: int(d.uvarint() & 0x7fffffff)}
			pa.Qualifiers = d.qualifiers(depth)
			m.Parameters = append(m.Parameters, pa)
		}
		d.unique("parameter", len(m.Parameters), func(i int) string { return m.Parameters[i].Name })
		o.Methods = append(o.Methods, m)
	}
	d.unique("method", len(o.Methods), func(i int) string { return o.Methods[i].Name })
	if d.err != nil {
		return nil
	}
	return o
}

func (d *decoder) value(depth int) Value {
	t := d.typ()
	present := d.byte()
	if d.err != nil {
		return Value{}
	}
	switch present {
	case valueNull:
		return Value{Type: t}
	case valuePresent:
	default:
		d.fail("bad value marker")
		return Value{}
	}
	if t == TypeNone {
		d.fail("value without a type")
		return Value{}
	}
	if !t.IsArray() {
		return Value{Type: t, V: d.scalar(t, depth)}
	}
	n := d.count()
	if d.err != nil {
		return Value{}
	}
	if t.Elem() == TypeString || t.Elem() == TypeReference {
		out := make([]string, n)
		for i := range out {
			out[i] = d.string()
		}
		if d.err != nil {
			return Value{}
		}
		return Value{Type: t, V: out}
	}
	out := makeSlice(t.Elem(), n)
	for i := 0; i < n; i++ {
		x := d.scalar(t.Elem(), depth)
		if d.err != nil {
			return Value{}
		}
		out.Index(i).Set(valueOf(x))
	}
	return Value{Type: t, V: out.Interface()}
}

// skipValue reads past a value without building it (an embedded object
// is decoded and dropped).
func (d *decoder) skipValue(depth int) {
	t := d.typ()
	present := d.byte()
	if d.err != nil || present == valueNull {
		return
	}
	if present != valuePresent || t == TypeNone {
		d.fail("bad value marker")
		return
	}
	if !t.IsArray() {
		d.skipScalar(t, depth)
		return
	}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		d.skipScalar(t.Elem(), depth)
	}
}

func (d *decoder) skipScalar(t Type, depth int) {
	switch t {
	case TypeSint8, TypeSint16, TypeSint32, TypeSint64:
		d.varint()
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64, TypeChar16:
		d.uvarint()
	case TypeReal32, TypeReal64:
		n := 4
		if t == TypeReal64 {
			n = 8
		}
		if len(d.b) < n {
			d.fail("truncated real")
			return
		}
		d.b = d.b[n:]
	case TypeBoolean:
		d.byte()
	case TypeString, TypeReference, TypeDatetime:
		d.bytes()
	default:
		d.scalar(t, depth)
	}
}

func (d *decoder) scalar(t Type, depth int) any {
	switch t {
	case TypeSint8, TypeSint16, TypeSint32, TypeSint64:
		n := d.varint()
		switch t {
		case TypeSint64:
			return n
		case TypeSint32:
			if n >= math.MinInt32 && n <= math.MaxInt32 {
				return int32(n)
			}
		case TypeSint16:
			if n >= math.MinInt16 && n <= math.MaxInt16 {
				return int16(n)
			}
		default:
			if n >= math.MinInt8 && n <= math.MaxInt8 {
				return int8(n)
			}
		}
		d.fail("integer out of range")
		return nil
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		n := d.uvarint()
		switch t {
		case TypeUint64:
			return n
		case TypeUint32:
			if n <= math.MaxUint32 {
				return uint32(n)
			}
		case TypeUint16:
			if n <= math.MaxUint16 {
				return uint16(n)
			}
		default:
			if n <= math.MaxUint8 {
				return uint8(n)
			}
		}
		d.fail("integer out of range")
		return nil
	case TypeChar16:
		n := d.uvarint()
		if n > 0xFFFF {
			d.fail("char16 out of range")
			return nil
		}
		return Char16(n)
	case TypeReal32:
		if len(d.b) < 4 {
			d.fail("truncated real32")
			return nil
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(d.b))
		d.b = d.b[4:]
		return f
	case TypeReal64:
		if len(d.b) < 8 {
			d.fail("truncated real64")
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		return f
	case TypeBoolean:
		switch d.byte() {
		case 0:
			return false
		case 1:
			return true
		}
		d.fail("bad boolean")
		return nil
	case TypeString, TypeReference:
		return d.string()
	case TypeDatetime:
		s := d.string()
		if d.err != nil {
			return nil
		}
		dt, err := ParseDatetime(s)
		if err != nil {
			d.fail("bad datetime")
			return nil
		}
		return dt
	case TypeObject:
		o := d.object(depth + 1)
		if d.err != nil {
			return nil
		}
		return o
	}
	d.fail("invalid CIM type")
	return nil
}
