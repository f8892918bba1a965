package cimom

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// A namespace's security descriptor travels as text in the Security
// Descriptor Definition Language (SDDL, MS-DTYP §2.5.1), the form WMI
// itself reads from NamespaceSecuritySDDL and that WMI's tools print:
//
//	O:BAG:BAD:P(A;CI;CCDCLCSWRPWPDTLORCWD;;;BA)(A;CI;CCDCRP;;;AU)(A;;CCWP;;;"alice")
//
// O: and G: name the owner and group; D: starts the DACL, whose flag P
// (protected) stops inheritance from the parent namespace; each ACE is
// (type;flags;rights;;;trustee) with type A (allow) or D (deny), flags
// among OI CI NP IO ID, and rights as a hexadecimal mask (0x23) or as the
// letters WMI's namespace descriptors use for its rights: CC enable, DC
// execute methods, LC full write, SW partial write, RP provider write, WP
// remote enable, DT subscribe, LO publish, RC read security, WD edit
// security (GA: all of them).
//
// Trustees are wbemd's: the well-known groups by their SDDL alias (BA
// Administrators, AU Authenticated Users, WD Everyone) or SID string, and
// any other user or group by its name in double quotes ("alice", with \"
// and \\ inside). wbemd has no Windows SIDs, which is why GetSD answers
// this text rather than WMI's binary descriptor.

// sddlRights are the SDDL letters of the rights, in the order they are
// printed.
var sddlRights = []struct {
	code  string
	right Rights
}{
	{"CC", RightEnable}, {"DC", RightMethodExecute}, {"LC", RightFullWrite}, {"SW", RightPartialWrite},
	{"RP", RightWriteProvider}, {"WP", RightRemoteEnable}, {"DT", RightSubscribe}, {"LO", RightPublish},
	{"RC", RightReadControl}, {"WD", RightWriteDAC},
}

// sddlFlags are the SDDL letters of the ACE flags, in the order they are
// printed.
var sddlFlags = []struct {
	code string
	flag ACEFlags
}{
	{"OI", ACEObjectInherit}, {"CI", ACEContainerInherit}, {"NP", ACENoPropagate}, {"IO", ACEInheritOnly}, {"ID", ACEInherited},
}

// sddlTrustees are the well-known trustees: alias, SID, name.
var sddlTrustees = []struct{ alias, sid, name string }{
	{"BA", "S-1-5-32-544", GroupAdministrators},
	{"AU", "S-1-5-11", GroupAuthenticatedUsers},
	{"WD", "S-1-1-0", GroupEveryone},
}

// FormatSDDL writes sd as SDDL text (see the package's security
// descriptor notes); ParseSDDL reads it back to an equal descriptor.
func FormatSDDL(sd *SecurityDescriptor) string {
	var b strings.Builder
	if sd.Owner != "" {
		b.WriteString("O:")
		b.WriteString(sddlTrustee(sd.Owner))
	}
	if sd.Group != "" {
		b.WriteString("G:")
		b.WriteString(sddlTrustee(sd.Group))
	}
	b.WriteString("D:")
	if sd.Protected {
		b.WriteString("P")
	}
	for _, a := range sd.DACL {
		b.WriteString("(")
		if a.Deny {
			b.WriteString("D;")
		} else {
			b.WriteString("A;")
		}
		for _, f := range sddlFlags {
			if a.Flags&f.flag != 0 {
				b.WriteString(f.code)
			}
		}
		b.WriteString(";")
		for _, r := range sddlRights {
			if a.Mask&r.right != 0 {
				b.WriteString(r.code)
			}
		}
		if a.Mask == 0 {
			b.WriteString("0x0")
		}
		b.WriteString(";;;")
		b.WriteString(sddlTrustee(a.Trustee))
		b.WriteString(")")
	}
	return b.String()
}

// sddlTrustee writes a trustee: a well-known group by its alias, anyone
// else as a quoted name.
func sddlTrustee(name string) string {
	for _, t := range sddlTrustees {
		if cim.EqualFold(name, t.name) {
			return t.alias
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
}

// ParseSDDL reads a security descriptor written in SDDL. A descriptor
// that is not SDDL, or that uses what wbemd has no use for (a SACL,
// object ACEs, audit flags, SIDs other than the well-known groups'), is
// WBEM_E_INVALID_PARAMETER naming the position (a byte offset from 1). It
// checks the syntax only; SetSD applies WMI's rules to what it reads.
func ParseSDDL(text string) (*SecurityDescriptor, error) {
	p := sddlParser{s: text}
	return p.descriptor()
}

type sddlParser struct {
	s   string
	pos int
}

func (p *sddlParser) errorf(format string, args ...any) error {
	return cim.Errorf(cim.EInvalidParameter, "SDDL, position %d: %s", p.pos+1, fmt.Sprintf(format, args...)).WithParam("SDDL")
}

func (p *sddlParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\r' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *sddlParser) descriptor() (*SecurityDescriptor, error) {
	sd := &SecurityDescriptor{}
	seen := map[byte]bool{}
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			break
		}
		if p.pos+1 >= len(p.s) || p.s[p.pos+1] != ':' {
			return nil, p.errorf("expected O:, G: or D:")
		}
		part := p.s[p.pos]
		if seen[part] {
			return nil, p.errorf("%c: given twice", part)
		}
		seen[part] = true
		switch part {
		case 'O', 'G':
			p.pos += 2
			name, err := p.trustee()
			if err != nil {
				return nil, err
			}
			if part == 'O' {
				sd.Owner = name
			} else {
				sd.Group = name
			}
		case 'D':
			p.pos += 2
			if err := p.dacl(sd); err != nil {
				return nil, err
			}
		case 'S':
			return nil, p.errorf("a SACL (S:) is not supported: wbemd audits nothing")
		default:
			return nil, p.errorf("expected O:, G: or D:")
		}
	}
	if !seen['D'] {
		return nil, p.errorf("no DACL (D:)")
	}
	return sd, nil
}

func (p *sddlParser) dacl(sd *SecurityDescriptor) error {
	sd.DACL = []ACE{}
	for p.pos < len(p.s) && p.s[p.pos] != '(' {
		switch {
		case strings.HasPrefix(p.s[p.pos:], "P"):
			sd.Protected = true
			p.pos++
		case strings.HasPrefix(p.s[p.pos:], "AI"), strings.HasPrefix(p.s[p.pos:], "AR"):
			p.pos += 2 // automatic inheritance: wbemd always inherits
		default:
			if isSDDLPart(p.s[p.pos:]) {
				return nil
			}
			return p.errorf("unknown DACL flag")
		}
	}
	for p.pos < len(p.s) && p.s[p.pos] == '(' {
		p.pos++
		a, err := p.ace()
		if err != nil {
			return err
		}
		sd.DACL = append(sd.DACL, a)
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return p.errorf("expected ) to end the ACE")
		}
		p.pos++
	}
	return nil
}

// isSDDLPart reports whether s starts another part of the descriptor.
func isSDDLPart(s string) bool {
	return len(s) >= 2 && s[1] == ':' && strings.IndexByte("OGDS", s[0]) >= 0
}

// field returns the text up to the next ';' (not consuming it).
func (p *sddlParser) field() string {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ';' && p.s[p.pos] != ')' {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *sddlParser) semicolon() error {
	if p.pos >= len(p.s) || p.s[p.pos] != ';' {
		return p.errorf("expected ; between the fields of an ACE")
	}
	p.pos++
	return nil
}

func (p *sddlParser) ace() (ACE, error) {
	var a ACE
	start := p.pos
	switch t := p.field(); t {
	case "A":
	case "D":
		a.Deny = true
	default:
		p.pos = start
		return a, p.errorf("ACE type %q: wbemd knows A (allow) and D (deny)", t)
	}
	if err := p.semicolon(); err != nil {
		return a, err
	}
	start = p.pos
	flags := p.field()
	for i := 0; i < len(flags); i += 2 {
		found := false
		for _, f := range sddlFlags {
			if strings.HasPrefix(flags[i:], f.code) {
				a.Flags |= f.flag
				found = true
			}
		}
		if !found {
			p.pos = start + i
			return a, p.errorf("unknown ACE flag %q", flags[i:min(i+2, len(flags))])
		}
	}
	if err := p.semicolon(); err != nil {
		return a, err
	}
	start = p.pos
	mask, err := parseSDDLRights(p.field())
	if err != nil {
		p.pos = start
		return a, p.errorf("%v", err)
	}
	a.Mask = mask
	for range 2 {
		if err := p.semicolon(); err != nil {
			return a, err
		}
		if start := p.pos; p.field() != "" {
			p.pos = start
			return a, p.errorf("object ACEs (a GUID) are not supported")
		}
	}
	if err := p.semicolon(); err != nil {
		return a, err
	}
	if a.Trustee, err = p.trustee(); err != nil {
		return a, err
	}
	return a, nil
}

// parseSDDLRights reads an access mask: hexadecimal (0x...), decimal, or
// SDDL letters.
func parseSDDLRights(s string) (Rights, error) {
	if s == "" {
		return 0, fmt.Errorf("no rights")
	}
	if s[0] >= '0' && s[0] <= '9' {
		n, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return 0, fmt.Errorf("rights %q: not a number", s)
		}
		if Rights(n)&^rightsAll != 0 {
			return 0, fmt.Errorf("rights %s: unknown access bits %#x", s, uint32(Rights(n)&^rightsAll))
		}
		return Rights(n), nil
	}
	var r Rights
	for i := 0; i < len(s); i += 2 {
		code := s[i:min(i+2, len(s))]
		found := false
		if code == "GA" {
			r |= rightsAll
			found = true
		}
		for _, sr := range sddlRights {
			if code == sr.code {
				r |= sr.right
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown right %q", code)
		}
	}
	return r, nil
}

// trustee reads a trustee: an alias, a SID string, or a quoted name.
func (p *sddlParser) trustee() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		start := p.pos
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= len(p.s) {
				p.pos = start
				return "", p.errorf("unterminated quoted name")
			}
			c := p.s[p.pos]
			p.pos++
			switch c {
			case '"':
				if b.Len() == 0 {
					p.pos = start
					return "", p.errorf("empty trustee name")
				}
				return b.String(), nil
			case '\\':
				if p.pos >= len(p.s) || (p.s[p.pos] != '"' && p.s[p.pos] != '\\') {
					return "", p.errorf(`in a quoted name, \ escapes only " and \`)
				}
				b.WriteByte(p.s[p.pos])
				p.pos++
			default:
				b.WriteByte(c)
			}
		}
	}
	start := p.pos
	var tok string
	if strings.HasPrefix(p.s[p.pos:], "S-") {
		for p.pos < len(p.s) && (p.s[p.pos] == '-' || p.s[p.pos] == 'S' || (p.s[p.pos] >= '0' && p.s[p.pos] <= '9')) {
			p.pos++
		}
		tok = p.s[start:p.pos]
	} else if p.pos+2 <= len(p.s) {
		tok = p.s[p.pos : p.pos+2]
		p.pos += 2
	}
	for _, t := range sddlTrustees {
		if tok == t.alias || tok == t.sid {
			return t.name, nil
		}
	}
	p.pos = start
	if tok == "" {
		return "", p.errorf("expected a trustee")
	}
	return "", p.errorf("trustee %q: wbemd knows the aliases BA, AU and WD; a user or group is written as its name in double quotes", tok)
}
