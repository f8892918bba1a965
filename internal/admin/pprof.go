package admin

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
)

// PprofPath is where a wbemd started with --pprof serves Go's runtime
// profiles (net/http/pprof) to administrators: those who may change the
// administration namespace, as for a backup.
const PprofPath = "/debug/pprof/"

// PprofDoor is the door of PprofPath, for the access log and metrics.
func PprofDoor() httpstack.Door {
	return httpstack.Door{Name: "pprof", Operations: []string{"Profile"}}
}

// Pprof returns the handler of PprofPath for the repository of om: the
// index, cmdline, profile (CPU), symbol, trace and every named profile
// (heap, goroutine, allocs, block, mutex, threadcreate).
func Pprof(om *cimom.CIMOM) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httpstack.RecordFrom(r.Context())
		if rec != nil {
			rec.SetOperation("Profile", Namespace)
		}
		p, _ := httpstack.PrincipalFrom(r.Context())
		if err := mayAdminister(r, om, p, "a profile"); err != nil {
			e := cim.AsError(err)
			if rec != nil {
				rec.Fail(e.Status, e.Description)
			}
			http.Error(w, e.Description, http.StatusForbidden)
			return
		}
		switch name := strings.TrimPrefix(r.URL.Path, PprofPath); name {
		case "cmdline":
			pprof.Cmdline(w, r)
		case "profile":
			pprof.Profile(w, r)
		case "symbol":
			pprof.Symbol(w, r)
		case "trace":
			pprof.Trace(w, r)
		default:
			pprof.Index(w, r) // the index, and the named profiles
		}
	})
}
