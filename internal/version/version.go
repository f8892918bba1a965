// Package version says which build of wbem and wbemd is running: the
// version a package build stamps in, or else what the Go toolchain recorded
// (the module version and the version-control revision), the Go version and
// the platform.
//
// A package build sets the version with
//
//	go build -ldflags "-X github.com/wbemd/wbemd/internal/version.Version=1.2.3" ./cmd/...
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the release version stamped at build time with -ldflags -X; a
// plain go build leaves it empty and Get falls back to the build
// information.
var Version string

// Info describes one build.
type Info struct {
	// Version is the stamped version, else the main module's version
	// from the build information, else "devel".
	Version string `json:"version"`
	// Revision is the version-control revision the binary was built
	// from, with "-dirty" when the tree had uncommitted changes; empty
	// when the build recorded none (-buildvcs=false, or no repository).
	Revision string `json:"revision,omitempty"`
	// Go is the toolchain that built the binary (runtime.Version).
	Go string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns the running binary's build description.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(Version, bi)
}

// get is Get with the stamped version and the build information given, so
// that every combination can be tested.
func get(stamped string, bi *debug.BuildInfo) Info {
	info := Info{Version: stamped, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	if bi.GoVersion != "" {
		info.Go = bi.GoVersion
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if info.Revision != "" && dirty {
		info.Revision += "-dirty"
	}
	return info
}

// Line is the one-line form that --version prints:
// "wbemd 1.2.3 (revision 0123abcd, go1.26.0, linux/amd64)".
func (i Info) Line(program string) string {
	rev := ""
	if i.Revision != "" {
		rev = "revision " + i.Revision + ", "
	}
	return fmt.Sprintf("%s %s (%s%s, %s)", program, i.Version, rev, i.Go, i.Platform)
}
