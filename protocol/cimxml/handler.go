package cimxml

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/enumtable"
	"github.com/wbemd/wbemd/internal/httpstack"
	"github.com/wbemd/wbemd/wql"
)

// Handler serves CIM-XML operations (DSP0200) on POST /cimom. It is
// served behind the filters of package httpstack (see Door), which
// authenticate the caller, bound the body and the time, and log and count
// each request.
type Handler struct {
	// Connector opens the namespace of each operation for its caller.
	Connector cimom.Connector
	// Host is the server's host name in the object paths of answers
	// (default os.Hostname()).
	Host string

	pulls    enumtable.Table[*pullContext]
	hostOnce sync.Once
	host     string
}

// Door declares the handler to the filters: CIM-XML's operations (the
// intrinsic methods and InvokeMethod, the extrinsic calls); any request
// without credentials is refused before it reaches the handler, except
// those that are not CIM-XML operations at all (which get the HTTP status
// DSP0200 gives them).
func (h *Handler) Door() httpstack.Door {
	ops := make([]string, 0, len(knownMethods)+1)
	for m := range knownMethods {
		ops = append(ops, m)
	}
	return httpstack.Door{Name: "cimxml", Operations: append(ops, invokeMethod),
		Anonymous: func(r *http.Request) bool { return r.Method != http.MethodPost && r.Method != "M-POST" }}
}

// invokeMethod is the operation name of extrinsic method calls in logs
// and metrics.
const invokeMethod = "InvokeMethod"

// knownMethods are the intrinsic methods served.
var knownMethods = map[string]bool{"GetClass": true, "EnumerateClasses": true, "EnumerateClassNames": true, "CreateClass": true,
	"ModifyClass": true, "DeleteClass": true, "GetInstance": true, "EnumerateInstances": true, "EnumerateInstanceNames": true,
	"CreateInstance": true, "ModifyInstance": true, "DeleteInstance": true, "ExecQuery": true, "Associators": true,
	"AssociatorNames": true, "References": true, "ReferenceNames": true, "GetProperty": true, "SetProperty": true,
	"GetQualifier": true, "SetQualifier": true, "DeleteQualifier": true, "EnumerateQualifiers": true,
	"OpenEnumerateInstances": true, "OpenEnumerateInstancePaths": true, "OpenQueryInstances": true,
	"OpenReferenceInstances": true, "OpenReferenceInstancePaths": true, "OpenAssociatorInstances": true,
	"OpenAssociatorInstancePaths": true, "PullInstancesWithPath": true, "PullInstancePaths": true, "PullInstances": true,
	"CloseEnumeration": true, "EnumerationCount": true}

// pullMethods answer with IRETURNVALUE and PARAMVALUEs of their own.
var pullMethods = map[string]bool{"OpenEnumerateInstances": true, "OpenEnumerateInstancePaths": true, "OpenQueryInstances": true,
	"OpenReferenceInstances": true, "OpenReferenceInstancePaths": true, "OpenAssociatorInstances": true, "OpenAssociatorInstancePaths": true,
	"PullInstancesWithPath": true, "PullInstancePaths": true, "PullInstances": true}

// ServeHTTP answers one CIM-XML request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !precheck(w, r) {
		return
	}
	ctx := r.Context()
	p, ok := httpstack.PrincipalFrom(ctx)
	if !ok {
		httpstack.Unauthorized(w)
		return
	}
	rec := httpstack.RecordFrom(ctx)
	hdr := headerFunc(r)
	if op := hdr("CIMOperation"); !strings.EqualFold(op, "MethodCall") || headerCount(r, "CIMOperation") > 1 {
		w.Header().Set("CIMError", "unsupported-operation")
		http.Error(w, "CIMOperation must be MethodCall", http.StatusBadRequest)
		return
	}
	root, err := parseTree(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			limit := "the server's limit"
			if mbe != nil {
				limit = strconv.FormatInt(mbe.Limit, 10) + " bytes"
			}
			w.Header().Set("CIMError", "request-not-valid")
			http.Error(w, "request larger than "+limit, http.StatusRequestEntityTooLarge)
			return
		}
		if errors.Is(err, errNotWellFormed) {
			w.Header().Set("CIMError", "request-not-well-formed")
		} else {
			w.Header().Set("CIMError", "request-not-valid")
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if version, status := checkVersions(root, hdr("CIMProtocolVersion")); version != "" {
		w.Header().Set("CIMError", version)
		http.Error(w, "unsupported version", status)
		return
	}
	if headerCount(r, "CIMBatch") > 0 {
		w.Header().Set("CIMError", "multiple-requests-unsupported")
		http.Error(w, "batched requests (CIMBatch) are not supported", http.StatusNotImplemented)
		return
	}
	req, err := decodeRequest(root)
	if err != nil {
		var ce *cim.Error
		if errors.As(err, &ce) && ce.Status == cim.ENotSupported {
			// A MULTIREQ without the CIMBatch header that announces it.
			w.Header().Set("CIMError", "header-mismatch")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("CIMError", "request-not-valid")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.intrinsic {
		rec.SetOperation(req.method, req.ns)
	} else {
		rec.SetOperation(invokeMethod, req.ns)
	}
	if why := headersMatch(hdr, req); why != "" {
		w.Header().Set("CIMError", "header-mismatch")
		http.Error(w, why, http.StatusBadRequest)
		return
	}
	if err := validateParams(req); err != nil {
		w.Header().Set("CIMError", "request-not-valid")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	kind, tail := "IMETHODRESPONSE", intrinsicTail
	if !req.intrinsic {
		kind, tail = "METHODRESPONSE", extrinsicTail
	}
	wrap := req.intrinsic && !pullMethods[req.method]
	head := getBodyBuf()
	defer putBodyBuf(head)
	hw := newWriter(head)
	hw.s(`<?xml version="1.0" encoding="utf-8" ?>` + "\n" + `<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE`)
	hw.attr("ID", req.id)
	hw.s(` PROTOCOLVERSION="1.0"><SIMPLERSP><` + kind)
	hw.attr("NAME", req.method)
	hw.s(">")
	hw.release()
	// The results go to a buffer that becomes a chunked stream once they
	// pass streamThreshold: a large enumeration never sits whole in memory.
	sp := &spill{w: w, head: head.Bytes(), wrap: wrap, trailers: takesTrailers(r), buf: getBodyBuf()}
	defer func() {
		if sp.buf != nil {
			putBodyBuf(sp.buf)
		}
	}()
	ow := newWriter(sp)
	err = h.call(ctx, p, req, ow)
	ow.release()
	if err != nil {
		e := cim.AsError(err)
		rec.Fail(e.Status, e.Description)
	}
	if sp.streaming {
		sp.finish(err, tail)
		return
	}
	if errors.Is(err, errBadRequest) {
		w.Header().Set("CIMError", "request-not-valid")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The answer: head, then the ERROR or the results, then tail.
	var results []byte
	open, end := "", ""
	if err != nil {
		sp.buf.Reset()
		ew := newWriter(sp.buf)
		writeError(ew, req.method, err)
		ew.release()
		results = sp.buf.Bytes()
	} else if sp.buf.Len() > 0 {
		results = sp.buf.Bytes()
		if wrap {
			open, end = "<IRETURNVALUE>", "</IRETURNVALUE>"
		}
	}
	size := head.Len() + len(open) + len(results) + len(end) + len(tail)
	hd := w.Header()
	hd["Content-Type"] = xmlContentType // shared: len == cap, so an Add copies
	hd["Cimoperation"] = methodResponse
	sp.length[0] = strconv.Itoa(size)
	hd["Content-Length"] = sp.length[:] // in sp: no allocation of its own
	w.WriteHeader(http.StatusOK)
	w.Write(head.Bytes())
	io.WriteString(w, open)
	w.Write(results)
	io.WriteString(w, end)
	io.WriteString(w, tail)
}

// The ends of answers.
const (
	intrinsicTail = "</IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n"
	extrinsicTail = "</METHODRESPONSE></SIMPLERSP></MESSAGE></CIM>\n"
)

// Header values of answers, shared.
var (
	xmlContentType = []string{`application/xml; charset="utf-8"`}
	methodResponse = []string{"MethodResponse"}
)

// takesTrailers reports whether the client takes trailers (its first TE
// header names them).
func takesTrailers(r *http.Request) bool {
	te := r.Header["Te"]
	return len(te) > 0 && strings.Contains(strings.ToLower(te[0]), "trailers")
}

// writeError writes an ERROR element for a failed operation.
func writeError(w *writer, method string, err error) {
	var ce *codeError
	if errors.As(err, &ce) {
		w.s(`<ERROR CODE="` + strconv.Itoa(ce.code) + `"`)
		w.attr("DESCRIPTION", ce.msg)
		w.s("></ERROR>")
		return
	}
	e := cim.AsError(err)
	code := cimCode(e.Status)
	switch {
	case code == errNotFound && (method == "CreateClass" || method == "ModifyClass"):
		code = errInvalidSuperclass
	case code == errNoSuchProperty && (method == "CreateInstance" || method == "ModifyInstance"):
		code = errInvalidParameter // DSP0200: an unrecognized property is an invalid parameter there
	}
	w.s(`<ERROR CODE="` + strconv.Itoa(code) + `"`)
	w.attr("DESCRIPTION", e.Status.String()+": "+e.Description)
	w.s("></ERROR>")
}

// streamThreshold is the size of results past which an answer is
// streamed rather than buffered.
const streamThreshold = 256 << 10

// spill buffers an operation's results and, past streamThreshold, starts
// the HTTP answer and streams the rest (chunked). Once streaming, a
// failure can no longer become an ERROR element: with "TE: trailers" it
// is told in the CIMStatusCode trailer (DSP0200 §7.4.20); otherwise the
// connection is aborted so that the client sees a broken answer rather
// than a short one.
type spill struct {
	w         http.ResponseWriter
	head      []byte
	wrap      bool
	trailers  bool
	buf       *bytes.Buffer // nil once streaming
	streaming bool
	length    [1]string // the Content-Length header of a whole answer
}

func (s *spill) Write(p []byte) (int, error) {
	if s.streaming {
		return s.w.Write(p)
	}
	s.buf.Write(p)
	if s.buf.Len() < streamThreshold {
		return len(p), nil
	}
	s.streaming = true
	h := s.w.Header()
	h.Set("Content-Type", `application/xml; charset="utf-8"`)
	h.Set("CIMOperation", "MethodResponse")
	if s.trailers {
		h.Set("Trailer", "CIMStatusCode, CIMStatusCodeDescription")
	}
	s.w.WriteHeader(http.StatusOK)
	s.w.Write(s.head)
	if s.wrap {
		io.WriteString(s.w, "<IRETURNVALUE>")
	}
	s.w.Write(s.buf.Bytes())
	putBodyBuf(s.buf)
	s.buf = nil
	return len(p), nil
}

// finish ends a streamed answer.
func (s *spill) finish(err error, tail string) {
	if err != nil {
		if !s.trailers {
			panic(http.ErrAbortHandler)
		}
		e := cim.AsError(err)
		s.w.Header().Set("CIMStatusCode", strconv.Itoa(cimCode(e.Status)))
		s.w.Header().Set("CIMStatusCodeDescription", url.PathEscape(e.Status.String()+": "+e.Description))
		return
	}
	if s.wrap {
		io.WriteString(s.w, "</IRETURNVALUE>")
	}
	io.WriteString(s.w, tail)
	if s.trailers {
		s.w.Header().Set("CIMStatusCode", "0")
	}
}

// headersMatch checks the CIM headers against the body (DSP0200 §7.4):
// CIMMethod names the method, CIMObject the namespace (intrinsic) or the
// target object (extrinsic), CIMProtocolVersion the message's protocol
// version. It returns why they do not, or "".
func headersMatch(hdr func(string) string, req *request) string {
	if m := hdr("CIMMethod"); !strings.EqualFold(m, req.method) {
		return "CIMMethod header does not name the method of the body"
	}
	o := hdr("CIMObject")
	if o == "" {
		return "the CIMObject header is missing"
	}
	text, err := url.PathUnescape(o)
	if err != nil {
		return "CIMObject header is not valid %-encoding"
	}
	if req.intrinsic {
		if !cim.EqualFold(strings.Trim(text, "/"), req.ns) {
			return "CIMObject header does not name the namespace of the body"
		}
		return ""
	}
	// Extrinsic: namespace:path, compared as object paths (wbemcli leaves
	// quotes unescaped, which PathUnescape accepts).
	ns, rel, ok := strings.Cut(text, ":")
	hp, err := cim.ParsePath(rel)
	if !ok || err != nil {
		return "CIMObject header is not an object path"
	}
	bp, err := pathOf(req.target)
	if err != nil {
		return ""
	}
	hp.Namespace, bp.Server = strings.Trim(ns, "/"), ""
	if !cim.EqualFold(hp.Namespace, bp.Namespace) || !cim.EqualPaths(hp, bp) {
		return "CIMObject header does not name the target of the body"
	}
	return ""
}

// checkVersions applies DSP0200's version checks to the CIM and MESSAGE
// elements: a CIM or DTD version other than 2.x, or a malformed protocol
// version, is refused with the matching CIMError (HTTP 501); a protocol
// version other than the CIMProtocolVersion header's (1.0 when absent) is
// a header mismatch (HTTP 400), as OpenPegasus answers.
func checkVersions(root *node, header string) (string, int) {
	if root.name != "CIM" {
		return "", 0
	}
	version := func(v, major string) bool {
		rest, ok := strings.CutPrefix(v, major+".")
		if !ok || rest == "" {
			return false
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] < '0' || rest[i] > '9' {
				return false
			}
		}
		return true
	}
	if v, _ := root.attr("CIMVERSION"); !version(v, "2") {
		return "unsupported-cim-version", http.StatusNotImplemented
	}
	if v, _ := root.attr("DTDVERSION"); !version(v, "2") {
		return "unsupported-dtd-version", http.StatusNotImplemented
	}
	msg := root.kid("MESSAGE")
	if msg == nil {
		return "", 0
	}
	v, _ := msg.attr("PROTOCOLVERSION")
	if major, _, _ := strings.Cut(v, "."); major == "" || !version(v, major) {
		return "unsupported-protocol-version", http.StatusNotImplemented
	}
	if header == "" {
		header = "1.0"
	}
	if v != header {
		return "header-mismatch", http.StatusBadRequest
	}
	if !version(v, "1") {
		return "unsupported-protocol-version", http.StatusNotImplemented
	}
	return "", 0
}

// validateParams decodes every object a request carries before anything
// else happens, so that a malformed request is a request error (HTTP 400)
// whatever the namespace or class it names, as OpenPegasus answers.
func validateParams(req *request) error {
	for _, p := range req.params {
		for _, k := range p.kids {
			var err error
			switch k.name {
			case "INSTANCE":
				err = keep(req, k, decInstance, func() (*cim.Object, error) { return instanceOf(k, 0) })
			case "CLASS":
				err = keep(req, k, decClass, func() (*cim.Object, error) { return classOf(k) })
			case "INSTANCENAME":
				err = keep(req, k, decInstanceName, func() (*cim.ObjectPath, error) { return instanceNameOf(k) })
			case "QUALIFIER.DECLARATION":
				err = keep(req, k, decQualifierDecl, func() (*cim.QualifierDecl, error) { return qualifierDeclOf(k) })
			case "VALUE.NAMEDINSTANCE":
				if in := k.kid("INSTANCENAME"); in != nil {
					err = keep(req, in, decInstanceName, func() (*cim.ObjectPath, error) { return instanceNameOf(in) })
				}
				if inst := k.kid("INSTANCE"); err == nil && inst != nil {
					err = keep(req, inst, decInstance, func() (*cim.Object, error) { return instanceOf(inst, 0) })
				}
			}
			if errors.Is(err, errBadRequest) {
				return err
			}
		}
	}
	return nil
}

// keep decodes an element of the request and keeps the result for the
// operation, which takes it (once) instead of decoding the element again.
func keep[T any](req *request, n *node, how decoding, decode func() (T, error)) error {
	v, err := decode()
	if err == nil {
		if req.decoded == nil {
			req.decoded = map[decodedKey]any{}
		}
		req.decoded[decodedKey{n, how}] = v
	}
	return err
}

// decoding names a decoder of elements.
type decoding uint8

const (
	decInstance decoding = iota
	decClass
	decInstanceName
	decQualifierDecl
)

// decodedKey is an element and how it was decoded.
type decodedKey struct {
	n   *node
	how decoding
}

// take returns what validateParams decoded from n the same way, the first
// time it is asked for; otherwise it decodes n.
func take[T any](req *request, n *node, how decoding, decode func() (T, error)) (T, error) {
	k := decodedKey{n, how}
	if v, ok := req.decoded[k].(T); ok {
		delete(req.decoded, k)
		return v, nil
	}
	return decode()
}

// call runs one method and writes what goes inside IRETURNVALUE.
func (h *Handler) call(ctx context.Context, p cimom.Principal, req *request, w *writer) error {
	if !req.intrinsic {
		svc, err := h.Connector.Connect(ctx, req.ns, p)
		if err != nil {
			return err
		}
		return execMethod(ctx, svc, req, w)
	}
	if !knownMethods[req.method] {
		return cim.Errorf(cim.ENotSupported, "intrinsic method %s is not supported", req.method)
	}
	svc, err := h.Connector.Connect(ctx, req.ns, p)
	if err != nil {
		return err
	}
	switch req.method {
	case "GetClass":
		return getClass(ctx, svc, req, w)
	case "EnumerateClasses", "EnumerateClassNames":
		return enumerateClasses(ctx, svc, req, w, req.method == "EnumerateClassNames")
	case "CreateClass", "ModifyClass":
		pname, flags := "NewClass", cimom.FlagCreateOnly
		if req.method == "ModifyClass" {
			pname, flags = "ModifiedClass", cimom.FlagUpdateOnly
		}
		n, _ := req.param(pname)
		if n == nil {
			return requestError("%s needs %s", req.method, pname)
		}
		c, err := take(req, n, decClass, func() (*cim.Object, error) { return classOf(n) })
		if err != nil {
			return err
		}
		return svc.PutClass(ctx, c, flags, nil)
	case "DeleteClass":
		name, _, err := req.stringParam("ClassName")
		if err != nil {
			return err
		}
		return cimom.DeleteClassLeaf(ctx, svc, name)
	case "GetInstance":
		return getInstance(ctx, svc, req, w)
	case "EnumerateInstances", "EnumerateInstanceNames":
		return enumerateInstances(ctx, svc, req, w, req.method == "EnumerateInstanceNames")
	case "CreateInstance":
		n, _ := req.param("NewInstance")
		if n == nil {
			return requestError("CreateInstance needs NewInstance")
		}
		inst, err := take(req, n, decInstance, func() (*cim.Object, error) { return instanceOf(n, 0) })
		if err != nil {
			return err
		}
		localRefs(inst.Properties, req.ns)
		path, err := svc.PutInstance(ctx, inst, cimom.FlagCreateOnly, nil)
		if err != nil {
			return err
		}
		op, err := cim.ParsePath(path)
		if err != nil {
			return err
		}
		w.instanceName(op)
		return nil
	case "ModifyInstance":
		return modifyInstance(ctx, svc, req)
	case "DeleteInstance":
		path, err := instanceParam(req, "InstanceName")
		if err != nil {
			return err
		}
		return svc.DeleteInstance(ctx, path, 0, nil)
	case "ExecQuery":
		lang, _, err := req.stringParam("QueryLanguage")
		if err != nil {
			return err
		}
		query, _, err := req.stringParam("Query")
		if err != nil {
			return err
		}
		e, err := svc.ExecQuery(ctx, lang, query, cimom.FlagForwardOnly|cimom.FlagEnsureLocatable, nil)
		if err != nil {
			return err
		}
		return writeObjects(ctx, e, w, h.server(), options{qualifiers: false, classOrigin: false}, false)
	case "Associators", "AssociatorNames", "References", "ReferenceNames":
		return associators(ctx, svc, req, w, h.server())
	case "GetProperty":
		return getProperty(ctx, svc, req, w)
	case "SetProperty":
		return setProperty(ctx, svc, req)
	case "GetQualifier":
		name, _, err := req.stringParam("QualifierName")
		if err != nil {
			return err
		}
		d, err := svc.GetQualifier(ctx, name)
		if err != nil {
			return err
		}
		w.qualifierDecl(d)
		return nil
	case "EnumerateQualifiers":
		ds, err := svc.EnumQualifiers(ctx)
		if err != nil {
			return err
		}
		for _, d := range ds {
			w.qualifierDecl(d)
		}
		return nil
	case "SetQualifier":
		n, _ := req.param("QualifierDeclaration")
		if n == nil {
			return requestError("SetQualifier needs QualifierDeclaration")
		}
		d, err := take(req, n, decQualifierDecl, func() (*cim.QualifierDecl, error) { return qualifierDeclOf(n) })
		if err != nil {
			return err
		}
		return svc.PutQualifier(ctx, d, 0)
	case "OpenEnumerateInstances", "OpenEnumerateInstancePaths", "OpenQueryInstances", "OpenReferenceInstances",
		"OpenReferenceInstancePaths", "OpenAssociatorInstances", "OpenAssociatorInstancePaths":
		return h.open(ctx, p, svc, req, w)
	case "PullInstancesWithPath", "PullInstancePaths", "PullInstances":
		return h.pull(ctx, p, req, w)
	case "CloseEnumeration":
		id, _, err := req.stringParam("EnumerationContext")
		if err != nil {
			return err
		}
		pc, ok := h.pulls.Get(id, p.Name)
		if !ok {
			return errNoContext
		}
		h.pulls.Forget(id)
		pc.Unlock()
		return nil
	case "EnumerationCount":
		return cim.Errorf(cim.ENotSupported, "EnumerationCount is not supported (DSP0200 allows it)")
	case "DeleteQualifier":
		name, _, err := req.stringParam("QualifierName")
		if err != nil {
			return err
		}
		return svc.DeleteQualifier(ctx, name)
	}
	return cim.Errorf(cim.ENotSupported, "intrinsic method %s is not supported", req.method)
}

// server returns the host name of object paths in answers.
func (h *Handler) server() string {
	h.hostOnce.Do(func() { h.host = httpstack.HostName(h.Host) })
	return h.host
}

func getClass(ctx context.Context, svc cimom.Services, req *request, w *writer) error {
	name, _, err := req.stringParam("ClassName")
	if err != nil {
		return err
	}
	o, err := classOptions(req, true)
	if err != nil {
		return err
	}
	if name == "" {
		return requestError("GetClass needs ClassName")
	}
	c, err := svc.GetObject(ctx, name, 0, nil)
	if err != nil {
		return err
	}
	w.class(c, o)
	return nil
}

// classOptions reads LocalOnly, IncludeQualifiers, IncludeClassOrigin and
// PropertyList with DSP0200's defaults for class operations.
func classOptions(req *request, withList bool) (options, error) {
	var o options
	var err error
	if o.localOnly, err = req.boolParam("LocalOnly", true); err != nil {
		return o, err
	}
	if o.qualifiers, err = req.boolParam("IncludeQualifiers", true); err != nil {
		return o, err
	}
	if o.classOrigin, err = req.boolParam("IncludeClassOrigin", false); err != nil {
		return o, err
	}
	if withList {
		o.properties, err = req.propertyList()
	}
	return o, err
}

// instanceOptions reads them with the defaults of instance operations;
// LocalOnly is deprecated for instances and ignored, as OpenPegasus does.
func instanceOptions(req *request) (options, error) {
	var o options
	var err error
	if o.qualifiers, err = req.boolParam("IncludeQualifiers", false); err != nil {
		return o, err
	}
	if o.classOrigin, err = req.boolParam("IncludeClassOrigin", false); err != nil {
		return o, err
	}
	o.properties, err = req.propertyList()
	return o, err
}

func enumerateClasses(ctx context.Context, svc cimom.Services, req *request, w *writer, names bool) error {
	name, _, err := req.stringParam("ClassName")
	if err != nil {
		return err
	}
	deep, err := req.boolParam("DeepInheritance", false)
	if err != nil {
		return err
	}
	o, err := classOptions(req, false)
	if err != nil {
		return err
	}
	flags := cimom.FlagForwardOnly
	if !deep {
		flags |= cimom.FlagShallow
	}
	e, err := svc.CreateClassEnum(ctx, name, flags, nil)
	if err != nil {
		if cim.StatusOf(err) == cim.EInvalidClass {
			return cim.Errorf(cim.EInvalidClass, "class %s does not exist", name)
		}
		return err
	}
	defer e.Close()
	for c, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		if cim.IsSystemName(c.Class) {
			continue // WMI's system classes are not part of a CIM schema
		}
		if names {
			w.s("<CLASSNAME")
			w.attr("NAME", c.Class)
			w.s("></CLASSNAME>")
		} else {
			w.class(c, o)
		}
	}
	return nil
}

// instanceParam reads an INSTANCENAME parameter as a path string.
func instanceParam(req *request, name string) (string, error) {
	n, _ := req.param(name)
	if n == nil {
		return "", requestError("the operation needs %s", name)
	}
	p, err := take(req, n, decInstanceName, func() (*cim.ObjectPath, error) { return instanceNameOf(n) })
	if err != nil {
		return "", err
	}
	for i := range p.Keys {
		p.Keys[i].Value = localRef(p.Keys[i].Value, req.ns)
	}
	return p.RelPath(), nil
}

func getInstance(ctx context.Context, svc cimom.Services, req *request, w *writer) error {
	path, err := instanceParam(req, "InstanceName")
	if err != nil {
		return err
	}
	o, err := instanceOptions(req)
	if err != nil {
		return err
	}
	inst, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		if cim.StatusOf(err) == cim.EInvalidClass {
			return err
		}
		return err
	}
	w.instance(inst, o)
	return nil
}

func enumerateInstances(ctx context.Context, svc cimom.Services, req *request, w *writer, names bool) error {
	class, _, err := req.stringParam("ClassName")
	if err != nil {
		return err
	}
	deep, err := req.boolParam("DeepInheritance", true)
	if err != nil {
		return err
	}
	o, err := instanceOptions(req)
	if err != nil {
		return err
	}
	if !deep && !names {
		// Only the properties of the class asked for.
		cls, err := svc.GetObject(ctx, class, 0, nil)
		if err != nil {
			return err
		}
		var own []string
		for _, p := range cls.Properties {
			if o.wants(p.Name) {
				own = append(own, p.Name)
			}
		}
		o.properties = own
	}
	e, err := svc.CreateInstanceEnum(ctx, class, cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	defer e.Close()
	for inst, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		p := pathOfObject(inst)
		p.Namespace, p.Server = "", ""
		if names {
			w.instanceName(p)
			continue
		}
		w.s("<VALUE.NAMEDINSTANCE>")
		w.instanceName(p)
		w.instance(inst, o)
		w.s("</VALUE.NAMEDINSTANCE>")
	}
	return nil
}

func modifyInstance(ctx context.Context, svc cimom.Services, req *request) error {
	n, _ := req.param("ModifiedInstance")
	if n == nil || n.name != "VALUE.NAMEDINSTANCE" {
		return requestError("ModifyInstance needs ModifiedInstance as a VALUE.NAMEDINSTANCE")
	}
	nameNode := n.kid("INSTANCENAME")
	name, err := take(req, nameNode, decInstanceName, func() (*cim.ObjectPath, error) { return instanceNameOf(nameNode) })
	if err != nil {
		return err
	}
	in := n.kid("INSTANCE")
	if in == nil {
		return requestError("ModifiedInstance holds no INSTANCE")
	}
	inst, err := take(req, in, decInstance, func() (*cim.Object, error) { return instanceOf(in, 0) })
	if err != nil {
		return err
	}
	if !cim.EqualFold(inst.Class, name.Class) {
		return requestError("ModifiedInstance names class %s but holds an instance of %s", name.Class, inst.Class)
	}
	localRefs(inst.Properties, req.ns)
	for i := range name.Keys {
		name.Keys[i].Value = localRef(name.Keys[i].Value, req.ns)
	}
	list, err := req.propertyList()
	if err != nil {
		return err
	}
	// Without a PropertyList the properties the instance carries are
	// written; the others keep their values (DSP0200). The keys come from
	// the name, and the instance may not give them other values.
	return cimom.Modify(ctx, svc, name.RelPath(), inst, list)
}

// writeObjects writes the results of a query or association operation as
// VALUE.OBJECTWITHPATH, or their paths as OBJECTPATH.
func writeObjects(ctx context.Context, e cimom.Enumerator, w *writer, host string, o options, names bool) error {
	defer e.Close()
	for obj, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		p := pathOfObject(obj)
		p.Server = host
		if p.Namespace == "" {
			p.Namespace = obj.Namespace
		}
		if names {
			w.s("<OBJECTPATH>")
			w.objectPath(p)
			w.s("</OBJECTPATH>")
			continue
		}
		w.s("<VALUE.OBJECTWITHPATH>")
		w.objectPath(p)
		if obj.Genus == cim.GenusClass {
			w.class(obj, o)
		} else {
			w.instance(obj, o)
		}
		w.s("</VALUE.OBJECTWITHPATH>")
	}
	return nil
}

func associators(ctx context.Context, svc cimom.Services, req *request, w *writer, host string) error {
	n, _ := req.param("ObjectName")
	if n == nil {
		return requestError("%s needs ObjectName", req.method)
	}
	p, err := pathOf(n)
	if err != nil {
		return err
	}
	q := &wql.Assoc{Path: p.RelPath(), References: strings.HasPrefix(req.method, "Reference"), SchemaOnly: p.IsClass()}
	for name, dst := range map[string]*string{"AssocClass": &q.AssocClass, "ResultClass": &q.ResultClass, "Role": &q.Role, "ResultRole": &q.ResultRole} {
		v, _, err := req.stringParam(name)
		if err != nil {
			return err
		}
		*dst = v
	}
	o, err := instanceOptions(req)
	if err != nil {
		return err
	}
	e, err := svc.Associators(ctx, q, cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	return writeObjects(ctx, e, w, host, o, strings.HasSuffix(req.method, "Names"))
}

func getProperty(ctx context.Context, svc cimom.Services, req *request, w *writer) error {
	path, err := instanceParam(req, "InstanceName")
	if err != nil {
		return err
	}
	name, _, err := req.stringParam("PropertyName")
	if err != nil {
		return err
	}
	inst, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		return err
	}
	p, ok := inst.Property(name)
	if !ok {
		return cim.Errorf(cim.EInvalidProperty, "class %s has no property %s", inst.Class, name)
	}
	w.value(p.Value)
	return nil
}

func setProperty(ctx context.Context, svc cimom.Services, req *request) error {
	path, err := instanceParam(req, "InstanceName")
	if err != nil {
		return err
	}
	name, _, err := req.stringParam("PropertyName")
	if err != nil {
		return err
	}
	op, err := cim.ParsePath(path)
	if err != nil {
		return err
	}
	cls, err := svc.GetObject(ctx, op.Class, 0, nil)
	if err != nil {
		return err
	}
	cp, ok := cls.Property(name)
	if !ok {
		return cim.Errorf(cim.EInvalidProperty, "class %s has no property %s", cls.Class, name)
	}
	vn, _ := req.param("NewValue")
	v, err := valueOf(vn, cp.Type, false, 0)
	if err != nil {
		return err
	}
	inst := &cim.Object{Genus: cim.GenusInstance, Class: cls.Class, Properties: []cim.Property{{Name: cp.Name, Type: cp.Type, Value: v}}}
	return cimom.Modify(ctx, svc, path, inst, []string{cp.Name})
}

// qualifierDeclOf decodes a QUALIFIER.DECLARATION.
func qualifierDeclOf(n *node) (*cim.QualifierDecl, error) {
	if n.name != "QUALIFIER.DECLARATION" {
		return nil, requestError("expected QUALIFIER.DECLARATION, found %s", n.name)
	}
	d := &cim.QualifierDecl{}
	var err error
	if d.Name, err = nameAttr(n, "NAME"); err != nil {
		return nil, err
	}
	if _, ok := n.attr("TYPE"); !ok {
		return nil, requestError("QUALIFIER.DECLARATION %s has no TYPE", d.Name)
	}
	t, err := typeOf(n, "TYPE")
	if err != nil {
		return nil, err
	}
	if a, _ := n.attr("ISARRAY"); strings.EqualFold(a, "true") {
		t = t.ArrayOf()
	}
	d.Type = t
	if size, ok := n.attr("ARRAYSIZE"); ok {
		d.ArraySize, _ = strconv.Atoi(size)
	}
	d.Flavor = flavorOf(n, cim.FlavorToSubclass)
	if sc := n.kid("SCOPE"); sc != nil {
		for _, a := range sc.attrs {
			if strings.EqualFold(a.Value, "true") {
				if s, ok := cim.ParseScope(a.Name.Local); ok {
					d.Scope |= s
				}
			}
		}
	}
	var vn *node
	for _, k := range n.kids {
		if strings.HasPrefix(k.name, "VALUE") {
			vn = k
		}
	}
	if d.Value, err = valueOf(vn, t, false, 0); err != nil {
		return nil, err
	}
	return d, nil
}

// execMethod runs an extrinsic method call: the PARAMVALUEs are typed by
// the method's declaration in the target's class, and the answer is
// RETURNVALUE first, then a PARAMVALUE per out-parameter that has a value
// (wbemcli cannot read an empty one).
func execMethod(ctx context.Context, svc cimom.Services, req *request, w *writer) error {
	target, err := pathOf(req.target)
	if err != nil {
		return err
	}
	target.Namespace, target.Server = "", ""
	cls, err := svc.GetObject(ctx, target.Class, 0, nil)
	if err != nil {
		if cim.StatusOf(err) == cim.ENotFound {
			return cim.Errorf(cim.EInvalidClass, "class %s does not exist in %s", target.Class, req.ns).WithParam(target.Class)
		}
		return err
	}
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	m, ok := cls.GetMethod(req.method)
	if !ok {
		m = &cim.Method{Name: req.method} // cimom says what is wrong
	} else {
		// Each PARAMVALUE is read as its declared parameter's type (the
		// VALUE's encoding depends on it); cimom types the whole call.
		var args []cimom.Argument
		for _, key := range slices.Sorted(maps.Keys(req.params)) {
			pv := req.params[key]
			name, _ := pv.attr("NAME")
			n, _ := req.param(key)
			args = append(args, cimom.Argument{Name: name, Decode: func(prm *cim.Parameter) (cim.Value, error) {
				v, err := valueOf(n, prm.Type, prm.Type.Elem() == cim.TypeObject, 0)
				if err != nil {
					return v, cim.Errorf(cim.EInvalidMethodParameters, "parameter %s of %s: %s", prm.Name, m.Name, cim.AsError(err).Description)
				}
				return v, nil
			}})
		}
		if in, err = cimom.TypeInParameters(m, args); err != nil {
			return err
		}
	}
	out, err := svc.ExecMethod(ctx, target.String(), m.Name, in, 0, nil)
	if err != nil {
		return err
	}
	if rv, ok := out.Property(cimom.ReturnValue); ok {
		w.s("<RETURNVALUE")
		w.attr("PARAMTYPE", typeName(rv.Type))
		w.s(">")
		w.value(rv.Value)
		w.s("</RETURNVALUE>")
	}
	for i := range out.Properties {
		o := &out.Properties[i]
		if cim.EqualFold(o.Name, cimom.ReturnValue) || o.Value.IsNull() {
			continue
		}
		w.paramValue(o)
	}
	return nil
}
