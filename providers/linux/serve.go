package linux

import (
	"embed"
	"fmt"
	"log/slog"
	"os"

	"github.com/wbemd/wbemd/provider"
)

// HostEnv is the environment variable that makes a binary linking this
// package a host of the built-in providers: its init serves them on the
// wire (file descriptor 3) and exits.
const HostEnv = "WBEMD_BUILTIN_PROVIDERS"

// MOF holds the built-ins' MOF files, in the order they compile:
// cim.mof (the DMTF classes they derive from), linux.mof, win32.mof and
// register.mof (the provider registrations).
//
//go:embed mof/*.mof
var MOF embed.FS

// MOFFiles are the names of MOF's files, in compile order.
var MOFFiles = []string{"mof/cim.mof", "mof/linux.mof", "mof/win32.mof", "mof/register.mof"}

// ProviderName is the name of the built-in provider
// (__Win32Provider.Name) that serves every built-in class.
const ProviderName = "WBEMD_Linux"

func init() {
	switch os.Getenv(HostEnv) {
	case "":
		return
	case helperMode:
		os.Exit(runHelper())
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := provider.Serve(Provider()); err != nil {
		fmt.Fprintln(os.Stderr, "wbemd built-in providers:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
