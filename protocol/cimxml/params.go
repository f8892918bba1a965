package cimxml

import (
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/wql"
)

// The typed requests of the operations: each decode function reads the
// parameters of one operation from a request, applies DSP0200's defaults,
// and refuses what is malformed. They call no cimom and keep no state:
// a request decodes the same way whatever the repository holds.

// Bounds of OperationTimeout (DSP0200 1.3: a default and a server's
// maximum).
const (
	defaultOperationTimeout = 60 * time.Second
	maxOperationTimeout     = 30 * time.Minute
)

// nameParam returns the decoder of a request whose one parameter is the
// string-valued name (ClassName, QualifierName, EnumerationContext).
func nameParam(name string) func(*request) (string, error) {
	return func(req *request) (string, error) {
		return req.requiredString(name)
	}
}

// noParams decodes a request that takes no parameters.
func noParams(*request) (struct{}, error) { return struct{}{}, nil }

// getClassRequest is GetClass's.
type getClassRequest struct {
	class string
	opts  options
}

func decodeGetClass(req *request) (getClassRequest, error) {
	var r getClassRequest
	var err error
	if r.class, err = req.requiredString("ClassName"); err != nil {
		return r, err
	}
	r.opts, err = classOptions(req, true)
	return r, err
}

// enumClassesRequest is EnumerateClasses's and EnumerateClassNames's.
type enumClassesRequest struct {
	class string
	deep  bool
	opts  options
	names bool // the names only
}

func decodeEnumClasses(req *request) (enumClassesRequest, error) {
	r := enumClassesRequest{names: req.method == "EnumerateClassNames"}
	var err error
	if r.class, _, err = req.stringParam("ClassName"); err != nil {
		return r, err
	}
	if r.deep, err = req.boolParam("DeepInheritance", false); err != nil {
		return r, err
	}
	r.opts, err = classOptions(req, false)
	return r, err
}

// putClassRequest is CreateClass's and ModifyClass's.
type putClassRequest struct {
	class *cim.Object
	flags cimom.Flags
}

func decodePutClass(req *request) (putClassRequest, error) {
	pname, flags := "NewClass", cimom.FlagCreateOnly
	if req.method == "ModifyClass" {
		pname, flags = "ModifiedClass", cimom.FlagUpdateOnly
	}
	n, err := req.required(pname)
	if err != nil {
		return putClassRequest{}, err
	}
	c, err := take(req, n, decClass, func() (*cim.Object, error) { return classOf(n) })
	return putClassRequest{class: c, flags: flags}, err
}

// instanceRequest is GetInstance's.
type instanceRequest struct {
	path string
	opts options
}

func decodeGetInstance(req *request) (instanceRequest, error) {
	var r instanceRequest
	var err error
	if r.path, err = instanceParam(req, "InstanceName"); err != nil {
		return r, err
	}
	r.opts, err = instanceOptions(req)
	return r, err
}

// decodeInstanceName reads DeleteInstance's InstanceName as a path.
func decodeInstanceName(req *request) (string, error) { return instanceParam(req, "InstanceName") }

// enumInstancesRequest is EnumerateInstances's and
// EnumerateInstanceNames's.
type enumInstancesRequest struct {
	class string
	deep  bool
	opts  options
	names bool // the paths only
}

func decodeEnumInstances(req *request) (enumInstancesRequest, error) {
	r := enumInstancesRequest{names: req.method == "EnumerateInstanceNames"}
	var err error
	if r.class, err = req.requiredString("ClassName"); err != nil {
		return r, err
	}
	if r.deep, err = req.boolParam("DeepInheritance", true); err != nil {
		return r, err
	}
	r.opts, err = instanceOptions(req)
	return r, err
}

// decodeNewInstance reads CreateInstance's NewInstance, its references to
// the request's namespace made relative.
func decodeNewInstance(req *request) (*cim.Object, error) {
	n, err := req.required("NewInstance")
	if err != nil {
		return nil, err
	}
	inst, err := take(req, n, decInstance, func() (*cim.Object, error) { return instanceOf(n, 0) })
	if err != nil {
		return nil, err
	}
	localRefs(inst.Properties, req.ns)
	return inst, nil
}

// modifyInstanceRequest is ModifyInstance's: the instance's path (from
// the name), the instance, and the properties to write (nil: those the
// instance carries).
type modifyInstanceRequest struct {
	path string
	inst *cim.Object
	list []string
}

func decodeModifyInstance(req *request) (modifyInstanceRequest, error) {
	var r modifyInstanceRequest
	n, err := req.required("ModifiedInstance")
	if err != nil {
		return r, err
	}
	if n.name != "VALUE.NAMEDINSTANCE" {
		return r, requestError("ModifyInstance needs ModifiedInstance as a VALUE.NAMEDINSTANCE")
	}
	nameNode := n.kid("INSTANCENAME")
	name, err := take(req, nameNode, decInstanceName, func() (*cim.ObjectPath, error) { return instanceNameOf(nameNode) })
	if err != nil {
		return r, err
	}
	in := n.kid("INSTANCE")
	if in == nil {
		return r, requestError("ModifiedInstance holds no INSTANCE")
	}
	inst, err := take(req, in, decInstance, func() (*cim.Object, error) { return instanceOf(in, 0) })
	if err != nil {
		return r, err
	}
	if !cim.EqualFold(inst.Class, name.Class) {
		return r, requestError("ModifiedInstance names class %s but holds an instance of %s", name.Class, inst.Class)
	}
	localRefs(inst.Properties, req.ns)
	for i := range name.Keys {
		name.Keys[i].Value = localRef(name.Keys[i].Value, req.ns)
	}
	list, err := req.propertyList()
	if err != nil {
		return r, err
	}
	return modifyInstanceRequest{path: name.RelPath(), inst: inst, list: list}, nil
}

// queryRequest is ExecQuery's.
type queryRequest struct {
	lang, query string
}

func decodeQuery(req *request) (queryRequest, error) {
	var r queryRequest
	var err error
	if r.lang, err = req.requiredString("QueryLanguage"); err != nil {
		return r, err
	}
	r.query, err = req.requiredString("Query")
	return r, err
}

// assocRequest is Associators's, AssociatorNames's, References's and
// ReferenceNames's.
type assocRequest struct {
	q     *wql.Assoc
	opts  options
	names bool // the paths only
	// keyless: ObjectName is an INSTANCENAME without key bindings, which
	// clients such as wbemcli send for a class path.
	keyless bool
}

func decodeAssoc(req *request) (assocRequest, error) {
	r := assocRequest{names: strings.HasSuffix(req.method, "Names")}
	n, err := req.required("ObjectName")
	if err != nil {
		return r, err
	}
	p, err := pathOf(n)
	if err != nil {
		return r, err
	}
	r.keyless = n.name == "INSTANCENAME" && len(p.Keys) == 0
	r.q = &wql.Assoc{Path: p.RelPath(), References: strings.HasPrefix(req.method, "Reference"), SchemaOnly: p.IsClass()}
	if err := assocFilters(req, r.q); err != nil {
		return r, err
	}
	r.opts, err = instanceOptions(req)
	return r, err
}

// assocFilters reads AssocClass, ResultClass, Role and ResultRole into q.
func assocFilters(req *request, q *wql.Assoc) error {
	for name, dst := range map[string]*string{"AssocClass": &q.AssocClass, "ResultClass": &q.ResultClass, "Role": &q.Role, "ResultRole": &q.ResultRole} {
		v, _, err := req.stringParam(name)
		if err != nil {
			return err
		}
		*dst = v
	}
	return nil
}

// propertyRequest is GetProperty's and SetProperty's. SetProperty's
// NewValue stays an element: its encoding depends on the property's type,
// which the class declares.
type propertyRequest struct {
	path, class, name string
	value             *node // SetProperty: NewValue's value element (nil: NULL)
}

func decodeProperty(req *request) (propertyRequest, error) {
	var r propertyRequest
	var err error
	if r.path, err = instanceParam(req, "InstanceName"); err != nil {
		return r, err
	}
	if r.name, err = req.requiredString("PropertyName"); err != nil {
		return r, err
	}
	if req.method == "SetProperty" {
		op, err := cim.ParsePath(r.path)
		if err != nil {
			return r, err
		}
		r.class = op.Class
		r.value, _ = req.param("NewValue")
	}
	return r, nil
}

// decodeQualifierDecl reads SetQualifier's QualifierDeclaration.
func decodeQualifierDecl(req *request) (*cim.QualifierDecl, error) {
	n, err := req.required("QualifierDeclaration")
	if err != nil {
		return nil, err
	}
	return take(req, n, decQualifierDecl, func() (*cim.QualifierDecl, error) { return qualifierDeclOf(n) })
}

// openRequest is what the Open* operations take: the options of every
// one, and what it enumerates.
type openRequest struct {
	timeout time.Duration
	max     int
	opts    options
	paths   bool          // the results are paths
	class   string        // OpenEnumerateInstances, OpenEnumerateInstancePaths
	query   *queryRequest // OpenQueryInstances
	assoc   *wql.Assoc    // Open{Reference,Associator}Instance{s,Paths}
}

func decodeOpen(req *request) (openRequest, error) {
	r := openRequest{paths: strings.HasSuffix(req.method, "Paths")}
	var err error
	if r.timeout, r.max, err = openParams(req); err != nil {
		return r, err
	}
	if r.opts, err = instanceOptions(req); err != nil {
		return r, err
	}
	switch req.method {
	case "OpenEnumerateInstances", "OpenEnumerateInstancePaths":
		r.class, err = req.requiredString("ClassName")
	case "OpenQueryInstances":
		r.query = &queryRequest{}
		r.query.lang, _, _ = req.stringParam("FilterQueryLanguage")
		r.query.query, _, _ = req.stringParam("FilterQuery")
	default: // Open{Reference,Associator}Instance{s,Paths}
		n, err := req.required("InstanceName")
		if err != nil {
			return r, err
		}
		path, err := instanceNameOf(n)
		if err != nil {
			return r, err
		}
		r.assoc = &wql.Assoc{Path: path.RelPath(), References: strings.HasPrefix(req.method, "OpenReference")}
		err = assocFilters(req, r.assoc)
		return r, err
	}
	return r, err
}

// pullRequest is what the Pull* operations take.
type pullRequest struct {
	method string
	id     string // EnumerationContext
	max    int
	paths  bool // PullInstancePaths
}

func decodePull(req *request) (pullRequest, error) {
	r := pullRequest{method: req.method, paths: req.method == "PullInstancePaths"}
	var err error
	if r.id, err = req.requiredString("EnumerationContext"); err != nil {
		return r, err
	}
	r.max, err = maxCount(req)
	return r, err
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

// instanceParam reads an INSTANCENAME parameter as a path string.
func instanceParam(req *request, name string) (string, error) {
	n, err := req.required(name)
	if err != nil {
		return "", err
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

// openParams reads what every Open* takes.
func openParams(req *request) (timeout time.Duration, max int, err error) {
	if v, ok := req.param("ContinueOnError"); ok && v != nil && strings.EqualFold(strings.TrimSpace(v.text.String()), "true") {
		// OpenPegasus answers CIM_ERR_NOT_SUPPORTED here, where DSP0200
		// has CIM_ERR_CONTINUATION_ON_ERROR_NOT_SUPPORTED.
		return 0, 0, cim.Errorf(cim.ENotSupported, "ContinueOnError=true is not supported")
	}
	if q, ok, _ := req.stringParam("FilterQuery"); ok && q != "" && req.method != "OpenQueryInstances" {
		return 0, 0, &codeError{errFilteredEnumerationNotSupported, "filtered enumerations are not supported: use OpenQueryInstances"}
	}
	timeout = defaultOperationTimeout
	if v, present := req.param("OperationTimeout"); present {
		// An empty VALUE, like a missing one, is NULL: the server's
		// default (DSP0200 1.4 §5.4.2.1.4: OperationTimeout NULL).
		if v != nil && v.name != "VALUE" {
			return 0, 0, requestError("OperationTimeout must be a VALUE, not %s", v.name)
		}
		if text := paramText(v); text != "" {
			n, perr := strconv.ParseUint(text, 10, 32)
			if perr != nil || time.Duration(n)*time.Second > maxOperationTimeout {
				return 0, 0, &codeError{errInvalidOperationTimeout, "OperationTimeout must be a number of seconds up to " + strconv.Itoa(int(maxOperationTimeout/time.Second))}
			}
			if n > 0 {
				timeout = time.Duration(n) * time.Second
			}
		}
	}
	max, err = maxCount(req)
	return timeout, max, err
}

func maxCount(req *request) (int, error) {
	v, _ := req.param("MaxObjectCount")
	if v == nil {
		return 0, nil
	}
	text := strings.TrimSpace(v.text.String())
	if text == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(text, 10, 32)
	if err != nil {
		return 0, requestError("MaxObjectCount must be a uint32, not %q", text)
	}
	return int(n), nil
}

// paramText is the trimmed text of a parameter's VALUE; "" for NULL.
func paramText(v *node) string {
	if v == nil {
		return ""
	}
	return strings.TrimSpace(v.text.String())
}
