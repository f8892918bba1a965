package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen opens a datagram socket as systemd does for a Type=notify unit.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	for _, name := range []string{
		filepath.Join(t.TempDir(), "notify"),
		fmt.Sprintf("@wbemd-sdnotify-test-%d", os.Getpid()),
	} {
		conn := listen(t, name)
		t.Setenv(EnvSocket, name)
		n, err := FromEnv()
		if err != nil || n == nil {
			t.Fatalf("%s: FromEnv: %v, %v", name, n, err)
		}
		if v, ok := os.LookupEnv(EnvSocket); ok {
			t.Errorf("$%s is still set (%q): started processes would inherit it", EnvSocket, v)
		}
		if err := n.Notify(Ready, "STATUS=serving"); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, conn); got != "READY=1\nSTATUS=serving" {
			t.Errorf("%s: received %q", name, got)
		}
		if err := n.Notify(Stopping); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, conn); got != "STOPPING=1" {
			t.Errorf("%s: received %q", name, got)
		}
	}
}

func TestNoManager(t *testing.T) {
	t.Setenv(EnvSocket, "")
	n, err := FromEnv()
	if n != nil || err != nil {
		t.Fatalf("without $%s: %v, %v", EnvSocket, n, err)
	}
	if err := n.Notify(Ready); err != nil {
		t.Errorf("a nil Notifier: %v", err)
	}
}

func TestBadSocket(t *testing.T) {
	t.Setenv(EnvSocket, "vsock:2:1234")
	if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "vsock:2:1234") {
		t.Errorf("unsupported address: %v", err)
	}
	t.Setenv(EnvSocket, filepath.Join(t.TempDir(), "nobody-listens"))
	n, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(Ready); err == nil {
		t.Error("a socket nobody listens on: no error")
	}
}
