// Package sdnotify tells the service manager how the daemon is doing: the
// sd_notify(3) protocol of a systemd unit with Type=notify, one datagram of
// "NAME=value" lines to the socket named by $NOTIFY_SOCKET.
//
// The daemon says READY=1 once its listeners are open (systemd then starts
// the units ordered after it), RELOADING=1 and READY=1 around a reload,
// and STOPPING=1 when it begins to drain.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// The states a daemon reports (sd_notify(3)).
const (
	// Ready: start-up is finished and the service answers.
	Ready = "READY=1"
	// Reloading: the service is reloading its configuration; it sends
	// Ready again when done.
	Reloading = "RELOADING=1"
	// Stopping: the service is shutting down.
	Stopping = "STOPPING=1"
)

// EnvSocket is the environment variable systemd sets for a Type=notify
// service.
const EnvSocket = "NOTIFY_SOCKET"

// A Notifier sends state changes to the service manager. A nil Notifier
// (the daemon was not started by one) sends nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// FromEnv returns the Notifier for $NOTIFY_SOCKET, or nil when it is unset,
// and removes the variable from the environment, so that the processes the
// daemon starts do not inherit it and speak for the daemon.
func FromEnv() (*Notifier, error) {
	name := os.Getenv(EnvSocket)
	if name == "" {
		return nil, nil
	}
	os.Unsetenv(EnvSocket)
	// A path, or "@name" for an abstract socket, which the net package
	// maps to the Linux abstract namespace itself.
	if !strings.HasPrefix(name, "/") && !strings.HasPrefix(name, "@") {
		return nil, fmt.Errorf("sdnotify: $%s=%q: only a socket path or @abstract name is supported", EnvSocket, name)
	}
	return &Notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}}, nil
}

// Notify sends the states (Ready, "STATUS=serving", ...) in one datagram.
func (n *Notifier) Notify(states ...string) error {
	if n == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sdnotify: %s: %w", n.addr.Name, err)
	}
	return nil
}
