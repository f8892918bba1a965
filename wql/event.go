package wql

import (
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// ParseEvent parses an event query, WMI's grammar for ExecNotificationQuery:
//
//	SELECT * | prop, ... FROM EventClass [WITHIN seconds] [WHERE condition]
//	    [GROUP WITHIN seconds [BY prop, ...] [HAVING NumberOfEvents op n]]
//
// The condition names the event's properties, TargetInstance ISA 'Class'
// and members of the embedded objects (TargetInstance.Name,
// PreviousInstance.State). Errors are as Parse's, plus
// WBEM_E_INVALID_QUERY for ASSOCIATORS OF and REFERENCES OF (not event
// queries) and WBEM_E_NOT_EVENT_CLASS for FROM meta_class. Whether the
// class is an event class is checked against the schema by CheckEvent.
func ParseEvent(query string) (*Select, error) {
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	s, ok := q.(*Select)
	if !ok {
		var l ErrorList
		l.Add(q.Pos(), cim.EInvalidQuery, "an event query is SELECT ... FROM an event class, not ASSOCIATORS OF or REFERENCES OF")
		return nil, l.Err()
	}
	if s.Meta {
		var l ErrorList
		l.Add(s.FromAt, cim.ENotEventClass, "meta_class is not an event class: schema changes are __ClassOperationEvent")
		return nil, l.Err()
	}
	return s, nil
}

// IsaConditions returns the conditions "prop ISA 'Class'" that every
// event a query selects satisfies: those among the conjuncts of its
// WHERE clause (the terms joined by AND at the top) whose property is one
// of props (compared without regard to case), in the order written. A
// query that selects TargetInstance ISA 'A' OR TargetInstance ISA 'B'
// has none: neither class bounds it.
func IsaConditions(s *Select, props ...string) []*Isa {
	var out []*Isa
	var walk func(e Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Binary:
			if !e.Or {
				walk(e.L)
				walk(e.R)
			}
		case *Isa:
			if len(e.Prop.Path) != 1 {
				return
			}
			for _, p := range props {
				if strings.EqualFold(e.Prop.Path[0], p) {
					out = append(out, e)
					return
				}
			}
		}
	}
	walk(s.Where)
	return out
}
