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
			// The chain being derived travels in ctx, so that a server
			// whose classes loop, or that answers another class than
			// the one asked for, gets an error, not endless recursion.
			chain, _ := ctx.Value(deriving{}).([]string)
			if len(chain) >= maxDerivation || slices.Contains(chain, cim.Fold(cls.Superclass)) || cim.EqualFold(cls.Superclass, cls.Class) {
				return cim.Errorf(cim.EInvalidSuperclass, "the server's superclass chain of %s loops or is deeper than %d classes, at %s", cls.Class, maxDerivation, cls.Superclass)
			}
			sub := context.WithValue(ctx, deriving{}, append(slices.Clip(chain), cim.Fold(cls.Class)))
			parent, err := c.getClass(sub, cls.Superclass, false)
			if err != nil {
				return err
			}
			if !cim.EqualFold(parent.Class, cls.Superclass) {
				return cim.Errorf(cim.EInvalidSuperclass, "asked for the superclass %s of %s, the server answered class %s", cls.Superclass, cls.Class, parent.Class)
			}
			if err := c.derive(sub, parent); err != nil {
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

// deriving is the context key of the classes whose derivation is being
// read, innermost last (folded names).
type deriving struct{}

// maxDerivation bounds a superclass chain read from a server.
const maxDerivation = 256
