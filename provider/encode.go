package provider

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/wbemd/wbemd/provider/wire"
)

// instanceFrame encodes the wire message that streams one instance of
// call id: {"type":"instance","id":ID,"instance":{...}}. Every item of an
// enumeration goes through it, so the common values (strings, integers,
// booleans, NULL) are written directly; any other value, and a string
// that is not UTF-8, is written by encoding/json. The member order of the
// instance is the map's, which JSON does not fix.
func instanceFrame(id uint64, inst Instance) ([]byte, error) {
	b := make([]byte, 0, 64+48*len(inst))
	b = append(b, `{"type":"`+wire.TypeInstance+`","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"instance":{`...)
	first := true
	for k, v := range inst {
		if !first {
			b = append(b, ',')
		}
		first = false
		var err error
		if b, err = appendString(b, k); err != nil {
			return nil, err
		}
		b = append(b, ':')
		if b, err = appendValue(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, "}}"...), nil
}

// appendValue appends v as JSON.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped; a string that is not UTF-8 goes through
// encoding/json (which writes U+FFFD for the bad bytes).
func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		enc, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		return append(b, enc...), nil
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}
