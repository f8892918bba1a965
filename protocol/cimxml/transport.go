package cimxml

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/enumtable"
	"github.com/wbemd/wbemd/internal/httpstack"
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
// intrinsic methods of the op table and InvokeMethod, the extrinsic
// calls); any request without credentials is refused before it reaches
// the handler, except those that are not CIM-XML operations at all (which
// get the HTTP status DSP0200 gives them).
func (h *Handler) Door() httpstack.Door {
	names := make([]string, 0, len(ops)+1)
	for m := range ops {
		names = append(names, m)
	}
	return httpstack.Door{Name: "cimxml", Operations: append(names, invokeMethod),
		Anonymous: func(r *http.Request) bool { return r.Method != http.MethodPost && r.Method != "M-POST" }}
}

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
	req, ok := readRequest(w, r, rec)
	if !ok {
		return
	}
	o, _ := opOf(req)
	wrap := req.intrinsic && !o.bare
	tail := responseTail(req.intrinsic)
	head := getBodyBuf()
	defer putBodyBuf(head)
	hw := newWriter(head)
	hw.responseHead(req.id, req.method, req.intrinsic)
	hw.release()
	// The results go to a buffer that becomes a chunked stream once they
	// pass a threshold: a large enumeration never sits whole in memory.
	sp := &spill{w: w, head: head.Bytes(), wrap: wrap, trailers: takesTrailers(r), buf: getBodyBuf()}
	defer putBodyBuf(sp.buf)
	ow := newWriter(sp)
	err := h.call(ctx, p, req, ow)
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
		refuse(w, http.StatusBadRequest, "request-not-valid", err.Error())
		return
	}
	// The answer: head, then the ERROR or the results, then tail.
	var results []byte
	open, end := "", ""
	if err != nil {
		sp.buf.Reset()
		ew := newWriter(sp.buf)
		writeError(ew, req, err)
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

// readRequest reads and checks a request up to its operation: the CIM
// headers, the XML, the versions, the message and its parameters' objects.
// It names the operation to rec; what it refuses, it answers with the
// HTTP status and CIMError header of DSP0200, and returns false.
func readRequest(w http.ResponseWriter, r *http.Request, rec *httpstack.Record) (*request, bool) {
	hdr := headerFunc(r)
	if op := hdr("CIMOperation"); !strings.EqualFold(op, "MethodCall") || headerCount(r, "CIMOperation") > 1 {
		refuse(w, http.StatusBadRequest, "unsupported-operation", "CIMOperation must be MethodCall")
		return nil, false
	}
	root, err := parseTree(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			limit := "the server's limit"
			if mbe != nil {
				limit = strconv.FormatInt(mbe.Limit, 10) + " bytes"
			}
			refuse(w, http.StatusRequestEntityTooLarge, "request-not-valid", "request larger than "+limit)
			return nil, false
		}
		cimError := "request-not-valid"
		if errors.Is(err, errNotWellFormed) {
			cimError = "request-not-well-formed"
		}
		refuse(w, http.StatusBadRequest, cimError, err.Error())
		return nil, false
	}
	if version, status := checkVersions(root, hdr("CIMProtocolVersion")); version != "" {
		refuse(w, status, version, "unsupported version")
		return nil, false
	}
	if headerCount(r, "CIMBatch") > 0 {
		refuse(w, http.StatusNotImplemented, "multiple-requests-unsupported", "batched requests (CIMBatch) are not supported")
		return nil, false
	}
	req, err := decodeRequest(root)
	if err != nil {
		var ce *cim.Error
		if errors.As(err, &ce) && ce.Status == cim.ENotSupported {
			// A MULTIREQ without the CIMBatch header that announces it.
			refuse(w, http.StatusBadRequest, "header-mismatch", err.Error())
			return nil, false
		}
		refuse(w, http.StatusBadRequest, "request-not-valid", err.Error())
		return nil, false
	}
	// Accept-Language asks for localized objects (DSP0200 §7.5; see
	// cimom.Localized); a language wbemd does not know is ignored, as HTTP
	// allows.
	if lang := r.Header.Get("Accept-Language"); lang != "" {
		req.locale, _ = cimom.LocaleOfLanguage(lang)
	}
	req.full = r.Header.Get("User-Agent") != ""
	if req.intrinsic {
		rec.SetOperation(req.method, req.ns)
	} else {
		rec.SetOperation(invokeMethod, req.ns)
	}
	if why := headersMatch(hdr, req); why != "" {
		refuse(w, http.StatusBadRequest, "header-mismatch", why)
		return nil, false
	}
	if err := validateParams(req); err != nil {
		refuse(w, http.StatusBadRequest, "request-not-valid", err.Error())
		return nil, false
	}
	return req, true
}

// refuse answers a request that is not carried out with an HTTP error and
// its CIMError header.
func refuse(w http.ResponseWriter, status int, cimError, msg string) {
	w.Header().Set("CIMError", cimError)
	http.Error(w, msg, status)
}

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

// Sizes of a streamed answer.
const (
	// streamThreshold is the size of results past which the answer to a
	// client that does not take trailers is streamed rather than
	// buffered: a failure after that can only abort the connection.
	streamThreshold = 256 << 10
	// streamChunk is the size of results past which the answer to a
	// client that takes trailers is streamed (a failure is told in a
	// trailer), and the size of the chunks of a streamed answer: the
	// client decodes the first results while the rest are produced.
	streamChunk = 32 << 10
)

// spill buffers an operation's results and, past streamThreshold (or
// streamChunk for a client that sends "TE: trailers"), starts the HTTP
// answer and streams the rest, chunked, streamChunk bytes at a time.
// Once streaming, a failure can no longer become an ERROR element: with
// "TE: trailers" it is told in the CIMStatusCode trailer (DSP0200
// §7.4.20); otherwise the connection is aborted so that the client sees
// a broken answer rather than a short one.
type spill struct {
	w         http.ResponseWriter
	head      []byte
	wrap      bool
	trailers  bool
	buf       *bytes.Buffer // the results not yet written
	streaming bool
	length    [1]string // the Content-Length header of a whole answer
}

func (s *spill) Write(p []byte) (int, error) {
	s.buf.Write(p)
	switch {
	case s.streaming:
		if s.buf.Len() >= streamChunk {
			return len(p), s.flush()
		}
	case s.buf.Len() >= streamThreshold, s.trailers && s.buf.Len() >= streamChunk:
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
		return len(p), s.flush()
	}
	return len(p), nil
}

// flush writes the buffered results of a streamed answer.
func (s *spill) flush() error {
	_, err := s.w.Write(s.buf.Bytes())
	s.buf.Reset()
	return err
}

// finish ends a streamed answer: the results produced are written, then
// the end of the answer, or the failure err in the trailers.
func (s *spill) finish(err error, tail string) {
	if err != nil {
		if !s.trailers {
			panic(http.ErrAbortHandler)
		}
		s.flush()
		e := cim.AsError(err)
		s.w.Header().Set("CIMStatusCode", strconv.Itoa(cimCode(e.Status)))
		s.w.Header().Set("CIMStatusCodeDescription", url.PathEscape(e.Status.String()+": "+e.Description))
		return
	}
	s.flush()
	if s.wrap {
		io.WriteString(s.w, "</IRETURNVALUE>")
	}
	io.WriteString(s.w, tail)
	if s.trailers {
		s.w.Header().Set("CIMStatusCode", "0")
	}
}

// server returns the host name of object paths in answers.
func (h *Handler) server() string {
	h.hostOnce.Do(func() { h.host = httpstack.HostName(h.Host) })
	return h.host
}

// headerFunc reads a CIM header, with M-POST's numbered prefix or not.
func headerFunc(r *http.Request) func(string) string {
	return func(name string) string {
		key, ok := cimHeaderKeys[name]
		if !ok {
			key = textproto.CanonicalMIMEHeaderKey(name)
		}
		if vs := r.Header[key]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
		for k, vs := range r.Header {
			if len(k) > 3 && k[2] == '-' && strings.EqualFold(k[3:], name) && len(vs) > 0 {
				return vs[0]
			}
		}
		return ""
	}
}

// cimHeaderKeys are the canonical keys of the CIM headers, made once.
var cimHeaderKeys = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"CIMOperation", "CIMProtocolVersion", "CIMMethod", "CIMObject", "CIMBatch",
		"CIMExport", "CIMExportMethod", "CIMExportBatch"} {
		m[h] = textproto.CanonicalMIMEHeaderKey(h)
	}
	return m
}()

// plainXMLTypes are Content-Types that are XML without parsing them.
var plainXMLTypes = map[string]bool{`application/xml; charset="utf-8"`: true, `application/xml; charset=utf-8`: true,
	`application/xml`: true, `text/xml; charset="utf-8"`: true, `text/xml; charset=utf-8`: true, `text/xml`: true}

// headerCount counts the values of a CIM header, with M-POST's numbered
// prefixes or not; a header with an empty value counts.
func headerCount(r *http.Request, name string) int {
	n := 0
	for k, vs := range r.Header {
		if strings.EqualFold(k, name) || (len(k) > 3 && k[2] == '-' && strings.EqualFold(k[3:], name)) {
			n += len(vs)
		}
	}
	return n
}

// precheck applies the HTTP rules of DSP0200 §7 common to operations and
// exports: POST or M-POST (M-POST over HTTP/1.1), an XML content type.
// It answers and returns false when the request breaks one.
func precheck(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method != http.MethodPost && r.Method != "M-POST":
		http.Error(w, "CIM-XML takes POST or M-POST", http.StatusNotImplemented)
		return false
	case r.Method == "M-POST" && !r.ProtoAtLeast(1, 1):
		http.Error(w, "M-POST needs HTTP/1.1", http.StatusBadRequest)
		return false
	}
	ct := r.Header.Values("Content-Type")
	if len(ct) != 1 {
		http.Error(w, "exactly one Content-Type is needed", http.StatusBadRequest)
		return false
	}
	if plainXMLTypes[ct[0]] {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct[0])
	if err != nil || (mt != "application/xml" && mt != "text/xml") {
		http.Error(w, "Content-Type must be application/xml or text/xml", http.StatusBadRequest)
		return false
	}
	return true
}
