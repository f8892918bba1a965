package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
)

// ProviderConfig configures the host of out-of-process providers (see
// PROVIDERS.md).
type ProviderConfig struct {
	// User runs the hosts of registrations that name no user, when wbemd
	// runs as root (default "nobody").
	User string
	// Timeout bounds each provider call when its registration gives no
	// OperationTimeoutInterval (default 60 s).
	Timeout time.Duration
	// Limits chooses how quotas are enforced: auto (default), cgroup2,
	// cgroup1 or rlimit.
	Limits string
}

// serveProviders makes om run the registered providers and adds their
// counters to /metrics. The function it returns stops the hosts; without
// a host (an error, logged), provider calls answer
// WBEM_E_PROVIDER_LOAD_FAILURE.
func serveProviders(ctx context.Context, cfg Config, om *cimom.CIMOM, m *metrics, log *slog.Logger) func() {
	sup, err := provhost.Attach(ctx, om, provhost.Options{Logger: log, User: cfg.Providers.User,
		Timeout: cfg.Providers.Timeout, Limits: cfg.Providers.Limits})
	if err != nil {
		log.Error("providers cannot run", "err", err)
		return func() {}
	}
	log.Info("provider host ready", "limits", sup.LimitsMode())
	m.extra = append(m.extra, sup.WriteMetrics)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := sup.Close(ctx); err != nil {
			log.Warn("provider hosts did not stop in time", "err", err)
		}
	}
}
