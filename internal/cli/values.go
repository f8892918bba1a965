package cli

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// parseArg reads the text of a name=value pair as a value of type t. A
// scalar is the text as it is (cim.ParseValue). An array is a MOF array
// literal: {"a","b, c"} or {1, 2}; an element in double quotes may hold
// commas, braces and the escapes \" \\ \n \t \r; one without quotes is
// its text, trimmed. A malformed literal is WBEM_E_TYPE_MISMATCH naming
// the position (from 1).
func parseArg(t cim.Type, text string) (cim.Value, error) {
	if !t.IsArray() {
		return cim.ParseValue(t, text)
	}
	elems, err := arrayElements(text)
	if err != nil {
		return cim.Value{}, err
	}
	arr, err := cim.ParseValue(t, "{}") // an empty array of t's element type
	if err != nil {
		return cim.Value{}, err
	}
	slice := reflect.ValueOf(arr.V)
	for i, e := range elems {
		v, err := cim.ParseValue(t.Elem(), e)
		if err != nil {
			return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "element %d: %s", i+1, cim.AsError(err).Description)
		}
		slice = reflect.Append(slice, reflect.ValueOf(v.V))
	}
	return cim.Value{Type: t, V: slice.Interface()}, nil
}

// arrayElements splits a MOF array literal into its elements' texts,
// quotes removed.
func arrayElements(text string) ([]string, error) {
	bad := func(pos int, format string, args ...any) error {
		return cim.Errorf(cim.ETypeMismatch, "array %q, position %d: %s", text, pos+1, fmt.Sprintf(format, args...))
	}
	i := 0
	space := func() {
		for i < len(text) && strings.IndexByte(" \t\r\n", text[i]) >= 0 {
			i++
		}
	}
	space()
	if i >= len(text) || text[i] != '{' {
		return nil, bad(i, "an array is written {a,b,...}")
	}
	i++
	space()
	elems := []string{}
	if i < len(text) && text[i] == '}' {
		i++
	} else {
		for {
			space()
			var b strings.Builder
			if i < len(text) && text[i] == '"' {
				start := i
				i++
				for {
					if i >= len(text) {
						return nil, bad(start, "unterminated string")
					}
					c := text[i]
					i++
					if c == '"' {
						break
					}
					if c == '\\' {
						if i >= len(text) {
							return nil, bad(i-1, "unterminated string")
						}
						switch e := text[i]; e {
						case 'n':
							c = '\n'
						case 't':
							c = '\t'
						case 'r':
							c = '\r'
						case '"', '\\', '\'':
							c = e
						default:
							return nil, bad(i-1, `unknown escape \%c`, e)
						}
						i++
					}
					b.WriteByte(c)
				}
				space()
			} else {
				start := i
				for i < len(text) && text[i] != ',' && text[i] != '}' {
					if text[i] == '"' || text[i] == '{' {
						return nil, bad(i, "unexpected %c in an unquoted element", text[i])
					}
					i++
				}
				b.WriteString(strings.TrimSpace(text[start:i]))
				if b.Len() == 0 {
					return nil, bad(start, "empty element")
				}
			}
			elems = append(elems, b.String())
			if i >= len(text) {
				return nil, bad(i, "expected , or }")
			}
			if text[i] == '}' {
				i++
				break
			}
			if text[i] != ',' {
				return nil, bad(i, "expected , or }")
			}
			i++
		}
	}
	space()
	if i != len(text) {
		return nil, bad(i, "text after the closing }")
	}
	return elems, nil
}
