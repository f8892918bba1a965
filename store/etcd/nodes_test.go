package etcd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
)

// Several wbemd nodes on one etcd prefix: each node is a cimom.CIMOM over
// a store of its own (its own etcd client to every member), as separate
// wbemd processes would be.

var admin = cimom.Principal{Name: "root"}

type node struct {
	name string
	st   *Store
	om   *cimom.CIMOM
	svc  cimom.Services
}

// urler names store URLs on a cluster.
type urler interface {
	URL(prefix, query string) string
}

// openNodes opens n nodes on the cluster's prefix.
func openNodes(t testing.TB, c urler, prefix string, n int) []*node {
	t.Helper()
	var nodes []*node
	for i := 0; i < n; i++ {
		nd := &node{name: fmt.Sprintf("node%c", 'A'+i)}
		nd.st = mustOpen(t, c.URL(prefix, ""))
		nd.om, nd.svc = openCIMOM(t, nd.st, nd.name)
		nodes = append(nodes, nd)
	}
	return nodes
}

// openCIMOM opens a CIMOM on st, closed when the test ends, and connects
// to root/cimv2 as an administrator.
func openCIMOM(t testing.TB, st store.Store, server string) (*cimom.CIMOM, cimom.Services) {
	t.Helper()
	ctx := context.Background()
	om, err := cimom.Open(ctx, st, cimom.Options{Server: server})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { om.Close(context.Background()) })
	svc, err := om.Connect(ctx, "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	return om, svc
}

// hostClass is Test_Host: a string key Name and a uint32 Value.
func hostClass() *cim.Object {
	return &cim.Object{Genus: cim.GenusClass, Class: "Test_Host", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Null(cim.TypeString),
			Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass}}},
		{Name: "Value", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32)},
	}}
}

func host(name string, v uint32) *cim.Object {
	return &cim.Object{Genus: cim.GenusInstance, Class: "Test_Host", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: name}},
		{Name: "Value", Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: v}},
	}}
}

func hostPath(name string) string { return fmt.Sprintf("Test_Host.Name=%q", name) }

// value reads Test_Host.Value of an instance through svc.
func value(ctx context.Context, svc cimom.Services, name string) (uint32, error) {
	o, err := svc.GetObject(ctx, hostPath(name), 0, nil)
	if err != nil {
		return 0, err
	}
	p, ok := o.Property("Value")
	if !ok {
		return 0, errors.New("no Value")
	}
	v, _ := p.Value.V.(uint32)
	return v, nil
}

func statusOf(err error) cim.Status { return cim.AsError(err).Status }

// TestThreeNodes runs three nodes on a three-member etcd cluster.
func TestThreeNodes(t *testing.T) {
	c := etcdtest.Start(t, etcdtest.Options{Members: 3, MaxTxnOps: DefaultMaxTxnOps, MaxRequestBytes: DefaultMaxRequestBytes, ProgressNotify: time.Second})
	nodes := openNodes(t, c, "wbemd", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := nodes[0].svc.PutClass(ctx, hostClass(), cimom.FlagCreateOnly, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("WriteOnOneReadOnAnother", func(t *testing.T) {
		for i, w := range nodes {
			name := "read-" + w.name
			if _, err := w.svc.PutInstance(ctx, host(name, uint32(i+1)), cimom.FlagCreateOnly, nil); err != nil {
				t.Fatal(err)
			}
			for _, r := range nodes {
				if v, err := value(ctx, r.svc, name); err != nil || v != uint32(i+1) {
					t.Errorf("%s reads %s written by %s: %d, %v", r.name, name, w.name, v, err)
				}
			}
			// An update through the next node, read back through the writer.
			next := nodes[(i+1)%len(nodes)]
			if _, err := next.svc.PutInstance(ctx, host(name, 100), cimom.FlagUpdateOnly, nil); err != nil {
				t.Fatal(err)
			}
			if v, err := value(ctx, w.svc, name); err != nil || v != 100 {
				t.Errorf("%s reads its instance after %s updated it: %d, %v", w.name, next.name, v, err)
			}
		}
	})

	t.Run("CreateOnlyRace", func(t *testing.T) {
		const racers, keys = 8, 40
		var wins [keys]atomic.Int32
		var winner [keys]atomic.Uint32
		var wg sync.WaitGroup
		errs := make(chan error, racers)
		for r := 0; r < racers; r++ {
			wg.Add(1)
			go func(r int) {
				defer wg.Done()
				svc := nodes[r%len(nodes)].svc
				for k := 0; k < keys; k++ {
					_, err := svc.PutInstance(ctx, host(fmt.Sprintf("race-%02d", k), uint32(r)), cimom.FlagCreateOnly, nil)
					switch {
					case err == nil:
						wins[k].Add(1)
						winner[k].Store(uint32(r))
					case statusOf(err) != cim.EAlreadyExists:
						errs <- fmt.Errorf("racer %d key %d: %w", r, k, err)
						return
					}
				}
			}(r)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for k := 0; k < keys; k++ {
			if n := wins[k].Load(); n != 1 {
				t.Errorf("key %d: %d winners", k, n)
				continue
			}
			for _, nd := range nodes {
				if v, err := value(ctx, nd.svc, fmt.Sprintf("race-%02d", k)); err != nil || v != winner[k].Load() {
					t.Errorf("key %d through %s: %d, %v; the winner was racer %d", k, nd.name, v, err, winner[k].Load())
				}
			}
		}
	})

	t.Run("LeaderKilledUnderLoad", func(t *testing.T) {
		leaderKill(t, ctx, c, nodes)
	})

	t.Run("NodeClosed", func(t *testing.T) {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan error, 2)
		var done atomic.Int64
		for i, nd := range nodes[:2] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("closed-%d-%d", i, n)
					if _, err := nd.svc.PutInstance(ctx, host(name, uint32(n)), cimom.FlagCreateOnly, nil); err != nil {
						errs <- fmt.Errorf("%s: put: %w", nd.name, err)
						return
					}
					if _, err := value(ctx, nodes[1-i].svc, name); err != nil {
						errs <- fmt.Errorf("%s: get: %w", nodes[1-i].name, err)
						return
					}
					done.Add(1)
				}
			}()
		}
		waitFor(t, func() bool { return done.Load() >= 20 })
		gone := nodes[2]
		if err := gone.om.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := gone.st.Close(); err != nil {
			t.Fatal(err)
		}
		after := done.Load()
		waitFor(t, func() bool { return done.Load() >= after+40 })
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if _, err := gone.svc.GetObject(ctx, hostPath("read-nodeA"), 0, nil); statusOf(err) != cim.EShuttingDown {
			t.Errorf("the closed node answers %v, want WBEM_E_SHUTTING_DOWN", err)
		}
	})
}

// leaderKill runs a write load of create-only PutInstance calls through
// every node, SIGKILLs the etcd leader in the middle of it, keeps writing
// on the two members left, restarts the killed member, and checks that
// every acknowledged write is present through every node and on every
// member. WBEMD_ETCD_KILL_WRITES sets the number of writes per writer
// (default 60).
func leaderKill(t *testing.T, ctx context.Context, c *etcdtest.Cluster, nodes []*node) {
	each := 60
	if n, err := strconv.Atoi(os.Getenv("WBEMD_ETCD_KILL_WRITES")); err == nil && n > 0 {
		each = n
	}
	const writers = 8
	var acked sync.Map // instance name -> value
	var ackCount, failed, ackedAfterKill atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			svc := nodes[w%len(nodes)].svc
			for i := 0; i < each; i++ {
				name := fmt.Sprintf("kill-%d-%03d", w, i)
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := svc.PutInstance(wctx, host(name, uint32(w*1000+i)), cimom.FlagCreateOnly, nil)
				cancel()
				if err != nil { // the outcome is unknown: present or not, both are right
					failed.Add(1)
					continue
				}
				acked.Store(name, uint32(w*1000+i))
				ackCount.Add(1)
				if killed.Load() {
					ackedAfterKill.Add(1)
				}
			}
		}(w)
	}
	waitFor(t, func() bool { return ackCount.Load() >= int64(writers*each/4) })
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	killed.Store(true)
	wg.Wait()
	t.Logf("killed member %d (the leader) after %d of %d writes; %d acknowledged, %d after the kill, %d failed",
		leader, writers*each/4, writers*each, ackCount.Load(), ackedAfterKill.Load(), failed.Load())
	if ackedAfterKill.Load() == 0 {
		t.Error("no write was acknowledged by the two members left")
	}
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	n := 0
	acked.Range(func(k, v any) bool {
		n++
		for _, nd := range nodes {
			if got, err := value(ctx, nd.svc, k.(string)); err != nil || got != v.(uint32) {
				t.Errorf("acknowledged %s=%d, %s reads %d, %v", k, v, nd.name, got, err)
				return false
			}
		}
		return true
	})
	if int64(n) != ackCount.Load() {
		t.Fatalf("%d acknowledged writes recorded, %d counted", n, ackCount.Load())
	}
	// Every member, the restarted one included, holds the same history.
	if err := nodes[0].st.Check(ctx); err != nil {
		t.Error(err)
	}
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 6000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within a minute")
}
