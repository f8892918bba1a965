package cimxml

import (
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// namespaceOf joins the NAMESPACE elements of a LOCALNAMESPACEPATH.
func namespaceOf(n *node) string {
	if len(n.kids) == 1 && n.kids[0].name == "NAMESPACE" {
		name, _ := n.kids[0].attr("NAME")
		return name
	}
	var room [8]string
	parts := room[:0]
	for _, k := range n.kids {
		if k.name == "NAMESPACE" {
			name, _ := k.attr("NAME")
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, "/")
}

// nameAttr reads a required name attribute (a class, property,
// qualifier or key name): present, and a CIM identifier.
func nameAttr(n *node, attr string) (string, error) {
	v, ok := n.attr(attr)
	if !ok || v == "" {
		return "", requestError("%s needs a %s (%s)", n.name, attr, n.where())
	}
	if !isCIMName(v) {
		return "", requestError("%s %s=%q is not a CIM name (%s)", n.name, attr, v, n.where())
	}
	return v, nil
}

// typeOf reads a TYPE or PARAMTYPE attribute.
func typeOf(n *node, attr string) (cim.Type, error) {
	t, _ := n.attr(attr)
	if t == "" {
		return cim.TypeString, nil
	}
	typ, ok := cim.ParseTypeName(t)
	if !ok || typ.Elem() == cim.TypeObject {
		return 0, requestError("unknown %s %q (%s)", attr, t, n.where())
	}
	return typ, nil
}

// valueOf decodes a VALUE, VALUE.ARRAY or VALUE.REFERENCE of type t.
func valueOf(n *node, t cim.Type, embedded bool, depth int) (cim.Value, error) {
	if n == nil {
		return cim.Null(t), nil
	}
	switch n.name {
	case "VALUE.NULL":
		return cim.Null(t), nil
	case "VALUE":
		if t.IsArray() {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "%s needs a VALUE.ARRAY (%s)", t, n.where())
		}
		return scalarOf(n.text.String(), t, embedded, depth, n)
	case "VALUE.ARRAY":
		if !t.IsArray() {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "%s takes one VALUE, not a VALUE.ARRAY (%s)", t, n.where())
		}
		elems := make([]any, 0, len(n.kids))
		for _, k := range n.kids {
			if k.name == "VALUE.NULL" {
				return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "array elements cannot be NULL (%s)", k.where())
			}
			v, err := valueOf(k, t.Elem(), embedded, depth)
			if err != nil {
				return cim.Value{}, err
			}
			elems = append(elems, v.V)
		}
		return cim.NewValue(t, elems)
	case "VALUE.REFERENCE":
		p, err := referenceOf(n)
		if err != nil {
			return cim.Value{}, err
		}
		return cim.NewValue(cim.TypeReference, p)
	}
	return cim.Value{}, requestError("expected a value, found %s (%s)", n.name, n.where())
}

func scalarOf(text string, t cim.Type, embedded bool, depth int, n *node) (cim.Value, error) {
	if embedded || t == cim.TypeObject {
		obj, err := embeddedOf(text, depth)
		if err != nil {
			return cim.Value{}, err
		}
		return cim.Value{Type: cim.TypeObject, V: obj}, nil
	}
	if t != cim.TypeChar16 || strings.TrimSpace(text) != "" {
		// Leading and trailing white space is layout, as OpenPegasus
		// reads it (a char16 may be a space itself).
		text = strings.TrimSpace(text)
	}
	switch t {
	case cim.TypeUint8, cim.TypeUint16, cim.TypeUint32, cim.TypeUint64:
		if strings.HasPrefix(text, "-") {
			return cim.Value{}, requestError("%s value %q has a sign (%s)", t, text, n.where())
		}
	}
	if t.IsReal() && !strings.ContainsAny(text, ".eE") && !strings.EqualFold(text, "NaN") && !strings.Contains(strings.ToLower(text), "inf") {
		// DSP0201's real grammar has a decimal point or an exponent.
		return cim.Value{}, requestError("%s value %q is not a real number (DSP0201 needs a decimal point) (%s)", t, text, n.where())
	}
	v, err := cim.ParseValue(t, text)
	if err != nil {
		return cim.Value{}, requestError("%s (%s)", cim.AsError(err).Description, n.where())
	}
	return v, nil
}

// embeddedOf decodes an embedded object: the escaped text of an INSTANCE
// or CLASS element.
func embeddedOf(text string, depth int) (*cim.Object, error) {
	if depth > 16 {
		return nil, requestError("embedded objects nest too deep")
	}
	root, err := parseTree(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	switch root.name {
	case "INSTANCE":
		return instanceOf(root, depth+1)
	case "CLASS":
		return classOf(root)
	}
	return nil, requestError("an embedded object is an INSTANCE or a CLASS, not %s", root.name)
}

// firstValueOf decodes the first child of n, a value of type t (an array
// of t when it is a VALUE.ARRAY), as QUALIFIER and PARAMVALUE hold it; it
// returns the type the value was decoded as.
func firstValueOf(n *node, t cim.Type) (cim.Value, cim.Type, error) {
	var vn *node
	if len(n.kids) > 0 {
		vn = n.kids[0]
		if vn.name == "VALUE.ARRAY" {
			t = t.ArrayOf()
		}
	}
	v, err := valueOf(vn, t, false, 0)
	return v, t, err
}

// qualifierOf decodes a QUALIFIER.
func qualifierOf(n *node) (cim.Qualifier, error) {
	name, err := nameAttr(n, "NAME")
	if err != nil {
		return cim.Qualifier{}, err
	}
	t, err := typeOf(n, "TYPE")
	if err != nil {
		return cim.Qualifier{}, err
	}
	v, _, err := firstValueOf(n, t)
	if err != nil {
		return cim.Qualifier{}, err
	}
	q := cim.Qualifier{Name: name, Value: v, Flavor: flavorOf(n, cim.FlavorToSubclass)}
	return q, nil
}

// flavorOf reads the flavor attributes (DSP0201 defaults: OVERRIDABLE and
// TOSUBCLASS true, TOINSTANCE and TRANSLATABLE false).
func flavorOf(n *node, def cim.Flavor) cim.Flavor {
	f := def
	set := func(attr string, bit cim.Flavor, on bool) {
		if v, ok := n.attr(attr); ok {
			if strings.EqualFold(v, "true") == on {
				f |= bit
			} else {
				f &^= bit
			}
		}
	}
	set("OVERRIDABLE", cim.FlavorDisableOverride, false)
	set("TOSUBCLASS", cim.FlavorToSubclass, true)
	set("TOINSTANCE", cim.FlavorToInstance, true)
	set("TRANSLATABLE", cim.FlavorAmended, true)
	return f
}

func qualifiersOf(n *node) ([]cim.Qualifier, error) {
	var out []cim.Qualifier
	for _, k := range n.kids {
		if k.name != "QUALIFIER" {
			continue
		}
		q, err := qualifierOf(k)
		if err != nil {
			return nil, err
		}
		for _, prev := range out {
			if cim.EqualFold(prev.Name, q.Name) {
				return nil, requestError("qualifier %s is given twice (%s)", q.Name, k.where())
			}
		}
		if prop, _ := k.attr("PROPAGATED"); strings.EqualFold(prop, "true") {
			q.Flavor |= cim.FlavorOriginPropagated
		}
		out = append(out, q)
	}
	return out, nil
}

// propertyOf decodes a PROPERTY, PROPERTY.ARRAY or PROPERTY.REFERENCE.
func propertyOf(n *node, depth int) (cim.Property, error) {
	name, err := nameAttr(n, "NAME")
	if err != nil {
		return cim.Property{}, err
	}
	p := cim.Property{Name: name}
	embedded := false
	if v, ok := n.attr("EmbeddedObject"); ok && v != "" {
		embedded = true
	}
	switch n.name {
	case "PROPERTY":
		p.Type, err = typeOf(n, "TYPE")
	case "PROPERTY.ARRAY":
		p.Type, err = typeOf(n, "TYPE")
		p.Type = p.Type.ArrayOf()
		if size, ok := n.attr("ARRAYSIZE"); ok {
			if v, perr := cim.ParseValue(cim.TypeUint32, size); perr == nil {
				p.ArraySize = int(v.V.(uint32))
			}
		}
	case "PROPERTY.REFERENCE":
		p.Type = cim.TypeReference
		p.RefClass, _ = n.attr("REFERENCECLASS")
	}
	if err != nil {
		return p, err
	}
	if embedded {
		p.Type = cim.TypeObject
		if n.name == "PROPERTY.ARRAY" {
			p.Type = p.Type.ArrayOf()
		}
		p.RefClass, _ = n.attr("EmbeddedInstance")
	}
	if p.Qualifiers, err = qualifiersOf(n); err != nil {
		return p, err
	}
	if ei, ok := cim.FindQualifier(p.Qualifiers, "EmbeddedInstance"); ok && p.Type.Elem() == cim.TypeString {
		p.Type = cim.TypeObject
		if n.name == "PROPERTY.ARRAY" {
			p.Type = p.Type.ArrayOf()
		}
		p.RefClass, _ = ei.Value.V.(string)
	}
	if o, _ := n.attr("CLASSORIGIN"); o != "" {
		p.Origin = o
	}
	var vn *node
	for _, k := range n.kids {
		if strings.HasPrefix(k.name, "VALUE") {
			vn = k
		}
	}
	p.Value, err = valueOf(vn, p.Type, false, depth)
	return p, err
}

// instanceOf decodes an INSTANCE.
func instanceOf(n *node, depth int) (*cim.Object, error) {
	if n.name != "INSTANCE" {
		return nil, requestError("expected INSTANCE, found %s (%s)", n.name, n.where())
	}
	o := &cim.Object{Genus: cim.GenusInstance}
	var err error
	if o.Class, err = nameAttr(n, "CLASSNAME"); err != nil {
		return nil, err
	}
	if o.Qualifiers, err = qualifiersOf(n); err != nil {
		return nil, err
	}
	// Qualifiers a client copied from the class (wbemcli does) belong to
	// the class, not to the instance.
	for i := range o.Qualifiers {
		o.Qualifiers[i].Flavor |= cim.FlavorOriginPropagated
	}
	props := 0
	for _, k := range n.kids {
		if strings.HasPrefix(k.name, "PROPERTY") {
			props++
		}
	}
	if props > 0 {
		o.Properties = make([]cim.Property, 0, min(props, maxProperties))
	}
	for _, k := range n.kids {
		if !strings.HasPrefix(k.name, "PROPERTY") {
			continue
		}
		if len(o.Properties) == maxProperties {
			return nil, cim.Errorf(cim.EInvalidParameter, "an instance in a request may have at most %d properties (%s)", maxProperties, k.where())
		}
		p, err := propertyOf(k, depth)
		if err != nil {
			return nil, err
		}
		for _, prev := range o.Properties {
			if cim.EqualFold(prev.Name, p.Name) {
				return nil, requestError("property %s is given twice (%s)", p.Name, k.where())
			}
		}
		for i := range p.Qualifiers {
			p.Qualifiers[i].Flavor |= cim.FlavorOriginPropagated
		}
		o.Properties = append(o.Properties, p)
	}
	return o, nil
}

// classOf decodes a CLASS.
func classOf(n *node) (*cim.Object, error) {
	if n.name != "CLASS" {
		return nil, requestError("expected CLASS, found %s (%s)", n.name, n.where())
	}
	c := &cim.Object{Genus: cim.GenusClass}
	var err error
	if c.Class, err = nameAttr(n, "NAME"); err != nil {
		return nil, err
	}
	c.Superclass, _ = n.attr("SUPERCLASS")
	if c.Qualifiers, err = qualifiersOf(n); err != nil {
		return nil, err
	}
	for _, k := range n.kids {
		switch {
		case strings.HasPrefix(k.name, "PROPERTY"):
			p, err := propertyOf(k, 0)
			if err != nil {
				return nil, err
			}
			if prop, _ := k.attr("PROPAGATED"); strings.EqualFold(prop, "true") {
				continue // inherited: the class declares it through its superclass
			}
			p.Origin = ""
			c.Properties = append(c.Properties, p)
		case k.name == "METHOD":
			if prop, _ := k.attr("PROPAGATED"); strings.EqualFold(prop, "true") {
				continue
			}
			m, err := methodOf(k)
			if err != nil {
				return nil, err
			}
			c.Methods = append(c.Methods, m)
		}
	}
	return c, nil
}

func methodOf(n *node) (cim.Method, error) {
	name, _ := n.attr("NAME")
	rt, err := typeOf(n, "TYPE")
	if err != nil {
		return cim.Method{}, err
	}
	m := cim.Method{Name: name, ReturnType: rt}
	if m.Qualifiers, err = qualifiersOf(n); err != nil {
		return m, err
	}
	for _, k := range n.kids {
		var pa cim.Parameter
		pa.Name, _ = k.attr("NAME")
		switch k.name {
		case "PARAMETER":
			pa.Type, err = typeOf(k, "TYPE")
		case "PARAMETER.ARRAY":
			pa.Type, err = typeOf(k, "TYPE")
			pa.Type = pa.Type.ArrayOf()
		case "PARAMETER.REFERENCE":
			pa.Type = cim.TypeReference
			pa.RefClass, _ = k.attr("REFERENCECLASS")
		case "PARAMETER.REFARRAY":
			pa.Type = cim.TypeReference.ArrayOf()
			pa.RefClass, _ = k.attr("REFERENCECLASS")
		default:
			continue
		}
		if err != nil {
			return m, err
		}
		if pa.Qualifiers, err = qualifiersOf(k); err != nil {
			return m, err
		}
		m.Parameters = append(m.Parameters, pa)
	}
	return m, nil
}

// instanceNameOf decodes an INSTANCENAME into a path.
func instanceNameOf(n *node) (*cim.ObjectPath, error) {
	if n == nil || n.name != "INSTANCENAME" {
		what := "nothing"
		if n != nil {
			what = n.name
		}
		return nil, requestError("expected INSTANCENAME, found %s", what)
	}
	p := &cim.ObjectPath{}
	var err error
	if p.Class, err = nameAttr(n, "CLASSNAME"); err != nil {
		return nil, err
	}
	for _, k := range n.kids {
		if len(p.Keys) == cim.MaxKeys && (k.name == "KEYBINDING" || k.name == "KEYVALUE" || k.name == "VALUE.REFERENCE") {
			return nil, requestError("INSTANCENAME has more than %d key bindings (%s)", cim.MaxKeys, k.where())
		}
		switch k.name {
		case "KEYBINDING":
			name, err := nameAttr(k, "NAME")
			if err != nil {
				return nil, err
			}
			if len(k.kids) == 0 {
				return nil, requestError("KEYBINDING %s holds no value (%s)", name, k.where())
			}
			v, err := keyValueOf(k.kids[0])
			if err != nil {
				return nil, err
			}
			p.Keys = append(p.Keys, cim.KeyBinding{Name: name, Value: v})
		case "KEYVALUE", "VALUE.REFERENCE":
			v, err := keyValueOf(k)
			if err != nil {
				return nil, err
			}
			p.Keys = append(p.Keys, cim.KeyBinding{Value: v})
		}
	}
	if len(p.Keys) == 0 {
		p.Singleton = true
	}
	return p, nil
}

func keyValueOf(n *node) (cim.Value, error) {
	if n.name == "VALUE.REFERENCE" {
		s, err := referenceOf(n)
		if err != nil {
			return cim.Value{}, err
		}
		return cim.Value{Type: cim.TypeReference, V: s}, nil
	}
	text := strings.TrimSpace(n.text.String()) // as OpenPegasus: pretty-printed requests indent values
	vt, _ := n.attr("VALUETYPE")
	if t, ok := n.attr("TYPE"); ok {
		if typ, ok := cim.ParseTypeName(t); ok {
			return scalarOf(text, typ, false, 0, n)
		}
	}
	switch strings.ToLower(vt) {
	case "boolean":
		return cim.ParseValue(cim.TypeBoolean, strings.TrimSpace(text))
	case "numeric":
		text = strings.TrimSpace(text)
		if strings.HasPrefix(text, "-") {
			return cim.ParseValue(cim.TypeSint64, text)
		}
		if v, err := cim.ParseValue(cim.TypeUint64, text); err == nil {
			return v, nil
		}
		return cim.ParseValue(cim.TypeReal64, text)
	}
	return cim.Value{Type: cim.TypeString, V: text}, nil
}

// referenceOf decodes a VALUE.REFERENCE into an object path string.
func referenceOf(n *node) (string, error) {
	if len(n.kids) == 0 {
		return "", requestError("VALUE.REFERENCE is empty (%s)", n.where())
	}
	p, err := pathOf(n.kids[0])
	if err != nil {
		return "", err
	}
	p.Server = "" // wbemd serves one host: any host named is this one
	return p.String(), nil
}

// localRefs rewrites reference values that name the request's own
// namespace as namespace-relative paths, the form the repository stores
// and compares.
func localRefs(props []cim.Property, ns string) {
	for i := range props {
		props[i].Value = localRef(props[i].Value, ns)
	}
}

func localRef(v cim.Value, ns string) cim.Value {
	s, ok := v.V.(string)
	if !ok || v.Type != cim.TypeReference {
		return v
	}
	p, err := cim.ParsePath(s)
	if err != nil || !cim.EqualFold(p.Namespace, ns) {
		return v
	}
	p.Namespace, p.Server = "", ""
	return cim.Value{Type: cim.TypeReference, V: p.String()}
}

// pathOf decodes CLASSPATH, LOCALCLASSPATH, CLASSNAME, INSTANCEPATH,
// LOCALINSTANCEPATH or INSTANCENAME.
func pathOf(n *node) (*cim.ObjectPath, error) {
	switch n.name {
	case "CLASSNAME":
		c, _ := n.attr("NAME")
		return &cim.ObjectPath{Class: c}, nil
	case "INSTANCENAME":
		return instanceNameOf(n)
	case "LOCALCLASSPATH", "CLASSPATH", "LOCALINSTANCEPATH", "INSTANCEPATH":
		var p *cim.ObjectPath
		var err error
		if cn := n.kid("CLASSNAME"); cn != nil {
			p, err = pathOf(cn)
		} else if in := n.kid("INSTANCENAME"); in != nil {
			p, err = pathOf(in)
		} else {
			return nil, requestError("%s names no class or instance (%s)", n.name, n.where())
		}
		if err != nil {
			return nil, err
		}
		nsp := n.kid("LOCALNAMESPACEPATH")
		if nsPath := n.kid("NAMESPACEPATH"); nsPath != nil {
			nsp = nsPath.kid("LOCALNAMESPACEPATH")
			if h := nsPath.kid("HOST"); h != nil {
				p.Server = strings.TrimSpace(h.text.String())
			}
		}
		if nsp != nil {
			p.Namespace = namespaceOf(nsp)
		}
		return p, nil
	}
	return nil, requestError("expected an object path, found %s (%s)", n.name, n.where())
}

// qualifierDeclOf decodes a QUALIFIER.DECLARATION.
func qualifierDeclOf(n *node) (*cim.QualifierDecl, error) {
	if n.name != "QUALIFIER.DECLARATION" {
		return nil, requestError("expected QUALIFIER.DECLARATION, found %s", n.name)
	}
	d := &cim.QualifierDecl{}
	var err error
	if d.Name, err = nameAttr(n, "NAME"); err != nil {
		return nil, err
	}
	if _, ok := n.attr("TYPE"); !ok {
		return nil, requestError("QUALIFIER.DECLARATION %s has no TYPE", d.Name)
	}
	t, err := typeOf(n, "TYPE")
	if err != nil {
		return nil, err
	}
	if a, _ := n.attr("ISARRAY"); strings.EqualFold(a, "true") {
		t = t.ArrayOf()
	}
	d.Type = t
	if size, ok := n.attr("ARRAYSIZE"); ok {
		d.ArraySize, _ = strconv.Atoi(size)
	}
	d.Flavor = flavorOf(n, cim.FlavorToSubclass)
	if sc := n.kid("SCOPE"); sc != nil {
		for _, a := range sc.attrs {
			if strings.EqualFold(a.Value, "true") {
				if s, ok := cim.ParseScope(a.Name.Local); ok {
					d.Scope |= s
				}
			}
		}
	}
	var vn *node
	for _, k := range n.kids {
		if strings.HasPrefix(k.name, "VALUE") {
			vn = k
		}
	}
	if d.Value, err = valueOf(vn, t, false, 0); err != nil {
		return nil, err
	}
	return d, nil
}

// instanceInto decodes an INSTANCE into the instance spawn returns for
// its CLASSNAME (an instance spawned from the class), as completing the
// instance instanceOf decodes would: each property's value converted to
// the type the instance has for it, a property it does not have or a
// value that does not convert left as spawned, the INSTANCE's qualifiers
// and the properties' qualifiers and origins those of the class. It fails
// where instanceOf fails, with the same errors, and returns nil without
// an error when spawn does. It makes no intermediate instance: one pass
// over the properties, duplicates found by the index they have in the
// spawned instance.
func instanceInto(n *node, spawn func(class string) (*cim.Object, error)) (*cim.Object, error) {
	if n.name != "INSTANCE" {
		return nil, requestError("expected INSTANCE, found %s (%s)", n.name, n.where())
	}
	class, err := nameAttr(n, "CLASSNAME")
	if err != nil {
		return nil, err
	}
	if _, err := qualifiersOf(n); err != nil {
		return nil, err
	}
	out, err := spawn(class)
	if err != nil {
		return nil, err
	}
	if out == nil {
		// Nothing to fill: the INSTANCE is still checked as a whole.
		_, err := instanceOf(n, 0)
		return nil, err
	}
	var small [4]uint64
	seen := small[:]
	if words := (len(out.Properties) + 63) / 64; words > len(small) {
		seen = make([]uint64, words)
	}
	var others []string // properties the instance does not have
	count, next := 0, 0
	for _, k := range n.kids {
		if !strings.HasPrefix(k.name, "PROPERTY") {
			continue
		}
		if count == maxProperties {
			return nil, cim.Errorf(cim.EInvalidParameter, "an instance in a request may have at most %d properties (%s)", maxProperties, k.where())
		}
		count++
		if at, done, err := plainProperty(k, out, next, seen); done {
			if err != nil {
				return nil, err
			}
			next = at + 1
			continue
		}
		p, err := propertyOf(k, 0)
		if err != nil {
			return nil, err
		}
		dst, at, ok := out.PropertyNear(p.Name, next)
		if ok {
			next = at + 1
			if seen[at/64]&(1<<(at%64)) != 0 {
				return nil, requestError("property %s is given twice (%s)", p.Name, k.where())
			}
			seen[at/64] |= 1 << (at % 64)
			if v, err := cim.Convert(p.Value, dst.Type); err == nil {
				dst.Value = v
			}
			continue
		}
		for _, prev := range others {
			if cim.EqualFold(prev, p.Name) {
				return nil, requestError("property %s is given twice (%s)", p.Name, k.where())
			}
		}
		others = append(others, p.Name)
	}
	return out, nil
}

// plainProperty decodes, for instanceInto, the usual PROPERTY of an
// answer: attributes NAME, TYPE and CLASSORIGIN or PROPAGATED as wbemd
// writes them, at most one VALUE of text, for a property of out whose
// type is a scalar the TYPE names as wbemd writes it. It reports done
// false for anything else (propertyOf then decodes it, with its errors);
// done with an error when the value does not parse as its type, the
// error propertyOf gives.
func plainProperty(k *node, out *cim.Object, hint int, seen []uint64) (at int, done bool, err error) {
	if k.name != "PROPERTY" || len(k.kids) > 1 {
		return 0, false, nil
	}
	var name, typ string
	var given uint8 // the attributes read: one given twice is propertyOf's (which reads the first)
	for _, a := range k.attrs {
		var bit uint8
		switch a.Name.Local {
		case "NAME":
			name, bit = a.Value, 1
		case "TYPE":
			typ, bit = a.Value, 2
		case "CLASSORIGIN":
			bit = 4
		case "PROPAGATED":
			bit = 8
		default:
			return 0, false, nil
		}
		if a.Name.Space != "" || given&bit != 0 {
			return 0, false, nil
		}
		given |= bit
	}
	if name == "" || typ == "" {
		return 0, false, nil
	}
	var vn *node
	if len(k.kids) == 1 {
		if vn = k.kids[0]; vn.name != "VALUE" || len(vn.kids) > 0 || len(vn.attrs) > 0 {
			return 0, false, nil
		}
	}
	// A name that matches a property of the class is a CIM name (as the
	// class's are): propertyOf checks the others.
	dst, at, ok := out.PropertyNear(name, hint)
	if !ok || dst.Type.IsArray() || dst.Type == cim.TypeObject || dst.Type == cim.TypeReference || typ != typeName(dst.Type) ||
		seen[at/64]&(1<<(at%64)) != 0 {
		return 0, false, nil
	}
	v := cim.Null(dst.Type)
	if vn != nil {
		if v, err = scalarOf(vn.text.String(), dst.Type, false, 0, vn); err != nil {
			return 0, true, err
		}
	}
	seen[at/64] |= 1 << (at % 64)
	dst.Value = v
	return at, true, nil
}

// isCIMName reports whether v is a CIM name: letters, digits (not first),
// underscores and non-ASCII.
func isCIMName(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c == '_' || c >= 0x80 || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (i > 0 && '0' <= c && c <= '9')) {
			return false
		}
	}
	return v != ""
}
