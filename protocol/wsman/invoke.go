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
func (h *Handler) invoke(ctx context.Context, req *request, _ none) (*out, error) {
	svc := req.svc
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
	// The elements of <Method>_INPUT, a repeated one an array, each read
	// as its declared parameter's type; cimom types the whole call.
	var args []cimom.Argument
	if body := req.env.payload(); body != nil {
		if !strings.EqualFold(body.local, m.Name+"_INPUT") {
			return nil, newFault(faultInvalidParameter, "the body of %s holds <%s>, not <%s_INPUT>", method, body.local, m.Name)
		}
		groups := map[string][]*elem{}
		for _, k := range body.kids {
			key := cim.Fold(k.local)
			if _, seen := groups[key]; !seen {
				args = append(args, cimom.Argument{Name: k.local, Decode: func(prm *cim.Parameter) (cim.Value, error) {
					return valueOf(ctx, svc, prm.Type, prm.Name, groups[key])
				}})
			}
			groups[key] = append(groups[key], k)
		}
	}
	in, err := cimom.TypeInParameters(m, args)
	if err != nil {
		return nil, err
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
