package provhost

import (
	"github.com/wbemd/wbemd/provider/wire"
	"github.com/wbemd/wbemd/wql"
)

// queryOf gives a parsed WQL data query the wire's form.
func queryOf(q *wql.Select) *wire.Query {
	out := &wire.Query{Class: q.From, Where: condOf(q.Where)}
	if !q.Star {
		for _, p := range q.Props {
			out.Properties = append(out.Properties, p.String())
		}
	}
	return out
}

func condOf(e wql.Expr) *wire.Cond {
	switch e := e.(type) {
	case *wql.Binary:
		l, r := condOf(e.L), condOf(e.R)
		if e.Or {
			return &wire.Cond{Or: []*wire.Cond{l, r}}
		}
		return &wire.Cond{And: []*wire.Cond{l, r}}
	case *wql.Not:
		return &wire.Cond{Not: condOf(e.X)}
	case *wql.Compare:
		return &wire.Cond{Property: e.Prop.String(), Op: e.Op.String(), Value: literalOf(e.Value)}
	case *wql.IsNull:
		isNull := !e.Not
		return &wire.Cond{Property: e.Prop.String(), IsNull: &isNull}
	case *wql.Isa:
		return &wire.Cond{Property: e.Prop.String(), Isa: e.Class}
	}
	return nil
}

func literalOf(l *wql.Literal) any {
	switch l.Kind {
	case wql.LitString:
		return l.Text
	case wql.LitInt:
		if l.Big {
			return l.Uint
		}
		return l.Int
	case wql.LitReal:
		return l.Real
	case wql.LitBool:
		return l.Int != 0
	}
	return nil
}
