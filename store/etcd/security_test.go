package etcd

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
)

// TestTLSClientCertificate: a cluster that serves clients over TLS and
// requires a client certificate is opened with the URL's cacert, cert and
// key, and refused without the certificate.
func TestTLSClientCertificate(t *testing.T) {
	files := etcdtest.NewTLSFiles(t, "wbemd")
	c := etcdtest.Start(t, etcdtest.Options{MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes, TLS: files})
	q := url.Values{"cacert": {files.CA}, "cert": {files.ClientCert}, "key": {files.ClientKey}}
	s := mustOpen(t, c.URL("tls", q.Encode()))
	ctx := context.Background()
	rev, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte("v"))})
	if err != nil {
		t.Fatal(err)
	}
	if kv, found, err := s.Get(ctx, []byte("k")); err != nil || !found || kv.ModRev != rev {
		t.Fatalf("Get over TLS: %+v %v %v", kv, found, err)
	}
	_, err = Open(ctx, c.URL("tls", "dial-timeout=1s&cacert="+url.QueryEscape(files.CA)), Options{})
	if err == nil {
		t.Fatal("opened a cluster that requires a client certificate without one")
	}
	_, err = Open(ctx, c.URL("tls", "dial-timeout=1s"), Options{})
	if err == nil {
		t.Fatal("opened a TLS cluster in plain text")
	}
}

// TestUserPassword: with etcd's authentication on, a user whose role may
// read and write the deployment's root prefix opens the store with the
// password from WBEMD_ETCD_PASSWORD; a wrong password, a missing one and a
// user without rights on the prefix are refused.
func TestUserPassword(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	cli := c.Client()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cli.RoleAdd(ctx, "root"))
	must(cli.UserAdd(ctx, "root", "rootpw"))
	must(cli.UserGrantRole(ctx, "root", "root"))
	must(cli.RoleAdd(ctx, "wbemd"))
	must(cli.RoleGrantPermission(ctx, "wbemd", "/wbemd", clientv3.GetPrefixRangeEnd("/wbemd"), clientv3.PermissionType(clientv3.PermReadWrite)))
	must(cli.UserAdd(ctx, "wbemd", "s3cret"))
	must(cli.UserGrantRole(ctx, "wbemd", "wbemd"))
	must(cli.AuthEnable(ctx))

	t.Setenv(PasswordEnv, "s3cret")
	s := mustOpen(t, c.URL("wbemd", "user=wbemd"))
	if _, err := s.Txn(ctx, []store.Compare{{Key: []byte("k")}}, []store.Op{store.Put([]byte("k"), []byte("v"))}); err != nil {
		t.Fatalf("write as wbemd: %v", err)
	}
	if _, _, err := s.Get(ctx, []byte("k")); err != nil {
		t.Fatalf("read as wbemd: %v", err)
	}
	if _, err := Open(ctx, c.URL("other", "user=wbemd"), Options{}); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("open of a prefix the user may not write: %v", err)
	}
	if _, err := Open(ctx, c.URL("wbemd", "user=wbemd"), Options{Password: "wrong"}); err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Errorf("open with a wrong password: %v", err)
	}
	t.Setenv(PasswordEnv, "")
	if _, err := Open(ctx, c.URL("wbemd", "user=wbemd"), Options{}); err == nil || !strings.Contains(err.Error(), PasswordEnv) {
		t.Errorf("open without a password: %v", err)
	}
	if _, err := Open(ctx, c.URL("wbemd", ""), Options{}); err == nil || errors.Is(err, store.ErrTxnTooLarge) {
		t.Errorf("open without a user on a cluster with authentication: %v", err)
	}
}
