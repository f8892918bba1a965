package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wbemd/wbemd/internal/sdnotify"
	"github.com/wbemd/wbemd/server"
)

// serviceManager connects wbemd to systemd when a Type=notify unit started
// it: the returned server.Ready says READY=1 once every listener is open,
// and STOPPING=1 is sent as soon as ctx ends (SIGTERM), before the drain.
// Outside systemd both do nothing.
func serviceManager(ctx context.Context, log *slog.Logger) (server.Ready, error) {
	sd, err := sdnotify.FromEnv()
	if err != nil {
		return nil, err
	}
	if sd == nil {
		return nil, nil
	}
	context.AfterFunc(ctx, func() {
		if err := sd.Notify(sdnotify.Stopping, "STATUS=draining"); err != nil {
			log.Warn("telling systemd wbemd stops", "err", err)
		}
	})
	return func(http, https string) {
		status := fmt.Sprintf("STATUS=serving (CIM-XML http %s, https %s)", orOff(http), orOff(https))
		if err := sd.Notify(sdnotify.Ready, status); err != nil {
			log.Warn("telling systemd wbemd is ready", "err", err)
		}
	}, nil
}

func orOff(addr string) string {
	if addr == "" {
		return "off"
	}
	return addr
}
