package cimxml

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/wbemd/wbemd/cim"
)

// The sending side of a CIM-XML export (DSP0200 §5.4): wbemd POSTs each
// indication of a DMTF subscription to its listener destination as an
// ExportIndication export request, and reads the export response.

// NewExportRequest returns the HTTP request that exports one indication to
// the listener at url: an ExportIndication SIMPLEEXPREQ with the message
// id, the indication as its NewIndication parameter.
func NewExportRequest(ctx context.Context, url, id string, indication *cim.Object) (*http.Request, error) {
	var body bytes.Buffer
	EncodeExportIndication(&body, id, indication)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return nil, fmt.Errorf("cimxml: export to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("CIMExport", "MethodRequest")
	req.Header.Set("CIMExportMethod", "ExportIndication")
	req.Header.Set("CIMProtocolVersion", "1.0")
	return req, nil
}

// EncodeExportIndication writes the CIM-XML export message of one
// ExportIndication call to w.
func EncodeExportIndication(w io.Writer, id string, indication *cim.Object) {
	bw := &writer{w: newOutbuf(w, 4096)}
	bw.s(`<?xml version="1.0" encoding="utf-8" ?>` + "\n" + `<CIM CIMVERSION="2.0" DTDVERSION="2.4"><MESSAGE`)
	bw.attr("ID", id)
	bw.s(` PROTOCOLVERSION="1.0"><SIMPLEEXPREQ><EXPMETHODCALL NAME="ExportIndication"><EXPPARAMVALUE NAME="NewIndication">`)
	bw.instance(indication, options{})
	bw.s("</EXPPARAMVALUE></EXPMETHODCALL></SIMPLEEXPREQ></MESSAGE></CIM>\n")
	bw.w.Flush()
}

// CheckExportResponse reads a listener's answer to an export request: nil
// for HTTP 200 with an EXPMETHODRESPONSE without ERROR, else an error that
// says what the listener answered (a *cim.Error for an ERROR element).
func CheckExportResponse(resp *http.Response, maxBody int64) error {
	if resp.StatusCode != http.StatusOK {
		msg := resp.Header.Get("CIMError")
		if msg == "" {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			msg = string(bytes.TrimSpace(b))
		}
		return fmt.Errorf("cimxml: listener answered HTTP %d: %s", resp.StatusCode, msg)
	}
	return ParseExportResponse(io.LimitReader(resp.Body, maxBody))
}

// ParseExportResponse reads the body of an export response: nil for a
// SIMPLEEXPRSP whose EXPMETHODRESPONSE holds no ERROR, the listener's
// error as a *cim.Error, or a description of what is wrong with the
// document.
func ParseExportResponse(r io.Reader) error {
	root, err := parseTree(r)
	if err != nil {
		return fmt.Errorf("cimxml: export response: %w", err)
	}
	msg := root.kid("MESSAGE")
	if root.name != "CIM" || msg == nil {
		return fmt.Errorf("cimxml: export response holds no CIM MESSAGE")
	}
	rsp := msg.kid("SIMPLEEXPRSP")
	if rsp == nil {
		return fmt.Errorf("cimxml: export response holds no SIMPLEEXPRSP")
	}
	mr := rsp.kid("EXPMETHODRESPONSE")
	if mr == nil {
		return fmt.Errorf("cimxml: export response holds no EXPMETHODRESPONSE")
	}
	if e := mr.kid("ERROR"); e != nil {
		code, _ := e.attr("CODE")
		n, err := strconv.Atoi(code)
		if err != nil {
			return fmt.Errorf("cimxml: export response: ERROR CODE %q is not a number", code)
		}
		desc, _ := e.attr("DESCRIPTION")
		return cim.Errorf(StatusOf(n), "listener answered CIM_ERR %d: %s", n, desc)
	}
	return nil
}
