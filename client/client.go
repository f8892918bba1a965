package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
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
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/wql"
)

// Options configure a CIM-XML connection.
type Options struct {
	User, Password string
	// CAFile names the PEM certificates that sign the server's; Insecure
	// skips the check (a self-signed wbemd in tests).
	CAFile   string
	Insecure bool
	Timeout  time.Duration // per request, answer included: an enumeration is read within it (default 5 min)
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
	opts Options
	tr   *transport

	mu       sync.Mutex
	classes  map[string]*cim.Template // name as answered, and folded -> the class, to complete instances
	ancestry map[string][]string      // folded name -> the class and its ancestors (derive)

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
func Dial(ctx context.Context, url, ns string, opts Options) (*Client, error) {
	tlsConf, err := tlsConfig(opts)
	if err != nil {
		return nil, err
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
	if _, err := c.getClass(ctx, "__Namespace", false); err != nil { // the credentials and the namespace
		if st := cim.StatusOf(err); st != cim.ENotFound && st != cim.EInvalidClass {
			return nil, err
		}
	}
	return c, nil
}

// tlsConfig is the TLS configuration of opts: the server's certificate
// checked against CAFile's (or the system's) unless Insecure.
func tlsConfig(opts Options) (*tls.Config, error) {
	conf := &tls.Config{InsecureSkipVerify: opts.Insecure}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, cim.Errorf(cim.ETransportFailure, "CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, cim.Errorf(cim.ETransportFailure, "CA file %s holds no certificate", opts.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// appendRequest writes the HTTP request of a CIM-XML call with body, byte
// for byte as net/http's Request.Write writes it: the request line, Host
// and User-Agent, Content-Length, the other headers sorted by key, then the
// body.
func (c *Client) appendRequest(b *bytes.Buffer, method, object, language string, body []byte) {
	b.Write(c.tr.head)
	b.WriteString("Content-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n")
	if language != "" {
		b.WriteString("Accept-Language: ")
		b.WriteString(headerValue(language))
		b.WriteString("\r\n")
	}
	if c.opts.Socket == "" {
		b.WriteString("Authorization: ")
		b.WriteString(c.authorization())
		b.WriteString("\r\n")
	}
	b.WriteString("Cimmethod: ")
	b.WriteString(headerValue(method))
	b.WriteString("\r\nCimobject: ")
	b.WriteString(headerValue(object))
	b.WriteString("\r\nCimoperation: MethodCall\r\nCimprotocolversion: 1.0\r\nContent-Type: application/xml; charset=\"utf-8\"\r\nTe: trailers\r\n\r\n")
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

// call sends one intrinsic method and returns its answer, read up to its
// results.
func (c *Client) call(ctx context.Context, method string, params func(w *cimxml.RequestWriter)) (*cimxml.Answer, error) {
	ans, _, err := c.send(ctx, method, nil, params)
	return ans, err
}

// do sends one intrinsic method whose answer has no results to read.
func (c *Client) do(ctx context.Context, method string, params func(w *cimxml.RequestWriter)) error {
	ans, err := c.call(ctx, method, params)
	if err != nil {
		return err
	}
	return ans.Done()
}

// send sends one method call, intrinsic (target nil) or extrinsic on
// target, and returns its answer, read up to its results, and what aborts
// the exchange (closing the answer ends it too). The whole exchange,
// answer included, has opts.Timeout.
func (c *Client) send(ctx context.Context, method string, target *cim.ObjectPath, params func(w *cimxml.RequestWriter)) (*cimxml.Answer, context.CancelFunc, error) {
	object := strings.ReplaceAll(c.ns, "/", "%2F")
	if target != nil {
		t := *target
		t.Server, t.Namespace = "", ""
		object = url.PathEscape(c.ns) + ":" + url.PathEscape(t.String())
	}
	w := cimxml.NewRequestWriter(c.ns, method, target)
	defer w.Release()
	if params != nil {
		params(w)
	}
	wire := wires.Get().(*bytes.Buffer)
	defer func() {
		if wire.Cap() <= 1<<20 {
			wire.Reset()
			wires.Put(wire)
		}
	}()
	language, _ := ctx.Value(languageKey{}).(string)
	c.appendRequest(wire, method, object, language, w.Bytes())
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	rsp, err := c.tr.roundTrip(rctx, wire.Bytes())
	if err != nil {
		cancel()
		err = postError(c.url+"/cimom", err)
		if ctx.Err() != nil {
			return nil, nil, cim.Errorf(cim.ECallCancelled, "%v", err)
		}
		return nil, nil, cim.Errorf(cim.ETransportFailure, "%s: %v", c.url, err)
	}
	switch rsp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		io.Copy(io.Discard, rsp.Body)
		rsp.Body.Close()
		cancel()
		return nil, nil, cim.Errorf(cim.EAccessDenied, "%s refused the user name or password", c.url)
	default:
		text, _ := io.ReadAll(io.LimitReader(rsp.Body, 4096))
		rsp.Body.Close()
		cancel()
		return nil, nil, cim.Errorf(cim.ETransportFailure, "%s answered HTTP %d (%s): %s", c.url, rsp.StatusCode, rsp.Header.Get("CIMError"), strings.TrimSpace(string(text)))
	}
	ans, err := cimxml.ReadAnswer(&answerBody{ReadCloser: rsp.Body, cancel: cancel, trailer: rsp.Trailer}, rsp.ContentLength, target == nil)
	if err != nil {
		return nil, nil, err
	}
	return ans, cancel, nil
}

// languageKey marks a context whose calls ask for localized objects: its
// value is the Accept-Language of their requests.
type languageKey struct{}

// localized returns ctx for the requests of a call: with flags carrying
// WBEM_FLAG_USE_AMENDED_QUALIFIERS and a UI locale in wctx, they send the
// locale's language as Accept-Language, which wbemd reads back as the
// same locale (cimom.LocaleOfLanguage).
func localized(ctx context.Context, flags cimom.Flags, wctx *cimom.Context) context.Context {
	if tag := cimom.LanguageOfLocale(cimom.LocaleOf(flags, wctx)); tag != "" {
		return context.WithValue(ctx, languageKey{}, tag)
	}
	return ctx
}

// wires hold the bytes of requests being sent, for reuse.
var wires = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// answerBody is the body of an answer, which ends its exchange when
// closed: the connection goes back first, then the exchange's context is
// released. At its end, a failure its trailers tell (a streamed answer
// whose operation failed once it had started) is its error.
type answerBody struct {
	io.ReadCloser
	cancel  context.CancelFunc
	trailer http.Header
}

func (b *answerBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		if terr := cimxml.TrailerError(b.trailer); terr != nil {
			err = terr
		}
	}
	return n, err
}

func (b *answerBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// each reads an answer to its end, calling f on each result; an error of
// f ends it.
func each(ans *cimxml.Answer, f func(*cimxml.Element) error) error {
	for {
		el, err := ans.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err == nil {
			err = f(el)
		}
		if err != nil {
			ans.Close()
			return err
		}
	}
}

// first reads the answer to method to its end and returns its first
// result named name, decoded; an answer without one is
// WBEM_E_TRANSPORT_FAILURE.
func first[T any](ans *cimxml.Answer, method, name string, decode func(*cimxml.Element) (T, error)) (v T, err error) {
	found := false
	err = each(ans, func(el *cimxml.Element) error {
		if found || el.Name() != name {
			return nil
		}
		v, err = decode(el)
		found = err == nil
		return err
	})
	if err == nil && !found {
		err = cim.Errorf(cim.ETransportFailure, "%s answered no %s", method, name)
	}
	return v, err
}

func (c *Client) with(obj *cim.Object) *cim.Object {
	if obj != nil && obj.Namespace == "" {
		obj.Namespace = c.ns
	}
	return obj
}

// template returns the template of the class named name, read once per
// connection (and kept under the name as spelled and folded).
func (c *Client) template(ctx context.Context, name string) (*cim.Template, error) {
	c.mu.Lock()
	t := c.classes[name]
	if t == nil {
		t = c.classes[cim.Fold(name)]
	}
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	cls, err := c.GetObject(ctx, name, 0, nil)
	if err != nil {
		return nil, err
	}
	if t, err = cim.NewTemplate(cls); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.classes == nil {
		c.classes = map[string]*cim.Template{}
	}
	c.classes[name] = t
	c.classes[cim.Fold(name)] = t
	c.mu.Unlock()
	return t, nil
}

// spawn returns an instance of class, spawned from it, in the
// connection's namespace: what an INSTANCE is decoded into. The
// qualifiers it has from the class are shared by the instances of the
// class this connection decodes (read-only, see cim.Template).
func (c *Client) spawn(ctx context.Context, class string) (*cim.Object, error) {
	t, err := c.template(ctx, class)
	if err != nil {
		return nil, err
	}
	out := t.Spawn()
	out.Namespace = c.ns
	return out, nil
}

// instance decodes an INSTANCE into an instance spawned from its class,
// in one pass: what CIM-XML leaves out without IncludeQualifiers (the
// class's property qualifiers, Key among them, so that the path is known;
// derivation; origins) comes from the class, read once per connection,
// which is why instance requests leave IncludeClassOrigin false (the
// origins would be a quarter of the answer's bytes, read for nothing);
// nil (and no error) for an instance of a subclass of only when shallow
// is set.
func (c *Client) instance(ctx context.Context, in *cimxml.Element, only string, shallow bool) (*cim.Object, error) {
	return in.InstanceInto(func(class string) (*cim.Object, error) {
		if shallow && !cim.EqualFold(class, only) {
			return nil, nil
		}
		return c.spawn(ctx, class)
	})
}

func boolParam(w *cimxml.RequestWriter, name string, v bool) {
	w.Markup(`<IPARAMVALUE NAME="` + name + `"><VALUE>`)
	if v {
		w.Markup("TRUE")
	} else {
		w.Markup("FALSE")
	}
	w.Markup("</VALUE></IPARAMVALUE>")
}

func classNameParam(w *cimxml.RequestWriter, name, class string) {
	w.Markup(`<IPARAMVALUE NAME="` + name + `"><CLASSNAME`)
	w.Attr("NAME", class)
	w.Markup("></CLASSNAME></IPARAMVALUE>")
}

func stringParam(w *cimxml.RequestWriter, name, v string) {
	w.Markup(`<IPARAMVALUE NAME="` + name + `"><VALUE>`)
	w.Text(v)
	w.Markup("</VALUE></IPARAMVALUE>")
}

func instanceNameParam(w *cimxml.RequestWriter, name string, p *cim.ObjectPath) {
	w.Markup(`<IPARAMVALUE NAME="` + name + `">`)
	w.InstanceName(p)
	w.Markup("</IPARAMVALUE>")
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
	ctx = localized(ctx, flags, wctx)
	if path == "" {
		return &cim.Object{Genus: cim.GenusClass}, nil
	}
	p, err := cim.ParsePath(path)
	if err != nil {
		return nil, err
	}
	if p.IsClass() {
		cls, err := c.getClass(ctx, p.Class, true)
		if err != nil {
			return nil, err
		}
		return c.with(cls), c.derive(ctx, cls)
	}
	ans, err := c.call(ctx, "GetInstance", func(w *cimxml.RequestWriter) {
		instanceNameParam(w, "InstanceName", p)
	})
	if err != nil {
		return nil, err
	}
	// The class may be read while this answer holds its connection.
	nested := context.WithValue(ctx, nestedCall{}, true)
	return first(ans, "GetInstance", "INSTANCE", func(e *cimxml.Element) (*cim.Object, error) {
		return c.instance(nested, e, "", false)
	})
}

// getClass reads a class over CIM-XML, as the server sends it (without
// its derivation): whole, with every member, qualifiers and origins; or
// its head alone (LocalOnly, no qualifiers or origins), the name and
// superclass that a superclass chain needs, in an answer a fraction of
// the class's size.
func (c *Client) getClass(ctx context.Context, name string, whole bool) (*cim.Object, error) {
	ans, err := c.call(ctx, "GetClass", func(w *cimxml.RequestWriter) {
		classNameParam(w, "ClassName", name)
		boolParam(w, "LocalOnly", !whole)
		boolParam(w, "IncludeQualifiers", whole)
		boolParam(w, "IncludeClassOrigin", whole)
	})
	if err != nil {
		return nil, err
	}
	return first(ans, "GetClass", "CLASS", (*cimxml.Element).Class)
}

// PutClass creates (CreateClass) or updates (ModifyClass) a class.
func (c *Client) PutClass(ctx context.Context, class *cim.Object, flags cimom.Flags, wctx *cimom.Context) error {
	ctx = localized(ctx, flags, wctx)
	send := func(method, param string) error {
		return c.do(ctx, method, func(w *cimxml.RequestWriter) {
			w.Markup(`<IPARAMVALUE NAME="` + param + `">`)
			w.Class(class.LocalDefinition())
			w.Markup("</IPARAMVALUE>")
		})
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
	return c.do(ctx, "DeleteClass", func(w *cimxml.RequestWriter) { classNameParam(w, "ClassName", class) })
}

// CreateClassEnum enumerates subclasses (EnumerateClasses).
func (c *Client) CreateClassEnum(ctx context.Context, superclass string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	ctx = localized(ctx, flags, wctx)
	ans, abort, err := c.send(ctx, "EnumerateClasses", nil, func(w *cimxml.RequestWriter) {
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
	return c.results(ctx, ans, abort, flags, func(ctx context.Context, k *cimxml.Element) (*cim.Object, error) {
		cls, err := k.Class()
		if err == nil {
			err = c.derive(ctx, cls)
		}
		return c.with(cls), err
	}), nil
}

// PutInstance creates (CreateInstance) or updates (ModifyInstance) an
// instance; a __PUT_EXT_PROPERTIES list becomes the PropertyList.
func (c *Client) PutInstance(ctx context.Context, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) (string, error) {
	if err := notCarried(wctx, "PutInstance", cimom.IfRevision); err != nil {
		return "", err
	}
	ctx = localized(ctx, flags, wctx)
	opts, err := cimom.PutOptionsOf(flags, wctx)
	if err != nil {
		return "", err
	}
	create := func() (string, error) {
		ans, err := c.call(ctx, "CreateInstance", func(w *cimxml.RequestWriter) {
			w.Markup(`<IPARAMVALUE NAME="NewInstance">`)
			w.Instance(inst)
			w.Markup("</IPARAMVALUE>")
		})
		if err != nil {
			return "", err
		}
		p, err := first(ans, "CreateInstance", "INSTANCENAME", (*cimxml.Element).InstanceName)
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
		err = c.do(ctx, "ModifyInstance", func(w *cimxml.RequestWriter) {
			w.Markup(`<IPARAMVALUE NAME="ModifiedInstance"><VALUE.NAMEDINSTANCE>`)
			w.InstanceName(p)
			w.Instance(inst)
			w.Markup("</VALUE.NAMEDINSTANCE></IPARAMVALUE>")
			if list != nil {
				w.Markup(`<IPARAMVALUE NAME="PropertyList"><VALUE.ARRAY>`)
				for _, n := range list {
					w.Markup("<VALUE>")
					w.Text(n)
					w.Markup("</VALUE>")
				}
				w.Markup("</VALUE.ARRAY></IPARAMVALUE>")
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
	if err := notCarried(wctx, "DeleteInstance", cimom.IfRevision); err != nil {
		return err
	}
	p, err := cim.ParsePath(path)
	if err != nil {
		return err
	}
	return c.do(ctx, "DeleteInstance", func(w *cimxml.RequestWriter) { instanceNameParam(w, "InstanceName", p) })
}

// CreateInstanceEnum enumerates instances (EnumerateInstances).
func (c *Client) CreateInstanceEnum(ctx context.Context, class string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	if err := notCarried(wctx, "CreateInstanceEnum", cimom.StartAfter); err != nil {
		return nil, err
	}
	ctx = localized(ctx, flags, wctx)
	ext, _ := wctx.GetValue(cimom.GetExtensions)
	keysOnly, _ := wctx.GetValue(cimom.GetExtKeysOnly)
	if ext == true && keysOnly == true {
		return c.instanceNames(ctx, class, flags)
	}
	ans, abort, err := c.send(ctx, "EnumerateInstances", nil, func(w *cimxml.RequestWriter) {
		classNameParam(w, "ClassName", class)
		boolParam(w, "DeepInheritance", true)
	})
	if err != nil {
		return nil, err
	}
	return c.results(ctx, ans, abort, flags, func(ctx context.Context, k *cimxml.Element) (*cim.Object, error) {
		in := k.Kid("INSTANCE")
		if in == nil {
			return nil, nil
		}
		return c.instance(ctx, in, class, flags&cimom.FlagShallow != 0)
	}), nil
}

// instanceNames is CreateInstanceEnum for the keys alone
// (cimom.KeysOnlyContext): EnumerateInstanceNames, each name made an
// instance of its key properties alone, as wbemd's repository answers
// for the keys alone.
func (c *Client) instanceNames(ctx context.Context, class string, flags cimom.Flags) (cimom.Enumerator, error) {
	ans, abort, err := c.send(ctx, "EnumerateInstanceNames", nil, func(w *cimxml.RequestWriter) {
		classNameParam(w, "ClassName", class)
	})
	if err != nil {
		return nil, err
	}
	return c.results(ctx, ans, abort, flags, func(ctx context.Context, k *cimxml.Element) (*cim.Object, error) {
		p, err := k.InstanceName()
		if err != nil {
			return nil, err
		}
		if flags&cimom.FlagShallow != 0 && !cim.EqualFold(p.Class, class) {
			return nil, nil
		}
		t, err := c.template(ctx, p.Class)
		if err != nil {
			return nil, err
		}
		out := t.SpawnKeys()
		out.Namespace = c.ns
		next := 0 // the keys usually come in class order
		for _, kb := range p.Keys {
			dst, at, ok := out.PropertyNear(kb.Name, next)
			next = at + 1
			if !ok {
				continue
			}
			if v, err := cim.Convert(kb.Value, dst.Type); err == nil {
				dst.Value = v
			}
		}
		return out, nil
	}), nil
}

// object decodes a VALUE.OBJECTWITHPATH result; nil when it holds neither
// an instance nor a class.
func (c *Client) object(ctx context.Context, k *cimxml.Element) (*cim.Object, error) {
	if in := k.Kid("INSTANCE"); in != nil {
		return c.instance(ctx, in, "", false)
	} else if cn := k.Kid("CLASS"); cn != nil {
		cls, err := cn.Class()
		if err != nil {
			return nil, err
		}
		return c.with(cls), nil
	}
	return nil, nil
}

// ExecQuery runs a query (ExecQuery).
func (c *Client) ExecQuery(ctx context.Context, language, query string, flags cimom.Flags, wctx *cimom.Context) (cimom.Enumerator, error) {
	ctx = localized(ctx, flags, wctx)
	ans, abort, err := c.send(ctx, "ExecQuery", nil, func(w *cimxml.RequestWriter) {
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
	return c.results(ctx, ans, abort, flags, c.object), nil
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
	e, err := c.CreateInstanceEnum(ctx, q.From, cimom.FlagForwardOnly, wctx)
	if err != nil {
		return nil, err
	}
	closeEnum := func() { e.Close() }
	return stream(ctx, flags, func(yield func(*cim.Object, error) bool) {
		for inst, err := range cimom.All(ctx, e) {
			if err != nil {
				yield(nil, err)
				return
			}
			if wql.Match(q.Where, inst) && !yield(wql.Project(inst, q), nil) {
				return
			}
		}
	}, closeEnum, closeEnum), nil
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
	ans, abort, err := c.send(ctx, method, nil, func(w *cimxml.RequestWriter) {
		w.Markup(`<IPARAMVALUE NAME="ObjectName">`)
		w.ObjectPath(&cim.ObjectPath{Class: p.Class, Keys: p.Keys, Singleton: p.Singleton})
		w.Markup("</IPARAMVALUE>")
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
	return c.results(ctx, ans, abort, flags, c.object), nil
}

// ExplainQuery is not part of CIM-XML.
func (c *Client) ExplainQuery(ctx context.Context, query string, wctx *cimom.Context) (string, error) {
	return "", cim.Errorf(cim.ENotSupported, "query plans are not part of CIM-XML")
}

// GetQualifier reads a qualifier declaration.
func (c *Client) GetQualifier(ctx context.Context, name string) (*cim.QualifierDecl, error) {
	ans, err := c.call(ctx, "GetQualifier", func(w *cimxml.RequestWriter) { stringParam(w, "QualifierName", name) })
	if err != nil {
		return nil, err
	}
	return first(ans, "GetQualifier", "QUALIFIER.DECLARATION", (*cimxml.Element).QualifierDecl)
}

// PutQualifier writes a qualifier declaration (SetQualifier).
func (c *Client) PutQualifier(ctx context.Context, decl *cim.QualifierDecl, flags cimom.Flags) error {
	return c.do(ctx, "SetQualifier", func(w *cimxml.RequestWriter) {
		w.Markup(`<IPARAMVALUE NAME="QualifierDeclaration">`)
		w.QualifierDecl(decl)
		w.Markup("</IPARAMVALUE>")
	})
}

// DeleteQualifier deletes a qualifier declaration.
func (c *Client) DeleteQualifier(ctx context.Context, name string) error {
	return c.do(ctx, "DeleteQualifier", func(w *cimxml.RequestWriter) { stringParam(w, "QualifierName", name) })
}

// EnumQualifiers reads every qualifier declaration.
func (c *Client) EnumQualifiers(ctx context.Context) ([]*cim.QualifierDecl, error) {
	ans, err := c.call(ctx, "EnumerateQualifiers", nil)
	if err != nil {
		return nil, err
	}
	var out []*cim.QualifierDecl
	err = each(ans, func(k *cimxml.Element) error {
		d, err := k.QualifierDecl()
		out = append(out, d)
		return err
	})
	if err != nil {
		return nil, err
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

// GetSD reads the namespace's security descriptor with the method
// __SystemSecurity.GetSD, which wbemd answers in SDDL (cimom.FormatSDDL).
func (c *Client) GetSD(ctx context.Context) (*cimom.SecurityDescriptor, error) {
	out, err := c.ExecMethod(ctx, "__SystemSecurity", "GetSD", nil, 0, nil)
	if err != nil {
		return nil, err
	}
	v, _ := out.Get("SDDL")
	text, ok := v.V.(string)
	if !ok {
		return nil, cim.Errorf(cim.ETransportFailure, "GetSD answered no SDDL")
	}
	sd, err := cimom.ParseSDDL(text)
	if err != nil {
		return nil, cim.Errorf(cim.ETransportFailure, "GetSD answered a descriptor that does not read: %v", err)
	}
	return sd, nil
}

// SetSD replaces the namespace's security descriptor with the method
// __SystemSecurity.SetSD, given in SDDL.
func (c *Client) SetSD(ctx context.Context, sd *cimom.SecurityDescriptor) error {
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass, Properties: []cim.Property{
		{Name: "SDDL", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: cimom.FormatSDDL(sd)}}}}
	_, err := c.ExecMethod(ctx, "__SystemSecurity", "SetSD", in, 0, nil)
	return err
}

// GetCallerAccessRights reads the caller's rights with the method
// __SystemSecurity.GetCallerAccessRights.
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
	ans, _, err := c.send(ctx, method, target, func(w *cimxml.RequestWriter) {
		if in == nil {
			return
		}
		for i := range in.Properties {
			p := &in.Properties[i]
			if strings.HasPrefix(p.Name, "__") || p.Value.IsNull() {
				continue
			}
			w.ParamValue(p)
		}
	})
	if err != nil {
		return nil, err
	}
	out := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	err = each(ans, func(k *cimxml.Element) error {
		if k.Name() != "PARAMVALUE" && k.Name() != "RETURNVALUE" {
			return nil
		}
		p, err := k.OutParam()
		out.Properties = append(out.Properties, p)
		return err
	})
	if err != nil {
		return nil, err
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

// notCarried refuses a call whose context sets a value that CIM-XML
// cannot carry and that changes what the call does (a condition, a
// position): dropping it would do something else than asked.
func notCarried(wctx *cimom.Context, op string, names ...string) error {
	for _, n := range names {
		if _, ok := wctx.GetValue(n); ok {
			return cim.Errorf(cim.ENotSupported, "CIM-XML cannot carry %s: use the JSON door (/api/v1) or an in-process repository", n).WithParam(n).WithOp(op)
		}
	}
	return nil
}
