package server

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// TestBuiltinProcessCreationEvent: `SELECT * FROM __InstanceCreationEvent
// WITHIN 2 WHERE TargetInstance ISA 'Win32_Process'` reports a process
// the test starts after the query, with the process as TargetInstance.
// It runs once cimom has ExecNotificationQuery (found by reflection, so
// that this file builds before it exists):
//
//	func (c *CIMOM) ExecNotificationQuery(ctx, namespace string, p Principal,
//		language, query string, opts Options) (iter.Seq2[Notification, error], error)
//
// with Notification's Event the event object.
func TestBuiltinProcessCreationEvent(t *testing.T) {
	om := builtinRepo(t)
	exec := reflect.ValueOf(om).MethodByName("ExecNotificationQuery")
	if !exec.IsValid() || exec.Type().NumIn() != 6 || exec.Type().NumOut() != 2 {
		t.Skip("cimom has no ExecNotificationQuery(ctx, namespace, principal, language, query, options) yet: WITHIN events over provider classes are not built")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const query = "SELECT * FROM __InstanceCreationEvent WITHIN 2 WHERE TargetInstance ISA 'Win32_Process'"
	res := exec.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf("root/cimv2"), reflect.ValueOf(rootPrincipal),
		reflect.ValueOf("WQL"), reflect.ValueOf(query), reflect.New(exec.Type().In(5)).Elem()})
	if err, _ := res[1].Interface().(error); err != nil {
		t.Fatalf("ExecNotificationQuery: %v", err)
	}
	seq := res[0]
	events := make(chan *cim.Object, 1024)
	yieldType := seq.Type().In(0)
	yield := reflect.MakeFunc(yieldType, func(args []reflect.Value) []reflect.Value {
		if err, _ := args[1].Interface().(error); err != nil {
			t.Errorf("the event stream: %v", err)
			return []reflect.Value{reflect.ValueOf(false)}
		}
		if ev, ok := args[0].FieldByName("Event").Interface().(*cim.Object); ok && ev != nil {
			select {
			case events <- ev:
			default:
			}
		}
		return []reflect.Value{reflect.ValueOf(ctx.Err() == nil)}
	})
	go seq.Call([]reflect.Value{yield})
	time.Sleep(3 * time.Second) // the first poll has the processes before the test's
	started := time.Now()
	pid := startSleep(t, "993")
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			v, _ := ev.Get("TargetInstance")
			target, _ := v.V.(*cim.Object)
			if target == nil {
				continue
			}
			h, _ := target.Get("Handle")
			if h.V == fmt.Sprint(pid) {
				t.Logf("the creation event of process %d arrived %v after its start (WITHIN 2)", pid, time.Since(started).Round(10*time.Millisecond))
				return
			}
		case <-timeout:
			t.Fatalf("no __InstanceCreationEvent for process %d within 30 s", pid)
		}
	}
}
