package linux

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// link is a network interface as netlink's RTM_GETLINK describes it.
type link struct {
	Index    int
	Name     string
	Flags    uint32
	Type     uint16 // ARPHRD_*
	MAC      net.HardwareAddr
	MTU      uint32
	Addrs    []ifAddr
	Gateways []net.IP
}

// ifAddr is one address of an interface (RTM_GETADDR).
type ifAddr struct {
	IP     net.IP
	Prefix int
}

const arphrdEther = 1

// Up reports IFF_UP.
func (l *link) Up() bool { return l.Flags&syscall.IFF_UP != 0 }

// MACText is the hardware address as WMI writes it: upper-case, colons.
func (l *link) MACText() string { return strings.ToUpper(l.MAC.String()) }

// links reads every interface and its addresses over netlink, and the
// default gateways from /proc/net/route and /proc/net/ipv6_route, ordered
// by index.
func links() ([]*link, error) {
	msgs, err := netlinkDump(syscall.RTM_GETLINK)
	if err != nil {
		return nil, err
	}
	byIndex := map[int]*link{}
	var out []*link
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < syscall.SizeofIfInfomsg {
			continue
		}
		ifi := (*syscall.IfInfomsg)(unsafe.Pointer(&m.Data[0]))
		l := &link{Index: int(ifi.Index), Flags: ifi.Flags, Type: ifi.Type}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFLA_IFNAME:
				l.Name = strings.TrimRight(string(a.Value), "\x00")
			case syscall.IFLA_ADDRESS:
				l.MAC = net.HardwareAddr(append([]byte{}, a.Value...))
			case syscall.IFLA_MTU:
				if len(a.Value) >= 4 {
					l.MTU = *(*uint32)(unsafe.Pointer(&a.Value[0]))
				}
			}
		}
		byIndex[l.Index] = l
		out = append(out, l)
	}
	msgs, err = netlinkDump(syscall.RTM_GETADDR)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWADDR || len(m.Data) < syscall.SizeofIfAddrmsg {
			continue
		}
		ifa := (*syscall.IfAddrmsg)(unsafe.Pointer(&m.Data[0]))
		l := byIndex[int(ifa.Index)]
		if l == nil {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		var local, address net.IP
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_LOCAL:
				local = net.IP(append([]byte{}, a.Value...))
			case syscall.IFA_ADDRESS:
				address = net.IP(append([]byte{}, a.Value...))
			}
		}
		if local == nil {
			local = address // IPv6 and point-to-point: IFA_ADDRESS is the address
		}
		if local != nil {
			l.Addrs = append(l.Addrs, ifAddr{IP: local, Prefix: int(ifa.Prefixlen)})
		}
	}
	for name, gw := range defaultGateways() {
		for _, l := range out {
			if l.Name == name {
				l.Gateways = append(l.Gateways, gw...)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// netlinkDump sends one dump request over a route netlink socket and
// returns its answer.
func netlinkDump(typ int) ([]syscall.NetlinkMessage, error) {
	b, err := syscall.NetlinkRIB(typ, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return msgs, nil
}

// defaultGateways reads the default routes' gateways by interface name.
func defaultGateways() map[string][]net.IP {
	out := map[string][]net.IP{}
	if f, err := os.Open(procRoot + "/net/route"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// Iface Destination Gateway Flags ... Mask
			f := strings.Fields(sc.Text())
			if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
				continue
			}
			g, err := hex.DecodeString(f[2])
			if err != nil || len(g) != 4 || f[2] == "00000000" {
				continue
			}
			out[f[0]] = append(out[f[0]], net.IPv4(g[3], g[2], g[1], g[0]))
		}
		f.Close()
	}
	if f, err := os.Open(procRoot + "/net/ipv6_route"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// dest destlen src srclen nexthop metric refcnt use flags iface
			f := strings.Fields(sc.Text())
			if len(f) < 10 || f[0] != strings.Repeat("0", 32) || f[1] != "00" || f[4] == strings.Repeat("0", 32) {
				continue
			}
			g, err := hex.DecodeString(f[4])
			if err != nil || len(g) != 16 {
				continue
			}
			out[f[9]] = append(out[f[9]], net.IP(g))
		}
		f.Close()
	}
	return out
}

// resolvConf is what /etc/resolv.conf says: the name servers, the
// search list and the domain.
type resolvConf struct {
	Servers, Search []string
	Domain          string
}

func readResolvConf() resolvConf {
	var rc resolvConf
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return rc
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.Servers = append(rc.Servers, f[1])
		case "search":
			rc.Search = f[1:]
		case "domain":
			rc.Domain = f[1]
		}
	}
	if rc.Domain == "" && len(rc.Search) > 0 {
		rc.Domain = rc.Search[0]
	}
	return rc
}

// linkSpeed is the interface's speed in bits per second from
// /sys/class/net/<name>/speed (Mb/s); ok false when the driver does not
// say.
func linkSpeed(name string) (uint64, bool) {
	b, err := os.ReadFile("/sys/class/net/" + name + "/speed")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return uint64(n) * 1e6, true
}

// subnetText is the subnet of an address as WMI writes IPSubnet: a dotted
// mask for IPv4, the prefix length for IPv6.
func subnetText(a ifAddr) string {
	if a.IP.To4() != nil {
		return net.IP(net.CIDRMask(a.Prefix, 32)).String()
	}
	return strconv.Itoa(a.Prefix)
}
