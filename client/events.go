package client

import (
	"context"
	"iter"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// ExecNotificationQuery is not available over CIM-XML, which has no
// subscription operation of its own: subscribe through the event stream
// (GET /api/v1/events, `wbem watch`) or the indication subscriptions of
// the interop namespace.
func (c *Client) ExecNotificationQuery(ctx context.Context, language, query string, opts cimom.NotificationOptions) (iter.Seq2[cimom.Event, error], error) {
	return nil, cim.Errorf(cim.ENotSupported, "CIM-XML has no ExecNotificationQuery: use the event stream (/api/v1/events, wbem watch)")
}

// ValidateEventQuery is not available over CIM-XML (see
// ExecNotificationQuery).
func (c *Client) ValidateEventQuery(ctx context.Context, language, query string) error {
	return cim.Errorf(cim.ENotSupported, "CIM-XML has no ValidateEventQuery: use the event stream (/api/v1/events?validate=1)")
}
