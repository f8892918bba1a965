package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
)

// watchLine is one line of wbem watch -o json.
type watchLine struct {
	ID       string `json:"id"`
	Revision int64  `json:"revision"`
	Event    string `json:"event"`
	Object   struct {
		Revision       int64          `json:"Revision"`
		TargetInstance map[string]any `json:"TargetInstance"`
	} `json:"object"`
}

// watcher is a running wbem watch -o json.
type watcher struct {
	lines chan watchLine
	cmd   *exec.Cmd
}

// startWatch runs wbem watch -o json with args and reads its lines.
func startWatch(t *testing.T, env []string, args ...string) *watcher {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "wbem"), append(args, "-o", "json")...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watcher{lines: make(chan watchLine, 1024), cmd: cmd}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var l watchLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("wbem watch printed %q: %v", sc.Text(), err)
				continue
			}
			w.lines <- l
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return w
}

// next returns the next line (a heartbeat if event is "progress", else
// the next event, skipping heartbeats).
func (w *watcher) next(t *testing.T, event string) watchLine {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatal("wbem watch ended")
			}
			if (event == "progress") == (l.Event == "progress") {
				return l
			}
		case <-timeout:
			t.Fatalf("wbem watch printed no %s within 30 s", event)
		}
	}
}

// TestWatch: wbem watch (through the local socket) sees a put made by
// another client (over HTTP with a password), each event with its
// revision; --from a heartbeat's revision replays exactly the events
// written after it, in order, then goes on live; an event id REV.INDEX
// resumes after that event.
func TestWatch(t *testing.T) {
	d := startDaemon(t)
	const q = "SELECT * FROM __InstanceOperationEvent WHERE TargetInstance ISA 'Sample_Disk' AND TargetInstance.Model <> 'skip'"
	w := startWatch(t, nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--heartbeat", "200ms")
	bookmark := w.next(t, "progress").Revision // the subscription runs
	put := func(name, model string) {
		t.Helper()
		out, err := runWbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name="+name, "Model="+model)
		if err != nil {
			t.Fatalf("put %s: %v\n%s", name, err, out)
		}
	}
	put("w1", "m")
	ev := w.next(t, "event")
	if ev.Event != "__InstanceCreationEvent" || ev.TargetInstance()["Name"] != "w1" || ev.Revision <= bookmark || ev.Object.Revision != ev.Revision || ev.ID != fmt.Sprintf("%d.0", ev.Revision) {
		t.Fatalf("first event %+v", ev)
	}
	first := ev
	put("w1", "skip") // not selected
	put("w2", "m")
	put("w1", "m2")
	var missed []watchLine
	for range 2 {
		missed = append(missed, w.next(t, "event"))
	}
	if missed[0].TargetInstance()["Name"] != "w2" || missed[1].Event != "__InstanceModificationEvent" || missed[1].TargetInstance()["Model"] != "m2" {
		t.Fatalf("live events %+v", missed)
	}
	// Replay: from the revision of the first event, exactly the events
	// that followed it.
	out, err := runWbem(nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--from", fmt.Sprint(first.Revision), "--count", "2", "-o", "json")
	if err != nil {
		t.Fatalf("watch --from: %v\n%s", err, out)
	}
	var replay []watchLine
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l watchLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if l.Event != "progress" {
			replay = append(replay, l)
		}
	}
	if len(replay) != 2 || replay[0].ID != missed[0].ID || replay[1].ID != missed[1].ID {
		t.Fatalf("replay from %d: %+v, want the ids %s %s", first.Revision, replay, missed[0].ID, missed[1].ID)
	}
	// From the first event's id: the same.
	out, err = runWbem(nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--from", first.ID, "--count", "1", "-o", "json")
	if err != nil || !strings.Contains(out, `"id":"`+missed[0].ID+`"`) || strings.Contains(out, `"id":"`+first.ID+`"`) {
		t.Fatalf("watch --from %s: %v\n%s", first.ID, err, out)
	}
	// Table mode through --url.
	out, err = runWbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "watch", q, "--from", fmt.Sprint(bookmark), "--count", "1")
	if err != nil || !strings.HasPrefix(out, first.ID+" ") || !strings.Contains(out, "__InstanceCreationEvent") || !strings.Contains(out, `"w1"`) {
		t.Fatalf("watch --url (table): %v\n%s", err, out)
	}
}

// TargetInstance returns the event's target.
func (l watchLine) TargetInstance() map[string]any { return l.Object.TargetInstance }

// TestWatchRevisionGone: with a change feed of 5 revisions, wbem watch
// --from an older revision fails with WBEM_E_QUEUE_OVERFLOW, names the
// oldest revision held and exits with status 4; the HTTP stream sends
// the error as an "error" message with the oldest revision.
func TestWatchRevisionGone(t *testing.T) {
	d := startDaemon(t, "--feed-retention", "5")
	for i := range 20 {
		if out, err := runWbem(nil, "--repo", d.repo, "-n", "root/sample", "put", "Sample_Disk", fmt.Sprintf("Name=g%d", i), "Model=m"); err != nil {
			t.Fatalf("put: %v\n%s", err, out)
		}
	}
	time.Sleep(500 * time.Millisecond) // an idle checkpoint compacts the feed
	const q = "SELECT * FROM __InstanceCreationEvent"
	cmd := exec.Command(filepath.Join(bin, "wbem"), "--repo", d.repo, "-n", "root/sample", "watch", q, "--from", "2")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 4 || !strings.Contains(string(out), "WBEM_E_QUEUE_OVERFLOW") || !strings.Contains(string(out), "oldest revision held") {
		t.Fatalf("watch --from 2: %v (exit %d)\n%s", err, cmd.ProcessState.ExitCode(), out)
	}
	resp := eventStream(t, d, "admin", "secret", url.Values{"namespace": {"root/sample"}, "query": {q}, "from": {"2"}})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var data struct {
		Name   string `json:"name"`
		Oldest int64  `json:"oldest"`
	}
	msg := string(body)
	_, js, ok := strings.Cut(msg, "event: error\ndata: ")
	if !ok || json.Unmarshal([]byte(strings.TrimSpace(js)), &data) != nil || data.Name != "WBEM_E_QUEUE_OVERFLOW" || data.Oldest <= 3 {
		t.Fatalf("stream from 2: %q", msg)
	}
	// From the revision before the oldest held: every event from there.
	out2, err := runWbem(nil, "--repo", d.repo, "-n", "root/sample", "watch", q, "--from", fmt.Sprint(data.Oldest-1), "--count", "1", "-o", "json")
	if err != nil || !strings.Contains(out2, fmt.Sprintf(`"revision":%d`, data.Oldest)) {
		t.Fatalf("watch --from %d: %v\n%s", data.Oldest-1, err, out2)
	}
}

// eventStream opens GET /api/v1/events with v as user.
func eventStream(t *testing.T, d *daemon, user, password string, v url.Values) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.http+"/api/v1/events?"+v.Encode(), nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestEventStreamErrors: MS-WMI's errors for event queries, over HTTP
// before the stream starts (status, name, message, position), and to
// wbem watch; a user without WBEM_RIGHT_SUBSCRIBE is denied.
func TestEventStreamErrors(t *testing.T) {
	d := startDaemon(t)
	cases := []struct {
		q, name string
		code    int
		pos     string
	}{
		{"SELECT * FROM Sample_Disk", "WBEM_E_NOT_EVENT_CLASS", 400, "1:15"},
		{"SELECT * FROM __InstanceCreationEvent GROUP BY TargetInstance.Name", "WBEM_E_MISSING_GROUP_WITHIN", 400, "1:45"},
		{"SELECT * FROM __InstanceCreationEvent WITHIN 0.1", "WBEMESS_E_REGISTRATION_TOO_PRECISE", 400, "1:1"},
		{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Win32_Process'", "WBEMESS_E_REGISTRATION_TOO_PRECISE", 400, "1:45"},
		{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Nope'", "WBEM_E_INVALID_CLASS", 400, "1:45"},
		{"SELECT * FROM No_Such_Event", "WBEM_E_INVALID_CLASS", 400, "1:15"},
		{"SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA", "WBEM_E_INVALID_QUERY", 400, "1:63"},
	}
	for _, c := range cases {
		ns := "root/sample"
		if strings.Contains(c.q, "Win32_Process") {
			ns = "root/cimv2"
		}
		resp := eventStream(t, d, "admin", "secret", url.Values{"namespace": {ns}, "query": {c.q}})
		var body struct {
			Status   uint32 `json:"status"`
			Name     string `json:"name"`
			Message  string `json:"message"`
			Position *struct{ Line, Column int }
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		pos := ""
		if body.Position != nil {
			pos = fmt.Sprintf("%d:%d", body.Position.Line, body.Position.Column)
		}
		if resp.StatusCode != c.code || body.Name != c.name || pos != c.pos || body.Status == 0 || body.Message == "" {
			t.Errorf("%s: HTTP %d %+v at %s, want %d %s at %s", c.q, resp.StatusCode, body, pos, c.code, c.name, c.pos)
		}
		out, err := runWbem(nil, "--repo", d.repo, "-n", ns, "watch", c.q)
		if err == nil || !strings.Contains(out, c.name) {
			t.Errorf("wbem watch %q: %v\n%s", c.q, err, out)
		}
	}
	// A language the server does not know is refused before streaming
	// (DMTF:CQL is one it knows: see TestClientExecNotificationQuery).
	resp := eventStream(t, d, "admin", "secret", url.Values{"namespace": {"root/sample"}, "query": {"SELECT * FROM __InstanceCreationEvent"}, "language": {"XPath"}})
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("language XPath: HTTP %d", resp.StatusCode)
	}
	// guest may read root/sample over the network; without
	// WBEM_RIGHT_SUBSCRIBE it may not subscribe there, with it it may.
	if out, err := runWbem(nil, "--repo", d.repo, "security", "grant", "root/sample", "guest", "read"); err != nil {
		t.Fatalf("grant: %v\n%s", err, out)
	}
	q := url.Values{"namespace": {"root/sample"}, "query": {"SELECT * FROM __InstanceCreationEvent"}, "validate": {"1"}}
	resp = eventStream(t, d, "guest", "guest-pw", q)
	var body struct{ Name string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || body.Name != "WBEM_E_ACCESS_DENIED" {
		t.Errorf("guest without subscribe: HTTP %d %s", resp.StatusCode, body.Name)
	}
	out, err := runWbem([]string{"WBEM_PASSWORD=guest-pw"}, "--url", "http://"+d.http, "--user", "guest", "-n", "root/sample", "watch", "SELECT * FROM __InstanceCreationEvent")
	if err == nil || !strings.Contains(out, "WBEM_E_ACCESS_DENIED") {
		t.Errorf("wbem watch as guest: %v\n%s", err, out)
	}
	if out, err := runWbem(nil, "--repo", d.repo, "security", "grant", "root/sample", "guest", "subscribe"); err != nil {
		t.Fatalf("grant: %v\n%s", err, out)
	}
	if resp := eventStream(t, d, "guest", "guest-pw", q); resp.StatusCode != http.StatusNoContent {
		t.Errorf("guest with subscribe: HTTP %d", resp.StatusCode)
	}
}

// TestWatchProviderClass: `__InstanceCreationEvent WITHIN 1` over
// Win32_Process (the built-in provider's class, polled) reports a process
// started after the subscription.
func TestWatchProviderClass(t *testing.T) {
	d := startDaemon(t)
	w := startWatch(t, nil, "--repo", d.repo, "-n", "root/cimv2", "watch",
		"SELECT * FROM __InstanceCreationEvent WITHIN 1 WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name = 'sleep'", "--heartbeat", "300ms")
	w.next(t, "progress")
	time.Sleep(1500 * time.Millisecond) // the first snapshot is taken
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "991"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { p.Kill(); p.Wait() }()
	for {
		ev := w.next(t, "event")
		if ev.TargetInstance()["Handle"] == fmt.Sprint(p.Pid) {
			if ev.Event != "__InstanceCreationEvent" {
				t.Fatalf("event %s", ev.Event)
			}
			return
		}
	}
}

// TestClientExecNotificationQuery: the network client's
// ExecNotificationQuery (through the event stream, on the local socket)
// yields events with their embedded objects decoded, as the in-process
// core does; ValidateEventQuery answers the server's errors.
func TestClientExecNotificationQuery(t *testing.T) {
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, err := client.Connect(ctx, "http://localhost", "root/sample", client.Options{Socket: filepath.Join(d.repo, "wbemd.sock")})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ValidateEventQuery(ctx, "WQL", "SELECT * FROM Sample_Disk"); cim.StatusOf(err) != cim.ENotEventClass {
		t.Errorf("ValidateEventQuery: %v, want WBEM_E_NOT_EVENT_CLASS", err)
	}
	// The language reaches the server, which takes DMTF:CQL and refuses
	// what it does not know.
	if err := svc.ValidateEventQuery(ctx, "DMTF:CQL", "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA Sample_Disk"); err != nil {
		t.Errorf("ValidateEventQuery in DMTF:CQL: %v", err)
	}
	if err := svc.ValidateEventQuery(ctx, "XPath", "/a"); cim.StatusOf(err) != cim.EInvalidQueryType {
		t.Errorf("ValidateEventQuery in XPath: %v, want WBEM_E_INVALID_QUERY_TYPE", err)
	}
	seq, err := svc.ExecNotificationQuery(ctx, "WQL", "SELECT * FROM __InstanceModificationEvent WHERE TargetInstance ISA 'Sample_Disk'", cimom.NotificationOptions{Progress: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	next, stop := iter.Pull2(seq)
	defer stop()
	if ev, err, _ := next(); err != nil || !ev.Progress {
		t.Fatalf("first: %+v %v", ev, err)
	}
	for _, model := range []string{"a", "b"} {
		if out, err := runWbem(nil, "--repo", d.repo, "-n", "root/sample", "put", "Sample_Disk", "Name=c1", "Model="+model); err != nil {
			t.Fatalf("put: %v\n%s", err, out)
		}
	}
	for {
		ev, err, _ := next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Progress {
			continue
		}
		m, _ := ev.Target.Get("Model")
		p, _ := ev.Previous.Get("Model")
		if ev.Class != "__InstanceModificationEvent" || m.V != "b" || p.V != "a" || ev.Rev == 0 || ev.Namespace != "root/sample" {
			t.Fatalf("event %+v: Model %v, previous %v", ev, m.V, p.V)
		}
		return
	}
}
