package wsman

import (
	"bytes"
	"context"
	"errors"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// get answers WS-Transfer Get: the instance the selectors name.
func (h *Handler) get(ctx context.Context, req *request, _ none) (*out, error) {
	svc := req.svc
	path, _, err := instancePath(ctx, svc, req.res)
	if err != nil {
		return nil, err
	}
	inst, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		return nil, err
	}
	return instanceAnswer(req, actGet+"Response", inst)
}

// put answers WS-Transfer Put. Every Put updates the properties that its
// body names and leaves the others as stored: a FragmentTransfer names
// them in its header, a whole-instance body by its child elements (see
// SEMANTICS.md). The answer is the instance (or fragment) as stored.
func (h *Handler) put(ctx context.Context, req *request, _ none) (*out, error) {
	svc := req.svc
	path, cls, err := instancePath(ctx, svc, req.res)
	if err != nil {
		return nil, err
	}
	body := req.env.payload()
	if body == nil {
		return nil, newFault(faultInvalidRepresentation, "Put needs the new representation in its Body")
	}
	var inst *cim.Object
	var names []string
	if req.env.hasFragment {
		inst, names, err = fragmentInstance(ctx, svc, cls, req.env.fragment, body)
	} else {
		inst, names, err = decodeInstance(ctx, svc, cls, body)
	}
	if err != nil {
		return nil, err
	}
	// The instance the body gives: the properties it names (decoding
	// spawned the others with the class's defaults). Its keys must be the
	// selectors'; those it leaves out come from them.
	given := &cim.Object{Genus: cim.GenusInstance, Class: inst.Class, Properties: make([]cim.Property, 0, len(names))}
	for _, n := range names {
		if p, ok := inst.Property(n); ok {
			given.Properties = append(given.Properties, *p)
		}
	}
	// xsi:nil means NULL: Modify writes NULLs as given.
	if err := cimom.Modify(cimom.HandOver(ctx), svc, path, given, names); err != nil {
		if errors.Is(err, cimom.ErrChangedKey) { // WS-Transfer: a representation the resource cannot take
			return nil, newFault(faultInvalidRepresentation, "%s", cim.AsError(err).Description)
		}
		return nil, err
	}
	stored, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		return nil, err
	}
	return instanceAnswer(req, actPut+"Response", stored)
}

// create answers WS-Transfer Create: the new instance is the body, the
// answer its EPR.
func (h *Handler) create(ctx context.Context, req *request, _ none) (*out, error) {
	svc := req.svc
	if len(req.res.keys) > 0 {
		return nil, newFault(faultUnexpectedSelectors, "Create takes no key selectors: the keys are in the body")
	}
	cls, err := getClass(ctx, svc, req.res.class)
	if err != nil {
		return nil, err
	}
	body := req.env.payload()
	if body == nil {
		return nil, newFault(faultInvalidRepresentation, "Create needs the new instance in its Body")
	}
	inst, _, err := decodeInstance(ctx, svc, cls, body)
	if err != nil {
		return nil, err
	}
	rel, err := svc.PutInstance(cimom.HandOver(ctx), inst, cimom.FlagCreateOnly, nil)
	if err != nil {
		return nil, err
	}
	p, err := cim.ParsePath(rel)
	if err != nil {
		return nil, err
	}
	o := answer(req, actCreate+"Response")
	o.s("<wxf:ResourceCreated>")
	enc := encoder{res: req.res}
	class := p.Class
	if class == "" {
		class = inst.Class
	}
	for i, k := range p.Keys {
		if prop, ok := cls.Property(k.Name); ok && prop.Type == cim.TypeReference {
			p.Keys[i].Value.Type = cim.TypeReference
		}
	}
	enc.eprBody(o, req.res.ns, class, p.Keys)
	o.s("</wxf:ResourceCreated>")
	o.tail()
	return o, nil
}

// requestedEPR adds to an answer the wsman:RequestedEPR header a
// wsman:RequestEPR asks for: the EPR of the resource as it is after the
// operation (DSP0226 1.2 §7.8). A Create's answer is an EPR already.
func requestedEPR(o *out, req *request, inst *cim.Object) error {
	var h out
	h.s("<wsman:RequestedEPR>")
	enc := encoder{res: req.res}
	if err := enc.instanceEPR(&h, inst); err != nil {
		return err
	}
	h.s("</wsman:RequestedEPR>")
	at := bytes.Index(o.b, []byte("</s:Header>"))
	o.b = append(o.b[:at], append(h.b, o.b[at:]...)...)
	return nil
}

// delete answers WS-Transfer Delete.
func (h *Handler) delete(ctx context.Context, req *request, _ none) (*out, error) {
	svc := req.svc
	path, _, err := instancePath(ctx, svc, req.res)
	if err != nil {
		return nil, err
	}
	if err := svc.DeleteInstance(ctx, path, 0, nil); err != nil {
		return nil, err
	}
	o := answer(req, actDelete+"Response")
	o.tail()
	return o, nil
}

// instanceAnswer answers with an instance or, with FragmentTransfer, the
// fragment of it the request names.
func instanceAnswer(req *request, action string, inst *cim.Object) (*out, error) {
	o := answer(req, action)
	if req.env.hasFragment {
		if err := writeFragment(o, inst, req.env.fragment); err != nil {
			return nil, err
		}
	} else {
		enc := encoder{res: req.res}
		enc.instance(o, inst, "p", true, 0)
	}
	o.tail()
	if req.env.requestEPR {
		if err := requestedEPR(o, req, inst); err != nil {
			return nil, err
		}
	}
	return o, nil
}
