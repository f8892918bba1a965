package mof

import (
	"context"
	"errors"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// Options configure a compile.
type Options struct {
	// Namespace receives declarations until a #pragma namespace; mofcomp's
	// default is root/default.
	Namespace string
	// ClassFlags and InstanceFlags are the write flags of classes and
	// instances (mofcomp's -class: and -instance: switches) until a
	// #pragma classflags or instanceflags.
	ClassFlags, InstanceFlags cimom.Flags
	// Strict applies DSP0004's rules: every qualifier used needs a
	// declaration, and WMI's flavor statements are refused.
	Strict bool
	// Progress, when set, is called after each declaration with the bytes
	// compiled so far and the unit's total.
	Progress func(done, total int64)
}

// Summary counts what a compile did.
type Summary struct {
	ClassesCreated, ClassesUpdated, ClassesDeleted       int
	InstancesCreated, InstancesUpdated, InstancesDeleted int
	QualifiersCreated, QualifiersUpdated                 int
	Locale                                               string   // the last #pragma locale
	Autorecover                                          []string // files marked #pragma autorecover
}

// Compile applies a loaded unit through root, a connection to any
// namespace of the repository: every write is a Services call, so every
// repository rule applies. It goes on after a failed declaration to report
// every error it can (up to MaxErrors) and returns them all; to make a
// compile atomic, run it inside cimom's Batch and discard on error.
func Compile(ctx context.Context, root cimom.Services, u *Unit, opts Options) (Summary, []*Error) {
	s := NewSession(ctx, opts)
	s.Compile(root, u)
	return s.Finish()
}

// Session compiles units one after another with one compiler's state (the
// namespace of the last #pragma namespace, qualifier declarations, classes
// and aliases): a load too large for one Unit is parsed and compiled piece
// by piece (wbem mofcomp --stream), each piece through a connection of its
// own (in a transaction of its own, say). Its memory is that of its state:
// aliases are kept to the end.
type Session struct {
	c *compiler
	// Bulk, when set, writes groups of instances of one namespace, all
	// created (none may exist yet), atomically: the compile gives it the
	// instances without an alias or amended qualifiers, and writes a group
	// it fails one by one as usual (so errors and counts stay exact).
	// Compile writes every group before it returns.
	Bulk func(ctx context.Context, ns string, insts []*cim.Object) error
}

// NewSession starts a compile with opts.
func NewSession(ctx context.Context, opts Options) *Session {
	if opts.Namespace == "" {
		opts.Namespace = "root/default"
	}
	c := &compiler{ctx: ctx, opts: opts, conns: map[string]cimom.Services{},
		classes: map[string]*cim.Object{}, decls: map[string]map[string]*cim.QualifierDecl{},
		flavorStmts: map[string]cim.Flavor{}, aliases: map[string]string{}, failedAliases: map[string]bool{},
		classFlags: opts.ClassFlags, instFlags: opts.InstanceFlags}
	return &Session{c: c}
}

// Compile compiles u's declarations through root (connections to other
// namespaces are opened from it) and returns the errors of this call; it
// goes on after a failed declaration, as Compile does.
func (s *Session) Compile(root cimom.Services, u *Unit) []*Error {
	c := s.c
	c.root, c.conns, c.conn, c.bulk = root, map[string]cimom.Services{}, nil, s.Bulk
	first := len(c.errs)
	if c.ns == "" {
		c.setNamespace(Pos{}, "/"+strings.TrimPrefix(strings.ReplaceAll(c.opts.Namespace, "\\", "/"), "/"))
	} else {
		c.setNamespace(Pos{}, "/"+c.ns)
	}
	for _, it := range u.items {
		if len(c.errs) >= MaxErrors || c.ctx.Err() != nil {
			break
		}
		c.decl(it.decl)
		if c.opts.Progress != nil {
			c.opts.Progress(it.end, u.Bytes)
		}
	}
	c.flush()
	c.bulk = nil
	return c.errs[first:]
}

// Finish ends the compile: instances still waiting for an alias are
// errors. It returns the summary and every error of the session.
func (s *Session) Finish() (Summary, []*Error) {
	c := s.c
	for _, d := range c.deferred {
		if c.failedAliases[cim.Fold(d.alias.Text)] {
			c.errorf(d.alias.At, 0, "alias $%s names an instance that did not compile", d.alias.Text)
		} else {
			c.errorf(d.alias.At, 0, "alias $%s is not defined (or its instances refer to each other in a cycle)", d.alias.Text)
		}
	}
	c.deferred = nil
	if err := c.ctx.Err(); err != nil && len(c.errs) == 0 {
		c.errorf(Pos{}, cim.ECallCancelled, "compile cancelled: %v", err)
	}
	if len(c.errs) > MaxErrors {
		c.errs = c.errs[:MaxErrors]
	}
	return c.sum, c.errs
}

type compiler struct {
	ctx   context.Context
	root  cimom.Services
	opts  Options
	errs  []*Error
	sum   Summary
	conns map[string]cimom.Services // folded namespace -> connection

	ns   string // current namespace
	conn cimom.Services

	classFlags, instFlags cimom.Flags
	amendment             string // #pragma amendment locale ("ms_409"), "" if none

	classes       map[string]*cim.Object                   // ns \0 folded class -> resolved class
	decls         map[string]map[string]*cim.QualifierDecl // folded ns -> folded name -> declaration
	flavorStmts   map[string]cim.Flavor                    // folded qualifier -> WMI global flavor
	aliases       map[string]string                        // folded alias -> object path
	failedAliases map[string]bool                          // aliases of instances that failed
	deferred      []*deferredInstance

	// bulk, when set, writes groups of instances (Session.Bulk); pending
	// are those waiting for it, all of namespace ns and conn.
	bulk    func(ctx context.Context, ns string, insts []*cim.Object) error
	pending []pendingInstance
}

// pendingInstance is an instance waiting for a bulk write.
type pendingInstance struct {
	decl  *InstanceDecl
	inst  *cim.Object
	flags cimom.Flags
}

// bulkGroup is the most instances one bulk write carries.
const bulkGroup = 5000

// flush writes the pending instances: in one bulk write, created (none may
// exist); if that fails, one by one, each as it would have been written
// without the bulk path, so that errors, updates and counts are exact.
func (c *compiler) flush() {
	if len(c.pending) == 0 {
		return
	}
	pending := c.pending
	c.pending = nil
	insts := make([]*cim.Object, len(pending))
	for i, p := range pending {
		insts[i] = p.inst
	}
	if err := c.bulk(c.ctx, c.ns, insts); err == nil {
		c.sum.InstancesCreated += len(pending)
		return
	}
	for _, p := range pending {
		c.writeInstance(p.decl, p.inst, p.flags, 0, nil)
	}
}

// deferredInstance waits for an alias its values refer to.
type deferredInstance struct {
	decl      *InstanceDecl
	alias     *Value
	ns        string
	flags     cimom.Flags
	amendment string
}

func (c *compiler) errorf(at Pos, st cim.Status, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: at, Msg: sprintf(format, args...), Status: st})
}

// fail reports a repository error at the position of the element it
// names; what (such as "class A") prefixes the message unless the
// description already starts with it.
func (c *compiler) fail(at Pos, what string, err error) {
	e := cim.AsError(err)
	msg := e.Description
	if !strings.HasPrefix(msg, what) {
		msg = what + ": " + msg
	}
	c.errs = append(c.errs, &Error{Pos: at, Msg: msg, Status: e.Status})
}

func (c *compiler) decl(d Decl) {
	if _, ok := d.(*InstanceDecl); !ok {
		c.flush() // what follows may depend on the instances waiting
	}
	switch d := d.(type) {
	case *Pragma:
		c.pragma(d)
	case *QualifierDecl:
		c.qualifierDecl(d)
	case *ClassDecl:
		c.class(d)
	case *InstanceDecl:
		c.topInstance(d, c.instFlags, c.amendment)
	}
}

// --- pragmas ---

func (c *compiler) pragma(p *Pragma) {
	str := func(i int) (string, bool) {
		if i < len(p.Args) && p.Args[i].Kind == ValueString {
			return p.Args[i].Text, true
		}
		c.errorf(p.At, cim.EInvalidParameter, "#pragma %s: argument %d must be a string", p.Name, i+1)
		return "", false
	}
	switch p.Name {
	case "namespace":
		if s, ok := str(0); ok {
			c.setNamespace(p.Args[0].At, s)
		}
	case "locale":
		if s, ok := str(0); ok {
			c.sum.Locale = s
		}
	case "amendment":
		if s, ok := str(0); ok {
			if len(s) < 4 || !strings.EqualFold(s[:3], "ms_") {
				c.errorf(p.Args[0].At, cim.EInvalidParameter, "#pragma amendment needs a locale such as \"MS_409\", not %q", s)
				return
			}
			c.amendment = strings.ToLower(s)
		}
	case "autorecover":
		c.sum.Autorecover = append(c.sum.Autorecover, p.At.File)
	case "classflags":
		c.classFlags = c.flagWords(p, map[string]cimom.Flags{"createonly": cimom.FlagCreateOnly, "updateonly": cimom.FlagUpdateOnly,
			"safeupdate": cimom.FlagUpdateSafeMode, "forceupdate": cimom.FlagUpdateForceMode}, c.classFlags)
	case "instanceflags":
		c.instFlags = c.flagWords(p, map[string]cimom.Flags{"createonly": cimom.FlagCreateOnly, "updateonly": cimom.FlagUpdateOnly}, c.instFlags)
	case "deleteclass", "deleteinstance":
		target, ok := str(0)
		if !ok {
			return
		}
		mustExist := true
		if len(p.Args) > 1 {
			switch a := p.Args[1]; {
			case a.Kind == ValueIdent && strings.EqualFold(a.Text, "FAIL"):
			case a.Kind == ValueIdent && strings.EqualFold(a.Text, "NOFAIL"):
				mustExist = false
			default:
				c.errorf(a.At, cim.EInvalidParameter, "#pragma %s: the second argument is FAIL or NOFAIL", p.Name)
				return
			}
		}
		if c.conn == nil {
			return
		}
		var err error
		if p.Name == "deleteclass" {
			err = c.conn.DeleteClass(c.ctx, target, 0, nil)
		} else {
			err = c.conn.DeleteInstance(c.ctx, target, 0, nil)
		}
		switch {
		case err == nil && p.Name == "deleteclass":
			c.sum.ClassesDeleted++
			c.forgetClasses()
		case err == nil:
			c.sum.InstancesDeleted++
		case cim.StatusOf(err) == cim.ENotFound && !mustExist:
		default:
			c.fail(p.Args[0].At, "#pragma "+p.Name+"("+target+")", err)
		}
	default:
		c.errorf(p.At, cim.EInvalidParameter, "unknown #pragma %s", p.Name)
	}
}

func (c *compiler) flagWords(p *Pragma, words map[string]cimom.Flags, cur cimom.Flags) cimom.Flags {
	var f cimom.Flags
	for _, a := range p.Args {
		w, ok := words[strings.ToLower(a.Text)]
		if !ok || (a.Kind != ValueString && a.Kind != ValueIdent) {
			c.errorf(a.At, cim.EInvalidParameter, "#pragma %s: unknown flag %q", p.Name, a.Text)
			return cur
		}
		f |= w
	}
	if (f&cimom.FlagCreateOnly != 0 && f&cimom.FlagUpdateOnly != 0) || (f&cimom.FlagUpdateSafeMode != 0 && f&cimom.FlagUpdateForceMode != 0) {
		c.errorf(p.At, cim.EInvalidParameter, "#pragma %s: contradictory flags", p.Name)
		return cur
	}
	return f
}

// setNamespace switches the target namespace. It accepts WMI's forms
// ("\\\\.\\root\\x", "root\\x", "//./root/x") and a name relative to the
// current namespace.
func (c *compiler) setNamespace(at Pos, spec string) {
	s := strings.ReplaceAll(spec, "\\", "/")
	abs := false
	if strings.HasPrefix(s, "//") {
		rest := s[2:]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			c.errorf(at, cim.EInvalidNamespace, "namespace %q names a server but no namespace", spec)
			return
		}
		if server := rest[:i]; server != "." && !strings.EqualFold(server, "localhost") {
			c.errorf(at, cim.EInvalidNamespace, "namespace %q: only the local server (.) can be compiled into", spec)
			return
		}
		s, abs = rest[i+1:], true
	} else if strings.HasPrefix(s, "/") {
		s, abs = s[1:], true
	}
	if first, _, _ := strings.Cut(s, "/"); strings.EqualFold(first, "root") {
		abs = true
	}
	if !abs {
		s = c.ns + "/" + s
	}
	ns, err := cim.NormalizeNamespace(s)
	if err != nil {
		c.fail(at, "#pragma namespace", err)
		return
	}
	c.flush() // the instances waiting belong to the namespace before
	c.ns = ns
	c.conn = nil
	if conn, ok := c.conns[cim.Fold(ns)]; ok {
		c.conn = conn
		return
	}
	conn, err := c.root.OpenNamespace(c.ctx, "/"+ns, 0, nil)
	if err != nil {
		c.fail(at, "#pragma namespace", err)
		return
	}
	c.conns[cim.Fold(ns)] = conn
	c.conn = conn
}

// --- qualifiers ---

// namespaceDecls returns the current namespace's declarations.
func (c *compiler) namespaceDecls() map[string]*cim.QualifierDecl {
	k := cim.Fold(c.ns)
	if m, ok := c.decls[k]; ok {
		return m
	}
	m := map[string]*cim.QualifierDecl{}
	if c.conn != nil {
		if list, err := c.conn.EnumQualifiers(c.ctx); err == nil {
			for _, d := range list {
				m[cim.Fold(d.Name)] = d
			}
		}
	}
	c.decls[k] = m
	return m
}

// flavorOf computes a qualifier use's flavor: the explicit flavors over
// the compile's flavor statement for the qualifier, else over the
// declaration's flavor (its Translatable does not make uses amended), else
// over WMI's default (0: overridable, not propagated).
func (c *compiler) flavorOf(name string, words []Word) (cim.Flavor, bool) {
	var base cim.Flavor
	if f, ok := c.flavorStmts[cim.Fold(name)]; ok {
		base = f
	} else if d, ok := c.namespaceDecls()[cim.Fold(name)]; ok {
		base = d.Flavor &^ cim.FlavorAmended
	}
	return c.applyFlavors(base, words)
}

func (c *compiler) applyFlavors(f cim.Flavor, words []Word) (cim.Flavor, bool) {
	seen := map[string]Word{}
	for _, w := range words {
		n := strings.ToLower(w.Name)
		seen[n] = w
		switch n {
		case "enableoverride":
			f &^= cim.FlavorDisableOverride
		case "disableoverride":
			f |= cim.FlavorDisableOverride
		case "tosubclass":
			f |= cim.FlavorToSubclass
		case "nottosubclass":
			f &^= cim.FlavorToSubclass
		case "restricted":
			f &^= cim.FlavorToSubclass
		case "toinstance":
			f |= cim.FlavorToInstance
		case "nottoinstance":
			f &^= cim.FlavorToInstance
		case "translatable", "amended":
			f |= cim.FlavorAmended
		}
	}
	conflict := func(a, b string) bool {
		wa, okA := seen[a]
		_, okB := seen[b]
		if okA && okB {
			c.errorf(wa.At, cim.EInvalidFlavor, "flavors %s and %s exclude each other", seen[a].Name, seen[b].Name)
			return true
		}
		return false
	}
	if conflict("enableoverride", "disableoverride") || conflict("restricted", "tosubclass") ||
		conflict("tosubclass", "nottosubclass") || conflict("toinstance", "nottoinstance") {
		return 0, false
	}
	return f, true
}

func (c *compiler) qualifierDecl(d *QualifierDecl) {
	if d.Type == "" {
		if c.opts.Strict {
			c.errorf(d.At, cim.EInvalidSyntax, "a flavor statement for %s is WMI's extension; --strict needs a full qualifier declaration", d.Name)
			return
		}
		if f, ok := c.applyFlavors(0, d.Flavors); ok {
			c.flavorStmts[cim.Fold(d.Name)] = f
		}
		return
	}
	t, ok := cim.ParseTypeName(d.Type)
	if !ok || t.Elem() == cim.TypeReference || t.Elem() == cim.TypeObject {
		c.errorf(d.At, cim.EInvalidQualifierType, "qualifier %s: %s is not a qualifier type", d.Name, d.Type)
		return
	}
	if d.Array {
		t = t.ArrayOf()
	}
	decl := &cim.QualifierDecl{Name: d.Name, Type: t, ArraySize: d.ArraySize, Value: cim.Null(t)}
	if d.Default != nil {
		v, err := literalValue(d.Default, t)
		if err != nil {
			c.fail(d.Default.At, "qualifier "+d.Name+" default", err)
			return
		}
		decl.Value = v
	}
	for _, w := range d.Scopes {
		s, ok := cim.ParseScope(w.Name)
		if !ok {
			c.errorf(w.At, cim.EInvalidParameter, "unknown scope %q", w.Name)
			return
		}
		decl.Scope |= s
	}
	f, ok := c.applyFlavors(cim.FlavorToSubclass, d.Flavors) // DSP0004's defaults: EnableOverride, ToSubclass
	if !ok {
		return
	}
	decl.Flavor = f
	if c.conn == nil {
		return
	}
	err := c.conn.PutQualifier(c.ctx, decl, cimom.FlagCreateOnly)
	switch {
	case err == nil:
		c.sum.QualifiersCreated++
	case cim.StatusOf(err) == cim.EAlreadyExists:
		if err = c.conn.PutQualifier(c.ctx, decl, cimom.FlagUpdateOnly); err == nil {
			c.sum.QualifiersUpdated++
		}
	}
	if err != nil {
		c.fail(d.At, "qualifier "+d.Name, err)
		return
	}
	c.namespaceDecls()[cim.Fold(d.Name)] = decl
}

// qualifiers converts a qualifier list. It reports errors and returns
// false when one failed.
func (c *compiler) qualifiers(qs []*Qualifier) ([]cim.Qualifier, bool) {
	if len(qs) == 0 {
		return nil, true
	}
	out := make([]cim.Qualifier, 0, len(qs))
	decls := c.namespaceDecls()
	ok := true
	for _, q := range qs {
		if strings.EqualFold(q.Name, "CIMTYPE") {
			c.errorf(q.At, cim.EInvalidQualifier, "the CIMTYPE qualifier cannot be written in MOF")
			ok = false
			continue
		}
		for _, prev := range out {
			if cim.EqualFold(prev.Name, q.Name) {
				c.errorf(q.At, cim.EInvalidQualifier, "qualifier %s is given twice", q.Name)
				ok = false
			}
		}
		d, declared := decls[cim.Fold(q.Name)]
		if !declared && c.opts.Strict {
			c.errorf(q.At, cim.EInvalidQualifier, "qualifier %s is not declared (--strict)", q.Name)
			ok = false
			continue
		}
		var v cim.Value
		var err error
		switch {
		case declared && q.Value == nil && d.Type == cim.TypeBoolean:
			v = cim.Value{Type: cim.TypeBoolean, V: true}
		case declared && q.Value == nil:
			c.errorf(q.At, cim.ETypeMismatch, "qualifier %s needs a %s value", q.Name, d.Type)
			ok = false
			continue
		case declared:
			v, err = literalValue(q.Value, d.Type)
		case q.Value == nil:
			v = cim.Value{Type: cim.TypeBoolean, V: true}
		default:
			t, inferred := inferType(q.Value)
			if !inferred {
				c.errorf(q.Value.At, cim.EInvalidQualifierType, "qualifier %s: cannot tell the type of this value", q.Name)
				ok = false
				continue
			}
			v, err = literalValue(q.Value, t)
		}
		if err != nil {
			at := q.At
			if q.Value != nil {
				at = q.Value.At
			}
			c.fail(at, "qualifier "+q.Name, err)
			ok = false
			continue
		}
		f, fok := c.flavorOf(q.Name, q.Flavors)
		if !fok {
			ok = false
			continue
		}
		out = append(out, cim.Qualifier{Name: q.Name, Value: v, Flavor: f})
	}
	return out, ok
}

func hasAmended(o *cim.Object) bool {
	check := func(qs []cim.Qualifier) bool {
		for _, q := range qs {
			if q.Flavor&cim.FlavorAmended != 0 {
				return true
			}
		}
		return false
	}
	if check(o.Qualifiers) {
		return true
	}
	for i := range o.Properties {
		if check(o.Properties[i].Qualifiers) {
			return true
		}
	}
	for i := range o.Methods {
		if check(o.Methods[i].Qualifiers) {
			return true
		}
		for j := range o.Methods[i].Parameters {
			if check(o.Methods[i].Parameters[j].Qualifiers) {
				return true
			}
		}
	}
	return false
}

// amendedCall returns the flag and context of a write whose object may
// carry amended qualifiers: they go to the amendment locale's namespace.
func amendedCall(o *cim.Object, amendment string) (cimom.Flags, *cimom.Context) {
	if !hasAmended(o) {
		return 0, nil
	}
	var wctx *cimom.Context
	if amendment != "" {
		wctx = cimom.NewContext()
		wctx.SetValue(cimom.UILocale, amendment)
	}
	return cimom.FlagUseAmendedQualifiers, wctx
}

// --- classes ---

// declType maps a declared type to a CIM type and reference class.
func declType(tr TypeRef, array, param bool) (cim.Type, string, error) {
	var t cim.Type
	var ref string
	switch {
	case tr.Ref:
		t = cim.TypeReference
		if !strings.EqualFold(tr.Name, "object") {
			ref = tr.Name
		}
	case strings.EqualFold(tr.Name, "object"):
		t = cim.TypeObject
	default:
		var ok bool
		t, ok = cim.ParseTypeName(tr.Name)
		switch {
		case ok && t == cim.TypeReference:
			return 0, "", cim.Errorf(cim.EInvalidPropertyType, "a reference is declared as Class ref")
		case !ok:
			if err := cim.CheckName(tr.Name, "class"); err != nil {
				return 0, "", cim.Errorf(cim.EInvalidPropertyType, "%s is neither a CIM type nor a class name", tr.Name)
			}
			t, ref = cim.TypeObject, tr.Name // a strongly typed embedded object
		}
	}
	if array {
		if t == cim.TypeReference && !param {
			return 0, "", cim.Errorf(cim.EInvalidPropertyType, "a reference property cannot be an array in CIM 2.x MOF (only a parameter can)")
		}
		t = t.ArrayOf()
	}
	return t, ref, nil
}

func (c *compiler) class(d *ClassDecl) {
	cls := &cim.Object{Genus: cim.GenusClass, Class: d.Name, Superclass: d.Superclass}
	ok := true
	var qok bool
	if cls.Qualifiers, qok = c.qualifiers(d.Qualifiers); !qok {
		ok = false
	}
	for _, pd := range d.Properties {
		t, ref, err := declType(pd.Type, pd.Array, false)
		if err != nil {
			c.fail(pd.Type.At, "property "+pd.Name, err)
			ok = false
			continue
		}
		p := cim.Property{Name: pd.Name, Type: t, RefClass: ref, ArraySize: pd.ArraySize, Value: cim.Null(t)}
		if p.Qualifiers, qok = c.qualifiers(pd.Qualifiers); !qok {
			ok = false
		}
		if pd.Default != nil {
			v, err := c.value(pd.Default, t, ref, 0)
			if err != nil {
				c.fail(pd.Default.At, "default of "+pd.Name, err)
				ok = false
				continue
			}
			p.Value = v
		}
		cls.Properties = append(cls.Properties, p)
	}
	for _, md := range d.Methods {
		rt, _, err := declType(md.Return, false, false)
		if err != nil {
			c.fail(md.Return.At, "method "+md.Name, err)
			ok = false
			continue
		}
		m := cim.Method{Name: md.Name, ReturnType: rt}
		if m.Qualifiers, qok = c.qualifiers(md.Qualifiers); !qok {
			ok = false
		}
		for _, pd := range md.Params {
			t, ref, err := declType(pd.Type, pd.Array, true)
			if err != nil {
				c.fail(pd.Type.At, "parameter "+pd.Name, err)
				ok = false
				continue
			}
			pa := cim.Parameter{Name: pd.Name, Type: t, RefClass: ref, ArraySize: pd.ArraySize}
			if pa.Qualifiers, qok = c.qualifiers(pd.Qualifiers); !qok {
				ok = false
			}
			for _, prev := range m.Parameters {
				if cim.EqualFold(prev.Name, pa.Name) {
					c.errorf(pd.At, cim.EInvalidParameter, "method %s: parameter %s is declared twice", md.Name, pd.Name)
					ok = false
				}
			}
			m.Parameters = append(m.Parameters, pa)
		}
		for _, prev := range cls.Methods {
			if cim.EqualFold(prev.Name, m.Name) {
				c.errorf(md.At, cim.EInvalidParameter, "method %s is declared twice", md.Name)
				ok = false
			}
		}
		cls.Methods = append(cls.Methods, m)
	}
	if !ok || c.conn == nil {
		return
	}
	if d.Alias != "" && !c.defineAlias(d.At, d.Alias, d.Name) {
		return
	}
	extra, wctx := amendedCall(cls, c.amendment)
	created, err := putWithCount(c.classFlags, func(f cimom.Flags) error {
		return c.conn.PutClass(c.ctx, cls, f|extra, wctx)
	})
	if err != nil {
		c.fail(c.locate(d, err), "class "+d.Name, err)
		return
	}
	if created {
		c.sum.ClassesCreated++
	} else {
		c.sum.ClassesUpdated++
		c.forgetClasses()
	}
}

// putWithCount writes with the compile's flags and tells a creation from
// an update: with no mode flag it tries create-only first.
func putWithCount(flags cimom.Flags, put func(cimom.Flags) error) (created bool, err error) {
	switch {
	case flags&cimom.FlagCreateOnly != 0:
		return true, put(flags)
	case flags&cimom.FlagUpdateOnly != 0:
		return false, put(flags)
	}
	err = put(flags | cimom.FlagCreateOnly)
	if cim.StatusOf(err) != cim.EAlreadyExists {
		return true, err
	}
	return false, put(flags)
}

// locate finds the element of a class declaration that a repository error
// names (its parameter), else the declaration itself.
func (c *compiler) locate(d *ClassDecl, err error) Pos {
	param := cim.AsError(err).Parameter
	if param == "" {
		return d.At
	}
	for _, q := range d.Qualifiers {
		if cim.EqualFold(q.Name, param) {
			return q.At
		}
	}
	for _, p := range d.Properties {
		if cim.EqualFold(p.Name, param) {
			return p.At
		}
		for _, q := range p.Qualifiers {
			if cim.EqualFold(q.Name, param) {
				return q.At
			}
		}
	}
	for _, m := range d.Methods {
		if cim.EqualFold(m.Name, param) {
			return m.At
		}
	}
	if d.Superclass != "" && cim.EqualFold(d.Superclass, param) {
		return d.SuperAt
	}
	return d.At
}

func (c *compiler) forgetClasses() { clear(c.classes) }

// classDef returns a class of the current namespace, resolved.
func (c *compiler) classDef(name string) (*cim.Object, error) {
	k := cim.Fold(c.ns) + "\x00" + cim.Fold(name)
	if cls, ok := c.classes[k]; ok {
		return cls, nil
	}
	obj, err := c.conn.GetObject(c.ctx, name, 0, nil)
	if err != nil {
		return nil, err
	}
	if obj.Genus != cim.GenusClass {
		return nil, cim.Errorf(cim.EInvalidClass, "%s is not a class", name)
	}
	c.classes[k] = obj
	return obj, nil
}

func (c *compiler) defineAlias(at Pos, alias, path string) bool {
	k := cim.Fold(alias)
	if _, dup := c.aliases[k]; dup {
		c.errorf(at, cim.EInvalidParameter, "alias $%s is declared twice", alias)
		return false
	}
	c.aliases[k] = path
	return true
}

// --- instances ---

// missingAlias is returned while building an instance that refers to an
// alias not defined yet.
type missingAlias struct{ v *Value }

func (m *missingAlias) Error() string { return "alias $" + m.v.Text + " is not defined yet" }

func (c *compiler) topInstance(d *InstanceDecl, flags cimom.Flags, amendment string) {
	if c.conn == nil {
		return
	}
	inst, err := c.instance(d, 0)
	var ma *missingAlias
	if errors.As(err, &ma) {
		c.deferred = append(c.deferred, &deferredInstance{decl: d, alias: ma.v, ns: c.ns, flags: flags, amendment: amendment})
		return
	}
	if err != nil {
		c.failedAliases[cim.Fold(d.Alias)] = true
		return // reported
	}
	extra, wctx := amendedCall(inst, amendment)
	if c.bulk != nil && d.Alias == "" && extra == 0 && flags&^cimom.FlagCreateOnly == 0 {
		c.pending = append(c.pending, pendingInstance{decl: d, inst: inst, flags: flags})
		if len(c.pending) >= bulkGroup {
			c.flush()
		}
		return
	}
	c.writeInstance(d, inst, flags, extra, wctx)
}

// writeInstance writes one instance through the connection.
func (c *compiler) writeInstance(d *InstanceDecl, inst *cim.Object, flags, extra cimom.Flags, wctx *cimom.Context) {
	var path string
	created, err := putWithCount(flags, func(f cimom.Flags) error {
		var err error
		path, err = c.conn.PutInstance(c.ctx, inst, f|extra, wctx)
		return err
	})
	if err != nil {
		at := d.At
		if param := cim.AsError(err).Parameter; param != "" {
			for _, pv := range d.Props {
				if cim.EqualFold(pv.Name, param) {
					at = pv.At
				}
			}
		}
		c.fail(at, "instance of "+d.Class, err)
		c.failedAliases[cim.Fold(d.Alias)] = true
		return
	}
	if created {
		c.sum.InstancesCreated++
	} else {
		c.sum.InstancesUpdated++
	}
	if cim.EqualFold(d.Class, "__Namespace") {
		delete(c.decls, cim.Fold(c.ns)) // a new child namespace: nothing cached there yet
	}
	if d.Alias == "" {
		return
	}
	if !c.defineAlias(d.At, d.Alias, path) {
		return
	}
	// Retry the instances that waited for this alias.
	var still []*deferredInstance
	var ready []*deferredInstance
	for _, w := range c.deferred {
		if cim.EqualFold(w.alias.Text, d.Alias) {
			ready = append(ready, w)
		} else {
			still = append(still, w)
		}
	}
	c.deferred = still
	for _, w := range ready {
		saved, savedConn := c.ns, c.conn
		if !cim.EqualFold(w.ns, c.ns) {
			c.setNamespace(w.decl.At, "/"+w.ns)
		}
		c.topInstance(w.decl, w.flags, w.amendment)
		c.ns, c.conn = saved, savedConn
	}
}

// instance builds the object an instance declaration describes. Errors
// other than a missing alias are reported here.
func (c *compiler) instance(d *InstanceDecl, depth int) (*cim.Object, error) {
	cls, err := c.classDef(d.Class)
	if err != nil {
		c.fail(d.ClassAt, "instance of "+d.Class, err)
		return nil, err
	}
	inst, err := cls.SpawnInstance()
	if err != nil {
		c.fail(d.ClassAt, "instance of "+d.Class, err)
		return nil, err
	}
	failed := error(nil)
	qs, ok := c.qualifiers(d.Qualifiers)
	if !ok {
		failed = errors.New("bad qualifiers")
	}
	inst.Qualifiers = append(inst.Qualifiers, qs...)
	// Properties given: by index in inst, and by folded name for names
	// inst does not have (a bulk load's instances give their properties
	// in the class's order, so lookups start where the last one ended).
	var set []bool
	var seenOther map[string]bool
	next := 0
	for _, pv := range d.Props {
		p, at, found := inst.PropertyNear(pv.Name, next)
		if found {
			next = at + 1
			if set == nil {
				set = make([]bool, len(inst.Properties))
			}
			if set[at] {
				c.errorf(pv.At, cim.EInvalidParameter, "property %s is given twice", pv.Name)
				failed = errors.New("duplicate")
				continue
			}
			set[at] = true
		} else {
			if seenOther[cim.Fold(pv.Name)] {
				c.errorf(pv.At, cim.EInvalidParameter, "property %s is given twice", pv.Name)
				failed = errors.New("duplicate")
				continue
			}
			if seenOther == nil {
				seenOther = map[string]bool{}
			}
			seenOther[cim.Fold(pv.Name)] = true
		}
		if cim.IsSystemName(pv.Name) {
			c.errorf(pv.At, cim.EReadOnly, "system property %s cannot be set in MOF", pv.Name)
			failed = errors.New("system property")
			continue
		}
		if !found {
			c.errorf(pv.At, cim.ENotFound, "class %s has no property %s", d.Class, pv.Name)
			failed = errors.New("no property")
			continue
		}
		v, err := c.value(pv.Value, p.Type, p.RefClass, depth)
		if err != nil {
			var ma *missingAlias // only here: errors.As makes it escape
			if errors.As(err, &ma) {
				return nil, err
			}
			if _, done := err.(*reported); !done {
				c.fail(pv.Value.At, "property "+pv.Name, err)
			}
			failed = err
			continue
		}
		p.Value = v
		if len(pv.Qualifiers) > 0 {
			pq, ok := c.qualifiers(pv.Qualifiers)
			if !ok {
				failed = errors.New("bad qualifiers")
			}
			p.Qualifiers = append(append([]cim.Qualifier(nil), p.Qualifiers...), pq...)
		}
	}
	if failed != nil {
		return nil, failed
	}
	return inst, nil
}

// value converts a value for a property of type t: aliases become object
// paths and embedded instances objects; the rest are literals.
func (c *compiler) value(v *Value, t cim.Type, refClass string, depth int) (cim.Value, error) {
	switch {
	case v.Kind == ValueAlias:
		if t != cim.TypeReference {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "alias $%s can only be the value of a reference", v.Text)
		}
		path, ok := c.aliases[cim.Fold(v.Text)]
		if !ok {
			return cim.Value{}, &missingAlias{v: v}
		}
		return cim.NewValue(t, path)
	case v.Kind == ValueInstance:
		if t.Elem() != cim.TypeObject || t.IsArray() {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "an embedded instance can only be the value of an object property, not %s", t)
		}
		obj, err := c.embedded(v.Instance, refClass, depth)
		if err != nil {
			return cim.Value{}, err
		}
		return cim.Value{Type: t, V: obj}, nil
	case v.Kind == ValueArray && t.Elem() == cim.TypeObject && t.IsArray():
		objs := make([]*cim.Object, 0, len(v.Elems))
		for _, e := range v.Elems {
			if e.Kind != ValueInstance {
				return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "an object array holds embedded instances")
			}
			obj, err := c.embedded(e.Instance, refClass, depth)
			if err != nil {
				return cim.Value{}, err
			}
			objs = append(objs, obj)
		}
		return cim.Value{Type: t, V: objs}, nil
	}
	return literalValue(v, t)
}

func (c *compiler) embedded(d *InstanceDecl, refClass string, depth int) (*cim.Object, error) {
	if depth >= maxNesting {
		return nil, cim.Errorf(cim.EInvalidParameter, "embedded instances nest deeper than %d", maxNesting)
	}
	obj, err := c.instance(d, depth+1)
	if err != nil {
		var ma *missingAlias
		if errors.As(err, &ma) {
			return nil, err
		}
		return nil, &reported{err}
	}
	if refClass != "" {
		cls, err := c.classDef(obj.Class)
		if err == nil && !cim.EqualFold(cls.Class, refClass) && !cls.InheritsFrom(refClass) {
			return nil, cim.Errorf(cim.ETypeMismatch, "an instance of %s is not a %s", obj.Class, refClass)
		}
	}
	return obj, nil
}

// reported wraps an error already reported, so it is not reported twice.
type reported struct{ error }
