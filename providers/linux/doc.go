// Package linux is wbemd's built-in providers: the live Linux machine as
// CIM objects, in DMTF's shape (the Linux_* classes of SBLIM's
// cmpi-base, subclasses of the CIM Schema 2.49) and in WMI's
// (Win32_OperatingSystem, Win32_Process, ... with WMI's keys, names,
// types and units). Every value is read from the kernel (/proc, /sys,
// statfs(2), netlink) or from systemd over D-Bus, per call and streamed;
// nothing runs ps. PROVIDERS.md has the table of every value's source and
// unit.
//
// The providers are written with the SDK (package provider) and run out
// of process like any other: wbemd registers them in root/cimv2 with
// Command "/proc/self/exe", so that the host is wbemd's own binary, and
// the environment variable HostEnv, which makes this package's init
// serve the wire instead of returning to main. MOF holds the class
// definitions and the registration (see server/builtin.go).
package linux
