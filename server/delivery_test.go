package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/client"
)

// listener is the Python standard-library CIM-XML listener of
// testdata/cimxml_listener.py.
type listener struct {
	port int
	out  string
	cmd  *exec.Cmd
}

// startListener runs the listener on port (0: a free one), appending to
// out.
func startListener(t *testing.T, port int, out string) *listener {
	t.Helper()
	cmd := exec.Command("python3", "testdata/cimxml_listener.py", fmt.Sprint(port), out)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if _, serr := fmt.Sscanf(line, "listening %d", &port); err != nil || serr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("listener did not start: %q %v %v", line, err, serr)
	}
	l := &listener{port: port, out: out, cmd: cmd}
	t.Cleanup(l.stop)
	return l
}

// stop kills the listener (again is harmless).
func (l *listener) stop() {
	if l.cmd.ProcessState == nil {
		l.cmd.Process.Kill()
		l.cmd.Wait()
	}
}

// received is one indication as the listener wrote it down.
type received struct {
	Class   string            `json:"class"`
	Context string            `json:"context"`
	Seq     int64             `json:"seq"`
	ID      string            `json:"id"`
	Target  map[string]string `json:"target"`
}

// readReceived reads what the listener received so far.
func readReceived(t *testing.T, path string) []received {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []received
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r received
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("listener line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// waitReceived waits until the listener holds every name of want (or
// the time is out), and returns what it received.
func waitReceived(t *testing.T, path string, want []string, within time.Duration, d *daemon) []received {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := readReceived(t, path)
		seen := map[string]bool{}
		for _, r := range got {
			seen[r.Target["Name"]] = true
		}
		missing := 0
		for _, n := range want {
			if !seen[n] {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the listener misses %d of %d indications; received %d\nwbemd log:\n%s", within, missing, len(want), len(got), d.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkStream checks a listener's record: one SequenceContext, numbers
// from 0 in order where a repeat is a duplicate of the same event (at
// least once), and every name among those written (none invented), in
// the order of their writes.
func checkStream(t *testing.T, got []received, written []string) {
	t.Helper()
	order := map[string]int{}
	for i, n := range written {
		order[n] = i
	}
	bySeq := map[int64]string{}
	next, last := int64(0), -1
	for i, r := range got {
		if r.Context != got[0].Context {
			t.Fatalf("indication %d has SequenceContext %q, the first %q", i, r.Context, got[0].Context)
		}
		name := r.Target["Name"]
		pos, ok := order[name]
		if !ok {
			t.Fatalf("indication %d is of %q, which was never written", i, name)
		}
		switch {
		case r.Seq == next:
			if pos <= last {
				t.Fatalf("indication %d (%s, seq %d) comes after a later write", i, name, r.Seq)
			}
			bySeq[r.Seq], next, last = name, next+1, pos
		case r.Seq < next && bySeq[r.Seq] == name:
			// A duplicate: sent again after a restart, with its number.
			// The ones after it come again too.
			next, last = r.Seq+1, pos
		default:
			t.Fatalf("indication %d (%s) has SequenceNumber %d, expected %d (or a repeat)", i, name, r.Seq, next)
		}
	}
}

// downTime is how long the listener stays down in
// TestIndicationDelivery: WBEMD_TEST_LISTENER_DOWN (a Go duration; the
// issue's acceptance names a minute), else 5 s to keep the suite short.
func downTime() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("WBEMD_TEST_LISTENER_DOWN")); err == nil {
		return d
	}
	return 5 * time.Second
}

// TestIndicationDelivery: a DMTF subscription created over CIM-XML (the
// filter with wbemcli, the destination and subscription with wbem --url)
// delivers ExportIndication to a Python standard-library listener; while
// the listener is down the subscription turns Enabled Degraded, and when it
// comes back it receives every event in order with contiguous sequence
// numbers; then wbemd is killed (SIGKILL) during a stream of writes and
// restarted, the listener going down halfway through the stream and
// coming back after the restart: every event of an acknowledged write
// reaches the listener,
// at least once, in order, none invented, in the same SequenceContext.
func TestIndicationDelivery(t *testing.T) {
	if _, err := exec.LookPath("wbemcli"); err != nil {
		t.Fatal("wbemcli is not installed (apt-get install sblim-wbemcli; .ci/run does)")
	}
	d := startDaemon(t)
	out := filepath.Join(t.TempDir(), "received.jsonl")
	l := startListener(t, 0, out)
	env := []string{"WBEM_PASSWORD=secret"}
	wbem := func(ns string, args ...string) string {
		t.Helper()
		o, err := runWbem(env, append([]string{"--url", "http://" + d.http, "--user", "admin", "-n", ns}, args...)...)
		if err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, o)
		}
		return strings.TrimSpace(o)
	}
	// Retry every second, twice, then the policy (Ignore: keep trying).
	service := wbem("root/interop", "enum", "--names", "CIM_IndicationService")
	wbem("root/interop", "put", "--update-only", service, "DeliveryRetryInterval=1", "DeliveryRetryAttempts=2")

	filter := `CIM_IndicationFilter.CreationClassName="CIM_IndicationFilter",Name="disks",SystemCreationClassName="CIM_ComputerSystem",SystemName="test"`
	base := "http://admin:secret@" + d.http + "/root/interop:"
	// A bad query is refused, and stores nothing.
	if o, err := exec.Command("wbemcli", "ci", base+filter, `Name="disks",Query="SELECT * FROM __InstanceCreationEvent WHERE",QueryLanguage="WQL"`).CombinedOutput(); err == nil ||
		!strings.Contains(string(o), "CIM_ERR_INVALID_QUERY") || !strings.Contains(string(o), "1:44") {
		t.Fatalf("a bad query: %v\n%s", err, o)
	}
	if o, err := exec.Command("wbemcli", "ci", base+filter,
		`SystemCreationClassName="CIM_ComputerSystem",SystemName="test",CreationClassName="CIM_IndicationFilter",Name="disks",`+
			`Query="SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Sample_Disk'",QueryLanguage="WQL",SourceNamespace="root/sample"`).CombinedOutput(); err != nil {
		t.Fatalf("wbemcli ci filter: %v\n%s", err, o)
	}
	dest := wbem("root/interop", "put", "CIM_ListenerDestinationCIMXML", "Name=pylistener", fmt.Sprintf("Destination=http://127.0.0.1:%d/", l.port))
	sub := wbem("root/interop", "put", "CIM_IndicationSubscription", "Filter="+filter, "Handler="+dest)
	state := func() string {
		o := wbem("root/interop", "get", "-o", "json", sub)
		var m map[string]any
		json.Unmarshal([]byte(o), &m)
		return fmt.Sprint(m["SubscriptionState"])
	}

	var written []string
	put := func(name string) {
		t.Helper()
		wbem("root/sample", "put", "Sample_Disk", "Name="+name, "Model=m")
		written = append(written, name)
	}
	for i := range 5 {
		put(fmt.Sprintf("up%d", i))
	}
	waitReceived(t, out, written, time.Minute, d)

	// The listener goes down; writes go on; it comes back on its port.
	l.stop()
	for i := range 5 {
		put(fmt.Sprintf("down%d", i))
	}
	down := downTime()
	time.Sleep(down)
	if down >= 4*time.Second {
		if s := state(); s != "3" {
			t.Errorf("SubscriptionState %s while the listener is down, want 3 (Enabled Degraded)", s)
		}
	}
	l = startListener(t, l.port, out)
	got := waitReceived(t, out, written, time.Minute, d)
	checkStream(t, got, written)
	if len(got) != len(written) {
		t.Errorf("%d indications for %d writes without a restart of wbemd", len(got), len(written))
	}
	for i := 0; i < 50 && state() != "2"; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if s := state(); s != "2" {
		t.Errorf("SubscriptionState %s after the listener came back, want 2 (Enabled)", s)
	}
	if got[0].Class != "__InstanceCreationEvent" || !strings.HasPrefix(got[0].ID, "wbemd:") {
		t.Errorf("first indication %+v", got[0])
	}

	// A WS-Eventing Pull subscriber (pywinrm) follows the same disks
	// across the kill.
	wsID := wsSubscribe(t, d, nil)

	// kill -9 during a stream of writes.
	c, cls := sampleDisks(t, d)
	var mu sync.Mutex
	var attempted, acked []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			inst, _ := cls.SpawnInstance()
			name := fmt.Sprintf("stream%d", i)
			inst.Put("Name", cim.Value{Type: cim.TypeString, V: name})
			inst.Put("Model", cim.Value{Type: cim.TypeString, V: "m"})
			mu.Lock()
			attempted = append(attempted, name)
			mu.Unlock()
			if _, err := c.PutInstance(context.Background(), inst, 0, nil); err != nil {
				return // the daemon is gone
			}
			mu.Lock()
			acked = append(acked, name)
			mu.Unlock()
		}
	}()
	waitAcked := func(n int) {
		for {
			mu.Lock()
			have := len(acked)
			mu.Unlock()
			if have >= n {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Half the stream with the listener up, half with it down: the
	// undelivered events are in the feed only when wbemd dies.
	waitAcked(20)
	// Two Pulls: the second acknowledges the events of the first, and
	// the stored cursor moves past them.
	pulled := wsPull(t, d, wsID, 500)
	pulled = append(pulled, wsPull(t, d, wsID, 500)...)
	l.stop()
	waitAcked(40)
	d.kill()
	close(stop)
	<-done
	d2 := startDaemonOn(t, d.repo)
	time.Sleep(time.Second)
	startListener(t, l.port, out)
	mu.Lock()
	all := append(append([]string(nil), written...), attempted...)
	want := append(append([]string(nil), written...), acked...)
	mu.Unlock()
	got = waitReceived(t, out, want, 2*time.Minute, d2)
	checkStream(t, got, all)
	t.Logf("%d acknowledged writes in the stream, %d indications received in all, %d after the restart's duplicates",
		len(acked), len(got), len(got)-len(want))

	// The Pull subscriber pulls with its EnumerationContext of before the
	// kill: every acknowledged write's event, from where the stored
	// cursor stood, in order.
	restart := len(pulled)
	pulled = wsPullUntil(t, d2, wsID, pulled, acked, 2*time.Minute)
	checkResumed(t, pulled, []int{restart}, attempted)
	if len(pulled) == 0 || pulled[0] != attempted[0] {
		t.Errorf("the Pull subscriber's first event is %v, want %s", pulled[:min(1, len(pulled))], attempted[0])
	}
	t.Logf("WS-Eventing: %d events pulled before the kill, %d after it", restart, len(pulled)-restart)
}

// sampleDisks connects to root/sample of d as the admin, through CIM-XML,
// and returns the client and the class Sample_Disk, for tests that write
// disks while they watch their events.
func sampleDisks(t *testing.T, d *daemon) (*client.Client, *cim.Object) {
	t.Helper()
	c, err := client.Dial(context.Background(), "http://"+d.http, "root/sample", client.Options{User: "admin", Password: "secret", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := c.GetObject(context.Background(), "Sample_Disk", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, cls
}
