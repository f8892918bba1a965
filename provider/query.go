package provider

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/provider/wire"
)

// Equals returns the values a query's WHERE clause allows for property
// when it allows only a known few: ok is true when every instance the
// query selects has property equal (as text, compared without regard to
// case by the caller) to one of values. It reads `P = v`, `v = P`, OR of
// such conditions, and AND with anything else; any other form (no WHERE,
// `P <> v`, LIKE, NOT) gives ok false, and the provider enumerates. A
// provider answers a query on its keys with it, without enumerating:
//
//	if handles, ok := provider.Equals(r.Query, "Handle"); ok { ... }
func Equals(q *wire.Query, property string) (values []string, ok bool) {
	if q == nil {
		return nil, false
	}
	return equals(q.Where, property)
}

func equals(c *wire.Cond, property string) ([]string, bool) {
	switch {
	case c == nil:
		return nil, false
	case len(c.And) > 0:
		// Any restricted side restricts the conjunction.
		var out []string
		found := false
		for _, x := range c.And {
			if vs, ok := equals(x, property); ok {
				if !found {
					out, found = vs, true
				} else {
					out = intersect(out, vs)
				}
			}
		}
		return out, found
	case len(c.Or) > 0:
		var out []string
		for _, x := range c.Or {
			vs, ok := equals(x, property)
			if !ok {
				return nil, false
			}
			out = append(out, vs...)
		}
		return out, true
	case c.Op == "=" && strings.EqualFold(c.Property, property) && c.Value != nil:
		switch v := c.Value.(type) {
		case string:
			return []string{v}, true
		case bool:
			return []string{fmt.Sprint(v)}, true
		case float64:
			return []string{strconv.FormatFloat(v, 'f', -1, 64)}, true
		default:
			return []string{fmt.Sprint(v)}, true
		}
	}
	return nil, false
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if strings.EqualFold(x, y) {
				out = append(out, x)
				break
			}
		}
	}
	return out
}
