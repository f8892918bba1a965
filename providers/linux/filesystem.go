package linux

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// mount is one file system as /proc/self/mountinfo and statfs(2) give it.
type mount struct {
	Point, Type, Source string
	Dev                 string // major:minor
	ReadOnly            bool
	Stat                syscall.Statfs_t
	statErr             error
}

// network file system types: DriveType 4, not local.
var networkFS = map[string]bool{"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "ncpfs": true,
	"9p": true, "ceph": true, "glusterfs": true, "afs": true, "sshfs": true, "fuse.sshfs": true, "davfs": true}

// virtual file systems that hold files (the kernel marks them nodev):
// they are listed, as df lists them.
var storageNodev = map[string]bool{"tmpfs": true, "overlay": true, "aufs": true, "virtiofs": true, "zfs": true, "ramfs": true}

// nodevTypes reads the file system types /proc/filesystems marks nodev
// (proc, sysfs, cgroup, ...: no storage behind them).
func nodevTypes() map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile(procRoot + "/filesystems")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if t, ok := strings.CutPrefix(line, "nodev\t"); ok {
			out[strings.TrimSpace(t)] = true
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mounts lists the file systems that hold files: those with storage
// behind them (a device, or tmpfs, overlay and the like, and network file
// systems), one per mount point (the one mounted last, which hides the
// others), in mount order. Pseudo file systems (proc, sysfs, cgroup, ...)
// and file systems mounted below /proc and /sys are left out. statfs is
// only called when stat is true.
func mounts(stat bool) ([]*mount, error) {
	b, err := os.ReadFile(procRoot + "/self/mountinfo")
	if err != nil {
		return nil, err
	}
	nodev := nodevTypes()
	var out []*mount
	at := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - type source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 6 || len(g) < 2 {
			continue
		}
		m := &mount{Dev: f[2], Point: unescapeMount(f[4]), Type: g[0], Source: unescapeMount(g[1])}
		for _, o := range strings.Split(f[5], ",") {
			m.ReadOnly = m.ReadOnly || o == "ro"
		}
		if nodev[m.Type] && !storageNodev[m.Type] && !networkFS[m.Type] && !strings.HasPrefix(m.Type, "fuse.") {
			continue
		}
		if under(m.Point, "/proc") || under(m.Point, "/sys") {
			continue
		}
		if i, dup := at[m.Point]; dup {
			out[i] = nil
		}
		at[m.Point] = len(out)
		out = append(out, m)
	}
	kept := out[:0]
	for _, m := range out {
		if m == nil {
			continue
		}
		if stat {
			m.statErr = syscall.Statfs(m.Point, &m.Stat)
		}
		kept = append(kept, m)
	}
	return kept, sc.Err()
}

// findMount returns the file system mounted at point (nil when none).
func findMount(point string) (*mount, error) {
	all, err := mounts(false)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		if m.Point == point {
			m.statErr = syscall.Statfs(m.Point, &m.Stat)
			return m, nil
		}
	}
	return nil, nil
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// Network reports a network file system.
func (m *mount) Network() bool { return networkFS[m.Type] }

// Size, Free (for unprivileged users, as df's Avail) and BlockSize in
// bytes, from statfs.
func (m *mount) Size() uint64      { return m.Stat.Blocks * uint64(m.frsize()) }
func (m *mount) Free() uint64      { return m.Stat.Bavail * uint64(m.frsize()) }
func (m *mount) BlockSize() uint64 { return uint64(m.frsize()) }

func (m *mount) frsize() int64 {
	if m.Stat.Frsize > 0 {
		return m.Stat.Frsize
	}
	return m.Stat.Bsize
}

// DriveType is Win32_LogicalDisk's: 2 removable, 3 local disk, 4 network,
// 5 compact disc, 6 RAM disk.
func (m *mount) DriveType() uint32 {
	switch {
	case m.Network():
		return 4
	case m.Type == "iso9660" || m.Type == "udf":
		return 5
	case m.Type == "tmpfs" || m.Type == "ramfs":
		return 6
	case m.removable():
		return 2
	}
	return 3
}

// removable reads the removable flag of the block device (or of the disk
// a partition is on).
func (m *mount) removable() bool {
	dir := "/sys/dev/block/" + m.Dev
	for _, f := range []string{dir + "/removable", dir + "/../removable"} {
		if b, err := os.ReadFile(f); err == nil {
			return strings.TrimSpace(string(b)) == "1"
		}
	}
	return false
}

// diskLink finds the name under /dev/disk/by-<kind> that points at the
// mount's device ("" when none): its label or UUID.
func (m *mount) diskLink(kind string) string {
	if !strings.HasPrefix(m.Source, "/dev/") {
		return ""
	}
	dev, err := filepath.EvalSymlinks(m.Source)
	if err != nil {
		return ""
	}
	dir := "/dev/disk/by-" + kind
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if t, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name())); err == nil && t == dev {
			return unescapeUdev(e.Name())
		}
	}
	return ""
}

// unescapeUdev undoes udev's \x20 escapes in link names.
func unescapeUdev(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			var v byte
			ok := true
			for _, c := range []byte{s[i+2], s[i+3]} {
				switch {
				case c >= '0' && c <= '9':
					v = v<<4 | (c - '0')
				case c >= 'a' && c <= 'f':
					v = v<<4 | (c - 'a' + 10)
				case c >= 'A' && c <= 'F':
					v = v<<4 | (c - 'A' + 10)
				default:
					ok = false
				}
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
