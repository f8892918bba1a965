package cimom

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/wql"
)

// ForceScan is a context value (boolean) that makes ExecQuery answer a
// data query by scanning even when a key lookup or an index would do: the
// results must be the same, and tests and `wbem query --scan` check it.
const ForceScan = "__WBEMD_FORCE_SCAN"

// queryFlags are the flags ExecQuery accepts.
const queryFlags = FlagForwardOnly | FlagReturnImmediately | FlagPrototype | FlagEnsureLocatable | FlagUseAmendedQualifiers | FlagDirectRead

func (s *services) Associators(ctx context.Context, q *wql.Assoc, flags Flags, wctx *Context) (Enumerator, error) {
	return s.openEnum(ctx, "ExecQuery", flags, func() (source, error) {
		if err := checkFlags(flags, queryFlags&^FlagPrototype); err != nil {
			return nil, err
		}
		if q == nil || q.Path == "" {
			return nil, cim.Errorf(cim.EInvalidParameter, "no source object").WithParam("ObjectName")
		}
		if err := s.require(ctx, RightEnable); err != nil {
			return nil, err
		}
		return s.assocSource(ctx, q, flags, wctx)
	})
}

func (s *services) ExecQuery(ctx context.Context, language, query string, flags Flags, wctx *Context) (Enumerator, error) {
	return s.openEnum(ctx, "ExecQuery", flags, func() (source, error) {
		if err := checkFlags(flags, queryFlags); err != nil {
			return nil, err
		}
		parse, ok := queryLanguage(language)
		if !ok {
			return nil, cim.Errorf(cim.EInvalidQueryType, "query language %q is not supported: wbemd speaks WQL and DMTF:CQL", language).WithParam("strQueryLanguage")
		}
		if err := s.require(ctx, RightEnable); err != nil {
			return nil, err
		}
		q, err := parse(query)
		if err != nil {
			return nil, err
		}
		switch q := q.(type) {
		case *wql.Assoc:
			return s.assocSource(ctx, q, flags, wctx)
		case *wql.Select:
			if q.Meta {
				return s.schemaSource(ctx, q, flags)
			}
			p, err := s.planSelect(ctx, q, wctx, false)
			if err != nil {
				return nil, err
			}
			if flags&FlagPrototype != 0 {
				return sliceSource([]*cim.Object{prototype(p)}), nil
			}
			return s.selectSource(ctx, p, flags, wctx), nil
		}
		return nil, cim.Errorf(cim.EInvalidQuery, "unsupported query")
	})
}

func (s *services) ExplainQuery(ctx context.Context, query string, wctx *Context) (string, error) {
	var out string
	err := s.call("ExecQuery", func() error {
		if err := s.require(ctx, RightEnable); err != nil {
			return err
		}
		q, err := parseQuery(query)
		if err != nil {
			return err
		}
		switch q := q.(type) {
		case *wql.Assoc:
			kind := "ASSOCIATORS OF"
			if q.References {
				kind = "REFERENCES OF"
			}
			out = kind + ": scan of the instances of every association class that refers to the source's class"
			if force, _, _ := wctx.boolValue(ForceScan); s.c.refIndex && !force {
				out = kind + ": the source's entries in the reverse-reference index (association classes served by providers: scanned)"
			}
		case *wql.Select:
			if q.Meta {
				out = "schema query: every class, filtered"
				return nil
			}
			p, err := s.planSelect(ctx, q, wctx, true)
			if err != nil {
				return err
			}
			out = p.explain
		}
		return nil
	})
	return out, err
}

// parseQuery parses WQL, giving its errors as *cim.Error.
func parseQuery(query string) (wql.Query, error) {
	q, err := wql.Parse(query)
	if err != nil {
		return nil, err.(*wql.Error).CIMError()
	}
	return q, nil
}

// parseCQL parses the DMTF CQL subset (wql.ParseCQL) into the syntax tree
// WQL's queries have: one plan and one evaluator serve both languages.
func parseCQL(query string) (wql.Query, error) {
	q, err := wql.ParseCQL(query)
	if err != nil {
		return nil, err.(*wql.Error).CIMError()
	}
	return q, nil
}

// queryLanguage returns the parser of a query language: WQL, or DMTF CQL
// by the names DSP0200 (DMTF:CQL), OpenPegasus (CIM:CQL) and clients
// (CQL) give it.
func queryLanguage(language string) (func(string) (wql.Query, error), bool) {
	switch strings.ToUpper(strings.TrimSpace(language)) {
	case "WQL":
		return parseQuery, true
	case "DMTF:CQL", "CIM:CQL", "CQL":
		return parseCQL, true
	}
	return nil, false
}

// The ways to answer a data query.
const (
	planScan = iota
	planKey
	planIndex
	planKeyRange
)

type selectPlan struct {
	q       *wql.Select
	ci      *classInfo
	kind    int
	key     []byte // planKey: the instance's store key
	prop    string // planIndex: the Indexed property
	spans   []span // planIndex, planKeyRange: the ranges of index entries or instance keys, ascending and disjoint
	explain string
}

// planSelect checks a data query and chooses how to answer it: a key
// lookup when every key is given with =, else the narrowest of the ranges
// the conditions bound (of an Indexed property's index, or of the stored
// keys by their first key; see planRanges), else a scan of the class and
// its subclasses. Every plan filters with the whole WHERE clause. With
// explain, the plan's description carries the estimate of the range it
// reads.
func (s *services) planSelect(ctx context.Context, q *wql.Select, wctx *Context, explain bool) (*selectPlan, error) {
	if q.Within != 0 || q.Group != nil {
		return nil, (&wql.Error{Pos: q.At, Status: cim.EInvalidQuery, Msg: "WITHIN and GROUP belong to event queries (ExecNotificationQuery)"}).CIMError()
	}
	ci, err := s.c.resolve(ctx, s.ns, q.From)
	if err != nil {
		return nil, err
	}
	if ci == nil {
		return nil, (&wql.Error{Pos: q.FromAt, Status: cim.EInvalidClass, Msg: fmt.Sprintf("class %s does not exist in %s", q.From, s.ns)}).CIMError()
	}
	if cim.EqualFold(ci.cls.Class, "__Event") || ci.cls.InheritsFrom("__Event") {
		return nil, (&wql.Error{Pos: q.FromAt, Status: cim.EInvalidQueryType, Msg: fmt.Sprintf("%s is an event class: event queries go through ExecNotificationQuery", ci.cls.Class)}).CIMError()
	}
	if err := wql.Check(q, ci.cls); err != nil {
		return nil, err.(*wql.Error).CIMError()
	}
	p := &selectPlan{q: q, ci: ci, explain: fmt.Sprintf("scan of %s and its subclasses, filtered", ci.cls.Class)}
	if force, _, _ := wctx.boolValue(ForceScan); force || ci.dynamic {
		return p, nil
	}
	conj := conjuncts(q.Where)
	if s.planKeyLookup(p, conj) {
		return p, nil
	}
	return p, s.planRanges(ctx, p, conj, explain)
}

// conjuncts flattens the top-level ANDs of a WHERE clause.
func conjuncts(e wql.Expr) []wql.Expr {
	if b, ok := e.(*wql.Binary); ok && !b.Or {
		return append(conjuncts(b.L), conjuncts(b.R)...)
	}
	if e == nil {
		return nil
	}
	return []wql.Expr{e}
}

// literalAs converts a query constant to a property type exactly, or
// reports that it cannot (then the index cannot be used for it).
func literalAs(lit *wql.Literal, t cim.Type) (cim.Value, bool) {
	var x any
	switch lit.Kind {
	case wql.LitString:
		x = lit.Text
	case wql.LitInt:
		if lit.Big {
			x = lit.Uint
		} else {
			x = lit.Int
		}
	case wql.LitReal:
		x = lit.Real
	default:
		return cim.Value{}, false
	}
	if (t == cim.TypeString) != (lit.Kind == wql.LitString) {
		return cim.Value{}, false
	}
	v, err := cim.NewValue(t, x)
	return v, err == nil
}

func (s *services) planKeyLookup(p *selectPlan, conj []wql.Expr) bool {
	ci := p.ci
	if len(ci.keys) == 0 {
		return false
	}
	op := &cim.ObjectPath{Class: ci.cls.Class}
	for _, i := range ci.keys {
		kp := &ci.cls.Properties[i]
		found := false
		for _, e := range conj {
			c, ok := e.(*wql.Compare)
			if !ok || c.Op != wql.OpEq || len(c.Prop.Path) != 1 || !cim.EqualFold(c.Prop.Path[0], kp.Name) {
				continue
			}
			if kp.Type != cim.TypeString && !kp.Type.IsInteger() {
				return false // references, datetimes, char16: the scan compares them
			}
			v, ok := literalAs(c.Value, kp.Type)
			if !ok {
				return false
			}
			op.Keys = append(op.Keys, cim.KeyBinding{Name: kp.Name, Value: v})
			found = true
			break
		}
		if !found {
			return false
		}
	}
	p.kind = planKey
	p.key = instKey(s.ns, ci.keyClass, keyString(op))
	p.explain = fmt.Sprintf("key lookup of %s, filtered", op.RelPath())
	return true
}

// indexCovers reports whether every class a query over ci covers keeps
// prop in the index: each has it Indexed and none is served by a provider.
func (s *services) indexCovers(ctx context.Context, ci *classInfo, prop string) (bool, error) {
	kids, err := s.c.deepSubclasses(ctx, s.ns, ci.cls.Class)
	if err != nil {
		return false, err
	}
	for _, name := range append([]string{ci.cls.Class}, kids...) {
		k, err := s.c.resolve(ctx, s.ns, name)
		if err != nil || k == nil {
			return false, err
		}
		if k.dynamic || !cim.EqualFold(k.keyClass, ci.keyClass) {
			return false, nil
		}
		indexed := false
		for _, i := range k.indexed {
			if cim.EqualFold(k.cls.Properties[i].Name, prop) {
				indexed = true
			}
		}
		if !indexed && !k.abstract {
			return false, nil
		}
	}
	return true, nil
}

// selectSource streams a data query's results by its plan.
func (s *services) selectSource(ctx context.Context, p *selectPlan, flags Flags, wctx *Context) source {
	q := p.q
	keep := func(inst *cim.Object) bool {
		return (cim.EqualFold(inst.Class, p.ci.cls.Class) || inst.InheritsFrom(p.ci.cls.Class)) && wql.Match(q.Where, inst)
	}
	out := func(inst *cim.Object) (*cim.Object, error) {
		if flags&FlagUseAmendedQualifiers != 0 {
			if err := s.mergeAmended(ctx, inst, wctx); err != nil {
				return nil, err
			}
		}
		return wql.Project(inst, q), nil
	}
	return func(yield func(*cim.Object, error) bool) {
		switch p.kind {
		case planKey:
			kv, found, err := s.c.st.Get(ctx, p.key)
			if err != nil || !found {
				if err != nil {
					yield(nil, err)
				}
				return
			}
			inst, _, err := s.c.decodeInstance(ctx, s.ns, kv.Value)
			if err != nil {
				yield(nil, err)
				return
			}
			inst.Revision = kv.ModRev
			if keep(inst) {
				yield(out(inst))
			}
		case planKeyRange:
			for kv, err := range s.readSpans(ctx, p.spans) {
				if err != nil {
					yield(nil, err)
					return
				}
				inst, _, err := s.c.decodeInstance(ctx, s.ns, kv.Value)
				if err != nil {
					yield(nil, err)
					return
				}
				inst.Revision = kv.ModRev
				if keep(inst) {
					o, err := out(inst)
					if !yield(o, err) || err != nil {
						return
					}
				}
			}
		case planIndex:
			prefixLen := len(idxPrefix(s.ns, p.ci.keyClass, p.prop))
			for kv, err := range s.readSpans(ctx, p.spans) {
				if err != nil {
					yield(nil, err)
					return
				}
				i := bytes.Index(kv.Key[prefixLen:], []byte{sep, sep})
				if i < 0 {
					yield(nil, cim.Errorf(cim.ECriticalError, "malformed index entry %q", kv.Key))
					return
				}
				keys := string(kv.Key[prefixLen+i+2:])
				ikv, found, err := s.c.st.Get(ctx, instKey(s.ns, p.ci.keyClass, keys))
				if err != nil {
					yield(nil, err)
					return
				}
				if !found {
					continue // deleted since the index was read
				}
				inst, _, err := s.c.decodeInstance(ctx, s.ns, ikv.Value)
				if err != nil {
					yield(nil, err)
					return
				}
				inst.Revision = ikv.ModRev
				if keep(inst) {
					o, err := out(inst)
					if !yield(o, err) || err != nil {
						return
					}
				}
			}
		default:
			src, err := s.querySource(ctx, p.ci.cls.Class, FlagForwardOnly, wctx, q)
			if err != nil {
				yield(nil, err)
				return
			}
			for inst, err := range src {
				if err != nil {
					yield(nil, err)
					return
				}
				if wql.Match(q.Where, inst) {
					o, err := out(inst)
					if !yield(o, err) || err != nil {
						return
					}
				}
			}
		}
	}
}

// prototype is the result shape of a data query (WBEM_FLAG_PROTOTYPE): a
// class with the properties the results will have.
func prototype(p *selectPlan) *cim.Object {
	cls := p.ci.cls.Clone()
	if !p.q.Star {
		cls.Properties = wql.Project(&cim.Object{Properties: cls.Properties}, p.q).Properties
	}
	return cls
}

// schemaSource answers SELECT * FROM meta_class [WHERE ...].
func (s *services) schemaSource(ctx context.Context, q *wql.Select, flags Flags) (source, error) {
	if !q.Star {
		return nil, (&wql.Error{Pos: q.Props[0].At, Status: cim.EInvalidQuery, Msg: "a schema query selects * only"}).CIMError()
	}
	if q.Within != 0 || q.Group != nil {
		return nil, (&wql.Error{Pos: q.At, Status: cim.EInvalidQuery, Msg: "WITHIN and GROUP belong to event queries"}).CIMError()
	}
	classes, err := s.classList(ctx, "", flags&FlagUseAmendedQualifiers, nil)
	if err != nil {
		return nil, err
	}
	var out []*cim.Object
	for _, c := range classes {
		if wql.Match(q.Where, c) {
			out = append(out, c)
		}
	}
	return sliceSource(out), nil
}
