package wsman

import (
	"context"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// invoke answers a custom action <ResourceURI>/<Method>: the method of
// the class (no key selectors: a static call) or of the instance the
// selectors name, with the in-parameters of <Method>_INPUT. The answer is
// <Method>_OUTPUT with the out-parameters and ReturnValue.
func (h *Handler) invoke(ctx context.Context, svc cimom.Services, req *request) (*out, error) {
	method := req.env.action[len(req.env.resourceURI)+1:]
	cls, err := getClass(ctx, svc, req.res.class)
	if err != nil {
		return nil, err
	}
	m, ok := cls.GetMethod(method)
	if !ok {
		f := newFault(faultActionNotSupported, "class %s has no method %s", cls.Class, method)
		f.status = cim.EInvalidMethod
		return nil, f
	}
	path := cls.Class
	if len(req.res.keys) > 0 {
		if path, _, err = instancePath(ctx, svc, req.res); err != nil {
			return nil, err
		}
	}
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	var ins []cim.Parameter
	for _, p := range m.Parameters {
		if cimom.IsInParameter(p) {
			ins = append(ins, p)
			in.Properties = append(in.Properties, cim.Property{Name: p.Name, Type: p.Type, RefClass: p.RefClass, Value: cim.Null(p.Type)})
		}
	}
	body := req.env.payload()
	if body != nil {
		if !strings.EqualFold(body.local, m.Name+"_INPUT") {
			return nil, newFault(faultInvalidParameter, "the body of %s holds <%s>, not <%s_INPUT>", method, body.local, m.Name)
		}
		groups := map[string][]*elem{}
		var order []string
		for _, k := range body.kids {
			idx := -1
			for i, p := range ins {
				if cim.EqualFold(p.Name, k.local) {
					idx = i
				}
			}
			if idx < 0 {
				f := newFault(faultInvalidParameter, "method %s has no in-parameter %s", m.Name, k.local)
				f.status = cim.EInvalidMethodParameters
				return nil, f
			}
			key := cim.Fold(ins[idx].Name)
			if _, seen := groups[key]; !seen {
				order = append(order, ins[idx].Name)
			}
			groups[key] = append(groups[key], k)
		}
		for _, name := range order {
			for i := range in.Properties {
				pr := &in.Properties[i]
				if !cim.EqualFold(pr.Name, name) {
					continue
				}
				v, err := valueOf(ctx, svc, pr.Type, pr.Name, groups[cim.Fold(name)])
				if err != nil {
					return nil, err
				}
				pr.Value = v
			}
		}
	}
	outParams, err := svc.ExecMethod(ctx, path, m.Name, in, 0, nil)
	if err != nil {
		return nil, err
	}
	o := answer(req, req.env.resourceURI+"/"+method+"Response")
	o.s("<p:" + m.Name + `_OUTPUT xmlns:p="`)
	o.attrText(req.env.resourceURI)
	o.s(`">`)
	enc := encoder{res: req.res}
	var ret *cim.Property
	if outParams != nil {
		for i := range outParams.Properties {
			p := &outParams.Properties[i]
			switch {
			case strings.HasPrefix(p.Name, "__"):
			case cim.EqualFold(p.Name, cimom.ReturnValue):
				ret = p
			default:
				enc.property(o, "p", p.Name, p.Value, req.res.ns, 0)
			}
		}
	}
	if ret != nil {
		enc.property(o, "p", cimom.ReturnValue, ret.Value, req.res.ns, 0)
	}
	o.s("</p:" + m.Name + "_OUTPUT>")
	o.tail()
	return o, nil
}
