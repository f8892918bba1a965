package server_test

import (
	"context"
	"encoding/json"
	"iter"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
)

// TestWatchTimerEvents: `wbem put` of an __IntervalTimerInstruction (over
// HTTP) makes the events `wbem watch` shows for SELECT * FROM
// __TimerEvent WHERE TimerId = ..., each with a revision id and no index
// (it is no event of the change feed); --from an earlier revision
// replays none of them; the client's ExecNotificationQuery decodes their
// TimerId and NumFirings.
func TestWatchTimerEvents(t *testing.T) {
	d := startDaemon(t)
	const q = "SELECT * FROM __TimerEvent WHERE TimerId = 't1' OR TimerId = 't2'"
	w := startWatch(t, nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--heartbeat", "200ms")
	bookmark := w.next(t, "progress").Revision
	wbem := func(args ...string) {
		t.Helper()
		out, err := runWbem([]string{"WBEM_PASSWORD=secret"}, append([]string{"--url", "http://" + d.http, "--user", "admin", "-n", "root/sample"}, args...)...)
		if err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, out)
		}
	}
	wbem("put", "__IntervalTimerInstruction", "TimerId=t1", "IntervalBetweenEvents=50")
	for range 2 {
		ev := w.next(t, "event")
		if ev.Event != "__TimerEvent" || strings.Contains(ev.ID, ".") || ev.Revision < bookmark || ev.Object.Revision != ev.Revision {
			t.Fatalf("timer event %+v", ev)
		}
	}
	// Deleted, t1 stops; --from the bookmark replays no timer event: the
	// first event is t2's, live.
	wbem("delete", `__IntervalTimerInstruction.TimerId="t1"`)
	wbem("put", "__IntervalTimerInstruction", "TimerId=t2", "IntervalBetweenEvents=50")
	out, err := runWbem(nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--from", "1", "--count", "1", "-o", "json")
	if err != nil {
		t.Fatalf("watch --from: %v\n%s", err, out)
	}
	var first struct {
		Event  string
		Object map[string]any
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if err := json.Unmarshal([]byte(line), &first); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	if first.Event != "__TimerEvent" || first.Object["TimerId"] != "t2" || first.Object["NumFirings"] == nil {
		t.Fatalf("watch --from 1: %s", out)
	}
	// Table mode names the timer.
	out, err = runWbem(nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--count", "1")
	if err != nil || !strings.Contains(out, "__TimerEvent") || !strings.Contains(out, `TimerId "t2" NumFirings`) {
		t.Fatalf("watch (table): %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := client.Connect(ctx, "http://localhost", "root/sample", client.Options{Socket: filepath.Join(d.repo, "wbemd.sock")})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := svc.ExecNotificationQuery(ctx, "WQL", "SELECT * FROM __TimerEvent WHERE TimerId = 't2'", cimom.NotificationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next, stop := iter.Pull2(seq)
	defer stop()
	ev, err, _ := next()
	if err != nil {
		t.Fatal(err)
	}
	o := ev.Object()
	id, _ := o.Get("TimerId")
	n, _ := o.Get("NumFirings")
	if ev.Class != cimom.TimerEventClass || !ev.Live || id.V != "t2" || n.V == nil {
		t.Fatalf("client event %+v: TimerId %v, NumFirings %v", ev, id.V, n.V)
	}
}
