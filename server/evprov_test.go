package server_test

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// widgetQueries returns what Example_Widget.EventQueries answers: the
// event queries wbemd told the example provider are active.
func widgetQueries(t *testing.T, d *daemon) string {
	t.Helper()
	out, err := runWbem(nil, "--repo", d.repo, "-n", "root/cimv2", "call", "Example_Widget", "EventQueries")
	if err != nil {
		t.Fatalf("wbem call EventQueries: %v\n%s", err, out)
	}
	return out
}

// waitWidgetQueries waits until EventQueries's answer does (want) or does
// not (!want) contain text.
func waitWidgetQueries(t *testing.T, d *daemon, text string, want bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := widgetQueries(t, d)
		if strings.Contains(out, text) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("EventQueries after 20 s (want %q: %v):\n%s", text, want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWatchEventProvider: the example provider widgets, registered as an
// event provider with wbem mofcomp into a running wbemd, feeds wbem watch
// (through the local socket) and the HTTP event stream: intrinsic events
// of its class without WITHIN, and its extrinsic event
// Example_WidgetResized with a WHERE on its properties. The provider is
// told of each watch's query and of its end.
func TestWatchEventProvider(t *testing.T) {
	d := startDaemon(t)
	registerExamples(t, d)
	const resized = "SELECT * FROM Example_WidgetResized WHERE NewSize > 5"
	w := startWatch(t, nil, "--repo", d.repo, "-n", "root/cimv2", "watch", resized, "--heartbeat", "300ms")
	w.next(t, "progress")
	waitWidgetQueries(t, d, "root/cimv2: "+resized, true)
	for _, size := range []string{"2", "9"} {
		if out, err := runWbem(nil, "--repo", d.repo, "-n", "root/cimv2", "call", `Example_Widget.Name="gear"`, "Resize", "Size="+size); err != nil {
			t.Fatalf("wbem call Resize: %v\n%s", err, out)
		}
	}
	ev := w.next(t, "event")
	if ev.Event != "Example_WidgetResized" || ev.Revision == 0 || ev.ID == "" || strings.Contains(ev.ID, ".") {
		t.Fatalf("watch printed %+v", ev)
	}
	// The HTTP event stream (SSE) gets the intrinsic events, no WITHIN.
	const created = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Example_Widget'"
	resp := eventStream(t, d, "admin", "secret", url.Values{"namespace": {"root/cimv2"}, "query": {created}})
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("event stream: HTTP %d", resp.StatusCode)
	}
	waitWidgetQueries(t, d, "root/cimv2: "+created, true)
	if out, err := runWbem(nil, "--repo", d.repo, "-n", "root/cimv2", "put", "Example_Widget", "Name=cog", "Size=1"); err != nil {
		t.Fatalf("put: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
		}
		if strings.HasPrefix(line, "data: ") && event == "__InstanceCreationEvent" {
			if !strings.Contains(line, `"cog"`) {
				t.Fatalf("stream: %s", line)
			}
			break
		}
	}
	if event != "__InstanceCreationEvent" {
		t.Fatalf("the stream ended without the event: %v", sc.Err())
	}
	resp.Body.Close()
	// Ending a watch cancels its query at the provider.
	w.cmd.Process.Signal(syscall.SIGINT)
	waitWidgetQueries(t, d, resized, false)
	waitWidgetQueries(t, d, created, false)
}

// TestPermanentSubscriptionEventProvider: a WMI permanent subscription
// (__EventFilter, LogFileEventConsumer, __FilterToConsumerBinding) to the
// widgets example's extrinsic event is fed by the provider; kill -9 of
// the provider's host ends neither the subscription nor the daemon: the
// host starts again, is told the query again, and its next event is
// logged.
func TestPermanentSubscriptionEventProvider(t *testing.T) {
	dir := publicDir(t)
	d := startDaemon(t)
	registerExamples(t, d)
	logPath := filepath.Join(dir, "resized.log")
	const query = "SELECT * FROM Example_WidgetResized"
	if o, err := mofcomp(t, d, fmt.Sprintf(`instance of __EventFilter as $F { Name = "resized"; QueryLanguage = "WQL";
  EventNamespace = "root/cimv2"; Query = %q; };
instance of LogFileEventConsumer as $L { Name = "resized"; Filename = %q; Text = "resized %%Name%% from %%OldSize%% to %%NewSize%%"; };
instance of __FilterToConsumerBinding { Filter = $F; Consumer = $L; };
`, query, logPath)); err != nil {
		t.Fatalf("mofcomp: %v\n%s", err, o)
	}
	waitWidgetQueries(t, d, "root/cimv2: "+query, true)
	resize := func(size string) {
		t.Helper()
		if out, err := runWbem(nil, "--repo", d.repo, "-n", "root/cimv2", "call", `Example_Widget.Name="gear"`, "Resize", "Size="+size); err != nil {
			t.Fatalf("wbem call Resize: %v\n%s", err, out)
		}
	}
	waitLine := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, _ := os.ReadFile(logPath)
			if strings.Contains(string(b), want+"\n") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s lacks %q:\n%s", logPath, want, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	resize("7")
	waitLine("resized gear from 3 to 7")

	out, err := runWbem(nil, "--repo", d.repo, "-n", "root/cimv2", "provider", "status", "WidgetProvider")
	m := regexp.MustCompile(`ProcessId\D*(\d+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("provider status: %v\n%s", err, out)
	}
	pid, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The host comes back by itself (the subscription needs it), and is
	// told the query again.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := runWbem(nil, "--repo", d.repo, "-n", "root/cimv2", "provider", "status", "WidgetProvider")
		if m := regexp.MustCompile(`ProcessId\D*(\d+)`).FindStringSubmatch(out); m != nil && m[1] != fmt.Sprint(pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new host after kill -9 of %d:\n%s", pid, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitWidgetQueries(t, d, "root/cimv2: "+query, true)
	resize("11") // the new host's widgets start again at Size 3
	waitLine("resized gear from 3 to 11")
	b, _ := os.ReadFile(logPath)
	if lines := strings.Count(string(b), "\n"); lines != 2 {
		t.Errorf("%d lines, want 2:\n%s", lines, b)
	}
}
