// Package client connects to a CIMOM over CIM-XML and returns the same
// cimom.Services interface as the in-process core, so that code written
// against cimom runs against a remote wbemd (or another CIM-XML server)
// unchanged — the counterpart of WMI's ConnectServer. Enumerations stream:
// their objects are decoded as the answer arrives and handed out one at a
// time, so a forward-only enumeration of any size keeps a flat heap.
// Each instance is decoded straight into an instance spawned from its
// class (read once per connection); the qualifiers an instance has from
// its class are shared by the instances of that class, read-only, as the
// in-process core shares them: copy a qualifier slice before changing an
// element in place (appending to one copies it).
package client

import (
	"context"

	"github.com/wbemd/wbemd/cimom"
)

// Connect connects to the CIMOM at url ("http://host:5988",
// "https://host:5989") and namespace. A dead or refused server is
// WBEM_E_TRANSPORT_FAILURE; a draining one WBEM_E_SHUTTING_DOWN; wrong
// credentials WBEM_E_ACCESS_DENIED.
func Connect(ctx context.Context, url, namespace string, opts Options) (cimom.Services, error) {
	c, err := Dial(ctx, url, namespace, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}
