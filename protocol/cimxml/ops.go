package cimxml

import (
	"context"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// op is one operation of the door: how its typed request is decoded from
// a request, and how it is served: one cimom call, whose results go to
// the encoder (the writer). Build one with intrinsic.
type op struct {
	// bare: the operation writes IRETURNVALUE and its PARAMVALUEs itself
	// (the pull operations); otherwise its results are wrapped in
	// IRETURNVALUE.
	bare bool
	// decode decodes the typed request only, for checks.
	decode func(req *request) error
	// serve decodes the typed request and runs the operation.
	serve func(ctx context.Context, e env, req *request, w *writer) error
}

// env is what an operation runs with: the handler (its open enumerations
// and host name), the caller, and the caller's namespace, open.
type env struct {
	h   *Handler
	p   cimom.Principal
	svc cimom.Services
	ns  string
}

// intrinsic makes the op of a typed request T: decode reads T from the
// request (pure), run serves it.
func intrinsic[T any](decode func(*request) (T, error), run func(context.Context, env, T, *writer) error) op {
	return op{
		decode: func(req *request) error {
			_, err := decode(req)
			return err
		},
		serve: func(ctx context.Context, e env, req *request, w *writer) error {
			r, err := decode(req)
			if err != nil {
				return err
			}
			return run(ctx, e, r, w)
		},
	}
}

// pulled marks an op as one that writes its own IRETURNVALUE.
func pulled(o op) op {
	o.bare = true
	return o
}

// ops are the intrinsic methods served, by name; their names are also
// the operation names of logs and metrics (see Door).
var ops = map[string]op{
	"GetClass":                    intrinsic(decodeGetClass, getClass),
	"EnumerateClasses":            intrinsic(decodeEnumClasses, enumerateClasses),
	"EnumerateClassNames":         intrinsic(decodeEnumClasses, enumerateClasses),
	"CreateClass":                 intrinsic(decodePutClass, putClass),
	"ModifyClass":                 intrinsic(decodePutClass, putClass),
	"DeleteClass":                 intrinsic(nameParam("ClassName"), deleteClass),
	"GetInstance":                 intrinsic(decodeGetInstance, getInstance),
	"EnumerateInstances":          intrinsic(decodeEnumInstances, enumerateInstances),
	"EnumerateInstanceNames":      intrinsic(decodeEnumInstances, enumerateInstances),
	"CreateInstance":              intrinsic(decodeNewInstance, createInstance),
	"ModifyInstance":              intrinsic(decodeModifyInstance, modifyInstance),
	"DeleteInstance":              intrinsic(decodeInstanceName, deleteInstance),
	"ExecQuery":                   intrinsic(decodeQuery, execQuery),
	"Associators":                 intrinsic(decodeAssoc, associators),
	"AssociatorNames":             intrinsic(decodeAssoc, associators),
	"References":                  intrinsic(decodeAssoc, associators),
	"ReferenceNames":              intrinsic(decodeAssoc, associators),
	"GetProperty":                 intrinsic(decodeProperty, getProperty),
	"SetProperty":                 intrinsic(decodeProperty, setProperty),
	"GetQualifier":                intrinsic(nameParam("QualifierName"), getQualifier),
	"SetQualifier":                intrinsic(decodeQualifierDecl, setQualifier),
	"DeleteQualifier":             intrinsic(nameParam("QualifierName"), deleteQualifier),
	"EnumerateQualifiers":         intrinsic(noParams, enumerateQualifiers),
	"OpenEnumerateInstances":      pulled(intrinsic(decodeOpen, open)),
	"OpenEnumerateInstancePaths":  pulled(intrinsic(decodeOpen, open)),
	"OpenQueryInstances":          pulled(intrinsic(decodeOpen, open)),
	"OpenReferenceInstances":      pulled(intrinsic(decodeOpen, open)),
	"OpenReferenceInstancePaths":  pulled(intrinsic(decodeOpen, open)),
	"OpenAssociatorInstances":     pulled(intrinsic(decodeOpen, open)),
	"OpenAssociatorInstancePaths": pulled(intrinsic(decodeOpen, open)),
	"PullInstancesWithPath":       pulled(intrinsic(decodePull, pull)),
	"PullInstancePaths":           pulled(intrinsic(decodePull, pull)),
	"PullInstances":               pulled(intrinsic(decodePull, pull)),
	"CloseEnumeration":            intrinsic(nameParam("EnumerationContext"), closeEnumeration),
	"EnumerationCount":            intrinsic(noParams, enumerationCount),
}

// invokeMethod is the operation name of extrinsic method calls in logs
// and metrics.
const invokeMethod = "InvokeMethod"

// extrinsic is the op of every extrinsic method call (METHODCALL).
var extrinsic = intrinsic(decodeMethodCall, invoke)

// opOf returns the op that serves a request, and false for an intrinsic
// method the door does not serve.
func opOf(req *request) (op, bool) {
	if !req.intrinsic {
		return extrinsic, true
	}
	o, ok := ops[req.method]
	return o, ok
}

// call runs one operation and writes its results.
func (h *Handler) call(ctx context.Context, p cimom.Principal, req *request, w *writer) error {
	o, ok := opOf(req)
	if !ok {
		return cim.Errorf(cim.ENotSupported, "intrinsic method %s is not supported", req.method)
	}
	if req.dup != "" {
		return cim.Errorf(cim.EInvalidParameter, "parameter %s is given twice", req.dup)
	}
	svc, err := h.Connector.Connect(ctx, req.ns, p)
	if err != nil {
		return err
	}
	svc = cimom.Localized(svc, req.locale)
	return o.serve(ctx, env{h: h, p: p, svc: svc, ns: req.ns}, req, w)
}

func getClass(ctx context.Context, e env, r getClassRequest, w *writer) error {
	c, err := e.svc.GetObject(ctx, r.class, 0, nil)
	if err != nil {
		return err
	}
	if r.opts, err = withTranslatable(ctx, e.svc, r.opts); err != nil {
		return err
	}
	w.class(c, r.opts)
	return nil
}

// withTranslatable adds to o the qualifiers the namespace declares
// Translatable, when qualifiers are written.
func withTranslatable(ctx context.Context, svc cimom.Services, o options) (options, error) {
	if !o.qualifiers {
		return o, nil
	}
	decls, err := svc.EnumQualifiers(ctx)
	if err != nil {
		return o, err
	}
	for _, d := range decls {
		if d.Flavor&cim.FlavorAmended != 0 {
			if o.translatable == nil {
				o.translatable = map[string]bool{}
			}
			o.translatable[strings.ToLower(d.Name)] = true
		}
	}
	return o, nil
}

func enumerateClasses(ctx context.Context, e env, r enumClassesRequest, w *writer) error {
	flags := cimom.FlagForwardOnly
	if !r.deep {
		flags |= cimom.FlagShallow
	}
	en, err := e.svc.CreateClassEnum(ctx, r.class, flags, nil)
	if err != nil {
		if cim.StatusOf(err) == cim.EInvalidClass {
			return cim.Errorf(cim.EInvalidClass, "class %s does not exist", r.class)
		}
		return err
	}
	defer en.Close()
	if !r.names {
		if r.opts, err = withTranslatable(ctx, e.svc, r.opts); err != nil {
			return err
		}
	}
	for c, err := range cimom.All(ctx, en) {
		if err != nil {
			return err
		}
		if cim.IsSystemName(c.Class) {
			continue // WMI's system classes are not part of a CIM schema
		}
		if r.names {
			w.className(c.Class)
		} else {
			w.class(c, r.opts)
		}
	}
	return nil
}

// putClass serves CreateClass and ModifyClass. A superclass that does not
// exist is CIM_ERR_INVALID_SUPERCLASS (DSP0200 1.4 §5.3.2.5, §5.3.2.7);
// any other thing not found (ModifyClass of a missing class) stays
// CIM_ERR_NOT_FOUND.
func putClass(ctx context.Context, e env, r putClassRequest, _ *writer) error {
	err := e.svc.PutClass(ctx, r.class, r.flags, nil)
	if err != nil && cim.StatusOf(err) == cim.ENotFound && r.class.Superclass != "" {
		if ce := cim.AsError(err); cim.EqualFold(ce.Parameter, r.class.Superclass) && !cim.EqualFold(ce.Parameter, r.class.Class) {
			return cim.Errorf(cim.EInvalidSuperclass, "superclass %s does not exist", r.class.Superclass)
		}
	}
	return err
}

// deleteClass applies DSP0200's DeleteClass: a class with subclasses
// (CIM_ERR_CLASS_HAS_CHILDREN) or stored instances
// (CIM_ERR_CLASS_HAS_INSTANCES) is not deleted, where WMI's deletes them.
func deleteClass(ctx context.Context, e env, class string, _ *writer) error {
	return cimom.DeleteClassLeaf(ctx, e.svc, class)
}

func getInstance(ctx context.Context, e env, r instanceRequest, w *writer) error {
	inst, err := e.svc.GetObject(ctx, r.path, 0, nil)
	if err != nil {
		return err
	}
	w.instance(inst, r.opts)
	return nil
}

func enumerateInstances(ctx context.Context, e env, r enumInstancesRequest, w *writer) error {
	o := r.opts
	if !r.deep && !r.names {
		// Only the properties of the class asked for.
		cls, err := e.svc.GetObject(ctx, r.class, 0, nil)
		if err != nil {
			return err
		}
		var own []string
		for _, p := range cls.Properties {
			if o.wants(p.Name) {
				own = append(own, p.Name)
			}
		}
		o.properties = own
	}
	var wctx *cimom.Context
	if r.names {
		wctx = cimom.KeysOnlyContext() // the repository decodes the keys alone
	}
	en, err := e.svc.CreateInstanceEnum(ctx, r.class, cimom.FlagForwardOnly, wctx)
	if err != nil {
		return err
	}
	defer en.Close()
	for inst, err := range cimom.All(ctx, en) {
		if err != nil {
			return err
		}
		if r.names {
			w.instanceNameOf(inst)
			continue
		}
		w.namedInstance(inst, o)
	}
	return nil
}

func createInstance(ctx context.Context, e env, inst *cim.Object, w *writer) error {
	path, err := e.svc.PutInstance(cimom.HandOver(ctx), inst, cimom.FlagCreateOnly, nil)
	if err != nil {
		return err
	}
	op, err := cim.ParsePath(path)
	if err != nil {
		return err
	}
	// The path's text says "a number" only: each key value takes the type
	// its class declares, as EnumerateInstanceNames writes it (DSP0201 2.4
	// §5.2.15 KEYVALUE's TYPE).
	if cls, err := e.svc.GetObject(ctx, op.Class, 0, nil); err == nil {
		for i := range op.Keys {
			k := &op.Keys[i]
			if p, ok := cls.Property(k.Name); ok && p.Type != cim.TypeReference {
				if v, err := cim.Convert(k.Value, p.Type); err == nil {
					k.Value = v
				}
			}
		}
	}
	w.instanceName(op)
	return nil
}

// modifyInstance writes, without a PropertyList, the properties the
// instance carries; the others keep their values (DSP0200). The keys come
// from the name, and the instance may not give them other values.
func modifyInstance(ctx context.Context, e env, r modifyInstanceRequest, _ *writer) error {
	return cimom.Modify(cimom.HandOver(ctx), e.svc, r.path, r.inst, r.list)
}

func deleteInstance(ctx context.Context, e env, path string, _ *writer) error {
	return e.svc.DeleteInstance(ctx, path, 0, nil)
}

func execQuery(ctx context.Context, e env, r queryRequest, w *writer) error {
	en, err := e.svc.ExecQuery(ctx, r.lang, r.query, cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
	if err != nil {
		return err
	}
	return writeObjects(ctx, en, w, e.h.server(), options{}, false)
}

// associators serves Associators, AssociatorNames, References and
// ReferenceNames. On a class path (CLASSNAME) they answer the associated
// classes or the association classes (DSP0200 1.4 §5.3.2.14-17). An
// INSTANCENAME without key bindings (what wbemcli's ai, ain, ri and rin
// send for a class path, and a client can read only instances back) names
// the singleton instance of a singleton class, and otherwise every
// instance of the class: the answer is the objects associated with any of
// them, each once. A keyless class that is no singleton has no instance,
// so nothing is associated with it (an empty answer).
func associators(ctx context.Context, e env, r assocRequest, w *writer) error {
	if r.keyless {
		class := strings.TrimSuffix(r.q.Path, "=@")
		cls, err := e.svc.GetObject(ctx, class, 0, nil)
		if err != nil {
			return err
		}
		switch {
		case len(cls.KeyProperties()) > 0:
			return associatorsOfClassInstances(ctx, e, r, cls.Class, w)
		case !isSingleton(cls):
			return nil
		}
	}
	en, err := e.svc.Associators(ctx, r.q, cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	return writeObjects(ctx, en, w, e.h.server(), r.opts, r.names)
}

// writeObjects writes the results of a query or association operation as
// VALUE.OBJECTWITHPATH, or their paths as OBJECTPATH, and closes e.
func writeObjects(ctx context.Context, e cimom.Enumerator, w *writer, host string, o options, names bool) error {
	defer e.Close()
	for obj, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		p := pathOfObject(obj)
		p.Server = host
		if p.Namespace == "" {
			p.Namespace = obj.Namespace
		}
		if names {
			w.objectPathElem(p)
		} else {
			w.objectWithPath(p, obj, o)
		}
	}
	return nil
}

func getProperty(ctx context.Context, e env, r propertyRequest, w *writer) error {
	inst, err := e.svc.GetObject(ctx, r.path, 0, nil)
	if err != nil {
		return err
	}
	p, ok := inst.Property(r.name)
	if !ok {
		return cim.Errorf(cim.EInvalidProperty, "class %s has no property %s", inst.Class, r.name)
	}
	w.value(p.Value)
	return nil
}

// setProperty decodes NewValue as the type the class declares for the
// property, and writes it alone.
func setProperty(ctx context.Context, e env, r propertyRequest, _ *writer) error {
	cls, err := e.svc.GetObject(ctx, r.class, 0, nil)
	if err != nil {
		return err
	}
	cp, ok := cls.Property(r.name)
	if !ok {
		return cim.Errorf(cim.EInvalidProperty, "class %s has no property %s", cls.Class, r.name)
	}
	v, err := valueOf(r.value, cp.Type, false, 0)
	if err != nil {
		return err
	}
	inst := &cim.Object{Genus: cim.GenusInstance, Class: cls.Class, Properties: []cim.Property{{Name: cp.Name, Type: cp.Type, Value: v}}}
	return cimom.Modify(cimom.HandOver(ctx), e.svc, r.path, inst, []string{cp.Name})
}

func getQualifier(ctx context.Context, e env, name string, w *writer) error {
	d, err := e.svc.GetQualifier(ctx, name)
	if err != nil {
		return err
	}
	w.qualifierDecl(d)
	return nil
}

func setQualifier(ctx context.Context, e env, d *cim.QualifierDecl, _ *writer) error {
	return e.svc.PutQualifier(ctx, d, 0)
}

func deleteQualifier(ctx context.Context, e env, name string, _ *writer) error {
	return e.svc.DeleteQualifier(ctx, name)
}

func enumerateQualifiers(ctx context.Context, e env, _ struct{}, w *writer) error {
	ds, err := e.svc.EnumQualifiers(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		w.qualifierDecl(d)
	}
	return nil
}

func enumerationCount(context.Context, env, struct{}, *writer) error {
	return cim.Errorf(cim.ENotSupported, "EnumerationCount is not supported (DSP0200 allows it)")
}

// associatorsOfClassInstances answers an association operation for every
// instance of class, writing each result once.
func associatorsOfClassInstances(ctx context.Context, e env, r assocRequest, class string, w *writer) error {
	en, err := e.svc.CreateInstanceEnum(ctx, class, cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	defer en.Close()
	seen := map[string]bool{}
	host := e.h.server()
	for inst, err := range cimom.All(ctx, en) {
		if err != nil {
			return err
		}
		src, err := inst.ObjectPath()
		if err != nil {
			return err
		}
		q := *r.q
		q.Path, q.SchemaOnly = src.RelPath(), false
		res, err := e.svc.Associators(ctx, &q, cimom.FlagForwardOnly, nil)
		if err != nil {
			return err
		}
		for obj, err := range cimom.All(ctx, res) {
			if err != nil {
				res.Close()
				return err
			}
			p := pathOfObject(obj)
			p.Server = host
			if p.Namespace == "" {
				p.Namespace = obj.Namespace
			}
			if key := p.String(); seen[key] {
				continue
			} else {
				seen[key] = true
			}
			if r.names {
				w.objectPathElem(p)
			} else {
				w.objectWithPath(p, obj, r.opts)
			}
		}
		res.Close()
	}
	return nil
}

// isSingleton reports whether a class carries the Singleton qualifier.
func isSingleton(cls *cim.Object) bool {
	for _, q := range cls.Qualifiers {
		if strings.EqualFold(q.Name, "Singleton") {
			b, _ := q.Value.V.(bool)
			return b
		}
	}
	return false
}
