package etcd

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		url  string
		want string // Config.String()
	}{
		{"etcd://127.0.0.1:2379/wbemd", "etcd://127.0.0.1:2379/wbemd"},
		{"ETCD://a:1,b:2,[::1]:3/x/y/", "etcd://a:1,b:2,[::1]:3/x/y"},
		{"etcd://host/wbemd", "etcd://host:2379/wbemd"},
		{"etcd://h:1/p?cacert=/ca.pem&cert=/c.pem&key=/k.pem&user=u", "etcd://h:1/p?cacert=%2Fca.pem&cert=%2Fc.pem&key=%2Fk.pem&user=u"},
		{"etcd://h:1/p?tls=1", "etcd://h:1/p?tls=1"},
		{"etcd://h:1/p?max-txn-ops=128&max-request-bytes=1572864&dial-timeout=2s", "etcd://h:1/p?dial-timeout=2s&max-request-bytes=1572864&max-txn-ops=128"},
		{"etcd://h:1/a%20b", "etcd://h:1/a%20b"},
		{"etcd://h:1/p?cache=0", "etcd://h:1/p?cache=0"},
		{"etcd://h:1/p?cache=1", "etcd://h:1/p"},
		{"etcd://h:1/p?reads=session", "etcd://h:1/p?reads=session"},
		{"etcd://h:1/p?reads=linearizable", "etcd://h:1/p"},
	}
	for _, c := range good {
		cfg, err := ParseURL(c.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.url, err)
			continue
		}
		if got := cfg.String(); got != c.want {
			t.Errorf("ParseURL(%q) = %s, want %s", c.url, got, c.want)
		}
		again, err := ParseURL(cfg.String())
		if err != nil || again.String() != cfg.String() {
			t.Errorf("%s does not parse back: %v", cfg, err)
		}
	}
	cfg, _ := ParseURL("etcd://h:1/p?dial-timeout=2s")
	if cfg.DialTimeout != 2*time.Second || cfg.MaxTxnOps != DefaultMaxTxnOps || cfg.MaxRequestBytes != DefaultMaxRequestBytes || cfg.TLS {
		t.Errorf("config %+v", cfg)
	}
	bad := []struct{ url, why string }{
		{"bolt:/x", "not an etcd URL"},
		{"etcd:///wbemd", "no endpoints"},
		{"etcd://h:1", "no key prefix"},
		{"etcd://h:1/", "no key prefix"},
		{"etcd://u:pw@h:1/p", "credentials in the URL"},
		{"etcd://h:1/p?password=x", "a password in the URL"},
		{"etcd://h:1/p?user=a&user=b", "given 2 times"},
		{"etcd://h:x/p", "bad port"},
		{"etcd://h:1,,h:2/p", "empty"},
		{"etcd://:1/p", "no host"},
		{"etcd://h:1/p?max-txn-ops=10", "at least 128"},
		{"etcd://h:1/p?max-request-bytes=1000", "at least 1572864"},
		{"etcd://h:1/p?cert=/c.pem", "cert and key go together"},
		{"etcd://h:1/p?tls=maybe", "want 1 or 0"},
		{"etcd://h:1/p?dial-timeout=-1s", "want a duration"},
		{"etcd://h:1/p?colour=red", "unknown parameter"},
		{"etcd://h:1/p?cache=some", "want 1 or 0"},
		{"etcd://h:1/p?reads=stale", "want linearizable or session"},
		{"etcd://h:1/p?reads=session&cache=0", "cannot go with cache=0"},
		{"etcd://h:1/p#frag", "fragment"},
	}
	for _, c := range bad {
		_, err := ParseURL(c.url)
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("ParseURL(%q) = %v, want an error saying %q", c.url, err, c.why)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"etcd://127.0.0.1:2379/wbemd", "etcd://a,b:1,[::1]/p?tls=1&user=x", "etcd://h:1/p?max-txn-ops=999999999999999999999", "etcd://[::1/p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := ParseURL(s)
		if err != nil {
			return
		}
		if len(cfg.Endpoints) == 0 || !strings.HasPrefix(cfg.Prefix, "/") || len(cfg.Prefix) < 2 || cfg.MaxTxnOps < MinTxnOps || cfg.MaxRequestBytes < MinRequestBytes {
			t.Fatalf("ParseURL(%q) accepted %+v", s, cfg)
		}
		again, err := ParseURL(cfg.String())
		if err != nil || again.String() != cfg.String() {
			t.Fatalf("%q parses to %s, which parses to %v, %v", s, cfg, again, err)
		}
	})
}
