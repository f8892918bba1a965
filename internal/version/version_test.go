package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build information", "", nil, Info{Version: "devel"}},
		{"stamped, no build information", "1.2.3", nil, Info{Version: "1.2.3"}},
		{"stamped beats the module version", "1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}}, Info{Version: "1.2.3"}},
		{"module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.9.0"}}, Info{Version: "v0.9.0"}},
		{"a local build", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Info{Version: "devel"}},
		{"revision of a modified tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Version: "devel", Revision: "0123456789abcdef-dirty"}},
		{"clean revision", "2.0", &debug.BuildInfo{Settings: vcs[:1]}, Info{Version: "2.0", Revision: "0123456789abcdef"}},
	} {
		got := get(tc.stamped, tc.bi)
		tc.want.Go, tc.want.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := get("", &debug.BuildInfo{GoVersion: "go1.99"}).Go; got != "go1.99" {
		t.Errorf("Go version from the build information: %q", got)
	}
}

func TestLine(t *testing.T) {
	i := Info{Version: "1.2.3", Revision: "abc", Go: "go1.26.0", Platform: "linux/amd64"}
	if got, want := i.Line("wbemd"), "wbemd 1.2.3 (revision abc, go1.26.0, linux/amd64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	i.Revision = ""
	if got, want := i.Line("wbem"), "wbem 1.2.3 (go1.26.0, linux/amd64)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
