package wsman

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// getClass reads the class a resource URI names; a class that does not
// exist is a wsa:DestinationUnreachable fault (InvalidResourceURI).
func getClass(ctx context.Context, svc cimom.Services, class string) (*cim.Object, error) {
	cls, err := svc.GetObject(ctx, class, 0, nil)
	if err != nil {
		if st := cim.StatusOf(err); st == cim.ENotFound || st == cim.EInvalidClass {
			f := newFault(faultInvalidResourceURI, "class %s does not exist in namespace %s", class, svc.Namespace())
			f.status = cim.EInvalidClass
			return nil, f
		}
		return nil, fmt.Errorf("reading class %s: %w", class, err)
	}
	return cls, nil
}

// instancePath turns the key selectors of a request into the object path
// of one instance, typed by the class's key properties.
func instancePath(ctx context.Context, svc cimom.Services, res *resource) (string, *cim.Object, error) {
	op, cls, err := instancePathOf(ctx, svc, res)
	if err != nil {
		return "", nil, err
	}
	return op.RelPath(), cls, nil
}

func instancePathOf(ctx context.Context, svc cimom.Services, res *resource) (*cim.ObjectPath, *cim.Object, error) {
	cls, err := getClass(ctx, svc, res.class)
	if err != nil {
		return nil, nil, err
	}
	keys := cls.KeyProperties()
	op := &cim.ObjectPath{Class: cls.Class}
	if len(keys) == 0 {
		if len(res.keys) > 0 {
			return nil, nil, newFault(faultUnexpectedSelectors, "class %s has no keys, but selectors were given", cls.Class)
		}
		op.Singleton = true
		return op, cls, nil
	}
	for _, s := range res.keys {
		prop, ok := cls.Property(s.name)
		if !ok || !prop.IsKey() {
			return nil, nil, newFault(faultUnexpectedSelectors, "%s is not a key of class %s", s.name, cls.Class)
		}
		v, err := selectorValue(ctx, svc, prop, s)
		if err != nil {
			return nil, nil, err
		}
		op.Keys = append(op.Keys, cim.KeyBinding{Name: prop.Name, Value: v})
	}
	for _, k := range keys {
		found := false
		for _, s := range res.keys {
			if cim.EqualFold(s.name, k.Name) {
				found = true
			}
		}
		if !found {
			return nil, nil, newFault(faultInsufficientSelectors, "the selectors do not give key %s of class %s", k.Name, cls.Class)
		}
	}
	return op, cls, nil
}

// selectorValue converts a selector to the type of its key property.
func selectorValue(ctx context.Context, svc cimom.Services, prop *cim.Property, s selector) (cim.Value, error) {
	if prop.Type == cim.TypeReference {
		var path string
		if s.epr != nil {
			p, err := eprPath(ctx, svc, s.epr)
			if err != nil {
				return cim.Value{}, err
			}
			path = p
		} else if _, err := cim.ParsePath(s.text); err == nil {
			path = s.text
		} else {
			return cim.Value{}, newFault(faultSelectorTypeMismatch, "selector %s needs an endpoint reference", s.name)
		}
		return cim.Value{Type: cim.TypeReference, V: path}, nil
	}
	if s.epr != nil {
		return cim.Value{}, newFault(faultSelectorTypeMismatch, "selector %s is a %s, not a reference", s.name, cim.TypeName(prop.Type))
	}
	v, err := parseText(prop.Type, s.text)
	if err != nil {
		return cim.Value{}, newFault(faultSelectorTypeMismatch, "selector %s: %q is not a %s", s.name, s.text, cim.TypeName(prop.Type))
	}
	return v, nil
}

// parseText converts the text of an element to type t, accepting the XML
// Schema forms (xs:boolean 1/0, xs:dateTime, xs:duration) beside CIM's.
func parseText(t cim.Type, text string) (cim.Value, error) {
	switch t {
	case cim.TypeString:
		return cim.Value{Type: t, V: text}, nil
	case cim.TypeBoolean:
		switch strings.TrimSpace(text) {
		case "1":
			return cim.Value{Type: t, V: true}, nil
		case "0":
			return cim.Value{Type: t, V: false}, nil
		}
	case cim.TypeDatetime:
		text = strings.TrimSpace(text)
		if d, err := cim.ParseDatetime(text); err == nil {
			return cim.Value{Type: t, V: d}, nil
		}
		if tm, err := time.Parse(time.RFC3339Nano, text); err == nil {
			return cim.Value{Type: t, V: cim.DatetimeFromTime(tm)}, nil
		}
		if d, err := parseInterval(text); err == nil {
			return cim.Value{Type: t, V: d}, nil
		}
		return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "%q is not a datetime", text)
	}
	return cim.ParseValue(t, strings.TrimSpace(text))
}

// eprPath turns an endpoint reference (wsa:EndpointReference, or an
// element holding wsa:ReferenceParameters) into an object path: relative
// when it is in svc's namespace.
func eprPath(ctx context.Context, svc cimom.Services, epr *elem) (string, error) {
	rp := epr.kid(nsWSA, "ReferenceParameters")
	if rp == nil {
		if inner := epr.kid(nsWSA, "EndpointReference"); inner != nil {
			rp = inner.kid(nsWSA, "ReferenceParameters")
		}
	}
	if rp == nil {
		return "", newFault(faultInvalidRepresentation, "an endpoint reference has no wsa:ReferenceParameters")
	}
	var sels []selector
	if set := rp.kid(nsWSMan, "SelectorSet"); set != nil {
		var err error
		if sels, err = selectorsOf(set); err != nil {
			return "", err
		}
	}
	res, err := parseResource(rp.kid(nsWSMan, "ResourceURI").trimmed(), sels, svc.Namespace())
	if err != nil {
		return "", err
	}
	if res.all {
		return "", newFault(faultInvalidResourceURI, "an endpoint reference names no class")
	}
	target := svc
	if !cim.EqualFold(res.ns, svc.Namespace()) {
		if target, err = svc.OpenNamespace(ctx, "/"+res.ns, 0, nil); err != nil {
			return "", fmt.Errorf("endpoint reference to namespace %s: %w", res.ns, err)
		}
	}
	op, _, err := instancePathOf(ctx, target, res)
	if err != nil {
		return "", err
	}
	if !cim.EqualFold(res.ns, svc.Namespace()) {
		op.Namespace = res.ns
		return op.String(), nil
	}
	return op.RelPath(), nil
}

// decodeInstance reads an instance element of class cls: a new instance
// with the class's defaults and the properties of the body, and the names
// of the properties the body gives.
func decodeInstance(ctx context.Context, svc cimom.Services, cls *cim.Object, body *elem) (*cim.Object, []string, error) {
	if !cim.EqualFold(body.local, cls.Class) {
		return nil, nil, newFault(faultInvalidRepresentation, "the body holds <%s>, not an instance of %s", body.local, cls.Class)
	}
	return decodeProperties(ctx, svc, cls, body.kids)
}

// decodeProperties spawns an instance of cls and sets the properties
// given as elements (repeated elements make an array).
func decodeProperties(ctx context.Context, svc cimom.Services, cls *cim.Object, kids []*elem) (*cim.Object, []string, error) {
	inst, err := cls.SpawnInstance()
	if err != nil {
		return nil, nil, fmt.Errorf("spawning an instance of %s: %w", cls.Class, err)
	}
	var names []string
	groups := map[string][]*elem{}
	for _, k := range kids {
		prop, ok := cls.Property(k.local)
		if !ok || strings.HasPrefix(k.local, "__") {
			f := newFault(faultInvalidRepresentation, "class %s has no property %s", cls.Class, k.local)
			f.status = cim.EInvalidProperty
			return nil, nil, f
		}
		if _, seen := groups[cim.Fold(prop.Name)]; !seen {
			names = append(names, prop.Name)
		}
		groups[cim.Fold(prop.Name)] = append(groups[cim.Fold(prop.Name)], k)
	}
	for _, name := range names {
		prop, _ := cls.Property(name)
		v, err := valueOf(ctx, svc, prop.Type, prop.Name, groups[cim.Fold(name)])
		if err != nil {
			return nil, nil, err
		}
		if err := inst.Put(prop.Name, v); err != nil {
			return nil, nil, fmt.Errorf("property %s: %w", prop.Name, err)
		}
	}
	return inst, names, nil
}

// valueOf converts the elements given for one property or parameter.
func valueOf(ctx context.Context, svc cimom.Services, t cim.Type, name string, es []*elem) (cim.Value, error) {
	isNil := func(e *elem) bool {
		v, ok := e.attr(nsXSI, "nil")
		return ok && (strings.TrimSpace(v) == "true" || strings.TrimSpace(v) == "1")
	}
	if !t.IsArray() {
		if len(es) > 1 {
			return cim.Value{}, newFault(faultInvalidRepresentation, "%s is not an array but is given %d times", name, len(es))
		}
		if isNil(es[0]) {
			return cim.Null(t), nil
		}
		return scalarOf(ctx, svc, t, name, es[0])
	}
	if len(es) == 1 && isNil(es[0]) {
		return cim.Null(t), nil
	}
	items := make([]any, 0, len(es))
	for _, e := range es {
		if isNil(e) {
			return cim.Value{}, newFault(faultInvalidRepresentation, "an element of array %s is NULL", name)
		}
		v, err := scalarOf(ctx, svc, t.Elem(), name, e)
		if err != nil {
			return cim.Value{}, err
		}
		items = append(items, v.V)
	}
	v, err := cim.NewValue(t, items)
	if err != nil {
		return cim.Value{}, fmt.Errorf("array %s: %w", name, err)
	}
	return v, nil
}

// scalarOf converts one element to a value of type t.
func scalarOf(ctx context.Context, svc cimom.Services, t cim.Type, name string, e *elem) (cim.Value, error) {
	mismatch := func(err error) error {
		f := newFault(faultInvalidRepresentation, "%s: %v", name, err)
		f.status = cim.ETypeMismatch
		return f
	}
	switch t {
	case cim.TypeReference:
		if e.kid(nsWSA, "ReferenceParameters") != nil || e.kid(nsWSA, "EndpointReference") != nil {
			p, err := eprPath(ctx, svc, e)
			if err != nil {
				return cim.Value{}, err
			}
			return cim.Value{Type: t, V: p}, nil
		}
		if _, err := cim.ParsePath(e.trimmed()); err != nil {
			return cim.Value{}, mismatch(err)
		}
		return cim.Value{Type: t, V: e.trimmed()}, nil
	case cim.TypeObject:
		// An embedded instance is written as an element named after its
		// class (DSP0230 §7.2.7, as the encoder writes it): read it as
		// an instance of that class, in the request's namespace.
		if len(e.kids) != 1 {
			return cim.Value{}, newFault(faultInvalidRepresentation, "%s: an embedded object is one element named after its class", name)
		}
		cls, err := getClass(ctx, svc, e.kids[0].local)
		if err != nil {
			return cim.Value{}, err
		}
		inst, _, err := decodeProperties(ctx, svc, cls, e.kids[0].kids)
		if err != nil {
			return cim.Value{}, err
		}
		return cim.Value{Type: t, V: inst}, nil
	case cim.TypeDatetime:
		for _, k := range e.kids {
			if k.space != nsCIM {
				continue
			}
			switch k.local {
			case "Datetime", "Date", "Time", "CIMDateTime", "Interval":
				v, err := parseText(t, k.trimmed())
				if err != nil {
					return cim.Value{}, mismatch(err)
				}
				return v, nil
			}
		}
	}
	if len(e.kids) > 0 {
		return cim.Value{}, newFault(faultInvalidRepresentation, "%s holds elements where a %s value belongs", name, cim.TypeName(t))
	}
	v, err := parseText(t, e.text)
	if err != nil {
		return cim.Value{}, mismatch(err)
	}
	return v, nil
}

// fragmentProperty reads the property a FragmentTransfer expression
// names: "Name", "p:Name", "/p:Class/p:Name" or any of these followed by
// "/text()".
func fragmentProperty(expr string) (name string, textOnly bool) {
	expr = strings.TrimSpace(expr)
	if s, ok := strings.CutSuffix(expr, "/text()"); ok {
		expr, textOnly = s, true
	}
	if i := strings.LastIndexByte(expr, '/'); i >= 0 {
		expr = expr[i+1:]
	}
	if i := strings.IndexByte(expr, ':'); i >= 0 {
		expr = expr[i+1:]
	}
	return expr, textOnly
}

// fragmentInstance reads the wsman:XmlFragment body of a fragment Put.
func fragmentInstance(ctx context.Context, svc cimom.Services, cls *cim.Object, expr string, body *elem) (*cim.Object, []string, error) {
	if !body.is(nsWSMan, "XmlFragment") {
		return nil, nil, newFault(faultInvalidFragment, "a FragmentTransfer Put needs a wsman:XmlFragment body, not <%s>", body.local)
	}
	name, textOnly := fragmentProperty(expr)
	prop, ok := cls.Property(name)
	if !ok || strings.HasPrefix(name, "__") {
		return nil, nil, newFault(faultInvalidFragment, "FragmentTransfer %q names no property of %s", expr, cls.Class)
	}
	kids := body.kids
	if textOnly || len(kids) == 0 {
		if len(kids) > 0 {
			return nil, nil, newFault(faultInvalidFragment, "FragmentTransfer %q takes text, but the fragment holds elements", expr)
		}
		kids = []*elem{{local: prop.Name, text: body.text}}
	}
	return decodeProperties(ctx, svc, cls, kids)
}

// writeFragment writes the XmlFragment of a Get or Put with
// FragmentTransfer: the named property as an element, or its bare text
// for "/text()".
func writeFragment(o *out, inst *cim.Object, expr string) error {
	name, textOnly := fragmentProperty(expr)
	p, ok := inst.Property(name)
	if !ok || strings.HasPrefix(name, "__") {
		return newFault(faultInvalidFragment, "FragmentTransfer %q names no property of %s", expr, inst.Class)
	}
	o.s("<wsman:XmlFragment>")
	if textOnly {
		if !p.Value.IsNull() {
			o.text(keyText(p.Value))
		}
	} else {
		var enc encoder
		enc.res = &resource{style: styleOther}
		var tmp out
		enc.property(&tmp, "x", p.Name, p.Value, inst.Namespace, 0)
		// Unprefixed elements, as DSP0226 shows fragments.
		o.s(strings.ReplaceAll(strings.ReplaceAll(string(tmp.b), "<x:", "<"), "</x:", "</"))
	}
	o.s("</wsman:XmlFragment>")
	return nil
}
