package linux

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/wbemd/wbemd/provider"
	"github.com/wbemd/wbemd/provider/wire"
)

// collect runs a class's query handler and returns what it sent.
func collect(t *testing.T, class string, where *wire.Cond) []provider.Instance {
	t.Helper()
	c := Provider().Classes[class]
	var out []provider.Instance
	r := &provider.Request{Class: class, Query: &wire.Query{Class: class, Where: where}}
	if err := c.Query(context.Background(), r, func(i provider.Instance) error { out = append(out, i); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQueriesOnKeys: a query on the key reads only the instances it
// names.
func TestQueriesOnKeys(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	eq := func(p, v string) *wire.Cond { return &wire.Cond{Property: p, Op: "=", Value: v} }
	got := collect(t, "Win32_Process", eq("Handle", self))
	if len(got) != 1 || got[0]["ProcessId"] != uint32(os.Getpid()) {
		t.Errorf("Handle = %s: %v", self, got)
	}
	got = collect(t, "Win32_Process", &wire.Cond{Or: []*wire.Cond{eq("Handle", "1"), eq("Handle", self), eq("Handle", "x")}})
	if len(got) != 2 {
		t.Errorf("Handle = 1 OR Handle = %s: %d instances", self, len(got))
	}
	if got := collect(t, "Win32_Process", nil); len(got) < 2 {
		t.Errorf("every process: %d", len(got))
	}
	got = collect(t, "Win32_LogicalDisk", eq("DeviceID", "/"))
	if len(got) != 1 || got[0]["DeviceID"] != "/" {
		t.Errorf("DeviceID = '/': %v", got)
	}
	got = collect(t, linuxFS, eq("Name", "/nonexistent"))
	if len(got) != 0 {
		t.Errorf("Name = '/nonexistent': %v", got)
	}
}
