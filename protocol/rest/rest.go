package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/httpstack"
)

// Prefix is where the door's resources live.
const Prefix = "/api/v1/"

// ClientHeader is the header a browser page sends with every request,
// which makes unsafe methods acceptable (see the package documentation).
const ClientHeader = "X-WBEM-Client"

// DefaultLimit and MaxLimit bound a page of instances or query results.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Handler serves the JSON door for the object manager it connects to.
type Handler struct {
	// Connector opens the caller's connections to namespaces.
	Connector cimom.Connector
	// Namespaces lists every namespace of the repository (the door shows
	// the caller those it may connect to); nil lists root's __Namespace
	// instances.
	Namespaces func(ctx context.Context) ([]string, error)
	// Events, when not nil, serves /api/v1/events (the watch stream).
	Events http.Handler

	once sync.Once
	mux  *http.ServeMux
}

// The operation names the door reports to the filters.
var operations = []string{"EnumNamespaces", "GetCallerAccessRights", "EnumClasses", "GetClass", "EnumInstances",
	"CreateInstance", "GetInstance", "PutInstance", "ModifyInstance", "DeleteInstance", "ExecQuery", "ExecMethod",
	"EnumProviders", "OpenAPI", "Events"}

// Door describes the door to the filters. Every request reaches it, with
// or without valid credentials: the door itself answers 401 (see
// unauthorized), and the OpenAPI document needs none.
func (h *Handler) Door() httpstack.Door {
	return httpstack.Door{Name: "rest", MetricsPrefix: "REST.", Operations: operations,
		Anonymous: func(*http.Request) bool { return true }}
}

// ServeHTTP answers one request under Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.routes)
	h.mux.ServeHTTP(w, r)
}

// route is one resource: its operation name and its function.
type route func(w http.ResponseWriter, r *http.Request, c *call) error

// call is what a request's handler works with.
type call struct {
	ctx context.Context
	p   cimom.Principal
	ns  string
	svc cimom.Services
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	allow := map[string][]string{} // path pattern → its methods
	var paths []string
	handle := func(pattern, op string, needNS bool, f route) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, op, needNS, f) })
		method, path, _ := strings.Cut(pattern, " ")
		if allow[path] == nil {
			paths = append(paths, path)
		}
		allow[path] = append(allow[path], method)
	}
	handle("GET /api/v1/openapi.json", "OpenAPI", false, serveOpenAPI)
	handle("GET /api/v1/namespaces", "EnumNamespaces", false, h.namespaces)
	handle("GET /api/v1/providers", "EnumProviders", false, h.providers)
	handle("GET /api/v1/namespaces/{ns}/rights", "GetCallerAccessRights", true, rights)
	handle("GET /api/v1/namespaces/{ns}/classes", "EnumClasses", true, classes)
	handle("GET /api/v1/namespaces/{ns}/classes/{class}", "GetClass", true, getClass)
	handle("GET /api/v1/namespaces/{ns}/classes/{class}/instances", "EnumInstances", true, listInstances)
	handle("POST /api/v1/namespaces/{ns}/classes/{class}/instances", "CreateInstance", true, createInstance)
	handle("POST /api/v1/namespaces/{ns}/classes/{class}/methods/{method}", "ExecMethod", true, classMethod)
	handle("GET /api/v1/namespaces/{ns}/instances/{path}", "GetInstance", true, getInstance)
	handle("PUT /api/v1/namespaces/{ns}/instances/{path}", "PutInstance", true, putInstance)
	handle("PATCH /api/v1/namespaces/{ns}/instances/{path}", "ModifyInstance", true, modifyInstance)
	handle("DELETE /api/v1/namespaces/{ns}/instances/{path}", "DeleteInstance", true, deleteInstance)
	handle("POST /api/v1/namespaces/{ns}/instances/{path}/methods/{method}", "ExecMethod", true, instanceMethod)
	handle("GET /api/v1/namespaces/{ns}/query", "ExecQuery", true, query)
	// Another method on a resource: 405 with the methods it takes.
	for _, path := range paths {
		methods := strings.Join(allow[path], ", ")
		m.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			writeError(w, r, cim.Errorf(cim.ENotSupported, "%s takes %s, not %s", r.URL.Path, methods, r.Method), http.StatusMethodNotAllowed)
		})
	}
	if h.Events != nil {
		m.Handle("/api/v1/events", h.Events)
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, cim.Errorf(cim.ENotSupported, "no resource %s %s", r.Method, r.URL.Path), http.StatusNotFound)
	})
	h.mux = m
}

// serve runs one route: it checks the caller and the CSRF rule, connects
// to the namespace, and answers the route's error as JSON.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, op string, needNS bool, f route) {
	ctx := r.Context()
	rec := httpstack.RecordFrom(ctx)
	c := &call{ctx: ctx, ns: r.PathValue("ns")}
	rec.SetOperation(op, c.ns)
	fail := func(err error) {
		e := cim.AsError(err).WithOp(op)
		rec.Fail(e.Status, e.Description)
		writeError(w, r, e, 0)
	}
	if op != "OpenAPI" {
		p, ok := httpstack.PrincipalFrom(ctx)
		if !ok {
			unauthorized(w, r)
			return
		}
		c.p = p
	}
	if err := checkCSRF(r); err != nil {
		fail(err)
		return
	}
	if needNS {
		if c.ns == "" {
			fail(cim.Errorf(cim.EInvalidNamespace, "no namespace given"))
			return
		}
		svc, err := h.Connector.Connect(ctx, c.ns, c.p)
		if err != nil {
			fail(err)
			return
		}
		c.svc = svc
	}
	if err := f(w, r, c); err != nil {
		fail(err)
	}
}

// unauthorized answers a request without valid credentials: with the Basic
// challenge for a client that can answer it, without one for a page
// (ClientHeader), which asks for the credentials itself.
func unauthorized(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(ClientHeader) == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="wbemd"`)
	}
	writeError(w, r, cim.Errorf(cim.EAccessDenied, "credentials are missing or wrong"), http.StatusUnauthorized)
}

// checkCSRF refuses an unsafe request that a page of another origin could
// have sent: it must carry ClientHeader, and an Origin, when given, must
// name this host.
func checkCSRF(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get(ClientHeader) == "" {
		return cim.Errorf(cim.EAccessDenied, "a %s request needs the %s header (cross-site request protection)", r.Method, ClientHeader).WithParam(ClientHeader)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return cim.Errorf(cim.EAccessDenied, "a %s request from origin %s is refused: it is not this server's (%s)", r.Method, o, r.Host).WithParam("Origin")
		}
	}
	return nil
}

// Error is the JSON form of a failure.
type Error struct {
	// Code is the WBEM status as a number (0x80041002 for WBEM_E_NOT_FOUND).
	Code uint32 `json:"code"`
	// Name is the status's WMI name ("WBEM_E_NOT_FOUND").
	Name string `json:"name"`
	// Message says what failed, in words.
	Message string `json:"message"`
	// Extended holds the fields of __ExtendedStatus.
	Extended ExtendedStatus `json:"extended"`
}

// ExtendedStatus is WMI's __ExtendedStatus: where a failure happened.
type ExtendedStatus struct {
	Operation     string `json:"operation,omitempty"`
	ParameterInfo string `json:"parameterInfo,omitempty"`
	ProviderName  string `json:"providerName,omitempty"`
	Description   string `json:"description,omitempty"`
}

// httpStatus maps a WBEM status to the HTTP status of its answer: the one
// table of this door.
func httpStatus(s cim.Status) int {
	switch s {
	case cim.ENotFound, cim.EInvalidClass, cim.EInvalidNamespace, cim.EInvalidMethod:
		return http.StatusNotFound
	case cim.EAccessDenied, cim.EPrivilegeNotHeld:
		return http.StatusForbidden
	case cim.EAlreadyExists:
		return http.StatusConflict
	case cim.ETransactionConflict:
		return http.StatusPreconditionFailed
	case cim.ENotSupported, cim.EProviderNotCapable, cim.EQueryNotImplemented:
		return http.StatusNotImplemented
	case cim.EShuttingDown, cim.EServerTooBusy, cim.EQuotaViolation:
		return http.StatusServiceUnavailable
	case cim.ECallCancelled, cim.ETimedOut, cim.EProviderTimedOut:
		return http.StatusGatewayTimeout
	case cim.ETooMuchData:
		return http.StatusRequestEntityTooLarge
	case cim.EFailed, cim.ECriticalError, cim.EUnexpected, cim.EProviderFailure, cim.EProviderLoadFailure, cim.EOutOfMemory, cim.EOutOfDiskSpace:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// writeError answers e as JSON; code 0 takes the status's HTTP status.
func writeError(w http.ResponseWriter, r *http.Request, e *cim.Error, code int) {
	if code == 0 {
		code = httpStatus(e.Status)
	}
	body := Error{Code: uint32(e.Status), Name: e.Status.String(), Message: e.Description,
		Extended: ExtendedStatus{Operation: e.Operation, ParameterInfo: e.Parameter, ProviderName: e.Provider, Description: e.Description}}
	writeJSON(w, code, body)
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"code":2147749889,"name":"WBEM_E_FAILED","message":"the answer could not be encoded","extended":{}}`)
	}
	writeRaw(w, code, b)
}

// writeRaw answers JSON text.
func writeRaw(w http.ResponseWriter, code int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

// ETag returns the entity tag of an instance at revision rev.
func ETag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// ParseIfMatch reads an If-Match header: the revision it names, or any
// (true) for "*"; ok is false for an empty header. A list or a weak tag
// is refused: a write is conditional on one version.
func ParseIfMatch(h string) (rev int64, any bool, ok bool, err error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false, false, nil
	}
	if h == "*" {
		return 0, true, true, nil
	}
	bad := cim.Errorf(cim.EInvalidParameter, "If-Match %q is not one version (a quoted revision such as \"42\", or *)", h).WithParam("If-Match")
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, false, true, bad
	}
	digits := h[1 : len(h)-1]
	if digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return 0, false, true, bad // a version is written one way: no sign, no leading zero
	}
	rev, perr := strconv.ParseInt(digits, 10, 64)
	if perr != nil || rev <= 0 {
		return 0, false, true, bad
	}
	return rev, false, true, nil
}

// readBody reads a request's JSON body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, cim.Errorf(cim.ETooMuchData, "the request body is larger than %d bytes", mbe.Limit)
		}
		return nil, fmt.Errorf("rest: read the request: %w", err)
	}
	if len(b) == 0 {
		return nil, cim.Errorf(cim.EInvalidParameter, "the request has no body")
	}
	return b, nil
}
