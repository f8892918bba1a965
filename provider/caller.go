package provider

import (
	"syscall"

	"github.com/wbemd/wbemd/cim"
)

// Credential is the Unix identity to act as for the call's caller: a
// provider that changes the machine for a caller (starts a process,
// sends a signal) does it as this identity (exec.Cmd's
// SysProcAttr.Credential), never as its own. It fails with
// WBEM_E_ACCESS_DENIED when the caller has no Unix account of the same
// name.
func (r *Request) Credential() (*syscall.Credential, error) {
	if r.Caller == nil {
		return nil, cim.Errorf(cim.EAccessDenied, "the call names no caller")
	}
	u := r.Caller.Unix
	if u == nil {
		return nil, cim.Errorf(cim.EAccessDenied, "wbemd user %s is not a Unix account on this machine: it cannot act on the machine", r.Caller.Name)
	}
	cred := &syscall.Credential{Uid: u.UID, Gid: u.GID}
	for _, g := range u.Groups {
		if g != u.GID {
			cred.Groups = append(cred.Groups, g)
		}
	}
	return cred, nil
}
