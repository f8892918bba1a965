package cimxml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/xmltok"
)

// Answer reads a CIM-XML answer (DSP0201 MESSAGE/SIMPLERSP) as it
// arrives, for a client. ReadAnswer reads it up to its results; Next hands
// them out one element at a time: the children of IRETURNVALUE, or those
// of METHODRESPONSE. However large the answer, an Answer holds one result
// at a time (and a window of the stream), not the whole answer.
type Answer struct {
	b         *builder
	body      io.Closer     // the stream, until it is read to its end
	buf       *bytes.Buffer // an answer read whole
	intrinsic bool
	kind      string // IMETHODRESPONSE or METHODRESPONSE
	resp      int    // the depth of the response element while it is open
	results   int    // the depth of the results' parent while it is open
	pending   *node  // a result read with the head
	err       error  // io.EOF once the answer is read to its end
}

// Bounds of an answer.
const (
	// wholeAnswer is the largest answer read whole before it is parsed
	// (when its size is known): its strings then share one copy.
	wholeAnswer = 256 << 10
	// maxAnswerToken bounds one token (a tag, a value's text) of a
	// streamed answer.
	maxAnswerToken = 16 << 20
	// maxResult bounds the XML of one result of a streamed answer.
	maxResult = 64 << 20
	// firstSlabs is the size of answer the slabs of a streamed one start
	// for; they are reused from one result to the next.
	firstSlabs = 16 << 10
)

// ReadAnswer reads the answer body, of size bytes (-1 when unknown), to a
// method call, intrinsic or extrinsic, up to its results. An ERROR in the
// answer is returned as the WBEM error it tells; an answer that does not
// parse or holds no response is WBEM_E_TRANSPORT_FAILURE. The Answer owns
// body: it closes it when the answer is read or closed.
func ReadAnswer(body io.ReadCloser, size int64, intrinsic bool) (*Answer, error) {
	a := &Answer{b: builders.Get().(*builder), body: body, intrinsic: intrinsic, kind: "IMETHODRESPONSE"}
	if !intrinsic {
		a.kind = "METHODRESPONSE"
	}
	if size >= 0 && size <= wholeAnswer {
		a.buf = getBodyBuf()
		_, err := a.buf.ReadFrom(body)
		a.closeBody()
		if err != nil {
			a.Close()
			return nil, cim.Errorf(cim.ETransportFailure, "reading the answer: %v", err)
		}
		a.b.s.Reset(a.buf.Bytes())
		a.b.slabs(a.buf.Len())
	} else {
		a.b.s.ResetReader(body, maxAnswerToken)
		a.b.slabs(firstSlabs)
	}
	if err := a.head(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// head reads up to the results: the first child named MESSAGE of the root
// element, its SIMPLERSP, the response there, and in it an ERROR or the
// results.
func (a *Answer) head() error {
	depth := 0
	for _, name := range []string{"", "MESSAGE", "SIMPLERSP", a.kind} {
		found, err := a.child(depth, name)
		if err != nil {
			return err
		}
		if !found {
			if err := a.drain(); !errors.Is(err, io.EOF) {
				return err
			}
			return cim.Errorf(cim.ETransportFailure, "the answer holds no %s", a.kind)
		}
		depth++
	}
	a.resp, a.results = depth, depth
	for {
		found, err := a.child(depth, "")
		if err != nil || !found {
			a.resp, a.results = 0, 0
			return err
		}
		switch name := a.b.s.Name(); {
		case name == "ERROR":
			n, err := a.element()
			if err != nil {
				return err
			}
			return errorOf(n)
		case !a.intrinsic:
			a.pending, err = a.element()
			return err
		case name == "IRETURNVALUE":
			a.results = depth + 1
			return nil
		}
		if err := a.skip(); err != nil {
			return err
		}
	}
}

// child reads to the next child element, named name (any name when ""),
// of the element open at depth; it reports false when that element
// closes first (or, at depth 0, when the document ends).
func (a *Answer) child(depth int, name string) (bool, error) {
	for {
		k, err := a.b.s.Next()
		if err != nil {
			return false, a.parseError(err)
		}
		switch {
		case k == xmltok.EOF, k == xmltok.EndElement && a.b.s.Depth() < depth:
			return false, nil
		case k == xmltok.StartElement:
			if name == "" || a.b.s.Name() == name {
				return true, nil
			}
			if err := a.skip(); err != nil {
				return false, err
			}
		}
	}
}

// skip reads past the element whose start tag was just read.
func (a *Answer) skip() error {
	depth := a.b.s.Depth()
	for a.b.s.Depth() >= depth {
		if _, err := a.b.s.Next(); err != nil {
			return a.parseError(err)
		}
	}
	return nil
}

// element builds the element whose start tag was just read, bounded by
// maxResult.
func (a *Answer) element() (*node, error) {
	a.b.end = a.b.s.Offset() + maxResult
	n, err := a.b.element()
	if err != nil {
		return nil, a.parseError(err)
	}
	return n, nil
}

// parseError is the error of an answer that does not parse or could not
// be read.
func (a *Answer) parseError(err error) error {
	var xe *xmltok.Error
	var ce *cim.Error
	if errors.As(err, &ce) {
		return ce // the body's own (TrailerError)
	}
	if errors.As(err, &xe) {
		return cim.Errorf(cim.ETransportFailure, "the answer does not parse: %v", err)
	}
	return cim.Errorf(cim.ETransportFailure, "reading the answer: %v", err)
}

// Next returns the next result. After the last, it reads the rest of the
// answer and returns io.EOF, or the error found there (an ERROR after the
// results, XML that does not parse). The Element is valid until the next
// call of Next or Close.
func (a *Answer) Next() (*Element, error) {
	if a.err != nil {
		return nil, a.err
	}
	if n := a.pending; n != nil {
		a.pending = nil
		return (*Element)(n), nil
	}
	a.b.reuse()
	for a.results > 0 {
		k, err := a.b.s.Next()
		if err != nil {
			return nil, a.fail(a.parseError(err))
		}
		switch k {
		case xmltok.StartElement:
			n, err := a.element()
			if err != nil {
				return nil, a.fail(err)
			}
			if !a.intrinsic && n.name == "ERROR" {
				return nil, a.fail(errorOf(n))
			}
			return (*Element)(n), nil
		case xmltok.EndElement:
			if a.b.s.Depth() < a.results {
				a.results = 0
			}
		}
	}
	return nil, a.fail(a.drain())
}

// drain reads the rest of the answer: an ERROR left in the response is
// its error.
func (a *Answer) drain() error {
	for {
		k, err := a.b.s.Next()
		if err != nil {
			return a.parseError(err)
		}
		switch {
		case k == xmltok.EOF:
			a.closeBody()
			return io.EOF
		case k == xmltok.EndElement && a.b.s.Depth() < a.resp:
			a.resp = 0
		case k == xmltok.StartElement:
			if a.resp > 0 && a.b.s.Depth() == a.resp+1 && a.b.s.Name() == "ERROR" {
				n, err := a.element()
				if err != nil {
					return err
				}
				return errorOf(n)
			}
			if err := a.skip(); err != nil {
				return err
			}
		}
	}
}

// fail ends the answer with err.
func (a *Answer) fail(err error) error {
	a.err = err
	a.Close()
	return err
}

// Done reads the rest of the answer, as Next does to its end, and closes
// it: it returns nil when all is well.
func (a *Answer) Done() error {
	for {
		if _, err := a.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func (a *Answer) closeBody() {
	if a.body != nil {
		a.body.Close()
		a.body = nil
	}
}

// Close releases the answer; the rest of a stream not read is not read.
func (a *Answer) Close() {
	a.closeBody()
	if a.b != nil {
		a.b.release()
		a.b = nil
	}
	if a.buf != nil {
		putBodyBuf(a.buf)
		a.buf = nil
	}
	if a.err == nil {
		a.err = cim.Errorf(cim.ETransportFailure, "the answer is closed")
	}
}

// Element is one result of an Answer.
type Element node

// Name returns the element's name.
func (e *Element) Name() string { return e.name }

// Kid returns the first child element named name, or nil.
func (e *Element) Kid(name string) *Element { return (*Element)((*node)(e).kid(name)) }

// Instance decodes an INSTANCE.
func (e *Element) Instance() (*cim.Object, error) { return instanceOf((*node)(e), 0) }

// InstanceInto decodes an INSTANCE into the instance spawn returns for
// its class name (spawn is called once, with the INSTANCE's CLASSNAME;
// the instance it returns is typically spawned from the class): each
// property's value is converted to the type the instance has for it; a
// property the instance does not have, or a value that does not convert,
// leaves the instance's property as it was; the INSTANCE's qualifiers and
// its properties' qualifiers and class origins are the instance's own.
// This is Instance followed by filling an instance spawned from the
// class, without the intermediate instance. It fails where Instance
// fails, with the same errors; when spawn returns nil (and no error) it
// returns nil once the INSTANCE is checked.
func (e *Element) InstanceInto(spawn func(class string) (*cim.Object, error)) (*cim.Object, error) {
	return instanceInto((*node)(e), spawn)
}

// Class decodes a CLASS as a resolved class: inherited members kept,
// marked propagated.
func (e *Element) Class() (*cim.Object, error) { return resolvedClassOf((*node)(e)) }

// InstanceName decodes an INSTANCENAME.
func (e *Element) InstanceName() (*cim.ObjectPath, error) { return instanceNameOf((*node)(e)) }

// QualifierDecl decodes a QUALIFIER.DECLARATION.
func (e *Element) QualifierDecl() (*cim.QualifierDecl, error) {
	return qualifierDeclOf((*node)(e))
}

// OutParam decodes a RETURNVALUE (named cimom.ReturnValue) or a
// PARAMVALUE, typed by its PARAMTYPE (string when it has none).
func (e *Element) OutParam() (cim.Property, error) {
	n := (*node)(e)
	name := cimom.ReturnValue
	if n.name == "PARAMVALUE" {
		name, _ = n.attr("NAME")
	}
	pt, _ := n.attr("PARAMTYPE")
	t, ok := cim.ParseTypeName(pt)
	if !ok {
		t = cim.TypeString
	}
	v, t, err := firstValueOf(n, t)
	if err != nil {
		return cim.Property{}, cim.Errorf(cim.ETransportFailure, "out-parameter %s: %v", name, err)
	}
	return cim.Property{Name: name, Type: t, Value: v}, nil
}

// resolvedClassOf decodes a CLASS as a resolved class: inherited members
// kept, marked propagated.
func resolvedClassOf(n *node) (*cim.Object, error) {
	cls, err := classOf(n)
	if err != nil {
		return nil, err
	}
	var props []cim.Property
	for _, k := range n.kids {
		if !strings.HasPrefix(k.name, "PROPERTY") {
			continue
		}
		p, err := propertyOf(k, 0)
		if err != nil {
			return nil, err
		}
		prop, _ := k.attr("PROPAGATED")
		p.Propagated = strings.EqualFold(prop, "true")
		if p.Origin == "" {
			p.Origin = cls.Class
		}
		props = append(props, p)
	}
	cls.Properties = props
	return cls, nil
}

// errorOf turns an ERROR element into a WBEM error: wbemd's descriptions
// start with the WBEM status name, which gives back the exact status;
// other servers' codes map through the table. The extended status comes
// from the ERROR's instances: WMI's __ExtendedStatus (operation,
// parameter, provider, exact status), else CIM_Error's MessageID (a
// WBEM status name from wbemd), Message and ErrorSource.
func errorOf(e *node) error {
	codeText, _ := e.attr("CODE")
	desc, _ := e.attr("DESCRIPTION")
	var code int
	fmt.Sscanf(codeText, "%d", &code)
	out := errorOfCode(code, desc)
	text := func(o *cim.Object, name string) string {
		if p, ok := o.Property(name); ok {
			if s, ok := p.Value.V.(string); ok {
				return s
			}
		}
		return ""
	}
	for _, k := range e.kids {
		if k.name != "INSTANCE" {
			continue
		}
		inst, err := instanceOf(k, 0)
		if err != nil {
			continue // an instance the client cannot read leaves the code and description
		}
		switch {
		case cim.EqualFold(inst.Class, "__ExtendedStatus"):
			out.Operation = text(inst, "Operation")
			out.Parameter = text(inst, "ParameterInfo")
			out.Provider = text(inst, "ProviderName")
			if p, ok := inst.Property("StatusCode"); ok {
				if v, ok := p.Value.V.(uint32); ok && v != 0 {
					out.Status = cim.Status(v)
				}
			}
			if d := text(inst, "Description"); d != "" {
				out.Description = d
			}
		case out.Operation == "" && out.Provider == "":
			if s, found := statusByName(text(inst, "MessageID")); found {
				out.Status = s
			}
			if m := text(inst, "Message"); m != "" && desc == "" {
				out.Description = m
			}
			if out.Parameter == "" {
				out.Parameter = text(inst, "ErrorSource")
			}
		}
	}
	return out
}

// errorOfCode is the WBEM error of a CIM_ERR_* code and its description:
// a description that starts with a WBEM status name (as wbemd writes
// them) gives back the exact status.
func errorOfCode(code int, desc string) *cim.Error {
	status := StatusOf(code)
	if name, rest, ok := strings.Cut(desc, ": "); ok {
		if s, found := statusByName(name); found {
			status, desc = s, rest
		}
	}
	return &cim.Error{Status: status, Description: desc}
}

// TrailerError is the failure that the trailers of a streamed answer
// tell (CIMStatusCode and CIMStatusCodeDescription, DSP0200 §7.4.20), as
// wbemd sends them to a client that sends "TE: trailers"; nil when they
// tell success or are absent.
func TrailerError(trailer http.Header) error {
	text := trailer.Get("CIMStatusCode")
	if text == "" || text == "0" {
		return nil
	}
	code, err := strconv.Atoi(text)
	if err != nil {
		return cim.Errorf(cim.ETransportFailure, "the answer ends with CIMStatusCode %q, not a code", text)
	}
	desc := trailer.Get("CIMStatusCodeDescription")
	if d, err := url.PathUnescape(desc); err == nil {
		desc = d
	}
	return errorOfCode(code, desc)
}

func statusByName(name string) (cim.Status, bool) {
	if !strings.HasPrefix(name, "WBEM_") {
		return 0, false
	}
	return cim.ParseStatus(name)
}
