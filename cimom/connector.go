package cimom

import "context"

// Connector opens connections to namespaces: all that a protocol front
// door needs of the object manager. *CIMOM is one; a door takes the
// interface so that it can be served over any Connector (a CIMOM on
// another node, one wrapped with auditing).
type Connector interface {
	// Connect opens a connection to namespace for p, as ConnectServer
	// does (see CIMOM.Connect).
	Connect(ctx context.Context, namespace string, p Principal) (Services, error)
}

var _ Connector = (*CIMOM)(nil)
