// Package scripts holds the project's shell scripts (demo, tests, Debian
// package); its tests run them.
package scripts

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demo runs scripts/demo.sh with env until it serves (it prints
// "Serving."), stops the wbemd it became, and returns what it printed.
// A demo that fails before serving returns its output and error.
func demo(t *testing.T, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("./demo.sh")
	// TCP port 0: the system picks free ports, so that the test never
	// meets another wbemd.
	cmd.Env = append(os.Environ(), "WBEMD_HTTP=127.0.0.1:0", "WBEMD_HTTPS=127.0.0.1:0",
		"WBEMD_WSMAN_HTTP=127.0.0.1:0", "WBEMD_WSMAN_HTTPS=127.0.0.1:0")
	cmd.Env = append(cmd.Env, env...)
	// One pipe for both streams, so that errors show where a terminal
	// would show them.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder // written by the reader until done is closed
	serving, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		said := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Serving.") && !said {
				said = true
				close(serving)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-serving:
	case <-done: // the demo stopped before serving
		err := cmd.Wait()
		return out.String(), err
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		<-done
		t.Fatalf("the demo did not serve within 5 minutes:\n%s", out.String())
	}
	// The script execs wbemd: the same process. Give it time to open its
	// listeners (a signal during start-up is still a clean stop).
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	<-done
	if err != nil {
		t.Errorf("wbemd did not stop cleanly: %v\n%s", err, out.String())
	}
	return out.String(), nil
}

// TestDemo runs the demo twice and checks that it deletes nothing it did
// not make ($WBEM_REPO, a folder it finds in its place), that it deletes
// its own repository of a previous run, and that the commands it prints
// give, pasted into a shell, what the demo showed.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs wbem and wbemd")
	}
	dir := t.TempDir()
	user := filepath.Join(dir, "my-repo")
	os.MkdirAll(user, 0o700)
	os.WriteFile(filepath.Join(user, "keep"), []byte("mine"), 0o600)

	// A folder the demo did not make stays, and the demo says why it stops.
	out, err := demo(t, "WBEM_REPO="+user, "WBEMD_DEMO_REPO="+user)
	if err == nil || !strings.Contains(out, "was not made by this demo") {
		t.Fatalf("the demo ran in a folder it did not make: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(user, "keep")); string(b) != "mine" {
		t.Fatal("the demo deleted a file it did not make")
	}

	repo := filepath.Join(dir, "demo")
	for run := 1; run <= 2; run++ {
		out, err = demo(t, "WBEM_REPO="+user, "WBEMD_DEMO_REPO="+repo)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		if b, _ := os.ReadFile(filepath.Join(user, "keep")); string(b) != "mine" {
			t.Fatalf("run %d: the demo touched $WBEM_REPO", run)
		}
		if run == 1 {
			// Left in the demo's repository: run 2 starts over.
			os.WriteFile(filepath.Join(repo, "left"), nil, 0o600)
		} else if _, err := os.Stat(filepath.Join(repo, "left")); err == nil {
			t.Errorf("run 2 did not replace the demo's repository of run 1")
		}
	}

	// Paste the commands it printed, in order, into a shell set up as it
	// says (with a new repository of its own), and compare the answers.
	setup := ""
	var cmds []string
	shown := map[string]string{}
	cmd := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# wbemd serves ") {
			break // what follows needs the demo's wbemd, which the paste does not start
		}
		switch {
		case strings.HasPrefix(l, "# To run these commands yourself: "):
			setup = strings.TrimPrefix(l, "# To run these commands yourself: ")
		case strings.HasPrefix(l, "$ wbem "):
			cmd = strings.TrimPrefix(l, "$ ")
			cmds = append(cmds, cmd)
		case cmd != "" && l == "":
			cmd = ""
		case cmd != "":
			shown[cmd] += l + "\n"
		}
	}
	if setup == "" || len(cmds) < 8 {
		t.Fatalf("the demo does not say how to run its commands, or shows few:\n%s", out)
	}
	script := setup + "\nexport WBEM_REPO=" + filepath.Join(dir, "pasted") + "\n"
	for _, c := range cmds {
		script += c + " 2>&1 || echo \"(exit status $?)\"\necho '-- next'\n"
	}
	got, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		t.Fatalf("pasted commands: %v\n%s", err, got)
	}
	answers := strings.Split(string(got), "-- next\n")
	for i, c := range cmds {
		if strings.Contains(c, " mofcomp ") || strings.Contains(c, " user list") {
			continue // a compile's time; the user the demo adds from a pipe
		}
		if answers[i] != shown[c] {
			t.Errorf("pasted %s:\n%s\nthe demo showed:\n%s", c, answers[i], shown[c])
		}
	}
}
