package cimom

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/wql"
)

// span is a range [lo, hi) of store keys; a nil hi is the end of the
// keyspace.
type span struct{ lo, hi []byte }

// estimateCap is how many entries the planner counts in a candidate range
// before it calls it "more": the count stops there, so that planning costs
// at most this many key reads per candidate.
const estimateCap = 1000

// access is one candidate way to read a data query's instances: ranges of
// an Indexed property's index or of the stored instance keys, bounded by
// the WHERE clause's conditions.
type access struct {
	kind  int    // planIndex or planKeyRange
	prop  string // the Indexed property, or the first key
	spans []span
	conds []string // the conditions that bound the ranges, as written
	est   int      // entries counted, up to estimateCap; -1 if not counted
}

// planRanges chooses among the ranges the conditions of a query bound:
// for every Indexed property the index covers, and for the first key of
// the stored key text, it intersects the ranges of every top-level
// condition on that property (both ends of a range, an equality, a LIKE
// prefix) and of at most one disjunction whose every branch bounds it (an
// IN-like list of equalities, the one with fewest branches). With several
// candidates it counts the entries of each (up to estimateCap) and reads
// the smallest; a tie goes to the stored keys (no second read per row),
// then to the first property declared. Each range holds every instance
// its conditions match and perhaps more: the filter does the rest, so the
// plan never changes the results.
func (s *services) planRanges(ctx context.Context, p *selectPlan, conj []wql.Expr, explain bool) error {
	var cands []*access
	if a := s.keyAccess(p.ci, conj); a != nil {
		cands = append(cands, a)
	}
	ia, err := s.indexAccesses(ctx, p.ci, conj)
	if err != nil {
		return err
	}
	cands = append(cands, ia...)
	if len(cands) == 0 {
		return nil
	}
	best := cands[0]
	if len(cands) > 1 || explain {
		for _, a := range cands {
			if a.est, err = s.countSpans(ctx, a.spans, estimateCap); err != nil {
				return err
			}
			if a.est < best.est {
				best = a
			}
		}
	}
	p.kind, p.prop, p.spans = best.kind, best.prop, best.spans
	what := fmt.Sprintf("index range scan of %s.%s", p.ci.cls.Class, best.prop)
	if best.kind == planKeyRange {
		what = "key range scan of " + p.ci.keyClass
	}
	other := ""
	if len(cands) > 1 {
		var others []string
		for _, a := range cands {
			if a != best {
				others = append(others, fmt.Sprintf("%s %s", a.prop, estimateText(a.est)))
			}
		}
		other = "; other candidates: " + strings.Join(others, ", ")
	}
	p.explain = fmt.Sprintf("%s (%s; %s%s), filtered", what, strings.Join(best.conds, " AND "), describeSpans(best), other)
	return nil
}

func estimateText(n int) string {
	if n >= estimateCap {
		return fmt.Sprintf("more than %d entries", estimateCap-1)
	}
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

func describeSpans(a *access) string {
	n := "1 range"
	if len(a.spans) != 1 {
		n = fmt.Sprintf("%d ranges", len(a.spans))
	}
	if a.est < 0 {
		return n
	}
	return n + ", estimate " + estimateText(a.est)
}

// countSpans counts the keys in spans, stopping at limit.
func (s *services) countSpans(ctx context.Context, spans []span, limit int) (int, error) {
	n := 0
	for _, sp := range spans {
		for _, err := range s.c.st.Range(ctx, sp.lo, sp.hi) {
			if err != nil {
				return 0, fmt.Errorf("estimating a query plan: %w", err)
			}
			if n++; n >= limit {
				return n, nil
			}
		}
	}
	return n, nil
}

// narrow intersects the ranges the conditions give for one property:
// spanOf returns a condition's range, or false if it does not bound the
// property. It returns nil if no condition bounds it.
func narrow(conj []wql.Expr, all span, spanOf func(c *wql.Compare) (span, bool)) *access {
	cur, used := all, false
	var conds []string
	var in []span
	var inText string
	for _, e := range conj {
		if c, ok := e.(*wql.Compare); ok {
			if sp, ok := spanOf(c); ok {
				cur, used = intersect(cur, sp), true
				conds = append(conds, wql.Format(c))
			}
			continue
		}
		leaves := disjuncts(e)
		if len(leaves) < 2 || (in != nil && len(leaves) >= len(in)) {
			continue
		}
		var spans []span
		for _, l := range leaves {
			c, ok := l.(*wql.Compare)
			if !ok {
				spans = nil
				break
			}
			sp, ok := spanOf(c)
			if !ok {
				spans = nil
				break
			}
			spans = append(spans, sp)
		}
		if spans != nil {
			in, inText = spans, "("+wql.Format(e)+")"
		}
	}
	if !used && in == nil {
		return nil
	}
	if in != nil {
		conds = append(conds, inText)
	} else {
		in = []span{all}
	}
	var out []span
	for _, sp := range in {
		if sp = intersect(sp, cur); !empty(sp) {
			out = append(out, sp)
		}
	}
	return &access{spans: merge(out), conds: conds, est: -1}
}

// disjuncts flattens the top-level ORs of an expression.
func disjuncts(e wql.Expr) []wql.Expr {
	if b, ok := e.(*wql.Binary); ok && b.Or {
		return append(disjuncts(b.L), disjuncts(b.R)...)
	}
	return []wql.Expr{e}
}

func intersect(a, b span) span {
	if bytes.Compare(b.lo, a.lo) > 0 {
		a.lo = b.lo
	}
	if b.hi != nil && (a.hi == nil || bytes.Compare(b.hi, a.hi) < 0) {
		a.hi = b.hi
	}
	return a
}

func empty(a span) bool { return a.hi != nil && bytes.Compare(a.lo, a.hi) >= 0 }

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return bytes.Compare(a.lo, b.lo) })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.hi == nil || bytes.Compare(sp.lo, last.hi) <= 0 {
				if last.hi != nil && (sp.hi == nil || bytes.Compare(sp.hi, last.hi) > 0) {
					last.hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return out
}

// keyAccess bounds the stored instance keys by conditions on the first key
// (in the order of the stored key text): = or LIKE 'prefix%' or an
// inequality on a string key. String keys compare exactly, and the stored
// key text (name="value") orders as the values do for constants without
// '"', '\' or characters up to '"', which is when a condition is used; the
// range may hold more than the condition matches, never less.
func (s *services) keyAccess(ci *classInfo, conj []wql.Expr) *access {
	if len(ci.keys) == 0 {
		return nil
	}
	first := &ci.cls.Properties[ci.keys[0]]
	for _, i := range ci.keys[1:] {
		if k := &ci.cls.Properties[i]; cim.Fold(k.Name) < cim.Fold(first.Name) {
			first = k
		}
	}
	if first.Type != cim.TypeString {
		return nil
	}
	base := instPrefix(s.ns, ci.keyClass)
	keyText := append(append([]byte(nil), base...), cim.Fold(first.Name)+`="`...)
	plain := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if v[i] <= '"' || v[i] == '\\' {
				return false
			}
		}
		return true
	}
	all := span{keyText, store.PrefixEnd(keyText)}
	a := narrow(conj, all, func(c *wql.Compare) (span, bool) {
		if len(c.Prop.Path) != 1 || !cim.EqualFold(c.Prop.Path[0], first.Name) || c.Value.Kind != wql.LitString {
			return span{}, false
		}
		v := c.Value.Text
		if c.Op == wql.OpLike {
			n := strings.IndexAny(v, "%_[")
			if n <= 0 {
				return span{}, false
			}
			v = v[:n]
		}
		if !plain(v) {
			return span{}, false
		}
		// String keys are stored folded (cim.KeyString) and compare
		// without regard to case: the constant is folded too.
		at := append(append([]byte(nil), keyText...), cim.Fold(v)...)
		switch c.Op {
		case wql.OpEq:
			q := append(at, '"')
			return span{q, store.PrefixEnd(q)}, true
		case wql.OpLike:
			return span{at, store.PrefixEnd(at)}, true
		case wql.OpGt, wql.OpGe:
			return span{at, all.hi}, true
		case wql.OpLt, wql.OpLe:
			return span{keyText, store.PrefixEnd(at)}, true
		}
		return span{}, false
	})
	if a == nil {
		return nil
	}
	a.kind, a.prop = planKeyRange, first.Name
	return a
}

// indexAccesses bounds the index of every Indexed property the index
// serves the query by (indexCovers) by the conditions on it.
func (s *services) indexAccesses(ctx context.Context, ci *classInfo, conj []wql.Expr) ([]*access, error) {
	var out []*access
	for _, idx := range ci.indexed {
		prop := &ci.cls.Properties[idx]
		if prop.Type.IsArray() || !(prop.Type == cim.TypeString || prop.Type.IsInteger() || prop.Type.IsReal()) || prop.IsKey() {
			continue
		}
		base := idxPrefix(s.ns, ci.keyClass, prop.Name)
		bound := func(v cim.Value, tail byte) []byte {
			b := appendOrdered(append([]byte(nil), base...), v)
			return append(b, sep, tail)
		}
		all := span{base, store.PrefixEnd(base)}
		a := narrow(conj, all, func(c *wql.Compare) (span, bool) {
			if len(c.Prop.Path) != 1 || !cim.EqualFold(c.Prop.Path[0], prop.Name) {
				return span{}, false
			}
			if c.Op == wql.OpLike {
				if prop.Type != cim.TypeString || c.Value.Kind != wql.LitString {
					return span{}, false
				}
				n := strings.IndexAny(c.Value.Text, "%_[")
				if n <= 0 {
					return span{}, false // no literal prefix (or no wildcard: = is found elsewhere)
				}
				pre := appendOrdered(append([]byte(nil), base...), cim.Value{Type: cim.TypeString, V: c.Value.Text[:n]})
				return span{pre, store.PrefixEnd(pre)}, true
			}
			v, ok := literalAs(c.Value, prop.Type)
			if !ok {
				return span{}, false
			}
			switch c.Op {
			case wql.OpEq:
				return span{bound(v, 0), bound(v, 1)}, true
			case wql.OpGt:
				return span{bound(v, 1), all.hi}, true
			case wql.OpGe:
				return span{bound(v, 0), all.hi}, true
			case wql.OpLt:
				return span{base, bound(v, 0)}, true
			case wql.OpLe:
				return span{base, bound(v, 1)}, true
			}
			return span{}, false
		})
		if a == nil {
			continue
		}
		covered, err := s.indexCovers(ctx, ci, prop.Name)
		if err != nil {
			return nil, err
		}
		if !covered {
			continue
		}
		a.kind, a.prop = planIndex, prop.Name
		out = append(out, a)
	}
	return out, nil
}

// readSpans reads the keys of spans in order, each in chunks.
func (s *services) readSpans(ctx context.Context, spans []span) iter.Seq2[store.KV, error] {
	return func(yield func(store.KV, error) bool) {
		for _, sp := range spans {
			for kv, err := range store.Chunked(ctx, s.c.st, sp.lo, sp.hi, 0) {
				if !yield(kv, err) || err != nil {
					return
				}
			}
		}
	}
}
