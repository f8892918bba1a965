package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "wbemd.conf")
	os.WriteFile(file, []byte("# settings\nrepo = /srv/cim\nhttp = :6000\nheader-timeout = 3s\nhttps = :7000\n"), 0o644)
	env := map[string]string{"WBEMD_HTTPS": "off"}
	cfg, err := configure([]string{"--config", file, "--http", ":8000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Repo != "/srv/cim" || cfg.HTTP != ":8000" || cfg.HTTPS != "off" || cfg.HeaderTimeout != 3*time.Second || cfg.MaxRequest != 16<<20 {
		t.Errorf("flags beat the environment, which beats the file: %+v", cfg)
	}
	os.WriteFile(file, []byte("repo = /x\nbogus = 1\n"), 0o644)
	if _, err := configure([]string{"--config", file}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "wbemd.conf:2:") {
		t.Errorf("unknown setting: %v", err)
	}
	if _, err := configure(nil, func(k string) string { return map[string]string{"WBEMD_READ_TIMEOUT": "soon"}[k] }); err == nil || !strings.Contains(err.Error(), "$WBEMD_READ_TIMEOUT") {
		t.Errorf("bad environment value: %v", err)
	}
	if _, err := configure([]string{"--cert", "c.pem"}, func(string) string { return "" }); err == nil {
		t.Error("--cert without --key was accepted")
	}
}

func TestWSManFlags(t *testing.T) {
	cfg, err := configure(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WSManHTTP != "localhost:5985" || cfg.WSManHTTPS != "localhost:5986" || cfg.WSManNamespace != "root/cimv2" || cfg.WSManAnonIdentify {
		t.Errorf("WS-Management defaults: %+v", cfg)
	}
	env := map[string]string{"WBEMD_WSMAN_HTTPS": "off", "WBEMD_WSMAN_ANONYMOUS_IDENTIFY": "true"}
	cfg, err = configure([]string{"--wsman-http", "127.0.0.1:0", "--wsman-namespace", "root/sample"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WSManHTTP != "127.0.0.1:0" || cfg.WSManHTTPS != "off" || cfg.WSManNamespace != "root/sample" || !cfg.WSManAnonIdentify {
		t.Errorf("WS-Management flags: %+v", cfg)
	}
}

// TestSafeDefaults: without settings wbemd listens on the loopback
// interface only, keeps /metrics and /healthz behind credentials and takes
// indications from authenticated senders only; --listener-senders reads a
// comma-separated list.
func TestSafeDefaults(t *testing.T) {
	s, err := configure(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{s.HTTP, s.HTTPS, s.WSManHTTP, s.WSManHTTPS} {
		if !strings.HasPrefix(addr, "localhost:") {
			t.Errorf("default listen address %q, want localhost", addr)
		}
	}
	if s.AnonymousStatus || len(s.ListenerSenders) != 0 || s.MaxPerAddress != 256 || s.AnonymousIdleTimeout != 5*time.Second {
		t.Errorf("defaults: %+v", s.Config)
	}
	s, err = configure([]string{"--listener-senders", "192.0.2.7, 10.0.0.0/8,"}, func(k string) string { return map[string]string{"WBEMD_ANONYMOUS_STATUS": "true"}[k] })
	if err != nil || !s.AnonymousStatus || strings.Join(s.ListenerSenders, " ") != "192.0.2.7 10.0.0.0/8" {
		t.Errorf("--listener-senders and $WBEMD_ANONYMOUS_STATUS: %+v, %v", s.Config, err)
	}
}

func TestGCPercent(t *testing.T) {
	s, err := configure(nil, func(string) string { return "" })
	if err != nil || s.gcPercent != 0 {
		t.Fatalf("default gc-percent %d (%v), want 0 (the runtime's)", s.gcPercent, err)
	}
	s, err = configure(nil, func(k string) string { return map[string]string{"WBEMD_GC_PERCENT": "400"}[k] })
	if err != nil || s.gcPercent != 400 {
		t.Fatalf("$WBEMD_GC_PERCENT=400 gave %d (%v)", s.gcPercent, err)
	}
}

// TestLogFormat: --log-format json makes the log one JSON object a line,
// text (the default) key=value lines; anything else is refused.
func TestLogFormat(t *testing.T) {
	none := func(string) string { return "" }
	for _, c := range []struct {
		args []string
		want string
	}{{nil, `level=INFO msg=hello k=v`}, {[]string{"--log-format", "json"}, `"level":"INFO","msg":"hello","k":"v"}`}} {
		s, err := configure(c.args, none)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		newLogger(s.logFormat, &b).Info("hello", "k", "v")
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%v: logged %q, want %q", c.args, b.String(), c.want)
		}
	}
	if _, err := configure([]string{"--log-format", "xml"}, none); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("--log-format xml: %v", err)
	}
	s, err := configure(nil, func(k string) string { return map[string]string{"WBEMD_HOSTNAME": "cim.example.org"}[k] })
	if err != nil || s.Host != "cim.example.org" {
		t.Errorf("$WBEMD_HOSTNAME: %q %v", s.Host, err)
	}
}
