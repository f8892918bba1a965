package httpstack

import "os"

// HostName returns the host name a door writes in its answers: name, or
// when it is empty the system's host name ("localhost" if it has none).
func HostName(name string) string {
	if name == "" {
		name, _ = os.Hostname()
	}
	if name == "" {
		name = "localhost"
	}
	return name
}
