package client

import (
	"context"
	"slices"

	"github.com/wbemd/wbemd/cim"
)

// derive fills in the derivation of a class read over CIM-XML, which
// carries only its SUPERCLASS: __DYNASTY and __DERIVATION come from the
// superclass chain, each ancestor read once per connection.
func (c *Client) derive(ctx context.Context, cls *cim.Object) error {
	if cls == nil || cls.Genus != cim.GenusClass {
		return nil
	}
	cls.Derivation = nil
	if cls.Superclass != "" {
		c.mu.Lock()
		above, known := c.ancestry[cim.Fold(cls.Superclass)]
		c.mu.Unlock()
		if !known {
			parent, err := c.GetObject(ctx, cls.Superclass, 0, nil)
			if err != nil {
				return err
			}
			above = append([]string{parent.Class}, parent.Derivation...)
		}
		cls.Derivation = slices.Clip(above)
	}
	c.mu.Lock()
	if c.ancestry == nil {
		c.ancestry = map[string][]string{}
	}
	c.ancestry[cim.Fold(cls.Class)] = append([]string{cls.Class}, cls.Derivation...)
	c.mu.Unlock()
	return nil
}
