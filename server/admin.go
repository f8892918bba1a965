package server

import (
	"context"
	"net/http"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/admin"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/internal/version"
	"github.com/wbemd/wbemd/store"
)

// serveAdmin serves the administration of the repository (package
// admin): its classes in root/wbemd, the interop namespace, and the
// backup stream on mux.
func serveAdmin(ctx context.Context, cfg Config, om *cimom.CIMOM, db store.Store, stack *httpstack.Stack, mux *http.ServeMux) error {
	if err := admin.Attach(ctx, om, db, auth.New(db), admin.Options{Version: version.Get().Version, TempDir: cfg.Repo}); err != nil {
		return err
	}
	mux.Handle(admin.BackupPath, stack.Serve(admin.BackupDoor(), admin.Backup(om, db)))
	if cfg.Pprof {
		mux.Handle(admin.PprofPath, stack.Serve(admin.PprofDoor(), admin.Pprof(om)))
	}
	return nil
}
