// Command wbemd is the wbemd CIM object manager daemon: the repository in
// --repo served over CIM-XML (HTTP and HTTPS).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/server"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	var cfg server.Config
	flag.StringVar(&cfg.Repo, "repo", env("WBEMD_REPO", "/var/lib/wbemd"), "repository directory ($WBEMD_REPO)")
	flag.StringVar(&cfg.HTTP, "http", env("WBEMD_HTTP", ":5988"), "CIM-XML over HTTP address, or off ($WBEMD_HTTP)")
	flag.StringVar(&cfg.HTTPS, "https", env("WBEMD_HTTPS", ":5989"), "CIM-XML over HTTPS address, or off ($WBEMD_HTTPS)")
	flag.StringVar(&cfg.Socket, "socket", env("WBEMD_SOCKET", ""), "local socket path (default <repo>/wbemd.sock), or off ($WBEMD_SOCKET)")
	flag.StringVar(&cfg.CertFile, "cert", env("WBEMD_CERT", ""), "TLS certificate file (default: a self-signed one in the repository)")
	flag.StringVar(&cfg.KeyFile, "key", env("WBEMD_KEY", ""), "TLS key file")
	flag.Int64Var(&cfg.MaxRequest, "max-request", 16<<20, "largest request body in bytes")
	flag.IntVar(&cfg.MaxHeader, "max-header", 64<<10, "largest request header in bytes")
	flag.IntVar(&cfg.MaxConnections, "max-connections", 1024, "open connections per listener")
	flag.DurationVar(&cfg.HeaderTimeout, "header-timeout", 10*time.Second, "time to read a request's headers")
	flag.DurationVar(&cfg.ReadTimeout, "read-timeout", 30*time.Second, "time to read a whole request")
	flag.DurationVar(&cfg.OperationTimeout, "operation-timeout", 5*time.Minute, "time an operation may run")
	flag.Parse()
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		fmt.Fprintln(os.Stderr, "wbemd: --cert and --key go together")
		os.Exit(2)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := server.Run(ctx, cfg, nil); err != nil {
		cfg.Logger.Error("wbemd stopped", "err", err)
		os.Exit(1)
	}
}
