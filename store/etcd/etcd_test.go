package etcd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/storetest"
)

// startCluster starts a one-member cluster configured as the engine
// requires by default.
func startCluster(t *testing.T) *etcdtest.Cluster {
	t.Helper()
	return etcdtest.Start(t, etcdtest.Options{MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes, ProgressNotify: time.Second})
}

// mustOpen opens the store url names or ends the test; the store is closed
// when the test ends (a second Close is harmless).
func mustOpen(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	c := startCluster(t)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return mustOpen(t, c.URL(fmt.Sprintf("conformance/%d", n), ""))
	})
}
