package server

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/providers/linux"
)

// builtinNamespace receives the built-in providers.
const builtinNamespace = "root/cimv2"

// builtinMarker is the singleton in root that says the built-in
// providers were installed: wbemd installs them once per repository, so
// that an administrator who deleted them does not get them back. Delete
// it (`wbem -n root delete WBEMD_BuiltinProviders=@`) to install them
// again at the next start.
const builtinMarker = "WBEMD_BuiltinProviders"

const markerMOF = `#pragma namespace("root")
[Singleton, Description("wbemd installed its built-in providers (Linux_*, Win32_*) into Namespace; delete this instance to install them again at wbemd's next start.")]
class WBEMD_BuiltinProviders { string Namespace; };
instance of WBEMD_BuiltinProviders { Namespace = "root/cimv2"; };
`

// builtinInstaller is the principal the installation writes as.
var builtinInstaller = cimom.Principal{Name: "wbemd", Groups: []string{cimom.GroupAdministrators}}

// installBuiltins compiles the built-in providers (package
// providers/linux: the DMTF classes they derive from, their classes and
// their registration) into root/cimv2 of a repository that never had
// them. The DMTF classes are left out when root/cimv2 has the CIM schema
// already. The provider runs as root (LocalSystemHost) when wbemd does,
// else as wbemd's user. A failure is logged, and tried again at the next
// start; wbemd serves either way.
func installBuiltins(ctx context.Context, om *cimom.CIMOM, log *slog.Logger) {
	root, err := om.Connect(ctx, "root", builtinInstaller)
	if err != nil {
		log.Error("built-in providers not installed", "err", err)
		return
	}
	if _, err := root.GetObject(ctx, builtinMarker+"=@", 0, nil); err == nil {
		return
	} else if cim.StatusOf(err) != cim.ENotFound && cim.StatusOf(err) != cim.EInvalidClass {
		log.Error("built-in providers not installed", "err", err)
		return
	}
	files := linux.MOFFiles
	if svc, err := om.Connect(ctx, builtinNamespace, builtinInstaller); err == nil {
		if _, err := svc.GetObject(ctx, "CIM_ManagedElement", 0, nil); err == nil {
			files = files[1:] // the CIM schema is there
		}
	} else if _, err := om.CreateNamespace(ctx, builtinNamespace, builtinInstaller); err != nil {
		log.Error("built-in providers not installed", "err", err)
		return
	}
	hosting := ""
	if os.Geteuid() == 0 {
		hosting = `HostingModel = "LocalSystemHost";`
	}
	read := func(name string) ([]byte, error) {
		if name == "marker.mof" {
			return []byte(markerMOF), nil
		}
		b, err := fs.ReadFile(linux.MOF, name)
		return []byte(strings.Replace(string(b), `HostingModel = "@HOSTING@";`, hosting, 1)), err
	}
	unit, errs := mof.Load(append(files, "marker.mof"), nil, read)
	if len(errs) > 0 {
		log.Error("built-in providers not installed", "err", errs[0])
		return
	}
	opts := mof.Options{Namespace: builtinNamespace}
	// One transaction when the store takes it; else declaration by
	// declaration (an etcd cluster takes 128 writes per transaction), the
	// marker last, so that an interrupted install is done again.
	err = om.Batch(ctx, func(view *cimom.CIMOM) error {
		vroot, err := view.Connect(ctx, "root", builtinInstaller)
		if err != nil {
			return err
		}
		if _, errs := mof.Compile(ctx, vroot, unit, opts); len(errs) > 0 {
			return errs[0]
		}
		return nil
	})
	if err != nil {
		log.Info("built-in providers: one transaction failed, installing declaration by declaration", "err", err)
		if _, errs := mof.Compile(ctx, root, unit, opts); len(errs) > 0 {
			log.Error("built-in providers not installed", "err", errs[0])
			return
		}
	}
	log.Info("built-in providers installed", "namespace", builtinNamespace, "provider", linux.ProviderName)
}
