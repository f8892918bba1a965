package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
	"github.com/wbemd/wbemd/store/etcd"
)

func TestParse(t *testing.T) {
	cases := []struct {
		url     string
		engine  string
		dir     string
		canon   string
		errPart string
	}{
		{url: "bolt:/var/lib/wbemd", engine: Bolt, dir: "/var/lib/wbemd", canon: "bolt:/var/lib/wbemd"},
		{url: "bolt:repo", engine: Bolt, dir: "repo", canon: "bolt:repo"},
		{url: "BOLT:repo", engine: Bolt, dir: "repo", canon: "bolt:repo"},
		{url: "bolt:///var/lib/wbemd", engine: Bolt, dir: "/var/lib/wbemd", canon: "bolt:/var/lib/wbemd"},
		{url: "/var/lib/wbemd", engine: Bolt, dir: "/var/lib/wbemd", canon: "bolt:/var/lib/wbemd"},
		{url: "demo-repo", engine: Bolt, dir: "demo-repo", canon: "bolt:demo-repo"},
		{url: "./odd:name", engine: Bolt, dir: "./odd:name", canon: "bolt:./odd:name"},
		{url: "my repo:x", engine: Bolt, dir: "my repo:x", canon: "bolt:my repo:x"},
		{url: "1st:x", engine: Bolt, dir: "1st:x", canon: "bolt:1st:x"},
		{url: "etcd://10.0.0.1:2379,10.0.0.2:2379/wbemd", engine: Etcd, canon: "etcd://10.0.0.1:2379,10.0.0.2:2379/wbemd"},
		{url: "", errPart: "empty store URL"},
		{url: "bolt:", errPart: "no directory"},
		{url: "bolt://host/dir", errPart: "not a host"},
		{url: "etcd:", errPart: "no endpoints"},
		{url: "etcd://", errPart: "no endpoints"},
		{url: "odd:name", errPart: `unknown engine "odd"`},
		{url: "s3://bucket/x", errPart: "write ./s3://bucket/x for a directory"},
	}
	for _, c := range cases {
		spec, err := Parse(c.url)
		if c.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), c.errPart) {
				t.Errorf("Parse(%q) = %+v, %v; want an error with %q", c.url, spec, err, c.errPart)
			}
			continue
		}
		if err != nil || spec.Engine != c.engine || spec.Dir != c.dir || spec.String() != c.canon {
			t.Errorf("Parse(%q) = %+v (%s), %v; want %s %q (%s)", c.url, spec, spec, err, c.engine, c.dir, c.canon)
		}
	}
}

func TestOpenBolt(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "repo")
	for _, url := range []string{"bolt:" + dir, dir} {
		s, err := Open(ctx, url, Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if _, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte(url))}); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(store.Healther); !ok {
			t.Error("the bolt engine is not a store.Healther")
		}
		if _, ok := s.(store.Statser); !ok {
			t.Error("the bolt engine is not a store.Statser")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, BoltFile)); err != nil {
			t.Fatalf("Open(%q) did not make %s: %v", url, BoltFile, err)
		}
	}
	// Both URLs name one repository: the second saw the first's key.
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if kv, found, err := s.Get(ctx, []byte("k")); err != nil || !found || string(kv.Value) != dir {
		t.Fatalf("Get = %q %v %v", kv.Value, found, err)
	}
	if _, err := Open(ctx, "bolt:"+dir, Options{}); !errors.Is(err, bolt.ErrInUse) {
		t.Fatalf("Open of a repository in use: %v, want bolt.ErrInUse", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "zip:x", Options{}); err == nil || !strings.Contains(err.Error(), `unknown engine "zip"`) {
		t.Errorf("Open of an unknown engine: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, "bolt:"+file, Options{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Open of a file as a repository directory: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cctx, t.TempDir(), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"bolt:/x", "/x", "etcd://h:1/p", "bolt:///x", "x:y", "", "bolt://h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, url string) {
		spec, err := Parse(url)
		if err != nil {
			return
		}
		switch spec.Engine {
		case Bolt:
			if spec.Dir == "" {
				t.Fatalf("Parse(%q): bolt with no directory", url)
			}
			again, err := Parse(spec.String())
			if err != nil || again.Engine != Bolt || again.Dir != spec.Dir {
				t.Fatalf("Parse(%q) = %+v, but its canonical form %q parses as %+v, %v", url, spec, spec, again, err)
			}
		case Etcd:
		default:
			t.Fatalf("Parse(%q): engine %q", url, spec.Engine)
		}
	})
}

// TestOpenEtcd opens the etcd engine through its URL on a real one-member
// cluster (Debian's etcd), writes and reads back.
func TestOpenEtcd(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{MaxTxnOps: etcd.DefaultMaxTxnOps, MaxRequestBytes: etcd.DefaultMaxRequestBytes})
	ctx := context.Background()
	s, err := Open(ctx, c.URL("/engine-test", ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Txn(ctx, nil, []store.Op{store.Put([]byte("k"), []byte("v"))}); err != nil {
		t.Fatal(err)
	}
	if kv, found, err := s.Get(ctx, []byte("k")); err != nil || !found || string(kv.Value) != "v" {
		t.Fatalf("Get = %q %v %v", kv.Value, found, err)
	}
}
