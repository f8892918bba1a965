package cimxml

import (
	"bytes"

	"github.com/wbemd/wbemd/cim"
)

// RequestWriter writes a CIM-XML method call (DSP0201 MESSAGE/SIMPLEREQ),
// as a client sends it: NewRequestWriter writes its start, the caller its
// parameters, and Bytes its end. The elements are written as the door
// writes them: escaped with the five predefined entities, never
// self-closing.
type RequestWriter struct {
	buf *bytes.Buffer
	w   *writer
	end string
}

// NewRequestWriter starts a call of method: intrinsic (IMETHODCALL) in
// namespace ns when target is nil, extrinsic (METHODCALL) on target, in
// namespace ns, otherwise.
func NewRequestWriter(ns, method string, target *cim.ObjectPath) *RequestWriter {
	call := "IMETHODCALL"
	if target != nil {
		call = "METHODCALL"
	}
	rw := &RequestWriter{buf: getBodyBuf(), end: "</" + call + "></SIMPLEREQ></MESSAGE></CIM>"}
	rw.w = newWriter(rw.buf)
	rw.w.s(`<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><` + call)
	rw.w.attr("NAME", method)
	rw.w.s(">")
	if target == nil {
		rw.w.localNamespace(ns)
	} else {
		t := *target
		t.Server, t.Namespace = "", ns
		rw.w.objectPath(&t)
	}
	return rw
}

// Bytes ends the call and returns it; the bytes are valid until Release.
func (rw *RequestWriter) Bytes() []byte {
	rw.w.s(rw.end)
	rw.w.release()
	rw.w = nil
	return rw.buf.Bytes()
}

// Release gives the writer's memory back; it is not used after.
func (rw *RequestWriter) Release() {
	if rw.w != nil {
		rw.w.release()
		rw.w = nil
	}
	putBodyBuf(rw.buf)
	rw.buf = nil
}

// Markup writes markup as it is.
func (rw *RequestWriter) Markup(s string) { rw.w.s(s) }

// Attr writes an attribute (with a space before it), its value escaped.
func (rw *RequestWriter) Attr(name, value string) { rw.w.attr(name, value) }

// Text writes character data, escaped.
func (rw *RequestWriter) Text(s string) { rw.w.esc(s) }

// ObjectPath writes an OBJECTPATH.
func (rw *RequestWriter) ObjectPath(p *cim.ObjectPath) { rw.w.objectPath(p) }

// InstanceName writes an INSTANCENAME.
func (rw *RequestWriter) InstanceName(p *cim.ObjectPath) { rw.w.instanceName(p) }

// Instance writes an INSTANCE with its properties (no qualifiers).
func (rw *RequestWriter) Instance(inst *cim.Object) { rw.w.instance(inst, options{}) }

// Class writes a CLASS with its qualifiers.
func (rw *RequestWriter) Class(cls *cim.Object) { rw.w.class(cls, options{qualifiers: true}) }

// QualifierDecl writes a QUALIFIER.DECLARATION.
func (rw *RequestWriter) QualifierDecl(d *cim.QualifierDecl) { rw.w.qualifierDecl(d) }

// ParamValue writes a PARAMVALUE of a method call.
func (rw *RequestWriter) ParamValue(p *cim.Property) { rw.w.paramValue(p) }
