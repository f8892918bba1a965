package etcdtest

import (
	"context"
	"testing"
	"time"
)

// TestThreeMembers starts a three-member cluster, writes through one
// member, reads through each, kills the leader, and sees another member
// take over and the killed one catch up after its restart.
func TestThreeMembers(t *testing.T) {
	c := Start(t, Options{Members: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cli := c.Client()
	if _, err := cli.Put(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members() {
		one, err := c.client(m.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := one.Get(ctx, "k")
		one.Close()
		if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v1" {
			t.Fatalf("read through %s: %v %v", m.Name, resp, err)
		}
	}
	old, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(old)
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	now, err := c.Leader(ctx)
	if err != nil || now == old {
		t.Fatalf("leader after killing member %d: %d, %v", old, now, err)
	}
	if _, err := cli.Put(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(old); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	one, err := c.client(c.Members()[old].Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	resp, err := one.Get(ctx, "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v2" {
		t.Fatalf("restarted member reads %v %v, want v2", resp, err)
	}
}
