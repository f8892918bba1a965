package cimom

import (
	"sort"

	"github.com/wbemd/wbemd/cim"
)

// Named context values that wbemd interprets (WMI's put and get
// extensions).
const (
	PutExtensions       = "__PUT_EXTENSIONS"         // bool: some __PUT_EXT_* value is present
	PutExtClientRequest = "__PUT_EXT_CLIENT_REQUEST" // bool: set by the originating client
	PutExtProperties    = "__PUT_EXT_PROPERTIES"     // []string: partial update of these properties
	PutExtStrictNulls   = "__PUT_EXT_STRICT_NULLS"   // bool: NULLs are intentional
	PutExtAtomic        = "__PUT_EXT_ATOMIC"         // bool: all or nothing
	GetExtensions       = "__GET_EXTENSIONS"         // bool: some __GET_EXT_* value is present
	GetExtProperties    = "__GET_EXT_PROPERTIES"     // []string: return only these properties
	GetExtKeysOnly      = "__GET_EXT_KEYS_ONLY"      // bool: return only the keys
	GetExtClientRequest = "__GET_EXT_CLIENT_REQUEST" // bool
	UILocale            = "__MI_DESTINATIONOPTIONS_UI_LOCALE"
)

// Context is WMI's IWbemContext: named values that travel with a call. Names
// are case-insensitive. A nil *Context is an empty context.
type Context struct {
	values map[string]ctxValue
}

type ctxValue struct {
	name string
	v    any
}

// NewContext returns an empty context.
func NewContext() *Context { return &Context{values: map[string]ctxValue{}} }

// SetValue sets a named value (bool, int32, string, []string, ...).
func (c *Context) SetValue(name string, v any) {
	if c.values == nil {
		c.values = map[string]ctxValue{}
	}
	c.values[cim.Fold(name)] = ctxValue{name: name, v: v}
}

// GetValue returns a named value.
func (c *Context) GetValue(name string) (any, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := c.values[cim.Fold(name)]
	return v.v, ok
}

// DeleteValue removes a named value.
func (c *Context) DeleteValue(name string) {
	if c != nil {
		delete(c.values, cim.Fold(name))
	}
}

// Names returns the value names, sorted.
func (c *Context) Names() []string {
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.values))
	for _, v := range c.values {
		out = append(out, v.name)
	}
	sort.Strings(out)
	return out
}

// Clone returns a copy of the context.
func (c *Context) Clone() *Context {
	n := NewContext()
	if c != nil {
		for k, v := range c.values {
			n.values[k] = v
		}
	}
	return n
}

// boolValue reads a boolean named value; present reports whether it was
// there at all, ok whether it had the right type.
func (c *Context) boolValue(name string) (val, present, ok bool) {
	v, present := c.GetValue(name)
	if !present {
		return false, false, true
	}
	b, ok := v.(bool)
	return b, true, ok
}

// stringsValue reads a string-array named value.
func (c *Context) stringsValue(name string) ([]string, bool, bool) {
	v, present := c.GetValue(name)
	if !present {
		return nil, false, true
	}
	switch x := v.(type) {
	case []string:
		return x, true, true
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, true, false
			}
			out[i] = s
		}
		return out, true, true
	}
	return nil, true, false
}
