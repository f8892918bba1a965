package linux

import (
	"context"

	"github.com/wbemd/wbemd/provider"
)

func diskClasses() map[string]*provider.Class {
	disks := fsClass(func(m machine, fs *mount) provider.Instance { return win32LogicalDisk(m, fs) }, "DeviceID", true)
	local := fsClass(func(m machine, fs *mount) provider.Instance { return linuxFileSystem(m, fs) }, "Name", false)
	hosted := fsClass(func(m machine, fs *mount) provider.Instance {
		return provider.Instance{"GroupComponent": m.csPath(), "PartComponent": linuxFileSystemPath(m, fs.Point)}
	}, "", false)
	return map[string]*provider.Class{
		"Win32_LogicalDisk":      disks,
		linuxFS:                  local,
		"Linux_HostedFileSystem": hosted,
	}
}

// fsClass serves a class with one instance per file system (network
// ones too when network): key is the property holding the mount point,
// by which Get and a query on it read one file system only.
func fsClass(build func(machine, *mount) provider.Instance, key string, network bool) *provider.Class {
	enum := func(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
		var only []string
		if key != "" {
			only, _ = provider.Equals(r.Query, key)
		}
		m := thisMachine()
		if only != nil {
			for _, point := range only {
				fs, err := findMount(point)
				if err != nil {
					return err
				}
				if fs != nil && (network || !fs.Network()) {
					if err := send(build(m, fs)); err != nil {
						return err
					}
				}
			}
			return nil
		}
		all, err := mounts(true)
		if err != nil {
			return err
		}
		for _, fs := range all {
			if !network && fs.Network() {
				continue
			}
			if err := send(build(m, fs)); err != nil {
				return err
			}
		}
		return nil
	}
	c := &provider.Class{Enumerate: enum, Query: enum, Get: getFrom(enum)}
	if key != "" {
		c.Get = func(ctx context.Context, r *provider.Request) (provider.Instance, error) {
			fs, err := findMount(r.Keys.String(key))
			if err != nil {
				return nil, err
			}
			if fs == nil || !network && fs.Network() {
				return nil, notFound(r)
			}
			inst := build(thisMachine(), fs)
			if !matches(inst, r.Keys) {
				return nil, notFound(r)
			}
			return inst, nil
		}
	}
	return c
}

func linuxFileSystemPath(m machine, point string) string {
	return path(linuxFS, "CSCreationClassName", linuxCS, "CSName", m.Host, "CreationClassName", linuxFS, "Name", point)
}

var driveDescriptions = map[uint32]string{2: "Removable Disk", 3: "Local Fixed Disk", 4: "Network Connection", 5: "CD-ROM Disc", 6: "RAM Disk"}

func win32LogicalDisk(m machine, fs *mount) provider.Instance {
	dt := fs.DriveType()
	inst := provider.Instance{
		"DeviceID": fs.Point, "Name": fs.Point, "Caption": fs.Point, "Description": driveDescriptions[dt],
		"DriveType": dt, "FileSystem": fs.Type, "CreationClassName": "Win32_LogicalDisk",
		"SystemCreationClassName": win32CS, "SystemName": m.Host, "Compressed": false,
	}
	switch dt {
	case 3:
		inst["MediaType"] = uint32(12)
	case 2:
		inst["MediaType"] = uint32(11)
	}
	access := uint16(3)
	if fs.ReadOnly {
		access = 1
	}
	inst["Access"] = access
	if dt == 4 {
		inst["ProviderName"] = fs.Source
	}
	if fs.statErr == nil {
		inst["Size"], inst["FreeSpace"] = fs.Size(), fs.Free()
		inst["BlockSize"], inst["NumberOfBlocks"] = fs.BlockSize(), fs.Stat.Blocks
		inst["MaximumComponentLength"] = uint32(fs.Stat.Namelen)
		inst["Status"] = "OK"
	} else {
		inst["Status"] = "Error"
	}
	if l := fs.diskLink("label"); l != "" {
		inst["VolumeName"] = l
	}
	if u := fs.diskLink("uuid"); u != "" {
		inst["VolumeSerialNumber"] = u
	}
	return inst
}

func linuxFileSystem(m machine, fs *mount) provider.Instance {
	inst := provider.Instance{
		"CSCreationClassName": linuxCS, "CSName": m.Host, "CreationClassName": linuxFS, "Name": fs.Point,
		"ElementName": fs.Point, "Caption": fs.Point, "Description": fs.Type + " file system on " + fs.Source,
		"Root": fs.Point, "FileSystemType": fs.Type, "ReadOnly": fs.ReadOnly, "CaseSensitive": true, "CasePreserved": true,
		"EnabledState": uint16(2), "OperationalStatus": []uint16{2},
	}
	if fs.Type == "tmpfs" || fs.Type == "ramfs" {
		inst["PersistenceType"] = uint16(3)
	} else {
		inst["PersistenceType"] = uint16(2)
	}
	if fs.statErr == nil {
		inst["FileSystemSize"], inst["AvailableSpace"], inst["BlockSize"] = fs.Size(), fs.Free(), fs.BlockSize()
		inst["MaxFileNameLength"] = uint32(fs.Stat.Namelen)
		inst["NumberOfFiles"] = fs.Stat.Files - fs.Stat.Ffree
	}
	return inst
}
