package cimom

import (
	"context"
)

// subscribeChan runs a subscription into a channel, closed when the
// subscription ends.
func subscribeChan(ctx context.Context, c *CIMOM, ns string, p Principal, deep bool) (<-chan Event, error) {
	seq, err := c.Subscribe(ctx, SubscribeOptions{Namespace: ns, Principal: p, Deep: deep})
	if err != nil {
		return nil, err
	}
	ch := make(chan Event, 4096)
	go func() {
		defer close(ch)
		for ev, err := range seq {
			if err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
