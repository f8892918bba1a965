package cimxml

import (
	"context"
	"maps"
	"slices"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// methodCall is an extrinsic method call: its target and its PARAMVALUEs,
// in the order of their folded names. A PARAMVALUE stays an element until
// the method's declaration gives its type (its VALUE's encoding depends
// on it).
type methodCall struct {
	target *cim.ObjectPath // relative: no namespace or host
	method string
	args   []argument
}

// argument is one PARAMVALUE: its name and its value element (nil when
// it holds none).
type argument struct {
	name  string
	value *node
}

func decodeMethodCall(req *request) (methodCall, error) {
	target, err := pathOf(req.target)
	if err != nil {
		return methodCall{}, err
	}
	target.Namespace, target.Server = "", ""
	c := methodCall{target: target, method: req.method, args: make([]argument, 0, len(req.params))}
	for _, key := range slices.Sorted(maps.Keys(req.params)) {
		name, _ := req.params[key].attr("NAME")
		n, _ := req.param(key)
		c.args = append(c.args, argument{name: name, value: n})
	}
	return c, nil
}

// invoke runs an extrinsic method call: the PARAMVALUEs are typed by the
// method's declaration in the target's class, and the answer is
// RETURNVALUE first, then a PARAMVALUE per out-parameter that has a value
// (wbemcli cannot read an empty one).
func invoke(ctx context.Context, e env, c methodCall, w *writer) error {
	cls, err := e.svc.GetObject(ctx, c.target.Class, 0, nil)
	if err != nil {
		if cim.StatusOf(err) == cim.ENotFound {
			return cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", c.target.Class, e.ns).WithParam(c.target.Class)
		}
		return err
	}
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	m, ok := cls.GetMethod(c.method)
	if !ok {
		m = &cim.Method{Name: c.method} // cimom says what is wrong
	} else {
		// Each PARAMVALUE is read as its declared parameter's type; cimom
		// types the whole call.
		args := make([]cimom.Argument, 0, len(c.args))
		for _, a := range c.args {
			args = append(args, cimom.Argument{Name: a.name, Decode: func(prm *cim.Parameter) (cim.Value, error) {
				v, err := valueOf(a.value, prm.Type, prm.Type.Elem() == cim.TypeObject, 0)
				if err != nil {
					return v, cim.Errorf(cim.EInvalidMethodParameters, "parameter %s of %s: %s", prm.Name, m.Name, cim.AsError(err).Description)
				}
				return v, nil
			}})
		}
		if in, err = cimom.TypeInParameters(m, args); err != nil {
			return err
		}
	}
	out, err := e.svc.ExecMethod(ctx, c.target.String(), m.Name, in, 0, nil)
	if err != nil {
		return err
	}
	if rv, ok := out.Property(cimom.ReturnValue); ok {
		w.returnValue(rv)
	}
	for i := range out.Properties {
		o := &out.Properties[i]
		if cim.EqualFold(o.Name, cimom.ReturnValue) || o.Value.IsNull() {
			continue
		}
		w.paramValue(o)
	}
	return nil
}
