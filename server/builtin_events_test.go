package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// TestBuiltinProcessCreationEvent: `SELECT * FROM __InstanceCreationEvent
// WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'` reports a process
// the test starts after the query, with the process as TargetInstance
// (Win32_Process is served by the built-in provider: it is polled).
func TestBuiltinProcessCreationEvent(t *testing.T) {
	om := builtinRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := om.Connect(ctx, "root/cimv2", rootPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	const query = "SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process'"
	if _, err := svc.ExecNotificationQuery(ctx, "WQL", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'", cimom.NotificationOptions{}); cim.StatusOf(err) != cim.EssRegistrationTooPrecise {
		t.Errorf("without WITHIN over a provider's class: %v, want WBEMESS_E_REGISTRATION_TOO_PRECISE", err)
	}
	seq, err := svc.ExecNotificationQuery(ctx, "WQL", query, cimom.NotificationOptions{})
	if err != nil {
		t.Fatalf("ExecNotificationQuery: %v", err)
	}
	events := make(chan *cim.Object, 1024)
	go func() {
		for ev, err := range seq {
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("the event stream: %v", err)
				}
				return
			}
			select {
			case events <- ev.Object():
			default:
			}
		}
	}()
	time.Sleep(2 * time.Second) // the first poll has the processes before the test's
	started := time.Now()
	pid := startSleep(t, "993")
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Class != "__InstanceCreationEvent" {
				t.Fatalf("event of class %s", ev.Class)
			}
			v, _ := ev.Get("TargetInstance")
			target, _ := v.V.(*cim.Object)
			if target == nil {
				continue
			}
			h, _ := target.Get("Handle")
			if h.V == fmt.Sprint(pid) {
				t.Logf("the creation event of process %d arrived %v after its start (WITHIN 1)", pid, time.Since(started).Round(10*time.Millisecond))
				return
			}
		case <-timeout:
			t.Fatalf("no __InstanceCreationEvent for process %d within 30 s", pid)
		}
	}
}
