package cim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ObjectPath is a parsed WMI object path:
//
//	[\\server\namespace:]Class[.Key1="v",Key2=5 | =@]
//
// Namespace components are kept with '/' separators ("root/cimv2"); the
// parser accepts '\' and '/' alike. A path with no Keys and no Singleton
// names a class.
type ObjectPath struct {
	Server    string // "" for a relative path; "." means the local machine
	Namespace string // "" for a path relative to the current namespace
	Class     string
	Singleton bool // Class=@
	Keys      []KeyBinding
}

// KeyBinding is one key of an instance path. Its Value is the literal as
// written in the path: TypeString for a quoted value, TypeSint64 or
// TypeUint64 for an integer, TypeBoolean for TRUE/FALSE. The repository
// converts it to the key property's declared type.
type KeyBinding struct {
	Name  string // "" when a single key was written without its name (Class="v")
	Value Value
}

// IsClass reports whether p names a class rather than an instance.
func (p *ObjectPath) IsClass() bool { return !p.Singleton && len(p.Keys) == 0 }

// MaxPathLen is WMI's WBEM_MAX_PATH: longer paths are a quota violation.
const MaxPathLen = 8192

// MaxKeys is the most key properties a class, and so a path, may have
// (WMI's limit).
const MaxKeys = 256

// ParsePath parses a WMI object path. Errors are WBEM_E_INVALID_OBJECT_PATH
// naming the 1-based column (WBEM_E_QUOTA_VIOLATION past MaxPathLen).
//
// Accepted forms: \\server\ns\ns:Class.K="v",K2=5 (also with '/'
// separators, //server/ns:...), ns:Class... is not accepted (a namespace
// needs a server part), Class, Class=@, Class="v" (one key, name omitted).
// Key values: strings in double or single quotes with backslash escapes
// (\\ \" \' \n \t \r; any other escaped character stands for itself),
// decimal or 0x hexadecimal integers with an optional sign, TRUE/FALSE.
func ParsePath(s string) (*ObjectPath, error) {
	if len(s) > MaxPathLen {
		return nil, Errorf(EQuotaViolation, "object path longer than %d characters", MaxPathLen)
	}
	p := &pathParser{s: s}
	op, err := p.parse()
	if err != nil {
		return nil, err
	}
	return op, nil
}

type pathParser struct {
	s   string
	pos int
}

func (p *pathParser) errf(format string, args ...any) error {
	return Errorf(EInvalidObjectPath, "object path %q: column %d: %s", p.s, p.pos+1, fmt.Sprintf(format, args...))
}

func isSep(c byte) bool { return c == '\\' || c == '/' }

func (p *pathParser) parse() (*ObjectPath, error) {
	op := &ObjectPath{}
	s := p.s
	if s == "" {
		return nil, p.errf("empty path")
	}
	if len(s) >= 2 && isSep(s[0]) && isSep(s[1]) {
		p.pos = 2
		start := p.pos
		for p.pos < len(s) && !isSep(s[p.pos]) && s[p.pos] != ':' {
			p.pos++
		}
		if p.pos == start {
			return nil, p.errf("expected a server name")
		}
		op.Server = s[start:p.pos]
		if p.pos >= len(s) || !isSep(s[p.pos]) {
			return nil, p.errf("expected '\\' and a namespace after the server name")
		}
		p.pos++
		start = p.pos
		for p.pos < len(s) && s[p.pos] != ':' {
			p.pos++
		}
		ns, err := NormalizeNamespace(s[start:p.pos])
		if err != nil {
			p.pos = start
			return nil, p.errf("%v", err.(*Error).Description)
		}
		op.Namespace = ns
		if p.pos == len(s) {
			return nil, p.errf("expected ':' and a class name after the namespace")
		}
		p.pos++ // ':'
	}
	start := p.pos
	for p.pos < len(s) && isNameChar(s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return nil, p.errf("expected a class name")
	}
	op.Class = s[start:p.pos]
	if p.pos == len(s) {
		return op, nil
	}
	switch s[p.pos] {
	case '=':
		p.pos++
		if p.pos < len(s) && s[p.pos] == '@' {
			p.pos++
			if p.pos != len(s) {
				return nil, p.errf("unexpected text after '@'")
			}
			op.Singleton = true
			return op, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		op.Keys = []KeyBinding{{Value: v}}
	case '.':
		p.pos++
		op.Keys = make([]KeyBinding, 0, 4)
		for {
			start := p.pos
			for p.pos < len(s) && isNameChar(s[p.pos]) {
				p.pos++
			}
			if p.pos == start {
				return nil, p.errf("expected a key name")
			}
			name := s[start:p.pos]
			for _, k := range op.Keys {
				if EqualFold(k.Name, name) {
					p.pos = start
					return nil, p.errf("key %s given twice", name)
				}
			}
			if p.pos >= len(s) || s[p.pos] != '=' {
				return nil, p.errf("expected '=' after key name %s", name)
			}
			p.pos++
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if len(op.Keys) == MaxKeys {
				p.pos = start
				return nil, p.errf("more than %d keys", MaxKeys)
			}
			op.Keys = append(op.Keys, KeyBinding{Name: name, Value: v})
			if p.pos == len(s) {
				break
			}
			if s[p.pos] != ',' {
				return nil, p.errf("expected ',' or the end of the path")
			}
			p.pos++
		}
	default:
		return nil, p.errf("unexpected character %q after the class name", s[p.pos])
	}
	if p.pos != len(s) {
		return nil, p.errf("unexpected text after the keys")
	}
	return op, nil
}

func isNameChar(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c >= 0x80
}

func (p *pathParser) value() (Value, error) {
	s := p.s
	if p.pos >= len(s) {
		return Value{}, p.errf("expected a key value")
	}
	switch c := s[p.pos]; {
	case c == '"' || c == '\'':
		quote := c
		p.pos++
		// The common case, no escapes: the value is a slice of the input.
		if end := strings.IndexByte(s[p.pos:], quote); end >= 0 && strings.IndexByte(s[p.pos:p.pos+end], '\\') < 0 {
			str := s[p.pos : p.pos+end]
			p.pos += end + 1
			if !utf8.ValidString(str) {
				return Value{}, p.errf("key value is not valid UTF-8")
			}
			return Value{Type: TypeString, V: str}, nil
		}
		var b strings.Builder
		for {
			if p.pos >= len(s) {
				return Value{}, p.errf("unterminated string")
			}
			c := s[p.pos]
			if c == quote {
				p.pos++
				break
			}
			if c == '\\' {
				p.pos++
				if p.pos >= len(s) {
					return Value{}, p.errf("unterminated escape")
				}
				switch e := s[p.pos]; e {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(e)
				}
				p.pos++
				continue
			}
			b.WriteByte(c)
			p.pos++
		}
		str := b.String()
		if !utf8.ValidString(str) {
			return Value{}, p.errf("key value is not valid UTF-8")
		}
		return Value{Type: TypeString, V: str}, nil
	default:
		start := p.pos
		for p.pos < len(s) && s[p.pos] != ',' {
			p.pos++
		}
		text := s[start:p.pos]
		switch strings.ToUpper(text) {
		case "TRUE":
			return Value{Type: TypeBoolean, V: true}, nil
		case "FALSE":
			return Value{Type: TypeBoolean, V: false}, nil
		}
		if strings.ContainsRune(text, '_') {
			p.pos = start
			return Value{}, p.errf("key value %q is not a string, number or boolean", text)
		}
		if n, err := strconv.ParseInt(text, 0, 64); err == nil && !isOctalLike(text) {
			return Value{Type: TypeSint64, V: n}, nil
		}
		if n, err := strconv.ParseUint(strings.TrimPrefix(text, "+"), 0, 64); err == nil && !isOctalLike(text) {
			return Value{Type: TypeUint64, V: n}, nil
		}
		p.pos = start
		return Value{}, p.errf("key value %q is not a string, number or boolean", text)
	}
}

// isOctalLike rejects Go's 0o/0b prefixes and leading-zero octal: path
// integers are decimal or 0x hexadecimal.
func isOctalLike(text string) bool {
	t := strings.TrimLeft(text, "+-")
	if len(t) > 1 && t[0] == '0' {
		return !(t[1] == 'x' || t[1] == 'X')
	}
	return false
}

// NormalizeNamespace returns ns with '/' separators and no empty
// components ("root\cimv2" -> "root/cimv2"); an invalid name is
// WBEM_E_INVALID_NAMESPACE.
func NormalizeNamespace(ns string) (string, error) {
	ns = strings.ReplaceAll(ns, "\\", "/")
	if ns == "" {
		return "", Errorf(EInvalidNamespace, "empty namespace name")
	}
	parts := strings.Split(ns, "/")
	for _, part := range parts {
		if part == "" {
			return "", Errorf(EInvalidNamespace, "namespace %q has an empty component", ns)
		}
		for i := 0; i < len(part); i++ {
			if !isNameChar(part[i]) {
				return "", Errorf(EInvalidNamespace, "namespace %q: character %q is not allowed in a name", ns, part[i])
			}
		}
	}
	return ns, nil
}

// sortedKeys returns the keys ordered by folded name (the slice itself
// when it already is).
func sortedKeys(keys []KeyBinding) []KeyBinding {
	sorted := true
	for i := 1; i < len(keys); i++ {
		if compareFold(keys[i-1].Name, keys[i].Name) > 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return keys
	}
	out := append([]KeyBinding(nil), keys...)
	sort.SliceStable(out, func(i, j int) bool { return compareFold(out[i].Name, out[j].Name) < 0 })
	return out
}

// compareFold compares two names as their Fold forms would compare,
// without allocating for ASCII names.
func compareFold(a, b string) int {
	if !isASCII(a) || !isASCII(b) {
		return strings.Compare(Fold(a), Fold(b))
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// writeFold writes Fold(name) without allocating for ASCII names.
func writeFold(b *strings.Builder, name string) {
	if !isASCII(name) {
		b.WriteString(Fold(name))
		return
	}
	for i := 0; i < len(name); i++ {
		b.WriteByte(lowerASCII(name[i]))
	}
}

// appendKeyValue writes a key value in path syntax: strings (and
// datetimes, references, char16) double-quoted with \\ and \" escaped,
// integers in decimal, booleans TRUE/FALSE.
func appendKeyValue(b *strings.Builder, v Value) {
	switch x := v.V.(type) {
	case string:
		quote(b, x)
	case Datetime:
		quote(b, x.String())
	case Char16:
		quote(b, string(rune(x)))
	default:
		b.WriteString(FormatValue(v))
	}
}

func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// RelPath returns the relative path: Class, Class=@, or Class.K1="v",K2=5
// with keys ordered by folded name.
func (p *ObjectPath) RelPath() string {
	var b strings.Builder
	b.WriteString(p.Class)
	switch {
	case p.Singleton:
		b.WriteString("=@")
	case len(p.Keys) == 1 && p.Keys[0].Name == "":
		b.WriteByte('=')
		appendKeyValue(&b, p.Keys[0].Value)
	case len(p.Keys) > 0:
		for i, k := range sortedKeys(p.Keys) {
			if i == 0 {
				b.WriteByte('.')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(k.Name)
			b.WriteByte('=')
			appendKeyValue(&b, k.Value)
		}
	}
	return b.String()
}

// String returns the full path (\\server\root\cimv2:RelPath) when the path
// has a namespace, else the relative path. Namespace separators are
// written as backslashes, as WMI does.
func (p *ObjectPath) String() string {
	if p.Namespace == "" {
		return p.RelPath()
	}
	server := p.Server
	if server == "" {
		server = "."
	}
	return `\\` + server + `\` + strings.ReplaceAll(p.Namespace, "/", `\`) + ":" + p.RelPath()
}

// KeyString returns the canonical text of a key tuple, used as the storage
// key of an instance: keys ordered by folded name, each name folded, each
// value tagged with its kind so that different tuples never give the same
// text. Key values are folded as names are (WMI compares object paths,
// key values included, without regard to case): strings and char16 with
// Fold, references as the canonical text of the path they hold
// (CanonicalRef). The instance itself keeps the case it was written with.
func KeyString(keys []KeyBinding) string {
	var b strings.Builder
	writeKeyString(&b, keys)
	return b.String()
}

func writeKeyString(b *strings.Builder, keys []KeyBinding) {
	for i, k := range sortedKeys(keys) {
		if i > 0 {
			b.WriteByte(',')
		}
		writeFold(b, k.Name)
		b.WriteByte('=')
		switch x := k.Value.V.(type) {
		case string:
			if k.Value.Type == TypeReference {
				quote(b, CanonicalRef(x))
			} else {
				quoteFold(b, x)
			}
		case Char16:
			quoteFold(b, string(rune(x)))
		default:
			appendKeyValue(b, k.Value)
		}
	}
}

// CanonicalRef returns the identity of an object path held in a
// reference: the namespace (with '/' separators) and the class folded,
// then the keys as KeyString writes them; the server is left out, as
// EqualPaths ignores it. Text that is not a path is folded whole.
func CanonicalRef(ref string) string {
	p, err := ParsePath(ref)
	if err != nil {
		return Fold(ref)
	}
	var b strings.Builder
	if p.Namespace != "" {
		writeFold(&b, strings.ReplaceAll(p.Namespace, "\\", "/"))
		b.WriteByte(':')
	}
	writeFold(&b, p.Class)
	switch {
	case p.Singleton:
		b.WriteString("=@")
	case len(p.Keys) > 0:
		b.WriteByte('.')
		writeKeyString(&b, p.Keys)
	}
	return b.String()
}

// quoteFold writes Fold(s) as quote does.
func quoteFold(b *strings.Builder, s string) {
	if !isASCII(s) {
		quote(b, Fold(s))
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(lowerASCII(s[i]))
	}
	b.WriteByte('"')
}

// EqualPaths reports whether two paths name the same object: class, key
// names and namespaces compared case-insensitively, key order irrelevant,
// integers equal across widths, key values compared as KeyString folds
// them (without regard to case, as WMI). Servers are ignored.
func EqualPaths(a, b *ObjectPath) bool {
	if !EqualFold(a.Class, b.Class) || a.Singleton != b.Singleton || len(a.Keys) != len(b.Keys) {
		return false
	}
	if a.Namespace != "" && b.Namespace != "" && !EqualFold(a.Namespace, b.Namespace) {
		return false
	}
	return KeyString(a.Keys) == KeyString(b.Keys)
}
