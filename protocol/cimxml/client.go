package cimxml

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/wql"
)

// ClientOptions configure a CIM-XML connection.
type ClientOptions struct {
	User, Password string
	// CAFile names the PEM certificates that sign the server's; Insecure
	// skips the check (a self-signed wbemd in tests).
	CAFile   string
	Insecure bool
	Timeout  time.Duration // per request (default 5 min)
	// MaxConns bounds the kept-alive connections (default 64).
	MaxConns int
	// Socket, when set, is a local socket to reach the server through
	// (its peer credentials identify the caller; no password is sent).
	Socket string
	// ServerQueriesOnly makes ExecQuery return the server's refusal of a
	// query instead of answering it with other operations (see
	// refusedQuery): for measuring the server's own ExecQuery.
	ServerQueriesOnly bool
}

// Client is a cimom.Services over CIM-XML: code written against the
// in-process core runs against a remote CIMOM unchanged, as WMI's
// ConnectServer gives the same IWbemServices locally and remotely.
type Client struct {
	url  string
	ns   string
	opts ClientOptions
	tr   *transport

	mu      sync.Mutex
	classes map[string]*cim.Object // folded name -> class, to complete instances

	authOnce sync.Once
	authz    string // the Authorization header
}

var _ cimom.Services = (*Client)(nil)

// Dial connects to the CIMOM at url (http://host:5988 or https://...) and
// namespace ns, and checks both by reading the namespace's __Namespace
// class: a CIMOM that has no such class (OpenPegasus answers
// CIM_ERR_NOT_FOUND) still proves the namespace exists, since a missing
// namespace is CIM_ERR_INVALID_NAMESPACE. A dead or refused server is
// WBEM_E_TRANSPORT_FAILURE.
func Dial(ctx context.Context, url, ns string, opts ClientOptions) (*Client, error) {
	tlsConf := &tls.Config{InsecureSkipVerify: opts.Insecure}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, cim.Errorf(cim.ETransportFailure, "CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, cim.Errorf(cim.ETransportFailure, "CA file %s holds no certificate", opts.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.MaxConns == 0 {
		opts.MaxConns = 64
	}
	url = strings.TrimSuffix(url, "/")
	tr, err := newTransport(url, tlsConf, opts.Socket, opts.MaxConns)
	if err != nil {
		return nil, cim.Errorf(cim.ETransportFailure, "%v", err)
	}
	c := &Client{url: url, ns: strings.Trim(strings.ReplaceAll(ns, "\\", "/"), "/"), opts: opts, tr: tr}
	if _, err := c.GetObject(ctx, "__Namespace", 0, nil); err != nil {
		if st := cim.StatusOf(err); st != cim.ENotFound && st != cim.EInvalidClass {
			return nil, err
		}
	}
	return c, nil
}

// appendRequest writes the HTTP request of a CIM-XML call with body, byte
// for byte as net/http's Request.Write writes it: the request line, Host
// and User-Agent, Content-Length, the other headers sorted by key, then the
// body.
func (c *Client) appendRequest(b *bytes.Buffer, method, object string, body []byte) {
	b.Write(c.tr.head)
	b.WriteString("Content-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n")
	if c.opts.Socket == "" {
		b.WriteString("Authorization: ")
		b.WriteString(c.authorization())
		b.WriteString("\r\n")
	}
	b.WriteString("Cimmethod: ")
	b.WriteString(headerValue(method))
	b.WriteString("\r\nCimobject: ")
	b.WriteString(headerValue(object))
	b.WriteString("\r\nCimoperation: MethodCall\r\nCimprotocolversion: 1.0\r\nContent-Type: application/xml; charset=\"utf-8\"\r\n\r\n")
	b.Write(body)
}

// headerValue is a header value as net/http writes it: new lines become
// spaces, and white space around is dropped.
func headerValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	return textproto.TrimString(v)
}

// authorization returns the Basic credentials, encoded once.
func (c *Client) authorization() string {
	c.authOnce.Do(func() {
		c.authz = headerValue("Basic " + base64.StdEncoding.EncodeToString([]byte(c.opts.User+":"+c.opts.Password)))
	})
	return c.authz
}

// Namespace returns the namespace of the connection.
func (c *Client) Namespace() string { return c.ns }

// call sends one intrinsic method and returns the IRETURNVALUE (nil when
// the answer has none) and the whole response element.
func (c *Client) call(ctx context.Context, method string, params func(w *writer)) (*node, *node, error) {
	rsp, err := c.send(ctx, method, nil, params)
	if err != nil {
		return nil, nil, err
	}
	return rsp.kid("IRETURNVALUE"), rsp, nil
}

// send sends one method call, intrinsic (target nil) or extrinsic on
// target, and returns the IMETHODRESPONSE or METHODRESPONSE.
func (c *Client) send(ctx context.Context, method string, target *cim.ObjectPath, params func(w *writer)) (*node, error) {
	call, kind, object := "IMETHODCALL", "IMETHODRESPONSE", strings.ReplaceAll(c.ns, "/", "%2F")
	if target != nil {
		call, kind = "METHODCALL", "METHODRESPONSE"
		t := *target
		t.Server, t.Namespace = "", ""
		object = url.PathEscape(c.ns) + ":" + url.PathEscape(t.String())
	}
	body := getBodyBuf()
	defer putBodyBuf(body)
	w := newWriter(body)
	w.s(`<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><` + call)
	w.attr("NAME", method)
	w.s(">")
	if target == nil {
		w.localNamespace(c.ns)
	} else {
		t := *target
		t.Server, t.Namespace = "", c.ns
		w.objectPath(&t)
	}
	if params != nil {
		params(w)
	}
	w.s("</" + call + "></SIMPLEREQ></MESSAGE></CIM>")
	w.release()
	wire := getBodyBuf()
	defer putBodyBuf(wire)
	c.appendRequest(wire, method, object, body.Bytes())
	// The whole exchange, answer included, has opts.Timeout.
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	rsp, err := c.tr.roundTrip(rctx, wire.Bytes())
	if err != nil {
		err = postError(c.url+"/cimom", err)
		if ctx.Err() != nil {
			return nil, cim.Errorf(cim.ECallCancelled, "%v", err)
		}
		return nil, cim.Errorf(cim.ETransportFailure, "%s: %v", c.url, err)
	}
	defer rsp.Body.Close()
	switch rsp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		io.Copy(io.Discard, rsp.Body)
		return nil, cim.Errorf(cim.EAccessDenied, "%s refused the user name or password", c.url)
	default:
		text, _ := io.ReadAll(io.LimitReader(rsp.Body, 4096))
		return nil, cim.Errorf(cim.ETransportFailure, "%s answered HTTP %d (%s): %s", c.url, rsp.StatusCode, rsp.Header.Get("CIMError"), strings.TrimSpace(string(text)))
	}
	root, err := parseTree(rsp.Body)
	if err != nil {
		return nil, cim.Errorf(cim.ETransportFailure, "the answer does not parse: %v", err)
	}
	var mr *node
	if msg := root.kid("MESSAGE"); msg != nil {
		if sr := msg.kid("SIMPLERSP"); sr != nil {
			mr = sr.kid(kind)
		}
	}
	if mr == nil {
		return nil, cim.Errorf(cim.ETransportFailure, "the answer holds no %s", kind)
	}
	if e := mr.kid("ERROR"); e != nil {
		return nil, errorOf(e)
	}
	return mr, nil
}

// errorOf turns an ERROR element into a WBEM error: wbemd's descriptions
// start with the WBEM status name, which gives back the exact status;
// other servers' codes map through the table.
func errorOf(e *node) error {
	codeText, _ := e.attr("CODE")
	desc, _ := e.attr("DESCRIPTION")
	var code int
	fmt.Sscanf(codeText, "%d", &code)
	status := StatusOf(code)
	if name, rest, ok := strings.Cut(desc, ": "); ok {
		if s, found := statusByName(name); found {
			status, desc = s, rest
		}
	}
	return &cim.Error{Status: status, Description: desc}
}

func statusByName(name string) (cim.Status, bool) {
	if !strings.HasPrefix(name, "WBEM_") {
		return 0, false
	}
	return cim.ParseStatus(name)
}

func (c *Client) with(obj *cim.Object) *cim.Object {
	if obj != nil && obj.Namespace == "" {
		obj.Namespace = c.ns
	}
	return obj
}

// complete gives a decoded instance what CIM-XML leaves out without
// IncludeQualifiers: its class's property qualifiers (Key among them, so
// that its path is known), derivation and origins. The class is read once
// per connection.
func (c *Client) complete(ctx context.Context, inst *cim.Object) (*cim.Object, error) {
	c.mu.Lock()
	cls := c.classes[cim.Fold(inst.Class)]
	c.mu.Unlock()
	if cls == nil {
		o, err := c.GetObject(ctx, inst.Class, 0, nil)
		if err != nil {
			return nil, err
		}
		cls = o
		c.mu.Lock()
		if c.classes == nil {
			c.classes = map[string]*cim.Object{}
		}
		c.classes[cim.Fold(inst.Class)] = cls
		c.mu.Unlock()
	}
	out, err := cls.SpawnInstance()
	if err != nil {
		return nil, err
	}
	for _, p := range inst.Properties {
		if dst, ok := out.Property(p.Name); ok {
			if v, err := cim.Convert(p.Value, dst.Type); err == nil {
				dst.Value = v
			}
		}
	}
	out.Namespace = c.ns
	return out, nil
}

func boolParam(w *writer, name string, v bool) {
	w.s(`<IPARAMVALUE NAME="` + name + `"><VALUE>`)
	if v {
		w.s("TRUE")
	} else {
		w.s("FALSE")
	}
	w.s("</VALUE></IPARAMVALUE>")
}

func classNameParam(w *writer, name, class string) {
	w.s(`<IPARAMVALUE NAME="` + name + `"><CLASSNAME`)
	w.attr("NAME", class)
	w.s("></CLASSNAME></IPARAMVALUE>")
}

func stringParam(w *writer, name, v string) {
	w.s(`<IPARAMVALUE NAME="` + name + `"><VALUE>`)
	w.esc(v)
	w.s("</VALUE></IPARAMVALUE>")
}

func instanceNameParam(w *writer, name string, p *cim.ObjectPath) {
	w.s(`<IPARAMVALUE NAME="` + name + `">`)
	w.instanceName(p)
	w.s("</IPARAMVALUE>")
}

// OpenNamespace connects to a child namespace, or with a leading "/" an
// absolute one.
func (c *Client) OpenNamespace(ctx context.Context, ns string, flags cimom.Flags, wctx *cimom.Context) (cimom.Services, error) {
	target := c.ns + "/" + ns
	if strings.HasPrefix(ns, "/") {
		target = ns
	}
	return Dial(ctx, c.url, target, c.opts)
}

// GetObject reads a class (GetClass) or an instance (GetInstance).
func (c *Client) GetObject(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) (*cim.Object, error) {
	if path == "" {
		return &cim.Object{Genus: cim.GenusClass}, nil
	}
	p, err := cim.ParsePath(path)
	if err != nil {
		return nil, err
	}
	if p.IsClass() {
		ret, _, err := c.call(ctx, "GetClass", func(w *writer) {
			classNameParam(w, "ClassName", p.Class)
			boolParam(w, "LocalOnly", false)
			boolParam(w, "IncludeQualifiers", true)
			boolParam(w, "IncludeClassOrigin", true)
		})
		if err != nil {
			return nil, err
		}
		if ret == nil || ret.kid("CLASS") == nil {
			return nil, cim.Errorf(cim.ETransportFailure, "GetClass answered no CLASS")
		}
		cls, err := resolvedClassOf(ret.kid("CLASS"))
		return c.with(cls), err
	}
	ret, _, err := c.call(ctx, "GetInstance", func(w *writer) {
		instanceNameParam(w, "InstanceName", p)
		boolParam(w, "IncludeClassOrigin", true)
	})
	if err != nil {
		return nil, err
	}
	if ret == nil || ret.kid("INSTANCE") == nil {
		return nil, cim.Errorf(cim.ETransportFailure, "GetInstance answered no INSTANCE")
	}
	inst, err := instanceOf(ret.kid("INSTANCE"), 0)
	if err != nil {
		return nil, err
	}
	return c.complete(ctx, inst)
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

// PutClass creates (CreateClass) or updates (ModifyClass) a class.
func (c *Client) PutClass(ctx context.Context, class *cim.Object, flags cimom.Flags, wctx *cimom.Context) error {
	send := func(method, param string) error {
		_, _, err := c.call(ctx, method, func(w *writer) {
			w.s(`<IPARAMVALUE NAME="` + param + `">`)
			w.class(class.LocalDefinition(), options{qualifiers: true})
			w.s("</IPARAMVALUE>")
		})
		return err
	}
	switch {
	case flags&cimom.FlagUpdateOnly != 0:
		return send("ModifyClass", "ModifiedClass")
	case flags&cimom.FlagCreateOnly != 0:
		return send("CreateClass", "NewClass")
	}
	err := send("CreateClass", "NewClass")
	if cim.StatusOf(err) == cim.EAlreadyExists {
		err = send("ModifyClass", "ModifiedClass")
	}
	return err
}

// DeleteClass deletes a class (DSP0200: a class with subclasses or
// instances is refused).
func (c *Client) DeleteClass(ctx context.Context, class string, flags cimom.Flags, wctx *cimom.Context) error {
	_, _, err := c.call(ctx, "DeleteClass", func(w *writer) { classNameParam(w, "ClassName", class) })
	return err
}

// CreateClassEnum enumerates subclasses (EnumerateClasses).
func (c *Client) CreateClassEnum(ctx context.Context, superclass string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	ret, _, err := c.call(ctx, "EnumerateClasses", func(w *writer) {
		if superclass != "" {
			classNameParam(w, "ClassName", superclass)
		}
		boolParam(w, "DeepInheritance", flags&cimom.FlagShallow == 0)
		boolParam(w, "LocalOnly", false)
		boolParam(w, "IncludeQualifiers", true)
		boolParam(w, "IncludeClassOrigin", true)
	})
	if err != nil {
		return nil, err
	}
	var out []*cim.Object
	if ret != nil {
		for _, k := range ret.kids {
			cls, err := resolvedClassOf(k)
			if err != nil {
				return nil, err
			}
			out = append(out, c.with(cls))
		}
	}
	return c.enumerator(ctx, out, flags), nil
}

func (c *Client) enumerator(ctx context.Context, objs []*cim.Object, flags cimom.Flags) cimom.Enumerator {
	return cimom.NewEnumerator(ctx, func(yield func(*cim.Object, error) bool) {
		for _, o := range objs {
			if !yield(o, nil) {
				return
			}
		}
	}, flags&(cimom.FlagForwardOnly|cimom.FlagReturnImmediately))
}

// PutInstance creates (CreateInstance) or updates (ModifyInstance) an
// instance; a __PUT_EXT_PROPERTIES list becomes the PropertyList.
func (c *Client) PutInstance(ctx context.Context, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) (string, error) {
	opts, err := cimom.PutOptionsOf(flags, wctx)
	if err != nil {
		return "", err
	}
	create := func() (string, error) {
		ret, _, err := c.call(ctx, "CreateInstance", func(w *writer) {
			w.s(`<IPARAMVALUE NAME="NewInstance">`)
			w.instance(inst, options{})
			w.s("</IPARAMVALUE>")
		})
		if err != nil {
			return "", err
		}
		if ret == nil || ret.kid("INSTANCENAME") == nil {
			return "", cim.Errorf(cim.ETransportFailure, "CreateInstance answered no INSTANCENAME")
		}
		p, err := instanceNameOf(ret.kid("INSTANCENAME"))
		if err != nil {
			return "", err
		}
		return p.RelPath(), nil
	}
	modify := func() (string, error) {
		p, err := inst.ObjectPath()
		if err != nil {
			return "", err
		}
		p.Namespace, p.Server = "", ""
		list := opts.Properties
		_, _, err = c.call(ctx, "ModifyInstance", func(w *writer) {
			w.s(`<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>`)
			w.instanceName(p)
			w.instance(inst, options{})
			w.s("</VALUE.NAMEDINSTANCE></IPARAMVALUE>")
			if list != nil {
				w.s(`<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY>`)
				for _, n := range list {
					w.s("<VALUE>")
					w.esc(n)
					w.s("</VALUE>")
				}
				w.s("</VALUE.ARRAY></IPARAMVALUE>")
			}
		})
		return p.RelPath(), err
	}
	switch opts.Mode {
	case cimom.CreateOnly:
		return create()
	case cimom.UpdateOnly:
		return modify()
	}
	path, err := create()
	if cim.StatusOf(err) == cim.EAlreadyExists {
		return modify()
	}
	return path, err
}

// DeleteInstance deletes an instance.
func (c *Client) DeleteInstance(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) error {
	p, err := cim.ParsePath(path)
	if err != nil {
		return err
	}
	_, _, err = c.call(ctx, "DeleteInstance", func(w *writer) { instanceNameParam(w, "InstanceName", p) })
	return err
}

// CreateInstanceEnum enumerates instances (EnumerateInstances).
func (c *Client) CreateInstanceEnum(ctx context.Context, class string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	ret, _, err := c.call(ctx, "EnumerateInstances", func(w *writer) {
		classNameParam(w, "ClassName", class)
		boolParam(w, "DeepInheritance", true)
		boolParam(w, "IncludeClassOrigin", true)
	})
	if err != nil {
		return nil, err
	}
	var out []*cim.Object
	if ret != nil {
		for _, k := range ret.kids {
			in := k.kid("INSTANCE")
			if in == nil {
				continue
			}
			inst, err := instanceOf(in, 0)
			if err != nil {
				return nil, err
			}
			if flags&cimom.FlagShallow != 0 && !cim.EqualFold(inst.Class, class) {
				continue
			}
			if inst, err = c.complete(ctx, inst); err != nil {
				return nil, err
			}
			out = append(out, inst)
		}
	}
	return c.enumerator(ctx, out, flags), nil
}

// objects decodes VALUE.OBJECTWITHPATH results.
func (c *Client) objects(ctx context.Context, ret *node) ([]*cim.Object, error) {
	var out []*cim.Object
	if ret == nil {
		return nil, nil
	}
	for _, k := range ret.kids {
		if in := k.kid("INSTANCE"); in != nil {
			inst, err := instanceOf(in, 0)
			if err != nil {
				return nil, err
			}
			if inst, err = c.complete(ctx, inst); err != nil {
				return nil, err
			}
			out = append(out, inst)
		} else if cn := k.kid("CLASS"); cn != nil {
			cls, err := resolvedClassOf(cn)
			if err != nil {
				return nil, err
			}
			out = append(out, c.with(cls))
		}
	}
	return out, nil
}

// ExecQuery runs a query (ExecQuery).
func (c *Client) ExecQuery(ctx context.Context, language, query string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	ret, _, err := c.call(ctx, "ExecQuery", func(w *writer) {
		stringParam(w, "QueryLanguage", language)
		stringParam(w, "Query", query)
	})
	if err != nil {
		if c.opts.ServerQueriesOnly {
			return nil, err
		}
		switch q := refusedQuery(language, query, err).(type) {
		case *wql.Assoc:
			return c.Associators(ctx, q, flags, wctx)
		case *wql.Select:
			return c.selectByEnumeration(ctx, q, flags, wctx)
		}
		return nil, err
	}
	out, err := c.objects(ctx, ret)
	if err != nil {
		return nil, err
	}
	return c.enumerator(ctx, out, flags), nil
}

// refusedQuery returns a WQL query that the server refused to run
// (CIM_ERR_NOT_SUPPORTED, as OpenPegasus answers for classes without a
// query provider, or CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED) when the client
// can answer it the same with other operations: ASSOCIATORS OF and
// REFERENCES OF through Associators and References, unless they ask for
// what those cannot say (KeysOnly, ClassDefsOnly, SchemaOnly, required
// qualifiers); a data query by enumerating its class. It returns nil
// otherwise.
func refusedQuery(language, query string, err error) wql.Query {
	if st := cim.StatusOf(err); (st != cim.ENotSupported && st != cim.EInvalidQueryType) || !strings.EqualFold(language, "WQL") {
		return nil
	}
	q, perr := wql.Parse(query)
	if perr != nil {
		return nil
	}
	switch q := q.(type) {
	case *wql.Assoc:
		if q.KeysOnly || q.ClassDefsOnly || q.SchemaOnly || q.RequiredQualifier != "" || q.RequiredAssocQualifier != "" {
			return nil
		}
	case *wql.Select:
		if q.Meta || q.Within != 0 || q.Group != nil {
			return nil
		}
	}
	return q
}

// selectByEnumeration answers a data query on the client: the class's
// instances (its subclasses' included), checked and filtered by the same
// wql rules as wbemd's ExecQuery.
func (c *Client) selectByEnumeration(ctx context.Context, q *wql.Select, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	cls, err := c.GetObject(ctx, q.From, 0, nil)
	if err != nil {
		return nil, err
	}
	if err := wql.Check(q, cls); err != nil {
		return nil, err.(*wql.Error).CIMError()
	}
	e, err := c.CreateInstanceEnum(ctx, q.From, 0, wctx)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var out []*cim.Object
	for inst, err := range cimom.All(ctx, e) {
		if err != nil {
			return nil, err
		}
		if wql.Match(q.Where, inst) {
			out = append(out, wql.Project(inst, q))
		}
	}
	return c.enumerator(ctx, out, flags), nil
}

// Associators runs Associators or References.
func (c *Client) Associators(ctx context.Context, q *wql.Assoc, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	p, err := cim.ParsePath(q.Path)
	if err != nil {
		return nil, err
	}
	method := "Associators"
	if q.References {
		method = "References"
	}
	ret, _, err := c.call(ctx, method, func(w *writer) {
		w.s(`<IPARAMVALUE NAME="ObjectName">`)
		w.objectPath(&cim.ObjectPath{Class: p.Class, Keys: p.Keys, Singleton: p.Singleton})
		w.s("</IPARAMVALUE>")
		for name, v := range map[string]string{"AssocClass": q.AssocClass, "ResultClass": q.ResultClass, "Role": q.Role, "ResultRole": q.ResultRole} {
			if v != "" {
				if strings.HasSuffix(name, "Class") {
					classNameParam(w, name, v)
				} else {
					stringParam(w, name, v)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	out, err := c.objects(ctx, ret)
	if err != nil {
		return nil, err
	}
	return c.enumerator(ctx, out, flags), nil
}

// ExplainQuery is not part of CIM-XML.
func (c *Client) ExplainQuery(ctx context.Context, query string, wctx *cimom.Context) (string, error) {
	return "", cim.Errorf(cim.ENotSupported, "query plans are not part of CIM-XML")
}

// GetQualifier reads a qualifier declaration.
func (c *Client) GetQualifier(ctx context.Context, name string) (*cim.QualifierDecl, error) {
	ret, _, err := c.call(ctx, "GetQualifier", func(w *writer) { stringParam(w, "QualifierName", name) })
	if err != nil {
		return nil, err
	}
	if ret == nil || ret.kid("QUALIFIER.DECLARATION") == nil {
		return nil, cim.Errorf(cim.ETransportFailure, "GetQualifier answered no QUALIFIER.DECLARATION")
	}
	return qualifierDeclOf(ret.kid("QUALIFIER.DECLARATION"))
}

// PutQualifier writes a qualifier declaration (SetQualifier).
func (c *Client) PutQualifier(ctx context.Context, decl *cim.QualifierDecl, flags cimom.Flags) error {
	_, _, err := c.call(ctx, "SetQualifier", func(w *writer) {
		w.s(`<IPARAMVALUE NAME="QualifierDeclaration">`)
		w.qualifierDecl(decl)
		w.s("</IPARAMVALUE>")
	})
	return err
}

// DeleteQualifier deletes a qualifier declaration.
func (c *Client) DeleteQualifier(ctx context.Context, name string) error {
	_, _, err := c.call(ctx, "DeleteQualifier", func(w *writer) { stringParam(w, "QualifierName", name) })
	return err
}

// EnumQualifiers reads every qualifier declaration.
func (c *Client) EnumQualifiers(ctx context.Context) ([]*cim.QualifierDecl, error) {
	ret, _, err := c.call(ctx, "EnumerateQualifiers", nil)
	if err != nil || ret == nil {
		return nil, err
	}
	var out []*cim.QualifierDecl
	for _, k := range ret.kids {
		d, err := qualifierDeclOf(k)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func async(flags cimom.Flags) bool { return flags&cimom.FlagReturnImmediately != 0 }

// GetObjectCall is GetObject with a call result.
func (c *Client) GetObjectCall(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) (*cimom.CallResult, error) {
	return cimom.StartCall(ctx, async(flags), func(ctx context.Context) (string, *cim.Object, error) {
		o, err := c.GetObject(ctx, path, flags&^cimom.FlagReturnImmediately, wctx)
		return "", o, err
	}), nil
}

// PutClassCall is PutClass with a call result.
func (c *Client) PutClassCall(ctx context.Context, class *cim.Object, flags cimom.Flags, wctx *cimom.Context) (*cimom.CallResult, error) {
	return cimom.StartCall(ctx, async(flags), func(ctx context.Context) (string, *cim.Object, error) {
		return "", nil, c.PutClass(ctx, class, flags&^cimom.FlagReturnImmediately, wctx)
	}), nil
}

// DeleteClassCall is DeleteClass with a call result.
func (c *Client) DeleteClassCall(ctx context.Context, class string, flags cimom.Flags, wctx *cimom.Context) (*cimom.CallResult, error) {
	return cimom.StartCall(ctx, async(flags), func(ctx context.Context) (string, *cim.Object, error) {
		return "", nil, c.DeleteClass(ctx, class, flags&^cimom.FlagReturnImmediately, wctx)
	}), nil
}

// PutInstanceCall is PutInstance with a call result.
func (c *Client) PutInstanceCall(ctx context.Context, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) (*cimom.CallResult, error) {
	return cimom.StartCall(ctx, async(flags), func(ctx context.Context) (string, *cim.Object, error) {
		p, err := c.PutInstance(ctx, inst, flags&^cimom.FlagReturnImmediately, wctx)
		return p, nil, err
	}), nil
}

// DeleteInstanceCall is DeleteInstance with a call result.
func (c *Client) DeleteInstanceCall(ctx context.Context, path string, flags cimom.Flags, wctx *cimom.Context) (*cimom.CallResult, error) {
	return cimom.StartCall(ctx, async(flags), func(ctx context.Context) (string, *cim.Object, error) {
		return "", nil, c.DeleteInstance(ctx, path, flags&^cimom.FlagReturnImmediately, wctx)
	}), nil
}

var errNoSecurityOverCIMXML = errors.New("namespace security descriptors are not part of CIM-XML")

// GetSD is not part of CIM-XML.
func (c *Client) GetSD(ctx context.Context) (*cimom.SecurityDescriptor, error) {
	return nil, &cim.Error{Status: cim.ENotSupported, Description: errNoSecurityOverCIMXML.Error()}
}

// SetSD is not part of CIM-XML.
func (c *Client) SetSD(ctx context.Context, sd *cimom.SecurityDescriptor) error {
	return &cim.Error{Status: cim.ENotSupported, Description: errNoSecurityOverCIMXML.Error()}
}

// GetCallerAccessRights is not part of CIM-XML.
func (c *Client) GetCallerAccessRights(ctx context.Context) (cimom.Rights, error) {
	out, err := c.ExecMethod(ctx, "__SystemSecurity", "GetCallerAccessRights", nil, 0, nil)
	if err != nil {
		return 0, err
	}
	v, _ := out.Get("Rights")
	r, ok := v.V.(int32)
	if !ok {
		return 0, cim.Errorf(cim.ETransportFailure, "GetCallerAccessRights answered no Rights")
	}
	return cimom.Rights(r), nil
}

// ExecMethod calls an extrinsic method (METHODCALL) on path. The
// out-parameters come back typed by their PARAMTYPE.
func (c *Client) ExecMethod(ctx context.Context, path, method string, in *cim.Object, flags cimom.Flags, wctx *cimom.Context) (*cim.Object, error) {
	if flags != 0 {
		return nil, cim.Errorf(cim.EInvalidParameter, "flags %#x are not valid for ExecMethod", uint32(flags)).WithParam("lFlags")
	}
	target, err := cim.ParsePath(path)
	if err != nil {
		return nil, err
	}
	rsp, err := c.send(ctx, method, target, func(w *writer) {
		if in == nil {
			return
		}
		for i := range in.Properties {
			p := &in.Properties[i]
			if strings.HasPrefix(p.Name, "__") || p.Value.IsNull() {
				continue
			}
			w.paramValue(p)
		}
	})
	if err != nil {
		return nil, err
	}
	out := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	for _, k := range rsp.kids {
		name := cimom.ReturnValue
		if k.name == "PARAMVALUE" {
			name, _ = k.attr("NAME")
		} else if k.name != "RETURNVALUE" {
			continue
		}
		pt, _ := k.attr("PARAMTYPE")
		t, ok := cim.ParseTypeName(pt)
		if !ok {
			t = cim.TypeString
		}
		var vn *node
		if len(k.kids) > 0 {
			vn = k.kids[0]
			if vn.name == "VALUE.ARRAY" {
				t = t.ArrayOf()
			}
		}
		v, err := valueOf(vn, t, false, 0)
		if err != nil {
			return nil, cim.Errorf(cim.ETransportFailure, "out-parameter %s: %v", name, err)
		}
		out.Properties = append(out.Properties, cim.Property{Name: name, Type: t, Value: v})
	}
	return out, nil
}

// ExecMethodCall is ExecMethod with a call result.
func (c *Client) ExecMethodCall(ctx context.Context, path, method string, in *cim.Object, flags cimom.Flags, wctx *cimom.Context) (*cimom.CallResult, error) {
	return cimom.StartCall(ctx, async(flags), func(ctx context.Context) (string, *cim.Object, error) {
		o, err := c.ExecMethod(ctx, path, method, in, flags&^cimom.FlagReturnImmediately, wctx)
		return "", o, err
	}), nil
}
