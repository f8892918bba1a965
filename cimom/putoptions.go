package cimom

import (
	"context"
	"errors"
	"slices"

	"github.com/wbemd/wbemd/cim"
)

// PutMode says whether a put may create an instance, update one, or both.
type PutMode uint8

// The put modes: WMI's WBEM_FLAG_CREATE_OR_UPDATE, WBEM_FLAG_UPDATE_ONLY
// and WBEM_FLAG_CREATE_ONLY.
const (
	CreateOrUpdate PutMode = iota
	UpdateOnly
	CreateOnly
)

// PutOptions are the typed form of what PutInstance takes beside the
// instance: the mode its flags give and the put extensions its context
// carries (__PUT_EXT_*, see SEMANTICS.md). Args turns them into the flags
// and the context; PutOptionsOf reads them back; Put writes an instance
// with them, on any Services.
type PutOptions struct {
	Mode PutMode
	// Properties, when not nil, makes the put a partial update of these
	// properties (__PUT_EXT_PROPERTIES): the others keep their stored
	// values. An empty, non-nil list updates nothing. It needs UpdateOnly.
	Properties []string
	// StrictNulls writes a NULL given for a listed property as NULL; without
	// it a NULL leaves the stored value (__PUT_EXT_STRICT_NULLS).
	StrictNulls bool
	// Atomic asks for all or nothing (__PUT_EXT_ATOMIC).
	Atomic bool
	// ClientRequest marks the request as the originating client's
	// (__PUT_EXT_CLIENT_REQUEST); it is sent only with another extension.
	ClientRequest bool
	// Target, when set, is the path of the instance the put addresses
	// (DSP0200's ModifyInstance names it, WS-Transfer's Put by selectors):
	// a key the instance gives must equal the path's, and a key it leaves
	// out or NULL is taken from the path. Put checks it; Args does not
	// carry it.
	Target string
	// Context holds other named values for the call; Args copies it and
	// replaces any __PUT_EXT* values in the copy by the options'.
	Context *Context
}

// putExtNames are the context values that PutOptions stand for.
var putExtNames = []string{PutExtensions, PutExtClientRequest, PutExtProperties, PutExtStrictNulls, PutExtAtomic}

// Args returns the flags and the context that carry o to
// Services.PutInstance (or PutInstanceCall): the mode as
// WBEM_FLAG_UPDATE_ONLY or WBEM_FLAG_CREATE_ONLY, the extensions as
// __PUT_EXTENSIONS and the __PUT_EXT_* values. The context is nil when it
// would be empty.
func (o PutOptions) Args() (Flags, *Context) {
	var flags Flags
	switch o.Mode {
	case UpdateOnly:
		flags = FlagUpdateOnly
	case CreateOnly:
		flags = FlagCreateOnly
	}
	ext := o.Properties != nil || o.StrictNulls || o.Atomic
	if !ext && len(o.Context.Names()) == 0 {
		return flags, nil
	}
	wctx := o.Context.Clone()
	for _, n := range putExtNames {
		wctx.DeleteValue(n)
	}
	if ext {
		wctx.SetValue(PutExtensions, true)
		if o.ClientRequest {
			wctx.SetValue(PutExtClientRequest, true)
		}
		if o.Properties != nil {
			wctx.SetValue(PutExtProperties, slices.Clone(o.Properties))
		}
		if o.StrictNulls {
			wctx.SetValue(PutExtStrictNulls, true)
		}
		if o.Atomic {
			wctx.SetValue(PutExtAtomic, true)
		}
	}
	if len(wctx.values) == 0 {
		return flags, nil
	}
	return flags, wctx
}

// PutOptionsOf reads the options that PutInstance's flags and context
// give: the mode (the two exclude each other: WBEM_E_INVALID_PARAMETER) and
// the __PUT_EXT_* values, each of which must have its type
// (WBEM_E_INVALID_CONTEXT). It takes them as they are; PutInstance also
// holds them to WMI's rules (they come with __PUT_EXTENSIONS = TRUE, which
// needs one of them; a property list needs UpdateOnly). Flags other than
// the modes are not read. The result's Context is wctx.
func PutOptionsOf(flags Flags, wctx *Context) (PutOptions, error) {
	mode, err := putModeOf(flags)
	if err != nil {
		return PutOptions{}, err
	}
	o := PutOptions{Mode: mode, Context: wctx}
	if wctx == nil || len(wctx.values) == 0 {
		return o, nil
	}
	if _, _, ok := wctx.boolValue(PutExtensions); !ok {
		return o, cim.Errorf(cim.EInvalidContext, "%s must be a boolean", PutExtensions).WithParam(PutExtensions)
	}
	props, propsPresent, ok := wctx.stringsValue(PutExtProperties)
	if !ok {
		return o, cim.Errorf(cim.EInvalidContext, "%s must be an array of strings", PutExtProperties).WithParam(PutExtProperties)
	}
	strict, _, ok1 := wctx.boolValue(PutExtStrictNulls)
	atomic, _, ok2 := wctx.boolValue(PutExtAtomic)
	client, _, ok3 := wctx.boolValue(PutExtClientRequest)
	if !ok1 || !ok2 || !ok3 {
		return o, cim.Errorf(cim.EInvalidContext, "put extension flags must be booleans")
	}
	o.StrictNulls, o.Atomic, o.ClientRequest = strict, atomic, client
	if propsPresent {
		if props == nil {
			props = []string{}
		}
		o.Properties = props
	}
	return o, nil
}

// checkPutExtensions holds the put extensions of a context, read into o,
// to WMI's rules: __PUT_EXT_* values come with __PUT_EXTENSIONS = TRUE,
// which needs one of them (WBEM_E_INVALID_CONTEXT), and a partial update
// needs WBEM_FLAG_UPDATE_ONLY.
func checkPutExtensions(wctx *Context, o PutOptions) error {
	ext, extPresent, _ := wctx.boolValue(PutExtensions)
	anyExt := false
	for _, n := range []string{PutExtProperties, PutExtStrictNulls, PutExtAtomic} {
		if _, present := wctx.GetValue(n); present {
			anyExt = true
		}
	}
	switch {
	case !extPresent && !anyExt:
		return nil
	case anyExt && !ext:
		return cim.Errorf(cim.EInvalidContext, "put extensions given without %s set to TRUE", PutExtensions).WithParam(PutExtensions)
	case ext && !anyExt:
		return cim.Errorf(cim.EInvalidContext, "%s is TRUE but no __PUT_EXT_* value is given", PutExtensions).WithParam(PutExtensions)
	}
	if o.Properties != nil && o.Mode != UpdateOnly {
		return cim.Errorf(cim.EInvalidContext, "a partial-instance update needs WBEM_FLAG_UPDATE_ONLY").WithParam("lFlags")
	}
	return nil
}

// putModeOf reads the mode of PutInstance's (or PutClass's) flags.
func putModeOf(flags Flags) (PutMode, error) {
	switch {
	case flags&FlagCreateOnly != 0 && flags&FlagUpdateOnly != 0:
		return 0, cim.Errorf(cim.EInvalidParameter, "WBEM_FLAG_CREATE_ONLY and WBEM_FLAG_UPDATE_ONLY exclude each other").WithParam("lFlags")
	case flags&FlagUpdateOnly != 0:
		return UpdateOnly, nil
	case flags&FlagCreateOnly != 0:
		return CreateOnly, nil
	}
	return CreateOrUpdate, nil
}

// Put writes inst through svc with options o and returns the path
// PutInstance answers. With a Target, the instance must be the one the
// path names (see PutOptions.Target).
func Put(ctx context.Context, svc Services, inst *cim.Object, o PutOptions) (string, error) {
	if o.Mode > CreateOnly {
		return "", cim.Errorf(cim.EInvalidParameter, "put mode %d is not one of create-or-update, update-only, create-only", o.Mode).WithParam("lFlags").WithOp("PutInstance")
	}
	if o.Target != "" {
		var err error
		if inst, err = onTarget(inst, o.Target); err != nil {
			return "", cim.AsError(err).WithOp("PutInstance")
		}
	}
	flags, wctx := o.Args()
	return svc.PutInstance(ctx, inst, flags, wctx)
}

// Modify is DSP0200's ModifyInstance and WS-Transfer's Put: it updates
// the instance at path with the properties of inst that props names — every
// property inst holds when props is nil, as DSP0200 reads a NULL
// PropertyList — and leaves the others as stored. A NULL given is written
// as NULL. The instance must exist, and a key inst gives must equal the
// path's (ErrChangedKey otherwise).
func Modify(ctx context.Context, svc Services, path string, inst *cim.Object, props []string) error {
	if props == nil && inst != nil {
		props = make([]string, 0, len(inst.Properties))
		for _, p := range inst.Properties {
			props = append(props, p.Name)
		}
	}
	_, err := Put(ctx, svc, inst, PutOptions{Mode: UpdateOnly, Properties: props, StrictNulls: true, Target: path})
	return err
}

// ErrChangedKey is in the chain of the error (WBEM_E_INVALID_PARAMETER)
// of a put whose instance gives a key another value than its Target path:
// a modify cannot move an instance.
var ErrChangedKey = errors.New("a modify cannot change an instance's keys")

// onTarget checks that inst is the instance at path target and returns a
// copy whose keys are the path's. A key value inst gives is compared as
// its property's type reads the path's; references as object paths.
func onTarget(inst *cim.Object, target string) (*cim.Object, error) {
	if inst == nil {
		return nil, cim.Errorf(cim.EInvalidParameter, "no instance given").WithParam("pInst")
	}
	op, err := cim.ParsePath(target)
	if err != nil {
		return nil, err
	}
	if op.IsClass() {
		return nil, cim.Errorf(cim.EInvalidParameter, "%s names a class, not an instance", target).WithParam(target)
	}
	if !cim.EqualFold(op.Class, inst.Class) {
		return nil, cim.Errorf(cim.EInvalidParameter, "the path names class %s but the instance is of class %s", op.Class, inst.Class).WithParam(target)
	}
	out := inst
	for _, k := range op.Keys {
		name := k.Name
		if name == "" {
			if name = soleKey(inst); name == "" {
				return nil, cim.Errorf(cim.EInvalidParameter, "path %s does not name its key property", target).WithParam(target)
			}
		}
		if p, ok := out.Property(name); ok && !p.Value.IsNull() && !sameKeyValue(p.Value, k.Value) {
			return nil, &cim.Error{Status: cim.EInvalidParameter, Parameter: p.Name, Err: ErrChangedKey,
				Description: "the instance gives key " + p.Name + " the value " + cim.FormatValue(p.Value) +
					", but its path " + target + " names " + cim.FormatValue(k.Value) + ": a modify cannot change keys"}
		}
		// The path's value, as the instance's type reads it, names the
		// instance (a reference may be written in more than one way).
		if out == inst {
			cp := *inst
			cp.Properties = slices.Clone(inst.Properties)
			out = &cp
		}
		if p, ok := out.Property(name); ok {
			p.Value = k.Value
			if cv, err := keyValue(k.Value, p.Type); err == nil {
				p.Value = cv
			}
		} else {
			out.Properties = append(out.Properties, cim.Property{Name: name, Type: k.Value.Type, Value: k.Value})
		}
	}
	return out, nil
}

// soleKey returns the name of inst's only property that carries the Key
// qualifier, or "".
func soleKey(inst *cim.Object) string {
	name := ""
	for i := range inst.Properties {
		if cim.HasTrueQualifier(inst.Properties[i].Qualifiers, "Key") {
			if name != "" {
				return ""
			}
			name = inst.Properties[i].Name
		}
	}
	return name
}

// sameKeyValue reports whether a key value an instance gives is the one
// a path gives: the path's value read as the instance's type (text is read
// as numbers, as for any path), references compared as object paths,
// text without regard to case, as keys are (cim.KeyString).
func sameKeyValue(given, path cim.Value) bool {
	if given.Type == cim.TypeReference || path.Type == cim.TypeReference {
		gs, _ := given.V.(string)
		ps, _ := path.V.(string)
		gp, err1 := cim.ParsePath(gs)
		pp, err2 := cim.ParsePath(ps)
		return err1 == nil && err2 == nil && cim.EqualPaths(gp, pp)
	}
	v, err := keyValue(path, given.Type)
	if err != nil {
		return false
	}
	return cim.KeyString([]cim.KeyBinding{{Name: "k", Value: v}}) == cim.KeyString([]cim.KeyBinding{{Name: "k", Value: given}})
}
