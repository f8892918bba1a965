package rest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
)

// providerStatusClass is the class whose instances in root describe the
// providers (internal/provhost's StatusClass).
const providerStatusClass = "WBEMD_Provider"

// rightNames names the bits of cimom.Rights, as WMI's WBEM_* access
// constants do.
var rightNames = []struct {
	r    cimom.Rights
	name string
}{
	{cimom.RightEnable, "WBEM_ENABLE"}, {cimom.RightMethodExecute, "WBEM_METHOD_EXECUTE"},
	{cimom.RightFullWrite, "WBEM_FULL_WRITE_REP"}, {cimom.RightPartialWrite, "WBEM_PARTIAL_WRITE_REP"},
	{cimom.RightWriteProvider, "WBEM_WRITE_PROVIDER"}, {cimom.RightRemoteEnable, "WBEM_REMOTE_ACCESS"},
	{cimom.RightSubscribe, "WBEM_RIGHT_SUBSCRIBE"}, {cimom.RightPublish, "WBEM_RIGHT_PUBLISH"},
	{cimom.RightReadControl, "READ_CONTROL"}, {cimom.RightWriteDAC, "WRITE_DAC"},
}

func (h *Handler) namespaces(w http.ResponseWriter, r *http.Request, c *call) error {
	var names []string
	if h.Namespaces != nil {
		all, err := h.Namespaces(c.ctx)
		if err != nil {
			return err
		}
		names = all
	} else {
		names = []string{"root"}
		root, err := h.Connector.Connect(c.ctx, "root", c.p)
		if err != nil {
			return err
		}
		e, err := root.CreateInstanceEnum(c.ctx, "__Namespace", cimom.FlagForwardOnly|cimom.FlagShallow, nil)
		objs, err := page(c, e, err)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if v, err := o.Get("Name"); err == nil {
				if s, ok := v.V.(string); ok {
					names = append(names, "root/"+s)
				}
			}
		}
	}
	// The caller sees the namespaces it may enter.
	out := []string{}
	for _, ns := range names {
		if _, err := h.Connector.Connect(c.ctx, ns, c.p); err == nil {
			out = append(out, ns)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// page reads all of an enumeration's objects, up to MaxLimit.
func page(c *call, e cimom.Enumerator, err error) ([]*cim.Object, error) {
	if err != nil {
		return nil, err
	}
	defer e.Close()
	objs, _, err := e.Next(c.ctx, cimom.Infinite, MaxLimit)
	return objs, err
}

func rights(w http.ResponseWriter, r *http.Request, c *call) error {
	rs, err := c.svc.GetCallerAccessRights(c.ctx)
	if err != nil {
		return err
	}
	names := []string{}
	for _, n := range rightNames {
		if rs&n.r != 0 {
			names = append(names, n.name)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": c.p.Name, "administrator": c.p.IsAdmin(), "namespace": c.svc.Namespace(),
		"rights": uint32(rs), "names": names})
	return nil
}

// classEntry is a class in the class tree.
type classEntry struct {
	Name        string `json:"name"`
	Superclass  string `json:"superclass,omitempty"`
	Abstract    bool   `json:"abstract,omitempty"`
	Association bool   `json:"association,omitempty"`
}

func classes(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	flags := cimom.FlagForwardOnly
	if q.Get("deep") != "true" {
		flags |= cimom.FlagShallow
	}
	e, err := c.svc.CreateClassEnum(c.ctx, q.Get("superclass"), flags, nil)
	if err != nil {
		return err
	}
	defer e.Close()
	items := []classEntry{}
	for o, err := range cimom.All(c.ctx, e) {
		if err != nil {
			return err
		}
		items = append(items, classEntry{Name: o.Class, Superclass: o.Superclass,
			Abstract:    cim.HasTrueQualifier(o.Qualifiers, "Abstract"),
			Association: cim.HasTrueQualifier(o.Qualifiers, "Association")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func getClass(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("class")
	if strings.ContainsAny(name, ".=") {
		return cim.Errorf(cim.EInvalidClass, "%q is not a class name", name).WithParam(name)
	}
	o, err := c.svc.GetObject(c.ctx, name, 0, nil)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "mof" {
		b := []byte(o.GetObjectText(0))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
		return nil
	}
	var b bytes.Buffer
	b.WriteString(`{"class":`)
	b.Write(cimjson.Encode(o, false))
	der, _ := json.Marshal(append([]string{}, o.Derivation...))
	b.WriteString(`,"derivation":`)
	b.Write(der)
	b.WriteString(`}`)
	writeRaw(w, http.StatusOK, b.Bytes())
	return nil
}

// limitOf reads the limit parameter.
func limitOf(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, cim.Errorf(cim.EInvalidParameter, "limit %q must be a number from 1 to %d", s, MaxLimit).WithParam("limit")
	}
	return n, nil
}

// writeItems answers a page of objects: {"items": [...], "next": cursor}
// plus the extra members given as JSON text.
func writeItems(w http.ResponseWriter, objs []*cim.Object, next string, extra string) {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i, o := range objs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(cimjson.Encode(o, false))
	}
	b.WriteString(`]`)
	if next != "" {
		n, _ := json.Marshal(next)
		b.WriteString(`,"next":`)
		b.Write(n)
	}
	b.WriteString(extra)
	b.WriteString(`}`)
	writeRaw(w, http.StatusOK, b.Bytes())
}

// listInstances answers a page of a class's instances in key order. The
// page after one starts from its last instance's path (?after=, the
// answer's "next"): the store is read from that key, so a page costs the
// same at any depth of any class.
func listInstances(w http.ResponseWriter, r *http.Request, c *call) error {
	limit, err := limitOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	flags := cimom.FlagForwardOnly
	if q.Get("shallow") == "true" {
		flags |= cimom.FlagShallow
	}
	var wctx *cimom.Context
	if after := q.Get("after"); after != "" {
		wctx = cimom.NewContext()
		wctx.SetValue(cimom.StartAfter, after)
	}
	e, err := c.svc.CreateInstanceEnum(c.ctx, r.PathValue("class"), flags, wctx)
	if err != nil {
		return err
	}
	defer e.Close()
	objs, _, err := e.Next(c.ctx, cimom.Infinite, limit+1)
	if err != nil {
		return err
	}
	next := ""
	if len(objs) > limit {
		objs = objs[:limit]
		if p, err := objs[limit-1].ObjectPath(); err == nil {
			next = p.RelPath()
		}
	}
	writeItems(w, objs, next, "")
	return nil
}

// lookup returns the class lookup of cimjson.Decode for a request.
func (c *call) lookup() cimjson.ClassLookup {
	seen := map[string]*cim.Object{}
	return func(name string) (*cim.Object, error) {
		if o, ok := seen[cim.Fold(name)]; ok {
			return o, nil
		}
		o, err := c.svc.GetObject(c.ctx, name, 0, nil)
		if err != nil {
			return nil, err
		}
		seen[cim.Fold(name)] = o
		return o, nil
	}
}

// decodeInstance reads the instance of a request's body, of class (or of
// the class its __CLASS names).
func (c *call) decodeInstance(r *http.Request, class string) (*cim.Object, []byte, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, nil, err
	}
	inst, err := cimjson.Decode(body, class, c.lookup())
	if err != nil {
		return nil, nil, err
	}
	if inst.Genus != cim.GenusInstance {
		return nil, nil, cim.Errorf(cim.EInvalidParameter, "the body is a class; an instance is expected")
	}
	if class != "" && !cim.EqualFold(inst.Class, class) {
		return nil, nil, cim.Errorf(cim.EInvalidParameter, "the body is an instance of %s, not of %s", inst.Class, class).WithParam("__CLASS")
	}
	return inst, body, nil
}

// writeInstance answers the instance at path as stored, with its ETag.
func writeInstance(w http.ResponseWriter, c *call, path string, code int) error {
	o, err := c.svc.GetObject(c.ctx, path, 0, nil)
	if err != nil {
		return err
	}
	if o.Revision != 0 {
		w.Header().Set("ETag", ETag(o.Revision))
	}
	writeRaw(w, code, cimjson.Encode(o, false))
	return nil
}

// instanceURL is the address of an instance's resource.
func instanceURL(ns, path string) string {
	return Prefix + "namespaces/" + url.PathEscape(ns) + "/instances/" + url.PathEscape(path)
}

func createInstance(w http.ResponseWriter, r *http.Request, c *call) error {
	inst, _, err := c.decodeInstance(r, r.PathValue("class"))
	if err != nil {
		return err
	}
	path, err := cimom.Put(cimom.HandOver(c.ctx), c.svc, inst, cimom.PutOptions{Mode: cimom.CreateOnly})
	if err != nil {
		return err
	}
	w.Header().Set("Location", instanceURL(c.ns, path))
	return writeInstance(w, c, path, http.StatusCreated)
}

// instancePath reads the {path} of a request: an instance's path.
func instancePath(r *http.Request) (string, error) {
	path := r.PathValue("path")
	op, err := cim.ParsePath(path)
	if err != nil {
		return "", err
	}
	if op.IsClass() {
		return "", cim.Errorf(cim.EInvalidObjectPath, "%s names a class, not an instance", path).WithParam(path)
	}
	return path, nil
}

func getInstance(w http.ResponseWriter, r *http.Request, c *call) error {
	path, err := instancePath(r)
	if err != nil {
		return err
	}
	return writeInstance(w, c, path, http.StatusOK)
}

// conditional returns the put options' context for a request's If-Match:
// IfRevision for a version, and UpdateOnly for "*".
func conditional(r *http.Request, o *cimom.PutOptions) error {
	rev, anyVersion, ok, err := ParseIfMatch(r.Header.Get("If-Match"))
	if err != nil || !ok {
		return err
	}
	if anyVersion {
		o.Mode = cimom.UpdateOnly
		return nil
	}
	o.Context = cimom.NewContext()
	o.Context.SetValue(cimom.IfRevision, rev)
	return nil
}

func putInstance(w http.ResponseWriter, r *http.Request, c *call) error {
	path, err := instancePath(r)
	if err != nil {
		return err
	}
	op, _ := cim.ParsePath(path)
	inst, _, err := c.decodeInstance(r, op.Class)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	o := cimom.PutOptions{Target: path}
	switch q.Get("mode") {
	case "", "createOrUpdate":
	case "update":
		o.Mode = cimom.UpdateOnly
	case "create":
		o.Mode = cimom.CreateOnly
	default:
		return cim.Errorf(cim.EInvalidParameter, "mode %q is not createOrUpdate, update or create", q.Get("mode")).WithParam("mode")
	}
	if q.Has("properties") {
		o.Properties = []string{}
		for _, p := range strings.Split(q.Get("properties"), ",") {
			if p = strings.TrimSpace(p); p != "" {
				o.Properties = append(o.Properties, p)
			}
		}
	}
	if err := conditional(r, &o); err != nil {
		return err
	}
	rel, err := cimom.Put(cimom.HandOver(c.ctx), c.svc, inst, o)
	if err != nil {
		return err
	}
	return writeInstance(w, c, rel, http.StatusOK)
}

// modifyInstance updates the properties the body gives (a NULL as NULL)
// and leaves the others as stored.
func modifyInstance(w http.ResponseWriter, r *http.Request, c *call) error {
	path, err := instancePath(r)
	if err != nil {
		return err
	}
	op, _ := cim.ParsePath(path)
	inst, body, err := c.decodeInstance(r, op.Class)
	if err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return cim.Errorf(cim.EInvalidParameter, "the body is not a JSON object: %v", err)
	}
	props := []string{}
	for name := range members {
		if !cim.IsSystemName(name) {
			props = append(props, name)
		}
	}
	o := cimom.PutOptions{Mode: cimom.UpdateOnly, Properties: props, StrictNulls: true, Target: path}
	if err := conditional(r, &o); err != nil {
		return err
	}
	o.Mode = cimom.UpdateOnly
	rel, err := cimom.Put(cimom.HandOver(c.ctx), c.svc, inst, o)
	if err != nil {
		return err
	}
	return writeInstance(w, c, rel, http.StatusOK)
}

func deleteInstance(w http.ResponseWriter, r *http.Request, c *call) error {
	path, err := instancePath(r)
	if err != nil {
		return err
	}
	var o cimom.PutOptions
	if err := conditional(r, &o); err != nil {
		return err
	}
	if err := c.svc.DeleteInstance(c.ctx, path, 0, o.Context); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// query answers a WQL query: its plan (ExplainQuery, for data queries)
// and its first results, up to the limit.
func query(w http.ResponseWriter, r *http.Request, c *call) error {
	limit, err := limitOf(r)
	if err != nil {
		return err
	}
	text := r.URL.Query().Get("q")
	if text == "" {
		return cim.Errorf(cim.EInvalidQuery, "no query given (q)").WithParam("q")
	}
	plan, _ := c.svc.ExplainQuery(c.ctx, text, nil) // only data queries have one
	var objs []*cim.Object
	truncated := false
	if r.URL.Query().Get("explain") != "true" {
		e, err := c.svc.ExecQuery(c.ctx, "WQL", text, cimom.FlagForwardOnly, nil)
		if err != nil {
			return err
		}
		defer e.Close()
		if objs, _, err = e.Next(c.ctx, cimom.Infinite, limit+1); err != nil {
			return err
		}
		if len(objs) > limit {
			objs, truncated = objs[:limit], true
		}
	}
	p, _ := json.Marshal(plan)
	writeItems(w, objs, "", `,"plan":`+string(p)+`,"truncated":`+strconv.FormatBool(truncated))
	return nil
}

func classMethod(w http.ResponseWriter, r *http.Request, c *call) error {
	return callMethod(w, r, c, r.PathValue("class"), r.PathValue("class"))
}

func instanceMethod(w http.ResponseWriter, r *http.Request, c *call) error {
	path, err := instancePath(r)
	if err != nil {
		return err
	}
	op, _ := cim.ParsePath(path)
	return callMethod(w, r, c, path, op.Class)
}

// callMethod calls a method with the in-parameters of a JSON object
// body (none for an empty body), typed as the method declares them.
func callMethod(w http.ResponseWriter, r *http.Request, c *call, path, class string) error {
	name := r.PathValue("method")
	cls, err := c.svc.GetObject(c.ctx, class, 0, nil)
	if err != nil {
		return err
	}
	m, ok := cls.GetMethod(name)
	if !ok {
		return cim.Errorf(cim.EInvalidMethod, "class %s has no method %s", cls.Class, name).WithParam(name)
	}
	args, err := Arguments(r.Body)
	if err != nil {
		return err
	}
	in, err := cimom.TypeInParameters(m, args)
	if err != nil {
		return err
	}
	out, err := c.svc.ExecMethod(c.ctx, path, m.Name, in, 0, nil)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, cimjson.Encode(out, false))
	return nil
}

// Arguments reads a method call's in-parameters from a JSON object:
// strings, numbers and booleans as the text the declared type reads, and
// arrays of them. An empty body has none.
func Arguments(body interface{ Read([]byte) (int, error) }) ([]cimom.Argument, error) {
	d := json.NewDecoder(body)
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		if err.Error() == "EOF" {
			return nil, nil
		}
		return nil, cim.Errorf(cim.EInvalidMethodParameters, "the in-parameters are not a JSON object: %v", err)
	}
	var args []cimom.Argument
	for name, v := range m {
		if v == nil {
			continue
		}
		if a, isArray := v.([]any); isArray {
			texts := make([]string, len(a))
			for i, e := range a {
				t, ok := scalarText(e)
				if !ok {
					return nil, cim.Errorf(cim.EInvalidMethodParameters, "in-parameter %s: element %d is not a string, number or boolean", name, i).WithParam(name)
				}
				texts[i] = t
			}
			args = append(args, cimom.Argument{Name: name, Decode: func(prm *cim.Parameter) (cim.Value, error) {
				if !prm.Type.IsArray() {
					return cim.Value{}, cim.Errorf(cim.ETypeMismatch, "in-parameter %s is not an array", name)
				}
				if prm.Type.Elem() == cim.TypeString {
					return cim.Value{Type: prm.Type, V: texts}, nil
				}
				return cim.ParseValue(prm.Type, "{"+strings.Join(texts, ",")+"}")
			}})
			continue
		}
		t, ok := scalarText(v)
		if !ok {
			return nil, cim.Errorf(cim.EInvalidMethodParameters, "in-parameter %s is not a string, number, boolean or array", name).WithParam(name)
		}
		args = append(args, cimom.Argument{Name: name, Value: cim.Value{Type: cim.TypeString, V: t}})
	}
	return args, nil
}

// scalarText is the text of a JSON scalar.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func (h *Handler) providers(w http.ResponseWriter, r *http.Request, c *call) error {
	root, err := h.Connector.Connect(c.ctx, "root", c.p)
	if err != nil {
		return err
	}
	e, err := root.CreateInstanceEnum(c.ctx, providerStatusClass, cimom.FlagForwardOnly, nil)
	if err != nil {
		if cim.AsError(err).Status == cim.EInvalidClass { // no provider host
			writeItems(w, nil, "", "")
			return nil
		}
		return err
	}
	defer e.Close()
	objs, _, err := e.Next(c.ctx, 30*time.Second, MaxLimit)
	if err != nil {
		return err
	}
	writeItems(w, objs, "", "")
	return nil
}
