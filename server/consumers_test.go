package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// publicDir is a directory every user may write (the consumer user
// writes there), removed at the end of the test.
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wbemd-consumers-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// mofcomp compiles MOF text into root/subscription of d as admin.
func mofcomp(t *testing.T, d *daemon, text string) (string, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sub.mof")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return runWbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "-n", "root/subscription", "mofcomp", "--no-atomic", f)
}

// logLines waits until the log file holds a line for every name of want
// (in their order, a line repeated at most as at-least-once allows), and
// returns its lines.
func logLines(t *testing.T, path string, want []string, within time.Duration, d *daemon) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			lines = nil
		}
		have := map[string]bool{}
		for _, l := range lines {
			have[l] = true
		}
		missing := ""
		for _, w := range want {
			if !have["created "+w+" model m"] {
				missing = w
				break
			}
		}
		if missing == "" {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks the line of %s after %v (%d lines):\n%s\nwbemd's log:\n%s", path, missing, within, len(lines), b, d.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLog waits until d has logged a line holding every text.
func waitLog(t *testing.T, d *daemon, texts ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range strings.Split(d.log.String(), "\n") {
			all := true
			for _, text := range texts {
				all = all && strings.Contains(line, text)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("wbemd did not log a line with %q:\n%s", texts, d.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkLogOrder checks that the lines are the events of names, in the
// order of names, each at least once where acknowledged, none invented:
// a line repeats only as a redelivery of a suffix (after a restart).
func checkLogOrder(t *testing.T, lines, names []string) {
	t.Helper()
	index := map[string]int{}
	for i, n := range names {
		index["created "+n+" model m"] = i
	}
	last := -1
	for _, l := range lines {
		i, ok := index[l]
		if !ok {
			t.Errorf("invented line %q", l)
			continue
		}
		if i > last+1 {
			t.Errorf("line %q comes after %d: a gap", l, last)
		}
		last = i
	}
}

// TestWMIPermanentSubscriptions: an __EventFilter, a LogFileEventConsumer
// and their __FilterToConsumerBinding compiled with wbem mofcomp into
// root/subscription log a line per created instance with the template's
// substitutions; a bad query and a binding to a missing consumer are
// refused and store nothing; after kill -9 during a stream of writes and a
// restart, every acknowledged write has its line, in order; a
// CommandLineEventConsumer runs its command as the consumer user (nobody,
// uid 65534: the command writes id -u), and is refused when that user is
// root without --consumer-allow-root.
func TestWMIPermanentSubscriptions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching to the consumer user needs root")
	}
	dir := publicDir(t)
	d := startDaemon(t)
	waitLog(t, d, `msg="CommandLineEventConsumer commands run as nobody (uid 65534)"`)
	logPath := filepath.Join(dir, "disks.log")

	// Refused: a bad query (with its position), a binding to a missing
	// consumer. Nothing is stored.
	if o, err := mofcomp(t, d, `instance of __EventFilter { Name = "bad"; QueryLanguage = "WQL";
  Query = "SELECT * FROM __InstanceCreationEvent WHERE"; EventNamespace = "root/sample"; };`); err == nil ||
		!strings.Contains(o, "INVALID_QUERY") || !strings.Contains(o, "1:44") {
		t.Fatalf("a bad query: %v\n%s", err, o)
	}
	good := `instance of __EventFilter as $F { Name = "disks"; QueryLanguage = "WQL"; EventNamespace = "root/sample";
  Query = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Sample_Disk'"; };
`
	if o, err := mofcomp(t, d, good+`instance of __FilterToConsumerBinding { Filter = $F; Consumer = "LogFileEventConsumer.Name=\"nothere\""; };`); err == nil ||
		!strings.Contains(o, "does not exist") || !strings.Contains(o, "Consumer") {
		t.Fatalf("a binding to a missing consumer: %v\n%s", err, o)
	}
	wbem := func(ns string, args ...string) string {
		t.Helper()
		o, err := runWbem([]string{"WBEM_PASSWORD=secret"}, append([]string{"--url", "http://" + d.http, "--user", "admin", "-n", ns}, args...)...)
		if err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, o)
		}
		return strings.TrimSpace(o)
	}
	if o := wbem("root/subscription", "enum", "--names", "__FilterToConsumerBinding"); o != "" {
		t.Fatalf("a refused binding was stored: %s", o)
	}

	if o, err := mofcomp(t, d, good+fmt.Sprintf(`instance of LogFileEventConsumer as $L { Name = "disklog"; Filename = %q;
  Text = "created %%TargetInstance.Name%% model %%TargetInstance.Model%%"; MaximumFileSize = 0; };
instance of __FilterToConsumerBinding { Filter = $F; Consumer = $L; DeliverSynchronously = FALSE; };
`, logPath)); err != nil {
		t.Fatalf("mofcomp: %v\n%s", err, o)
	}
	waitLog(t, d, `msg="permanent event consumer created" user=admin remote=true namespace=root/subscription consumer="LogFileEventConsumer.Name=\"disklog\""`)
	// A subscription in the filter's own namespace, the consumer class
	// compiled there as in WMI.
	sampleLog := filepath.Join(dir, "sample.log")
	f := filepath.Join(t.TempDir(), "sample.mof")
	os.WriteFile(f, []byte(fmt.Sprintf(`class LogFileEventConsumer : __EventConsumer { [key] string Name; string Filename; string Text;
  uint64 MaximumFileSize = 65535; boolean IsUnicode = FALSE; };
instance of __EventFilter as $F { Name = "local"; QueryLanguage = "WQL";
  Query = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Sample_Disk'"; };
instance of LogFileEventConsumer as $L { Name = "local"; Filename = %q; Text = "created %%TargetInstance.Name%% model %%TargetInstance.Model%%"; };
instance of __FilterToConsumerBinding { Filter = $F; Consumer = $L; };
`, sampleLog)), 0o600)
	if o, err := runWbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d.http, "--user", "admin", "-n", "root/sample", "mofcomp", "--no-atomic", f); err != nil {
		t.Fatalf("mofcomp into root/sample: %v\n%s", err, o)
	}
	var written []string
	for i := range 5 {
		name := fmt.Sprintf("up%d", i)
		wbem("root/sample", "put", "Sample_Disk", "Name="+name, "Model=m")
		written = append(written, name)
	}
	lines := logLines(t, logPath, written, time.Minute, d)
	checkLogOrder(t, lines, written)
	checkLogOrder(t, logLines(t, sampleLog, written, time.Minute, d), written)
	if len(lines) != len(written) {
		t.Errorf("%d lines for %d writes without a restart:\n%s", len(lines), len(written), strings.Join(lines, "\n"))
	}

	// kill -9 during a stream of writes, restart.
	c, cls := sampleDisks(t, d)
	var mu sync.Mutex
	var attempted, acked []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
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
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.kill()
	<-done
	d2 := startDaemonOn(t, d.repo)
	mu.Lock()
	all := append(append([]string(nil), written...), attempted...)
	want := append(append([]string(nil), written...), acked...)
	mu.Unlock()
	lines = logLines(t, logPath, want, 2*time.Minute, d2)
	checkLogOrder(t, lines, all)
	t.Logf("%d acknowledged writes in the stream, %d lines in all (%d more than acknowledged writes)", len(acked), len(lines), len(lines)-len(want))

	// CommandLineEventConsumer as nobody.
	if o, err := mofcomp(t, d2, fmt.Sprintf(`instance of __EventFilter as $F { Name = "cmd"; QueryLanguage = "WQL"; EventNamespace = "root/sample";
  Query = "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Sample_Disk' AND TargetInstance.Model = 'cmd'"; };
instance of CommandLineEventConsumer as $C { Name = "uid"; KillTimeout = 10;
  CommandLineTemplate = "/bin/sh -c \"id -u > %s/uid-%%TargetInstance.Name%%\""; };
instance of __FilterToConsumerBinding { Filter = $F; Consumer = $C; };
`, dir)); err != nil {
		t.Fatalf("mofcomp: %v\n%s", err, o)
	}
	wbem2 := func(args ...string) {
		t.Helper()
		if o, err := runWbem([]string{"WBEM_PASSWORD=secret"}, append([]string{"--url", "http://" + d2.http, "--user", "admin", "-n", "root/sample"}, args...)...); err != nil {
			t.Fatalf("wbem %v: %v\n%s", args, err, o)
		}
	}
	wbem2("put", "Sample_Disk", "Name=c1", "Model=cmd")
	uidFile := filepath.Join(dir, "uid-c1")
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(uidFile)
		if err == nil && len(b) > 0 {
			if got := strings.TrimSpace(string(b)); got != "65534" {
				t.Errorf("the command ran as uid %s, want 65534 (nobody)", got)
			}
			st, _ := os.Stat(uidFile)
			if st != nil {
				t.Logf("uid-c1 owned by %v", st.Sys())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command did not run:\n%s", d2.log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// As root without --consumer-allow-root: refused, logged.
	d2.kill()
	d3 := startDaemonOn(t, d.repo, "--consumer-user", "root")
	if o, err := runWbem([]string{"WBEM_PASSWORD=secret"}, "--url", "http://"+d3.http, "--user", "admin", "-n", "root/sample", "put", "Sample_Disk", "Name=c2", "Model=cmd"); err != nil {
		t.Fatalf("put: %v\n%s", err, o)
	}
	waitLog(t, d3, `msg="CommandLineEventConsumer commands will be refused"`, "wbemd runs commands as root only with --consumer-allow-root")
	waitLog(t, d3, `msg="indication delivery failed; retrying"`, `destination="root/subscription:CommandLineEventConsumer.Name=`, "CommandLineEventConsumer refused: the consumer user")
	if _, err := os.Stat(filepath.Join(dir, "uid-c2")); err == nil {
		t.Errorf("the command ran as root without --consumer-allow-root")
	}
}
