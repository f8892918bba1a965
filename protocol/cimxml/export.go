package cimxml

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// Listener receives CIM-XML export messages (DSP0200 §5.4, an indication
// listener): ExportIndication requests POSTed to /CIMListener/<consumer>.
type Listener struct {
	// Deliver receives each indication with the consumer named by the
	// request path; an error is answered as a CIM error.
	Deliver func(ctx context.Context, consumer string, indication *cim.Object) error
	Log     *slog.Logger
	// MaxRequest bounds a request body (default 16 MiB).
	MaxRequest int64
}

// ServeHTTP answers one export request.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !precheck(w, r) {
		return
	}
	hdr := headerFunc(r)
	fail := func(status int, cimError, msg string) {
		if cimError != "" {
			w.Header().Set("CIMError", cimError)
		}
		http.Error(w, msg, status)
	}
	if !strings.EqualFold(hdr("CIMExport"), "MethodRequest") {
		fail(http.StatusBadRequest, "unsupported-operation", "CIMExport must be MethodRequest")
		return
	}
	if headerCount(r, "CIMExportBatch") > 0 {
		fail(http.StatusNotImplemented, "multiple-requests-unsupported", "batched exports are not supported")
		return
	}
	method := hdr("CIMExportMethod")
	if method == "" {
		fail(http.StatusBadRequest, "header-mismatch", "CIMExportMethod is missing")
		return
	}
	maxBody := l.MaxRequest
	if maxBody <= 0 {
		maxBody = 16 << 20
	}
	root, err := parseTree(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		cimErr := "request-not-valid"
		if errors.Is(err, errNotWellFormed) {
			cimErr = "request-not-well-formed"
		}
		fail(http.StatusBadRequest, cimErr, err.Error())
		return
	}
	if version, status := checkVersions(root, hdr("CIMProtocolVersion")); version != "" {
		fail(status, version, "unsupported version")
		return
	}
	msg := root.kid("MESSAGE")
	if root.name != "CIM" || msg == nil {
		fail(http.StatusBadRequest, "request-not-valid", "the request holds no CIM MESSAGE")
		return
	}
	if msg.kid("MULTIEXPREQ") != nil {
		fail(http.StatusBadRequest, "header-mismatch", "a MULTIEXPREQ needs the CIMExportBatch header")
		return
	}
	call := msg.kid("SIMPLEEXPREQ")
	if call != nil {
		call = call.kid("EXPMETHODCALL")
	}
	if call == nil {
		fail(http.StatusBadRequest, "request-not-valid", "the message holds no SIMPLEEXPREQ with an EXPMETHODCALL")
		return
	}
	name, _ := call.attr("NAME")
	if name != method {
		fail(http.StatusBadRequest, "header-mismatch", "CIMExportMethod does not name the method of the body")
		return
	}
	id, _ := msg.attr("ID")
	err = l.export(r.Context(), strings.TrimPrefix(r.URL.Path, "/CIMListener/"), name, call)
	if errors.Is(err, errBadRequest) {
		fail(http.StatusBadRequest, "request-not-valid", err.Error())
		return
	}
	var body bytes.Buffer
	bw := &writer{w: newOutbuf(&body, 4096)}
	bw.s(`<?xml version="1.0" encoding="utf-8" ?>` + "\n" + `<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE`)
	bw.attr("ID", id)
	bw.s(` PROTOCOLVERSION="1.0"><SIMPLEEXPRSP><EXPMETHODRESPONSE`)
	bw.attr("NAME", name)
	bw.s(">")
	if err != nil {
		e := cim.AsError(err)
		bw.s(`<ERROR CODE="` + strconv.Itoa(cimCode(e.Status)) + `"`)
		bw.attr("DESCRIPTION", e.Description)
		bw.s("></ERROR>")
	}
	bw.s("</EXPMETHODRESPONSE></SIMPLEEXPRSP></MESSAGE></CIM>\n")
	bw.w.Flush()
	w.Header().Set("Content-Type", `application/xml; charset="utf-8"`)
	w.Header().Set("CIMExport", "MethodResponse")
	w.Header().Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(body.Bytes())
}

// export runs one export method.
func (l *Listener) export(ctx context.Context, consumer, method string, call *node) error {
	if method != "ExportIndication" {
		return cim.Errorf(cim.ENotSupported, "unrecognized export method %s", method)
	}
	var indication *cim.Object
	for _, p := range call.kids {
		if p.name != "EXPPARAMVALUE" {
			continue
		}
		name, _ := p.attr("NAME")
		if name != "NewIndication" {
			return cim.Errorf(cim.ENotSupported, "unrecognized EXPPARAMVALUE %s", name)
		}
		if len(p.kids) != 1 {
			return requestError("NewIndication holds no INSTANCE")
		}
		inst, err := instanceOf(p.kids[0], 0)
		if err != nil {
			return err
		}
		indication = inst
	}
	if indication == nil {
		return requestError("ExportIndication needs NewIndication")
	}
	if l.Deliver == nil {
		return nil
	}
	return l.Deliver(ctx, consumer, indication)
}
