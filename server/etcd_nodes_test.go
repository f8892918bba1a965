package server_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store/etcd"
)

// TestEtcdNodes runs three wbemd daemons on one repository in a
// three-member etcd cluster (each daemon with its own --repo for its
// socket and certificate), as a site would run several front ends, and
// checks what a client of any of them relies on. A fourth node, a CIMOM
// in this process on the same store, stands for a node reached through
// the Go API (security descriptors and subscriptions have no CIM-XML
// door).
func TestEtcdNodes(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3, MaxTxnOps: etcd.DefaultMaxTxnOps,
		MaxRequestBytes: etcd.DefaultMaxRequestBytes, ProgressNotify: 200 * time.Millisecond})
	// A loaded machine can make a fresh three-member cluster take
	// seconds to commit the engine's probe: a longer dial timeout.
	url := cluster.URL("wbemd", "dial-timeout=30s")
	wbemOn(t, url, "", "mofcomp", "../examples/sample.mof")
	wbemOn(t, url, "secret\n", "user", "add", "admin", "--admin", "--password-stdin")
	wbemOn(t, url, "guest-pw\n", "user", "add", "guest", "--password-stdin")
	var nodes []*daemon
	for range 3 {
		nodes = append(nodes, startDaemon(t, "--store", url, "--wsman-http", "off", "--wsman-https", "off"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dial := func(d *daemon, user, password string) *client.Client {
		t.Helper()
		c, err := client.Dial(ctx, "http://"+d.http, "root/sample", client.Options{User: user, Password: password, Timeout: time.Minute})
		if err != nil {
			t.Fatalf("dial %s: %v", d.http, err)
		}
		return c
	}
	admins := make([]*client.Client, len(nodes))
	for i, d := range nodes {
		admins[i] = dial(d, "admin", "secret")
	}
	st, err := etcd.Open(ctx, url, etcd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	local, err := cimom.Open(ctx, st, cimom.Options{Server: "local"})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close(context.Background())

	t.Run("WriteOnOneReadOnAnother", func(t *testing.T) {
		for i, w := range admins {
			name := fmt.Sprintf("read-%d", i)
			if _, err := w.PutInstance(ctx, disk(name, "written by node "+fmt.Sprint(i)), cimom.FlagCreateOnly, nil); err != nil {
				t.Fatal(err)
			}
			for j, r := range admins {
				o, err := r.GetObject(ctx, diskPath(name), 0, nil)
				if err != nil {
					t.Fatalf("node %d reads %s written by node %d at once: %v", j, name, i, err)
				}
				if v, _ := o.Get("Model"); v.V != "written by node "+fmt.Sprint(i) {
					t.Errorf("node %d reads Model %v", j, v.V)
				}
			}
		}
	})

	t.Run("RevokedRightDeniedEverywhere", func(t *testing.T) {
		svc, err := local.Connect(ctx, "root/sample", cimom.Principal{Name: "root"})
		if err != nil {
			t.Fatal(err)
		}
		own, err := svc.GetSD(ctx)
		if err != nil {
			t.Fatal(err)
		}
		setGuest := func(deny bool) time.Time {
			t.Helper()
			sd := *own
			sd.DACL = append([]cimom.ACE{{Trustee: "guest", Deny: deny, Mask: cimom.RightEnable | cimom.RightRemoteEnable}}, own.DACL...)
			start := time.Now()
			if err := svc.SetSD(ctx, &sd); err != nil {
				t.Fatal(err)
			}
			return start
		}
		// Granted through the local node: each daemon lets the guest in
		// once its feed has passed the change.
		start := setGuest(false)
		guests := make([]*client.Client, len(nodes))
		for i, d := range nodes {
			for guests[i] == nil {
				c, err := client.Dial(ctx, "http://"+d.http, "root/sample", client.Options{User: "guest", Password: "guest-pw", Timeout: time.Minute})
				switch {
				case err == nil:
					guests[i] = c
				case cim.StatusOf(err) != cim.EAccessDenied || time.Since(start) > 30*time.Second:
					t.Fatalf("guest through node %d after the grant: %v", i, err)
				default:
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		// Revoked: each denies the guest once its feed has passed the
		// change. The time it took is logged (no wall-clock assertion; the
		// bound is only against a hang).
		start = setGuest(true)
		for i, g := range guests {
			for {
				_, err := g.GetObject(ctx, diskPath("sda"), 0, nil)
				if cim.StatusOf(err) == cim.EAccessDenied {
					t.Logf("node %d denies the guest %v after the revocation", i, time.Since(start).Round(time.Millisecond))
					break
				}
				if err != nil {
					t.Fatalf("guest through node %d: %v, want WBEM_E_ACCESS_DENIED", i, err)
				}
				if time.Since(start) > 30*time.Second {
					t.Fatalf("node %d still lets the guest read %v after the revocation", i, time.Since(start))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	})

	t.Run("CreateOnlyRaces", func(t *testing.T) {
		const keys, racers = 40, 8
		var wins [keys]atomic.Int32
		var wg sync.WaitGroup
		for r := range racers {
			c := admins[r%len(admins)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range keys {
					_, err := c.PutInstance(ctx, disk(fmt.Sprintf("race-%d", k), fmt.Sprintf("racer %d", r)), cimom.FlagCreateOnly, nil)
					switch cim.StatusOf(err) {
					case 0:
						wins[k].Add(1)
					case cim.EAlreadyExists:
					default:
						t.Errorf("racer %d, key %d: %v", r, k, err)
					}
				}
			}()
		}
		wg.Wait()
		for k := range keys {
			if n := wins[k].Load(); n != 1 {
				t.Errorf("key race-%d: %d winners, want 1", k, n)
			}
		}
	})

	t.Run("EventOnceOnAnotherNode", func(t *testing.T) {
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		seq, err := local.Subscribe(sctx, cimom.SubscribeOptions{Namespace: "root/sample", Principal: cimom.Principal{Name: "root"}})
		if err != nil {
			t.Fatal(err)
		}
		evs := make(chan cimom.Event, 64)
		go func() {
			defer close(evs)
			for ev, err := range seq {
				if err != nil {
					return
				}
				evs <- ev
			}
		}()
		if _, err := admins[0].PutInstance(ctx, disk("event", "through node 0"), cimom.FlagCreateOnly, nil); err != nil {
			t.Fatal(err)
		}
		// A later write through another node ends the wait: every event
		// of the first one comes before it.
		if _, err := admins[1].PutInstance(ctx, disk("event-end", ""), cimom.FlagCreateOnly, nil); err != nil {
			t.Fatal(err)
		}
		seen := 0
		for ev := range evs {
			name, _ := ev.Target.Get("Name")
			if name.V == "event-end" {
				break
			}
			if name.V == "event" && ev.Class == "__InstanceCreationEvent" {
				seen++
			}
		}
		if seen != 1 {
			t.Errorf("the creation through node 0 reached the subscriber %d times, want once", seen)
		}
	})

	t.Run("EnumerationContextIsPerNode", func(t *testing.T) {
		_, body := cimCall(t, nodes[0], "admin", "secret", "OpenEnumerateInstances", `<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Sample_Disk"/></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>1</VALUE></IPARAMVALUE>`)
		const open = `<PARAMVALUE NAME="EnumerationContext"><VALUE>`
		i := strings.Index(body, open)
		if i < 0 {
			t.Fatalf("no enumeration context: %s", body)
		}
		id := body[i+len(open):]
		id = id[:strings.Index(id, "<")]
		pull := `<IPARAMVALUE NAME="EnumerationContext"><VALUE>` + id + `</VALUE></IPARAMVALUE><IPARAMVALUE NAME="MaxObjectCount"><VALUE>1</VALUE></IPARAMVALUE>`
		if _, body := cimCall(t, nodes[1], "admin", "secret", "PullInstancesWithPath", pull); !strings.Contains(body, `<ERROR CODE="21"`) {
			t.Errorf("another node pulls the context: %s, want CIM_ERR_INVALID_ENUMERATION_CONTEXT", body)
		}
		if _, body := cimCall(t, nodes[0], "admin", "secret", "PullInstancesWithPath", pull); !strings.Contains(body, "<VALUE.INSTANCEWITHPATH>") {
			t.Errorf("the node that opened the context: %s", body)
		}
	})

	t.Run("LeaderKilledDuringWrites", func(t *testing.T) {
		acked := writeLoad(ctx, t, admins, "lk", func() {
			leader, err := cluster.Leader(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			cluster.Kill(leader)
			time.Sleep(time.Second)
			if err := cluster.Restart(leader); err != nil {
				t.Error(err)
			}
		}, true)
		if err := cluster.WaitHealthy(ctx); err != nil {
			t.Fatal(err)
		}
		for _, name := range acked {
			for _, c := range admins {
				if _, err := c.GetObject(ctx, diskPath(name), 0, nil); err != nil {
					t.Fatalf("%s, acknowledged, after the leader's restart: %v", name, err)
				}
			}
		}
		t.Logf("%d writes acknowledged across the leader's loss, all present on every node", len(acked))
	})

	t.Run("NodeKilled", func(t *testing.T) {
		acked := writeLoad(ctx, t, admins[1:], "nk", func() { nodes[0].kill() }, false)
		for _, name := range acked {
			if _, err := admins[2].GetObject(ctx, diskPath(name), 0, nil); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		t.Logf("%d writes through the other nodes while node 0 was killed, none failed", len(acked))
	})
}

// writeLoad writes instances named prefix-N through each client from two
// goroutines a client, runs disrupt once the writes are under way, and
// returns the names of the writes acknowledged. With tolerant, a write may
// fail (the cluster lost its leader: its outcome is unknown); otherwise
// every write must succeed.
func writeLoad(ctx context.Context, t *testing.T, clients []*client.Client, prefix string, disrupt func(), tolerant bool) []string {
	t.Helper()
	const each = 60
	var mu sync.Mutex
	var acked []string
	var failed atomic.Int32
	var wg sync.WaitGroup
	started := make(chan struct{}, 64)
	for i, c := range clients {
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range each {
					name := fmt.Sprintf("%s-%d-%d-%d", prefix, i, g, n)
					_, err := c.PutInstance(ctx, disk(name, ""), cimom.FlagCreateOnly, nil)
					if err != nil {
						if !tolerant {
							t.Errorf("write %s: %v", name, err)
						}
						failed.Add(1)
						continue
					}
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
					select {
					case started <- struct{}{}:
					default:
					}
				}
			}()
		}
	}
	<-started
	disrupt()
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Logf("%d writes failed during the disruption (outcome unknown to their clients)", n)
	}
	return acked
}

// wbemOn runs the wbem command on a store URL.
func wbemOn(t *testing.T, url, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "wbem"), append([]string{"--store", url}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wbem --store %s %v: %v\n%s", url, args, err, out)
	}
}

// disk is a Sample_Disk instance.
func disk(name, model string) *cim.Object {
	return &cim.Object{Genus: cim.GenusInstance, Class: "Sample_Disk", Properties: []cim.Property{
		{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: name}},
		{Name: "Model", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: model}},
	}}
}

func diskPath(name string) string { return fmt.Sprintf("Sample_Disk.Name=%q", name) }
