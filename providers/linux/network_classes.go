package linux

import (
	"context"
	"net"
	"strconv"

	"github.com/wbemd/wbemd/provider"
)

func networkClasses() map[string]*provider.Class {
	port := linkClass(func(m machine, l *link, rc resolvConf, send func(provider.Instance) error) error {
		if l.Type != arphrdEther {
			return nil
		}
		return send(linuxEthernetPort(m, l))
	})
	endpoint := linkClass(func(m machine, l *link, rc resolvConf, send func(provider.Instance) error) error {
		for _, a := range l.Addrs {
			if err := send(linuxIPEndpoint(m, l, a)); err != nil {
				return err
			}
		}
		return nil
	})
	config := linkClass(func(m machine, l *link, rc resolvConf, send func(provider.Instance) error) error {
		return send(win32NetworkAdapterConfiguration(m, l, rc))
	})
	return map[string]*provider.Class{
		linuxPort:                           port,
		linuxIP:                             endpoint,
		"Win32_NetworkAdapterConfiguration": config,
	}
}

// linkClass serves a class made of the network interfaces.
func linkClass(each func(machine, *link, resolvConf, func(provider.Instance) error) error) *provider.Class {
	enum := func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		ls, err := links()
		if err != nil {
			return err
		}
		m, rc := thisMachine(), readResolvConf()
		for _, l := range ls {
			if err := each(m, l, rc, send); err != nil {
				return err
			}
		}
		return nil
	}
	return &provider.Class{Enumerate: enum, Get: getFrom(enum)}
}

func linuxEthernetPort(m machine, l *link) provider.Instance {
	mac := l.MAC.String()
	enabled := uint16(3)
	if l.Up() {
		enabled = 2
	}
	inst := provider.Instance{
		"SystemCreationClassName": linuxCS, "SystemName": m.Host, "CreationClassName": linuxPort, "DeviceID": l.Name,
		"Name": l.Name, "ElementName": l.Name, "Caption": l.Name, "PermanentAddress": macNoColons(l.MAC),
		"NetworkAddresses": []string{mac}, "ActiveMaximumTransmissionUnit": uint64(l.MTU), "LinkTechnology": uint16(2),
		"EnabledState": enabled, "OperationalStatus": []uint16{2},
	}
	if s, ok := linkSpeed(l.Name); ok {
		inst["Speed"] = s
	}
	return inst
}

func macNoColons(mac net.HardwareAddr) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, 2*len(mac))
	for _, c := range mac {
		b = append(b, hex[c>>4], hex[c&15])
	}
	return string(b)
}

func linuxIPEndpoint(m machine, l *link, a ifAddr) provider.Instance {
	inst := provider.Instance{
		"SystemCreationClassName": linuxCS, "SystemName": m.Host, "CreationClassName": linuxIP,
		"Name": l.Name + "/" + a.IP.String(), "ElementName": l.Name, "NameFormat": "<interface>/<address>",
		"EnabledState": uint16(2), "OperationalStatus": []uint16{2},
	}
	if v4 := a.IP.To4(); v4 != nil {
		inst["IPv4Address"], inst["SubnetMask"], inst["ProtocolIFType"] = v4.String(), subnetText(a), uint16(4096)
	} else {
		inst["IPv6Address"], inst["PrefixLength"], inst["ProtocolIFType"] = a.IP.String(), uint8(a.Prefix), uint16(4097)
	}
	return inst
}

func win32NetworkAdapterConfiguration(m machine, l *link, rc resolvConf) provider.Instance {
	var ips, subnets, gws []string
	for _, a := range l.Addrs {
		ips = append(ips, a.IP.String())
		subnets = append(subnets, subnetText(a))
	}
	for _, g := range l.Gateways {
		gws = append(gws, g.String())
	}
	ipEnabled := l.Up() && len(ips) > 0
	inst := provider.Instance{
		"Index": uint32(l.Index), "InterfaceIndex": uint32(l.Index), "Description": l.Name, "ServiceName": l.Name,
		"Caption": "[" + strconv.Itoa(l.Index) + "] " + l.Name, "SettingID": l.Name, "IPEnabled": ipEnabled,
		"MTU": l.MTU, "DNSHostName": m.Host,
	}
	if len(l.MAC) > 0 {
		inst["MACAddress"] = l.MACText()
	}
	if ipEnabled {
		inst["IPAddress"], inst["IPSubnet"] = ips, subnets
		if gws != nil {
			inst["DefaultIPGateway"] = gws
		}
		if rc.Servers != nil {
			inst["DNSServerSearchOrder"] = rc.Servers
		}
		if rc.Search != nil {
			inst["DNSDomainSuffixSearchOrder"] = rc.Search
		}
		if rc.Domain != "" {
			inst["DNSDomain"] = rc.Domain
		}
	}
	return inst
}
