// Command wbemd is the wbemd CIM object manager daemon: the repository in
// --repo served over CIM-XML (HTTP, HTTPS and a local socket) and
// WS-Management (/wsman over HTTP and HTTPS).
//
// Every setting is a flag; each flag NAME can also come from the
// environment variable WBEMD_NAME (upper case, '-' as '_') or from a line
// "NAME = value" of the file named by --config (or $WBEMD_CONFIG). A flag
// on the command line beats the environment, which beats the file.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/wbemd/wbemd/internal/gcfloor"
	"github.com/wbemd/wbemd/internal/version"
	"github.com/wbemd/wbemd/server"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	cfg, err := configure(args, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "wbemd: %v\n", err)
		return 2
	}
	if cfg.version {
		fmt.Println(version.Get().Line("wbemd"))
		return 0
	}
	logw := newBatchWriter(stderr)
	defer logw.Flush()
	cfg.Logger = newLogger(cfg.logFormat, logw)
	if cfg.logFormat != "json" {
		cfg.TextLog = logw
	}
	if cfg.gcPercent != 0 {
		debug.SetGCPercent(cfg.gcPercent)
	}
	percent := debug.SetGCPercent(100) // read the percent in force ($GOGC or the flag)
	debug.SetGCPercent(percent)
	gcfloor.Set(cfg.gcMinHeap, percent)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ready, err := serviceManager(ctx, cfg.Logger)
	if err != nil {
		cfg.Logger.Error("wbemd", "err", err)
		return 1
	}
	// SIGHUP reads the settings again (command line, environment, file)
	// and hands them to the server, which reloads the certificate and the
	// reloadable settings without closing a connection.
	reload := make(chan server.Config)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			next, err := configure(args, os.Getenv)
			if err != nil {
				cfg.Logger.Error("reload: the configuration is wrong, the settings in use are kept", "err", err)
				continue
			}
			next.Logger = cfg.Logger
			select {
			case reload <- next.Config:
			case <-ctx.Done():
				return
			}
		}
	}()
	cfg.Reload = reload
	if err := server.Run(ctx, cfg.Config, ready); err != nil {
		cfg.Logger.Error("wbemd stopped", "err", err)
		return 1
	}
	return 0
}

// settings are the server's configuration and the process's own.
type settings struct {
	server.Config
	// version: print the version and exit.
	version bool
	// gcPercent, if not 0, replaces the Go collector's heap growth
	// between collections ($GOGC, 100 by default). With a small live heap
	// every request's garbage makes collections frequent: 400 took 15-20%
	// off the server's CPU per GetInstance, for heaps up to about 4x
	// larger (BENCHMARKS.md), so it is the operator's trade, not the
	// default.
	gcPercent int
	// gcMinHeap is the least heap goal of the collector (gcfloor.go).
	gcMinHeap int64
	// logFormat is the log's format: "text" (slog's key=value lines) or
	// "json" (one JSON object a line).
	logFormat string
}

// newLogger returns the daemon's log in format ("text" or "json").
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// commandLineOnly are the flags that no environment variable or
// configuration line sets.
var commandLineOnly = map[string]bool{"config": true, "version": true}

// configure reads the settings from the command line, the environment
// (getenv) and the configuration file.
func configure(args []string, getenv func(string) string) (settings, error) {
	var s settings
	cfg := &s.Config
	var config string
	fs := flag.NewFlagSet("wbemd", flag.ContinueOnError)
	fs.StringVar(&config, "config", "", "a file of NAME = value settings ($WBEMD_CONFIG)")
	fs.BoolVar(&s.version, "version", false, "print the version and exit")
	fs.StringVar(&cfg.Repo, "repo", "/var/lib/wbemd", "repository directory")
	fs.StringVar(&cfg.Store, "store", "", "the store's URL: bolt:DIR, or etcd://HOST:PORT,.../PREFIX (default bolt:<repo>)")
	fs.StringVar(&cfg.HTTP, "http", "localhost:5988", "CIM-XML over HTTP address (\":5988\": every interface), or off")
	fs.StringVar(&cfg.HTTPS, "https", "localhost:5989", "CIM-XML over HTTPS address (\":5989\": every interface), or off")
	fs.StringVar(&cfg.WSManHTTP, "wsman-http", "localhost:5985", "WS-Management over HTTP address (\":5985\": every interface), or off")
	fs.StringVar(&cfg.WSManHTTPS, "wsman-https", "localhost:5986", "WS-Management over HTTPS address (\":5986\": every interface), or off")
	fs.StringVar(&cfg.WSManNamespace, "wsman-namespace", "root/cimv2", "CIM namespace of WS-Management DMTF resource URIs sent without a __cimnamespace selector")
	fs.BoolVar(&cfg.WSManAnonIdentify, "wsman-anonymous-identify", false, "answer WS-Management Identify without credentials")
	fs.StringVar(&cfg.Socket, "socket", "", "local socket path (default <repo>/wbemd.sock), or off")
	fs.StringVar(&cfg.CertFile, "cert", "", "TLS certificate file (default: a self-signed one in the repository; reloadable: read again at SIGHUP)")
	fs.StringVar(&cfg.KeyFile, "key", "", "TLS key file (reloadable)")
	fs.Int64Var(&cfg.MaxRequest, "max-request", 16<<20, "largest request body in bytes")
	fs.IntVar(&cfg.MaxHeader, "max-header", 64<<10, "largest request header in bytes")
	fs.IntVar(&cfg.MaxConnections, "max-connections", 1024, "open connections per listener; past it an unauthenticated or idle one is closed to make room (reloadable)")
	fs.IntVar(&cfg.MaxPerAddress, "max-connections-per-address", 256, "open connections of one client address per listener (reloadable)")
	fs.DurationVar(&cfg.AnonymousIdleTimeout, "anonymous-idle-timeout", 5*time.Second, "time a connection that has not authenticated may wait without a request (reloadable)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", 2*time.Minute, "time an authenticated keep-alive connection may wait for its next request")
	fs.BoolVar(&cfg.AnonymousStatus, "anonymous-status", false, "answer /metrics and /healthz without credentials (reloadable)")
	fs.Func("listener-senders", "comma-separated `addresses` or networks (192.0.2.7,10.0.0.0/8) whose indications /CIMListener/ accepts without credentials (reloadable)", func(v string) error {
		cfg.ListenerSenders = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.ListenerSenders = append(cfg.ListenerSenders, a)
			}
		}
		return nil
	})
	fs.DurationVar(&cfg.HeaderTimeout, "header-timeout", 10*time.Second, "time to read a request's headers")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", 30*time.Second, "time to read a whole request")
	fs.DurationVar(&cfg.OperationTimeout, "operation-timeout", 5*time.Minute, "time an operation may run")
	fs.Int64Var(&cfg.FeedRetention, "feed-retention", 0, "revisions of change feed the embedded store keeps, how far back event streams (wbem watch --from) resume (0: 100000)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time requests in flight get at SIGTERM")
	fs.StringVar(&s.logFormat, "log-format", "text", "log format: text or json (one object a line); every request is logged")
	fs.StringVar(&cfg.Host, "hostname", "", "the server's host name in the object paths of answers (default: the system's host name)")
	fs.StringVar(&cfg.Providers.User, "provider-user", "nobody", "user that runs provider hosts whose registration names none (when wbemd runs as root)")
	fs.DurationVar(&cfg.Providers.Timeout, "provider-timeout", time.Minute, "time a provider call may take, unless its registration says (OperationTimeoutInterval)")
	fs.StringVar(&cfg.Providers.Limits, "provider-limits", "auto", "how provider host quotas are enforced: auto, cgroup2, cgroup1 or rlimit")
	fs.BoolVar(&cfg.Pprof, "pprof", false, "serve Go's runtime profiles at /debug/pprof/ to administrators (CIM-XML listeners and the local socket)")
	fs.StringVar(&cfg.Consumers.User, "consumer-user", "nobody", "user that runs the commands of CommandLineEventConsumer (WMI permanent subscriptions); wbemd switches to it when it runs as root")
	fs.BoolVar(&cfg.Consumers.AllowRoot, "consumer-allow-root", false, "let --consumer-user be root (commands of event consumers are refused as root without it)")
	fs.IntVar(&s.gcPercent, "gc-percent", 0, "Go garbage collector target, as GOGC; 400 trades heap for CPU (0: $GOGC, or 100)")
	fs.Int64Var(&s.gcMinHeap, "gc-min-heap", gcfloor.Default, "bytes the heap may grow to before the garbage collector runs, whatever the live heap (0: Go's own 4 MiB)")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	envName := func(name string) string { return "WBEMD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) }
	if config == "" {
		config = getenv("WBEMD_CONFIG")
	}
	file := map[string]string{}
	if config != "" {
		f, err := os.Open(config)
		if err != nil {
			return s, fmt.Errorf("configuration: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			name, value, ok := strings.Cut(text, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || fs.Lookup(name) == nil || commandLineOnly[name] {
				return s, fmt.Errorf("%s:%d: expected NAME = value with a wbemd flag name, found %q", config, line, text)
			}
			file[name] = value
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil || commandLineOnly[f.Name] {
			return
		}
		source, value := "", ""
		if v := getenv(envName(f.Name)); v != "" {
			source, value = "$"+envName(f.Name), v
		} else if v, ok := file[f.Name]; ok {
			source, value = config, v
		} else {
			return
		}
		if serr := f.Value.Set(value); serr != nil {
			err = fmt.Errorf("%s: %s: %v", source, f.Name, serr)
		}
	})
	if err == nil && (cfg.CertFile == "") != (cfg.KeyFile == "") {
		err = fmt.Errorf("--cert and --key go together")
	}
	if err == nil && s.logFormat != "text" && s.logFormat != "json" {
		err = fmt.Errorf("--log-format %q: want text or json", s.logFormat)
	}
	return s, err
}
