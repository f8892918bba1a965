package provider

import (
	"encoding/json"
	"slices"
	"strconv"
)

// encodeInstance writes inst as json.Marshal writes it (members in key
// order, HTML-safe escaping), without reflection for the common values:
// strings of plain ASCII, integers, booleans and NULL. Any other value is
// written by json.Marshal; a key that needs escaping sends the whole
// instance there.
func encodeInstance(inst Instance) ([]byte, error) {
	out, _, err := appendInstance(make([]byte, 0, 32*len(inst)+2), inst, nil)
	return out, err
}

// appendInstance appends inst to out as encodeInstance writes it. order
// is the key order of an instance encoded before: when it holds exactly
// inst's keys (the instances of one enumeration usually have the same),
// they are not sorted again. It returns the order it used (nil when the
// instance went to json.Marshal).
func appendInstance(out []byte, inst Instance, order []string) ([]byte, []string, error) {
	same := len(order) == len(inst)
	for i := 0; same && i < len(order); i++ {
		_, same = inst[order[i]]
	}
	if !same {
		order = make([]string, 0, len(inst))
		for k := range inst {
			if !plainASCII(k) {
				b, err := json.Marshal(inst)
				return append(out, b...), nil, err
			}
			order = append(order, k)
		}
		slices.Sort(order)
	}
	out = append(out, '{')
	for i, k := range order {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(append(append(out, '"'), k...), '"', ':')
		var err error
		if out, err = appendValue(out, inst[k]); err != nil {
			return nil, nil, err
		}
	}
	return append(out, '}'), order, nil
}

func appendValue(out []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(out, "null"...), nil
	case string:
		if plainASCII(x) {
			return append(append(append(out, '"'), x...), '"'), nil
		}
	case bool:
		return strconv.AppendBool(out, x), nil
	case int:
		return strconv.AppendInt(out, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(out, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(out, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(out, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(out, x, 10), nil
	case uint:
		return strconv.AppendUint(out, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(out, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(out, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(out, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(out, x, 10), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(out, b...), nil
}

// plainASCII reports whether s is written by json.Marshal as it is:
// printable ASCII without quotes, backslashes or the HTML-escaped <, >, &.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}
