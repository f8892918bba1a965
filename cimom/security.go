package cimom

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// Rights are WMI's namespace access rights (WBEM_SECURITY_FLAGS).
type Rights uint32

// The rights.
const (
	RightEnable        Rights = 0x1     // read: connect, get, enumerate, query
	RightMethodExecute Rights = 0x2     // run methods
	RightFullWrite     Rights = 0x4     // write classes, and instances of any class
	RightPartialWrite  Rights = 0x8     // write static instances of non-system classes
	RightWriteProvider Rights = 0x10    // write provider-backed (dynamic) instances
	RightRemoteEnable  Rights = 0x20    // any of the above over the network
	RightSubscribe     Rights = 0x40    // receive events
	RightPublish       Rights = 0x80    // publish events
	RightReadControl   Rights = 0x20000 // read the security descriptor
	RightWriteDAC      Rights = 0x40000 // change the security descriptor

	rightsAll = RightEnable | RightMethodExecute | RightFullWrite | RightPartialWrite | RightWriteProvider |
		RightRemoteEnable | RightSubscribe | RightPublish | RightReadControl | RightWriteDAC
)

// ACEFlags are the inheritance flags of an ACE.
type ACEFlags uint8

// The ACE flags.
const (
	ACEObjectInherit    ACEFlags = 0x1
	ACEContainerInherit ACEFlags = 0x2  // applies to child namespaces
	ACENoPropagate      ACEFlags = 0x4  // children only, not grandchildren
	ACEInheritOnly      ACEFlags = 0x8  // not for this namespace itself
	ACEInherited        ACEFlags = 0x10 // reported: came from the parent
	aceFlagsValid                = ACEObjectInherit | ACEContainerInherit | ACENoPropagate | ACEInheritOnly | ACEInherited
)

// Well-known trustees.
const (
	GroupAdministrators      = "Administrators"
	GroupAuthenticatedUsers  = "Authenticated Users"
	GroupEveryone            = "Everyone"
	defaultNonAdminRights    = RightEnable | RightMethodExecute | RightWriteProvider
	providerSelf             = "wbemd"
	maxNamespaceDepthForACEs = 64
)

// ACE is one access control entry: a trustee (user or group name), allowed
// or denied rights, and inheritance flags.
type ACE struct {
	Trustee string   `json:"trustee"`
	Deny    bool     `json:"deny,omitempty"`
	Mask    Rights   `json:"mask"`
	Flags   ACEFlags `json:"flags,omitempty"`
}

// SecurityDescriptor is a namespace's security: owner, group, and an
// ordered DACL (the namespace's own ACEs first, then inherited ones marked
// ACEInherited). Protected stops inheritance from the parent.
type SecurityDescriptor struct {
	Owner     string `json:"owner"`
	Group     string `json:"group"`
	DACL      []ACE  `json:"dacl"`
	Protected bool   `json:"protected,omitempty"`
}

// defaultSD is the security of root: administrators may do everything,
// authenticated users may read, run methods and write provider data (the
// choice wbemd makes where WMI's documents conflict). Both ACEs reach child
// namespaces.
func defaultSD() *SecurityDescriptor {
	return &SecurityDescriptor{
		Owner: GroupAdministrators, Group: GroupAdministrators,
		DACL: []ACE{
			{Trustee: GroupAdministrators, Mask: rightsAll, Flags: ACEContainerInherit},
			{Trustee: GroupAuthenticatedUsers, Mask: defaultNonAdminRights, Flags: ACEContainerInherit},
		},
	}
}

// inheritSD computes a child namespace's descriptor: its own ACEs followed
// by the parent's inheritable ones (MS-WMI's algorithm: ACEs with
// CONTAINER_INHERIT are copied, INHERIT_ONLY cleared, CONTAINER_INHERIT
// cleared when NO_PROPAGATE_INHERIT was set), unless the child is
// protected.
func inheritSD(own *SecurityDescriptor, parent *SecurityDescriptor) *SecurityDescriptor {
	sd := &SecurityDescriptor{Owner: own.Owner, Group: own.Group, Protected: own.Protected}
	for _, a := range own.DACL {
		if a.Flags&ACEInherited == 0 {
			sd.DACL = append(sd.DACL, a)
		}
	}
	if parent == nil || own.Protected {
		return sd
	}
	for _, a := range parent.DACL {
		if a.Flags&ACEContainerInherit == 0 {
			continue
		}
		c := a
		c.Flags &^= ACEInheritOnly
		if a.Flags&ACENoPropagate != 0 {
			c.Flags &^= ACEContainerInherit | ACENoPropagate
		}
		c.Flags |= ACEInherited
		sd.DACL = append(sd.DACL, c)
	}
	return sd
}

// validateSD applies SetSD's rules: owner and group present, known bits and
// flags only, INHERIT_ONLY needs CONTAINER_INHERIT, and FULL_WRITE needs
// PARTIAL_WRITE and WRITE_PROVIDER in the same ACE.
func validateSD(sd *SecurityDescriptor) error {
	if sd == nil {
		return cim.Errorf(cim.EInvalidObject, "no security descriptor")
	}
	if sd.Owner == "" || sd.Group == "" {
		return cim.Errorf(cim.EInvalidParameter, "security descriptor needs an owner and a group")
	}
	for i, a := range sd.DACL {
		switch {
		case a.Trustee == "":
			return cim.Errorf(cim.EInvalidParameter, "ACE %d has no trustee", i)
		case a.Mask&^rightsAll != 0:
			return cim.Errorf(cim.EInvalidParameter, "ACE %d has unknown access bits %#x", i, uint32(a.Mask&^rightsAll))
		case a.Flags&^aceFlagsValid != 0:
			return cim.Errorf(cim.EInvalidParameter, "ACE %d has unknown flags %#x", i, uint8(a.Flags&^aceFlagsValid))
		case a.Flags&ACEInheritOnly != 0 && a.Flags&ACEContainerInherit == 0:
			return cim.Errorf(cim.EInvalidParameter, "ACE %d is INHERIT_ONLY without CONTAINER_INHERIT", i)
		case a.Mask&RightFullWrite != 0 && a.Mask&(RightPartialWrite|RightWriteProvider) != RightPartialWrite|RightWriteProvider:
			return cim.Errorf(cim.EInvalidParameter, "ACE %d grants FULL_WRITE without PARTIAL_WRITE and WRITE_PROVIDER", i)
		}
	}
	return nil
}

// appliesTo reports whether an ACE's trustee names p.
func (a ACE) appliesTo(p Principal) bool {
	switch {
	case cim.EqualFold(a.Trustee, GroupEveryone):
		return true
	case cim.EqualFold(a.Trustee, GroupAuthenticatedUsers):
		return p.Name != ""
	case cim.EqualFold(a.Trustee, GroupAdministrators) && p.IsAdmin():
		return true
	case cim.EqualFold(a.Trustee, p.Name):
		return true
	}
	for _, g := range p.Groups {
		if cim.EqualFold(g, a.Trustee) {
			return true
		}
	}
	return false
}

// accessRights evaluates a DACL in order for p: each right is decided by
// the first ACE that mentions it, allow or deny.
func accessRights(sd *SecurityDescriptor, p Principal) Rights {
	var granted, denied Rights
	for _, a := range sd.DACL {
		if a.Flags&ACEInheritOnly != 0 || !a.appliesTo(p) {
			continue
		}
		bits := a.Mask &^ (granted | denied)
		if a.Deny {
			denied |= bits
		} else {
			granted |= bits
		}
	}
	return granted
}

// hasRight reports whether rights include need. FULL_WRITE includes the
// two narrower write rights.
func hasRight(rights, need Rights) bool {
	if rights&need == need {
		return true
	}
	if rights&RightFullWrite != 0 && need&^(RightPartialWrite|RightWriteProvider) == 0 {
		return true
	}
	return false
}

func rightName(r Rights) string {
	names := map[Rights]string{
		RightEnable: "WBEM_ENABLE", RightMethodExecute: "WBEM_METHOD_EXECUTE", RightFullWrite: "WBEM_FULL_WRITE_REP",
		RightPartialWrite: "WBEM_PARTIAL_WRITE_REP", RightWriteProvider: "WBEM_WRITE_PROVIDER",
		RightRemoteEnable: "WBEM_REMOTE_ACCESS", RightSubscribe: "WBEM_RIGHT_SUBSCRIBE",
		RightPublish: "WBEM_RIGHT_PUBLISH", RightReadControl: "READ_CONTROL", RightWriteDAC: "WRITE_DAC",
	}
	if n, ok := names[r]; ok {
		return n
	}
	return fmt.Sprintf("%#x", uint32(r))
}

// rightNames are the names of rights and sets of rights that ParseRights
// reads and FormatRights writes, sets first.
var rightNames = []struct {
	name   string
	rights Rights
}{
	{"all", rightsAll},
	{"write", RightEnable | RightRemoteEnable | RightPartialWrite | RightWriteProvider},
	{"read", RightEnable | RightRemoteEnable},
	{"enable", RightEnable},
	{"execute", RightMethodExecute},
	{"full-write", RightFullWrite | RightPartialWrite | RightWriteProvider},
	{"partial-write", RightPartialWrite},
	{"provider-write", RightWriteProvider},
	{"remote", RightRemoteEnable},
	{"subscribe", RightSubscribe},
	{"publish", RightPublish},
	{"read-security", RightReadControl},
	{"edit-security", RightWriteDAC},
}

// ParseRights reads rights as a comma-separated list of names — enable,
// execute, full-write (which includes partial-write and provider-write, as
// WMI requires), partial-write, provider-write, remote, subscribe, publish,
// read-security, edit-security — and sets of them: read (enable and
// remote: what a remote reader needs), write (read, partial-write and
// provider-write) and all; or as a number (0x23). An unknown name is
// WBEM_E_INVALID_PARAMETER.
func ParseRights(s string) (Rights, error) {
	var r Rights
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part != "" && part[0] >= '0' && part[0] <= '9' {
			n, err := strconv.ParseUint(part, 0, 32)
			if err != nil || Rights(n)&^rightsAll != 0 {
				return 0, cim.Errorf(cim.EInvalidParameter, "rights %q: not a mask of known rights", part).WithParam("Rights")
			}
			r |= Rights(n)
			continue
		}
		found := false
		for _, n := range rightNames {
			if strings.EqualFold(part, n.name) {
				r |= n.rights
				found = true
			}
		}
		if !found {
			names := make([]string, len(rightNames))
			for i, n := range rightNames {
				names[i] = n.name
			}
			return 0, cim.Errorf(cim.EInvalidParameter, "unknown right %q (known: %s)", part, strings.Join(names, ", ")).WithParam("Rights")
		}
	}
	return r, nil
}

// FormatRights names rights the way ParseRights reads them, sets first:
// "read,execute".
func FormatRights(r Rights) string {
	if r == 0 {
		return "none"
	}
	var names []string
	for _, n := range rightNames {
		if r&n.rights == n.rights {
			names = append(names, n.name)
			r &^= n.rights
		}
	}
	if r != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(r)))
	}
	return strings.Join(names, ",")
}

// Grant returns a copy of sd whose own ACEs allow trustee the rights mask
// with the inheritance flags: they are added to its own allow ACE with
// those flags (or a new one after the own ACEs), and removed from its own
// deny ACEs. Inherited ACEs are kept as they are (SetSD recomputes them).
func (sd *SecurityDescriptor) Grant(trustee string, mask Rights, flags ACEFlags) *SecurityDescriptor {
	out := sd.without(trustee, mask, true)
	n := out.ownCount()
	for i := range out.DACL[:n] {
		a := &out.DACL[i]
		if !a.Deny && a.Flags == flags && cim.EqualFold(a.Trustee, trustee) {
			a.Mask |= mask
			return out
		}
	}
	out.DACL = append(out.DACL[:n:n], append([]ACE{{Trustee: trustee, Mask: mask, Flags: flags}}, out.DACL[n:]...)...)
	return out
}

// Revoke returns a copy of sd whose own allow ACEs no longer give trustee
// the rights mask (ACEs left with no right go). Rights the trustee holds
// through a group or an inherited ACE stay; Deny takes them away.
func (sd *SecurityDescriptor) Revoke(trustee string, mask Rights) *SecurityDescriptor {
	return sd.without(trustee, mask, false)
}

// Deny returns a copy of sd that denies trustee the rights mask, whatever
// other ACEs allow: a deny ACE first among the own ACEs, and the rights
// removed from the trustee's own allow ACEs.
func (sd *SecurityDescriptor) Deny(trustee string, mask Rights, flags ACEFlags) *SecurityDescriptor {
	out := sd.without(trustee, mask, false)
	out.DACL = append([]ACE{{Trustee: trustee, Deny: true, Mask: mask, Flags: flags}}, out.DACL...)
	return out
}

// without returns a copy of sd in which trustee's own allow ACEs (deny
// ACEs when deny) lack mask. Removing a narrower write right also removes
// FULL_WRITE, which needs both (validateSD).
func (sd *SecurityDescriptor) without(trustee string, mask Rights, deny bool) *SecurityDescriptor {
	out := &SecurityDescriptor{Owner: sd.Owner, Group: sd.Group, Protected: sd.Protected, DACL: make([]ACE, 0, len(sd.DACL)+1)}
	for _, a := range sd.DACL {
		if a.Flags&ACEInherited == 0 && a.Deny == deny && cim.EqualFold(a.Trustee, trustee) {
			a.Mask &^= mask
			if mask&(RightPartialWrite|RightWriteProvider) != 0 {
				a.Mask &^= RightFullWrite
			}
			if a.Mask == 0 {
				continue
			}
		}
		out.DACL = append(out.DACL, a)
	}
	return out
}

// ownCount returns the number of the descriptor's own ACEs, which come
// before the inherited ones.
func (sd *SecurityDescriptor) ownCount() int {
	for i, a := range sd.DACL {
		if a.Flags&ACEInherited != 0 {
			return i
		}
	}
	return len(sd.DACL)
}
