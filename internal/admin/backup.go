package admin

import (
	"net/http"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/store"
)

// BackupPath is where a running wbemd streams a backup: GET it (on any
// listener, with the credentials of the doors) to receive a consistent
// snapshot of the whole store, taken while writes continue, that opens as
// a repository of the same engine (`wbem repo backup FILE`). The caller
// needs the rights a change of root/wbemd needs (ENABLE and
// METHOD_EXECUTE there, and REMOTE_ENABLE over the network): a backup
// holds everything, password hashes included. A backup that fails after
// it began ends the answer without its last chunk, so that a client sees
// it cut short and never takes it for a whole one.
const BackupPath = "/wbemd/backup"

// BackupDoor describes the backup stream to the HTTP stack.
func BackupDoor() httpstack.Door {
	return httpstack.Door{Name: "backup", Operations: []string{"Backup"}}
}

// Backup returns the handler of BackupPath for the repository of om,
// kept in st.
func Backup(om *cimom.CIMOM, st store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httpstack.RecordFrom(r.Context())
		if rec != nil {
			rec.SetOperation("Backup", Namespace)
		}
		fail := func(code int, err error) {
			e := cim.AsError(err)
			if rec != nil {
				rec.Fail(e.Status, e.Description)
			}
			http.Error(w, e.Description, code)
		}
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			fail(http.StatusMethodNotAllowed, cim.Errorf(cim.ENotSupported, "a backup is read with GET"))
			return
		}
		p, _ := httpstack.PrincipalFrom(r.Context())
		if err := mayAdminister(r, om, p, "a backup"); err != nil {
			fail(http.StatusForbidden, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="repository.db"`)
		if err := st.Backup(r.Context(), w); err != nil {
			if rec != nil {
				rec.Fail(cim.EFailed, "backup: "+err.Error())
			}
			panic(http.ErrAbortHandler) // the client sees the stream cut short
		}
	})
}

// mayAdminister checks that p holds the rights a change of the
// administration namespace needs, which what (a backup, a profile) needs.
func mayAdminister(r *http.Request, om *cimom.CIMOM, p cimom.Principal, what string) error {
	svc, err := om.Connect(r.Context(), Namespace, p)
	if err != nil {
		return err
	}
	rights, err := svc.GetCallerAccessRights(r.Context())
	if err != nil {
		return err
	}
	if rights&cimom.RightMethodExecute == 0 {
		return cim.Errorf(cim.EAccessDenied, "%s lacks WBEM_METHOD_EXECUTE on namespace %s, which %s needs", p.Name, Namespace, what)
	}
	return nil
}
