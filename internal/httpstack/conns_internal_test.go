package httpstack

import (
	"net"
	"testing"
)

// TestHostOf: connections count against their IPv4 address, or their
// IPv6 /64 (an IPv4-mapped IPv6 address is its IPv4 address).
func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
	} {
		if got := hostOf(&net.TCPAddr{IP: net.ParseIP(in), Port: 5988}); got != want {
			t.Errorf("hostOf(%s) = %s, want %s", in, got, want)
		}
	}
}
