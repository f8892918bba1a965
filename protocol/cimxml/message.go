package cimxml

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/wbemd/wbemd/cim"
)

// request is a decoded CIM-XML method call.
type request struct {
	id        string
	intrinsic bool
	method    string
	ns        string
	params    map[string]*node   // IPARAMVALUE or PARAMVALUE by folded name
	target    *node              // extrinsic: LOCALINSTANCEPATH or LOCALCLASSPATH
	decoded   map[decodedKey]any // objects validateParams decoded, until the operation takes them
	// dup is the first parameter given twice: the operation fails with
	// CIM_ERR_INVALID_PARAMETER (DSP0200 1.4 §5.3.2: an invalid
	// parameter is a status of the operation, not an HTTP error).
	dup    string
	locale string // the WMI locale of Accept-Language ("MS_409"), "" for none
	full   bool   // errors carry CIM_Error instances (see writeError)
}

// decodeRequest reads the MESSAGE of a CIM-XML request.
func decodeRequest(root *node) (*request, error) {
	if root.name != "CIM" {
		return nil, requestError("the root element is %s, not CIM", root.name)
	}
	msg := root.kid("MESSAGE")
	if msg == nil {
		return nil, requestError("CIM holds no MESSAGE")
	}
	req := &request{params: map[string]*node{}}
	req.id, _ = msg.attr("ID")
	simple := msg.kid("SIMPLEREQ")
	if simple == nil {
		if msg.kid("MULTIREQ") != nil {
			return nil, cim.Errorf(cim.ENotSupported, "multiple requests (MULTIREQ) are not supported")
		}
		return nil, requestError("MESSAGE holds no SIMPLEREQ (%s)", msg.where())
	}
	call := simple.kid("IMETHODCALL")
	pname := "IPARAMVALUE"
	if call != nil {
		req.intrinsic = true
		nsPath := call.kid("LOCALNAMESPACEPATH")
		if nsPath == nil {
			return nil, requestError("IMETHODCALL holds no LOCALNAMESPACEPATH (%s)", call.where())
		}
		req.ns = namespaceOf(nsPath)
	} else if call = simple.kid("METHODCALL"); call != nil {
		pname = "PARAMVALUE"
		if req.target = call.kid("LOCALINSTANCEPATH"); req.target == nil {
			req.target = call.kid("LOCALCLASSPATH")
		}
		if req.target == nil {
			return nil, requestError("METHODCALL names no LOCALINSTANCEPATH or LOCALCLASSPATH (%s)", call.where())
		}
		if nsPath := req.target.kid("LOCALNAMESPACEPATH"); nsPath != nil {
			req.ns = namespaceOf(nsPath)
		}
	} else {
		return nil, requestError("SIMPLEREQ holds no IMETHODCALL or METHODCALL (%s)", simple.where())
	}
	req.method, _ = call.attr("NAME")
	if req.method == "" {
		return nil, requestError("the method call has no NAME (%s)", call.where())
	}
	for _, k := range call.kids {
		if k.name != pname {
			continue
		}
		name, _ := k.attr("NAME")
		if name == "" {
			return nil, requestError("%s without NAME (%s)", pname, k.where())
		}
		key := lowerName(name)
		if _, dup := req.params[key]; dup {
			if req.dup == "" {
				req.dup = name
			}
			continue
		}
		req.params[key] = k
	}
	return req, nil
}

// lowerNames are the parameter names of DSP0200 in lower case, made once.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range strings.Fields(`InstanceName IncludeQualifiers IncludeClassOrigin PropertyList LocalOnly
		DeepInheritance ClassName NewInstance ModifiedInstance NewClass ModifiedClass ObjectName AssocClass
		ResultClass Role ResultRole PropertyName NewValue QualifierName QualifierDeclaration QueryLanguage Query
		EnumerationContext MaxObjectCount OperationTimeout ContinueOnError FilterQueryLanguage FilterQuery
		ReturnQueryResultClass InstancePath`) {
		m[n] = strings.ToLower(n)
	}
	return m
}()

// lowerName is strings.ToLower(name), without allocating for the names of
// DSP0200.
func lowerName(name string) string {
	if l, ok := lowerNames[name]; ok {
		return l
	}
	return strings.ToLower(name)
}

// param returns an IPARAMVALUE's first child element, or nil.
func (r *request) param(name string) (*node, bool) {
	p, ok := r.params[lowerName(name)]
	if !ok {
		return nil, false
	}
	if len(p.kids) == 0 {
		return nil, true
	}
	return p.kids[0], true
}

// required returns the value element of a parameter the operation needs:
// a missing or empty one is CIM_ERR_INVALID_PARAMETER (DSP0200 1.4 §5.3.2,
// each intrinsic method's "Error codes": an operation whose mandatory
// parameter is missing answers CIM_ERR_INVALID_PARAMETER), not an HTTP
// error.
func (r *request) required(name string) (*node, error) {
	v, _ := r.param(name)
	if v == nil {
		return nil, missingParam(r.method, name)
	}
	return v, nil
}

// requiredString reads a string-valued parameter the operation needs;
// missing, NULL or empty, it is CIM_ERR_INVALID_PARAMETER.
func (r *request) requiredString(name string) (string, error) {
	v, ok, err := r.stringParam(name)
	if err != nil {
		return "", err
	}
	if !ok || v == "" {
		return "", missingParam(r.method, name)
	}
	return v, nil
}

// missingParam is the error of an operation whose mandatory parameter is
// missing or holds no value.
func missingParam(method, name string) *cim.Error {
	return cim.Errorf(cim.EInvalidParameter, "%s needs the parameter %s", method, name)
}

// boolParam reads a boolean IPARAMVALUE, with its default.
func (r *request) boolParam(name string, def bool) (bool, error) {
	v, ok := r.param(name)
	if !ok {
		return def, nil
	}
	if v == nil {
		return false, requestError("parameter %s holds no value", name)
	}
	if v.name != "VALUE" {
		return false, requestError("parameter %s must be a VALUE, not %s", name, v.name)
	}
	switch strings.ToLower(strings.TrimSpace(v.text.String())) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, requestError("parameter %s must be TRUE or FALSE, not %q", name, v.text.String())
}

// stringParam reads a string-valued parameter (VALUE or CLASSNAME NAME).
func (r *request) stringParam(name string) (string, bool, error) {
	v, ok := r.param(name)
	if !ok || v == nil {
		return "", false, nil
	}
	switch v.name {
	case "VALUE":
		return strings.TrimSpace(v.text.String()), true, nil
	case "CLASSNAME":
		n, err := nameAttr(v, "NAME")
		return n, err == nil, err
	}
	return "", false, requestError("parameter %s must be a VALUE or CLASSNAME, not %s", name, v.name)
}

// propertyList reads PropertyList: nil when absent or NULL (all
// properties), else the names (possibly none).
func (r *request) propertyList() ([]string, error) {
	v, ok := r.param("PropertyList")
	if !ok || v == nil {
		return nil, nil
	}
	if v.name != "VALUE.ARRAY" {
		return nil, requestError("PropertyList must be a VALUE.ARRAY, not %s", v.name)
	}
	out := []string{}
	for _, k := range v.kids {
		if k.name == "VALUE" {
			out = append(out, strings.TrimSpace(k.text.String()))
		}
	}
	return out, nil
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
