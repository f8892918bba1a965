package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// wsEvents runs one WS-Eventing operation with pywinrm
// (testdata/winrm_events.py) and returns its answer, or the error text.
func wsEvents(t *testing.T, d *daemon, op string, args map[string]any) (answer string, ok bool) {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command("/usr/bin/python3", "testdata/winrm_events.py", "http://"+d.wsman+"/wsman", "admin", "secret", op, string(a))
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("winrm_events.py %s: %v\n%s", op, err, b)
	}
	var out struct {
		OK     bool   `json:"ok"`
		Answer string `json:"answer"`
		Error  string `json:"error"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("winrm_events.py %s: %v\n%s", op, err, b)
	}
	if !out.OK {
		return out.Error + ": " + out.Text, false
	}
	return out.Answer, true
}

var (
	identifierRE = regexp.MustCompile(`<wse:Identifier>([^<]+)</wse:Identifier>`)
	bookmarkRE   = regexp.MustCompile(`<wsman:Bookmark>([^<]+)</wsman:Bookmark>`)
	eventNameRE  = regexp.MustCompile(`<e1:Name>([^<]+)</e1:Name>`)
)

const (
	diskURI      = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/Sample_Disk"
	diskCreation = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Sample_Disk'"
)

// wsSubscribe subscribes to disk creations in root/sample and returns the
// subscription's id.
func wsSubscribe(t *testing.T, d *daemon, extra map[string]any) string {
	t.Helper()
	args := map[string]any{"uri": diskURI, "ns": "root/sample", "wql": diskCreation, "sendbookmarks": true, "expires": "PT5M"}
	for k, v := range extra {
		args[k] = v
	}
	a, ok := wsEvents(t, d, "subscribe", args)
	m := identifierRE.FindStringSubmatch(a)
	if !ok || m == nil {
		t.Fatalf("subscribe %v: %s", extra, a)
	}
	return m[1]
}

// wsPullAll pulls until the subscription has delivered every name of
// want (or n pulls passed), and returns the names in order and the last
// bookmark.
func wsPullAll(t *testing.T, d *daemon, id string, want []string) (names []string, bookmark string) {
	t.Helper()
	for range 60 {
		a, ok := wsEvents(t, d, "pull", map[string]any{"uri": diskURI, "id": id, "max": 50, "maxtime": "PT1S"})
		if !ok {
			if strings.Contains(a, "TimedOut") || strings.Contains(a, "timed out") || strings.Contains(a, "500") {
				continue // no event within MaxTime
			}
			t.Fatalf("pull: %s", a)
		}
		for _, m := range eventNameRE.FindAllStringSubmatch(a, -1) {
			names = append(names, m[1])
		}
		if m := bookmarkRE.FindStringSubmatch(a); m != nil {
			bookmark = m[1]
		}
		all := true
		for _, w := range want {
			all = all && slices.Contains(names, w)
		}
		if all {
			return names, bookmark
		}
	}
	t.Fatalf("after 60 pulls the subscription delivered %v, want %v\nwbemd log:\n%s", names, want, d.log)
	return nil, ""
}

// wsPull pulls once (up to max events, waiting up to a second) and
// returns the names of the events; a Pull that found none within MaxTime
// returns none.
func wsPull(t *testing.T, d *daemon, id string, max int) []string {
	t.Helper()
	a, ok := wsEvents(t, d, "pull", map[string]any{"uri": diskURI, "id": id, "max": max, "maxtime": "PT1S"})
	if !ok {
		if strings.Contains(a, "TimedOut") || strings.Contains(a, "timed out") || strings.Contains(a, "500") {
			return nil
		}
		t.Fatalf("pull %s: %s\nwbemd log:\n%s", id, a, d.log)
	}
	var names []string
	for _, m := range eventNameRE.FindAllStringSubmatch(a, -1) {
		names = append(names, m[1])
	}
	return names
}

// wsPullUntil pulls until names and the names received hold every name
// of want, and returns names with those received.
func wsPullUntil(t *testing.T, d *daemon, id string, names, want []string, within time.Duration) []string {
	t.Helper()
	for deadline := time.Now().Add(within); ; {
		names = append(names, wsPull(t, d, id, 500)...)
		missing := 0
		for _, w := range want {
			if !slices.Contains(names, w) {
				missing++
			}
		}
		if missing == 0 {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v subscription %s misses %d of %d events; received %d\nwbemd log:\n%s", within, id, missing, len(want), len(names), d.log)
		}
	}
}

// checkResumed checks the names a subscriber received across restarts of
// wbemd: each the event of a write (none invented), in the order of the
// writes and contiguous, but for the first name received after a restart
// (the indexes in restarts), which may be an earlier event again (at
// least once: what the stored cursor lacked comes again, and the events
// after it), never a later one (no gap).
func checkResumed(t *testing.T, names []string, restarts []int, written []string) {
	t.Helper()
	order := map[string]int{}
	for i, n := range written {
		order[n] = i
	}
	last := -1
	for i, n := range names {
		pos, ok := order[n]
		switch {
		case !ok:
			t.Fatalf("event %d (%s) is of no write", i, n)
		case i == 0 || pos == last+1:
		case slices.Contains(restarts, i) && pos <= last+1:
		default:
			t.Fatalf("event %d (%s, write %d) follows write %d: a gap or a disorder\n%v", i, n, pos, last, names)
		}
		last = pos
	}
}

// TestWSEventing: pywinrm sends raw WS-Eventing envelopes: Subscribe in
// the Pull mode, Pull with bookmarks, Renew, GetStatus, Unsubscribe; a
// subscription from a bookmark receives exactly the events after it, and
// after a kill -9 of wbemd during writes a subscription from the last
// bookmark receives every acknowledged write's event, in order.
func TestWSEventing(t *testing.T) {
	d := startDaemon(t)
	env := []string{"WBEM_PASSWORD=secret"}
	put := func(d *daemon, name string) error {
		_, err := runWbem(env, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name="+name, "Model=m")
		return err
	}
	// A bad filter and an unsupported mode are refused.
	if a, ok := wsEvents(t, d, "subscribe", map[string]any{"uri": diskURI, "ns": "root/sample", "wql": "SELECT * FROM __InstanceCreationEvent WHERE"}); ok {
		t.Errorf("a bad query subscribed: %s", a)
	}
	id := wsSubscribe(t, d, nil)
	for _, n := range []string{"a", "b"} {
		if err := put(d, n); err != nil {
			t.Fatal(err)
		}
	}
	names, mark := wsPullAll(t, d, id, []string{"a", "b"})
	if !slices.Equal(names, []string{"a", "b"}) || mark == "" {
		t.Fatalf("first pulls: %v, bookmark %q", names, mark)
	}
	if a, ok := wsEvents(t, d, "renew", map[string]any{"uri": diskURI, "id": id, "expires": "PT10M"}); !ok || !strings.Contains(a, "<wse:Expires>PT10M0S</wse:Expires>") {
		t.Errorf("renew: %s", a)
	}
	if a, ok := wsEvents(t, d, "getstatus", map[string]any{"uri": diskURI, "id": id}); !ok || !strings.Contains(a, "GetStatusResponse") || !strings.Contains(a, "PT10M") {
		t.Errorf("getstatus: %s", a)
	}
	if a, ok := wsEvents(t, d, "unsubscribe", map[string]any{"uri": diskURI, "id": id}); !ok || !strings.Contains(a, "UnsubscribeResponse") {
		t.Errorf("unsubscribe: %s", a)
	}
	if a, ok := wsEvents(t, d, "pull", map[string]any{"uri": diskURI, "id": id}); ok {
		t.Errorf("a pull after Unsubscribe: %s", a)
	}
	if a, ok := wsEvents(t, d, "renew", map[string]any{"uri": diskURI, "id": id, "expires": "PT1M"}); ok {
		t.Errorf("a renew after Unsubscribe: %s", a)
	}
	// Writes while nobody listens; a subscription from the bookmark gets
	// them, and nothing before them.
	for _, n := range []string{"c", "d"} {
		if err := put(d, n); err != nil {
			t.Fatal(err)
		}
	}
	id = wsSubscribe(t, d, map[string]any{"bookmark": mark})
	names, _ = wsPullAll(t, d, id, []string{"c", "d"})
	if !slices.Equal(names, []string{"c", "d"}) {
		t.Errorf("from bookmark %s: %v", mark, names)
	}
	// The earliest bookmark replays what the feed holds: every disk.
	id = wsSubscribe(t, d, map[string]any{"bookmark": "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest"})
	names, _ = wsPullAll(t, d, id, []string{"a", "b", "c", "d"})
	if i := slices.Index(names, "a"); i < 0 || !slices.Equal(names[i:i+4], []string{"a", "b", "c", "d"}) {
		t.Errorf("from the earliest bookmark: %v", names)
	}
	// With heartbeats, a Pull that finds no event answers an empty
	// PullResponse with wsman:Heartbeat and the bookmark of the moment.
	id = wsSubscribe(t, d, map[string]any{"heartbeats": "PT1S"})
	if a, ok := wsEvents(t, d, "pull", map[string]any{"uri": diskURI, "id": id, "maxtime": "PT2S"}); !ok || !strings.Contains(a, "<wsman:Heartbeat/>") ||
		bookmarkRE.FindStringSubmatch(a) == nil || eventNameRE.MatchString(a) {
		t.Errorf("a heartbeat pull: %v %s", ok, a)
	}
	// A bookmark the server never gave is refused.
	if a, ok := wsEvents(t, d, "subscribe", map[string]any{"uri": diskURI, "ns": "root/sample", "wql": diskCreation, "bookmark": "x12"}); ok {
		t.Errorf("a bad bookmark subscribed: %s", a)
	}

	// kill -9 during writes; the pull subscriber resumes from its
	// bookmark after the restart.
	var acked []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			n := fmt.Sprint("k", i)
			if err := put(d, n); err != nil {
				return
			}
			acked = append(acked, n)
			if i == 15 {
				d.kill()
			}
		}
	}()
	<-done
	d2 := startDaemonOn(t, d.repo)
	id = wsSubscribe(t, d2, map[string]any{"bookmark": mark})
	names, _ = wsPullAll(t, d2, id, append([]string{"c", "d"}, acked...))
	want := append([]string{"c", "d"}, acked...)
	// In order, at least once, none invented: the names are the acked
	// ones in order, possibly followed by one write in flight at the kill.
	if len(names) < len(want) || !slices.Equal(names[:len(want)], want) {
		t.Errorf("after the restart, from bookmark %s: %v, want %v first", mark, names, want)
	}
	for _, n := range names[len(want):] {
		if n != fmt.Sprint("k", len(acked)) {
			t.Errorf("event %s was never written", n)
		}
	}
	t.Logf("%d writes acknowledged before the kill; %d events after the bookmark", len(acked), len(names))
}

// pushed is one message a push receiver got.
type pushed struct {
	Action   string   `json:"action"`
	Bookmark string   `json:"bookmark"`
	Names    []string `json:"names"`
}

// TestWSEventingPush: subscriptions in the Push, PushWithAck and Events
// modes (made by pywinrm) send the events to a Python standard-library
// receiver, with bookmarks, in order; Unsubscribe stops them.
func TestWSEventingPush(t *testing.T) {
	d := startDaemon(t)
	out := filepath.Join(t.TempDir(), "pushed.jsonl")
	cmd := exec.Command("python3", "testdata/wsman_receiver.py", out)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var port int
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if _, err := fmt.Sscanf(line, "listening %d", &port); err != nil {
		t.Fatalf("receiver: %q %v", line, err)
	}
	received := func() []pushed {
		b, _ := os.ReadFile(out)
		var msgs []pushed
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m pushed
			if json.Unmarshal([]byte(l), &m) == nil {
				msgs = append(msgs, m)
			}
		}
		return msgs
	}
	env := []string{"WBEM_PASSWORD=secret"}
	modes := map[string]string{"push": "http://schemas.xmlsoap.org/ws/2004/08/eventing/DeliveryModes/Push",
		"ack": "http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck", "events": "http://schemas.dmtf.org/wbem/wsman/1/wsman/Events"}
	for _, name := range []string{"push", "ack", "events"} {
		os.Remove(out)
		id := wsSubscribe(t, d, map[string]any{"mode": modes[name], "notifyto": fmt.Sprintf("http://127.0.0.1:%d/%s", port, name)})
		var want []string
		for i := range 3 {
			n := fmt.Sprintf("%s%d", name, i)
			if _, err := runWbem(env, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name="+n, "Model=m"); err != nil {
				t.Fatal(err)
			}
			want = append(want, n)
		}
		var got []string
		var msgs []pushed
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			msgs, got = received(), nil
			for _, m := range msgs {
				got = append(got, m.Names...)
			}
			if len(got) >= len(want) {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: received %v, want %v\nwbemd log:\n%s", name, got, want, d.log)
		}
		action := "http://schemas.dmtf.org/wbem/wsman/1/wsman/Event"
		if name == "events" {
			action += "s"
		}
		for _, m := range msgs {
			if m.Action != action || m.Bookmark == "" {
				t.Errorf("%s: message %+v", name, m)
			}
		}
		if a, ok := wsEvents(t, d, "unsubscribe", map[string]any{"uri": diskURI, "id": id}); !ok {
			t.Errorf("%s: unsubscribe: %s", name, a)
		}
	}
	// A receiver that cannot be reached ends the subscription, and
	// wse:SubscriptionEnd says so at EndTo.
	os.Remove(out)
	wsSubscribe(t, d, map[string]any{"mode": modes["push"], "notifyto": "http://127.0.0.1:1/gone", "endto": fmt.Sprintf("http://127.0.0.1:%d/end", port)})
	runWbem(env, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name=unreachable", "Model=m")
	var ended bool
	for deadline := time.Now().Add(20 * time.Second); !ended && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, m := range received() {
			ended = ended || m.Action == "http://schemas.xmlsoap.org/ws/2004/08/eventing/SubscriptionEnd"
		}
	}
	if !ended {
		t.Errorf("no SubscriptionEnd at EndTo: %+v\nwbemd log:\n%s", received(), d.log)
	}
	// After Unsubscribe nothing more comes.
	os.Remove(out)
	runWbem(env, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name=late", "Model=m")
	time.Sleep(time.Second)
	if msgs := received(); len(msgs) != 0 {
		t.Errorf("after Unsubscribe: %+v", msgs)
	}

	// A PushWithAck subscription survives a kill -9 of wbemd during
	// writes: the writes acknowledged before the kill, and those after
	// the restart, reach the receiver at least once, in order, none
	// invented.
	os.Remove(out)
	wsSubscribe(t, d, map[string]any{"mode": modes["ack"], "notifyto": fmt.Sprintf("http://127.0.0.1:%d/kept", port)})
	c, cls := sampleDisks(t, d)
	// A stream of writes faster than the receiver acknowledges: at the
	// kill, acknowledged writes' events wait in the feed.
	var acked []string
	for i := 0; ; i++ {
		inst, _ := cls.SpawnInstance()
		n := fmt.Sprint("kept", i)
		inst.Put("Name", cim.Value{Type: cim.TypeString, V: n})
		inst.Put("Model", cim.Value{Type: cim.TypeString, V: "m"})
		if _, err := c.PutInstance(context.Background(), inst, 0, nil); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, n)
		if i == 199 {
			break
		}
	}
	var before []string
	for _, m := range received() {
		before = append(before, m.Names...)
	}
	d.kill()
	d2 := startDaemonOn(t, d.repo)
	for i := 200; i < 205; i++ {
		n := fmt.Sprint("kept", i)
		if _, err := runWbem(env, "--url", "http://"+d2.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name="+n, "Model=m"); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, n)
	}
	var names []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		names = nil
		for _, m := range received() {
			names = append(names, m.Names...)
		}
		missing := 0
		for _, n := range acked {
			if !slices.Contains(names, n) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the receiver misses %d of %d events: %v\nwbemd log:\n%s", missing, len(acked), names, d2.log)
		}
	}
	anywhere := make([]int, len(names)) // the restart's place is not known: a repeat may start anywhere
	for i := range anywhere {
		anywhere[i] = i
	}
	checkResumed(t, names, anywhere, acked)
	if names[0] != acked[0] {
		t.Errorf("the first event received is %s, want %s", names[0], acked[0])
	}
	t.Logf("PushWithAck across kill -9: %d events received for %d writes, %d of them before the kill", len(names), len(acked), len(before))
}
