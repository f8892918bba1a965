// Command slowprovider is a test provider for wbemd's server tests: it
// serves Test_Slow, whose enumeration sends an instance every 10 ms, so
// that a test can kill its host in the middle of one.
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/wbemd/wbemd/provider"
)

func main() {
	err := provider.Serve(&provider.Provider{Name: "SlowProvider", Classes: map[string]*provider.Class{
		"Test_Slow": {
			Get: func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
				id, _ := r.Keys.Int("Id")
				return provider.Instance{"Id": id, "Pid": os.Getpid()}, nil
			},
			Enumerate: func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
				for i := 0; i < 500; i++ {
					select {
					case <-time.After(10 * time.Millisecond):
					case <-ctx.Done():
						return ctx.Err()
					}
					if err := send(provider.Instance{"Id": i, "Pid": os.Getpid()}); err != nil {
						return err
					}
				}
				return nil
			},
		},
	}})
	if err != nil {
		log.Fatal(err)
	}
}
