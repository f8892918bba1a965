package cimom

import (
	"fmt"

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
	case a.Trustee == p.Name:
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
