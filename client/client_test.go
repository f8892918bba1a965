package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/wql"
)

// TestClient drives the CIM-XML client against the handler over real
// HTTP: the same Services calls as in-process, the same answers and
// statuses.
func TestClient(t *testing.T) {
	url := sampleServer(t)
	ctx := context.Background()
	if _, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "wrong"}); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("wrong password: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := Dial(ctx, dead, "root/sample", Options{}); cim.StatusOf(err) != cim.ETransportFailure {
		t.Errorf("dead server: %v", err)
	}
	if _, err := Dial(ctx, url, "root/nope", Options{User: "admin", Password: "pw"}); cim.StatusOf(err) != cim.EInvalidNamespace {
		t.Errorf("missing namespace: %v", err)
	}
	var svc cimom.Services
	svc, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := svc.GetObject(ctx, "Sample_Disk", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := cls.Property("Name"); !ok || !p.IsKey() || !p.Propagated || p.Origin != "Sample_StorageElement" {
		t.Errorf("class over the wire: Name = %+v", p)
	}
	// CIM-XML carries only the superclass: the derivation is read from it.
	dyn, _ := cls.SystemProperty("__DYNASTY")
	der, _ := cls.SystemProperty("__DERIVATION")
	if dyn.V != "Sample_StorageElement" || fmt.Sprint(der.V) != "[Sample_StorageElement]" {
		t.Errorf("class over the wire: __DYNASTY %v, __DERIVATION %v", dyn.V, der.V)
	}
	inst, _ := cls.SpawnInstance()
	inst.Put("Name", cim.Value{Type: cim.TypeString, V: "remote"})
	inst.Put("Model", cim.Value{Type: cim.TypeString, V: `quotes " and <tags> & ü`})
	inst.Put("SizeBytes", cim.Value{Type: cim.TypeUint64, V: uint64(1) << 40})
	path, err := svc.PutInstance(ctx, inst, cimom.FlagCreateOnly, nil)
	if err != nil || path != `Sample_Disk.Name="remote"` {
		t.Fatalf("PutInstance: %q %v", path, err)
	}
	if _, err := svc.PutInstance(ctx, inst, cimom.FlagCreateOnly, nil); cim.StatusOf(err) != cim.EAlreadyExists {
		t.Errorf("second create: %v", err)
	}
	back, err := svc.GetObject(ctx, path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := back.Get("Model"); v.V != `quotes " and <tags> & ü` {
		t.Errorf("Model came back as %q", v.V)
	}
	// A partial update through the put extensions.
	inst.Put("Model", cim.Value{Type: cim.TypeString, V: "changed"})
	inst.Put("SizeBytes", cim.Value{Type: cim.TypeUint64, V: uint64(7)})
	wctx := cimom.NewContext()
	wctx.SetValue(cimom.PutExtProperties, []string{"Model"})
	if _, err := svc.PutInstance(ctx, inst, cimom.FlagUpdateOnly, wctx); err != nil {
		t.Fatal(err)
	}
	back, _ = svc.GetObject(ctx, path, 0, nil)
	if m, _ := back.Get("Model"); m.V != "changed" {
		t.Errorf("Model after the partial update: %v", m.V)
	}
	if s, _ := back.Get("SizeBytes"); s.V != uint64(1)<<40 {
		t.Errorf("SizeBytes changed by a partial update of Model: %v", s.V)
	}
	count := func(e cimom.Enumerator, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range cimom.All(ctx, e) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if n := count(svc.CreateInstanceEnum(ctx, "Sample_StorageElement", cimom.FlagForwardOnly, nil)); n != 5 {
		t.Errorf("enumeration: %d instances, want 5", n)
	}
	if n := count(svc.CreateInstanceEnum(ctx, "Sample_StorageElement", cimom.FlagShallow, nil)); n != 0 {
		t.Errorf("shallow enumeration of an abstract class: %d", n)
	}
	if n := count(svc.ExecQuery(ctx, "WQL", "SELECT * FROM Sample_Disk WHERE SizeBytes > 600000000000", 0, nil)); n != 2 {
		t.Errorf("query: %d results, want 2 (sdb and remote)", n)
	}
	if n := count(svc.Associators(ctx, &wql.Assoc{Path: `Sample_Disk.Name="sda"`}, 0, nil)); n != 1 {
		t.Errorf("associators: %d", n)
	}
	if n := count(svc.CreateClassEnum(ctx, "Sample_StorageElement", 0, nil)); n != 2 {
		t.Errorf("class enumeration: %d", n)
	}
	ce, err := svc.CreateClassEnum(ctx, "", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for o, err := range cimom.All(ctx, ce) {
		if err != nil {
			t.Fatal(err)
		}
		if o.Class == "Sample_Volume" {
			if dyn, _ := o.SystemProperty("__DYNASTY"); dyn.V != "Sample_StorageElement" {
				t.Errorf("enumerated class %s: __DYNASTY %v", o.Class, dyn.V)
			}
		}
	}
	if back, err := svc.GetObject(ctx, `Sample_Disk.Name="sda"`, 0, nil); err != nil {
		t.Fatal(err)
	} else if dyn, _ := back.SystemProperty("__DYNASTY"); dyn.V != "Sample_StorageElement" {
		t.Errorf("instance over the wire: __DYNASTY %v", dyn.V)
	}
	if d, err := svc.GetQualifier(ctx, "Key"); err != nil || d.Type != cim.TypeBoolean {
		t.Errorf("GetQualifier: %+v %v", d, err)
	}
	cr, err := svc.DeleteInstanceCall(ctx, path, cimom.FlagReturnImmediately, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := cr.GetCallStatus(cimom.Infinite); err != nil || st != cim.SNoError {
		t.Errorf("DeleteInstanceCall: %v %v", st, err)
	}
	if _, err := svc.GetObject(ctx, path, 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("after the delete: %v", err)
	}
	// The namespace's security, as SDDL through __SystemSecurity.
	sd, err := svc.GetSD(ctx)
	if err != nil || sd.Owner != cimom.GroupAdministrators || len(sd.DACL) == 0 {
		t.Fatalf("GetSD: %+v %v", sd, err)
	}
	if err := svc.SetSD(ctx, sd.Grant("carol", cimom.RightEnable|cimom.RightRemoteEnable, 0)); err != nil {
		t.Fatalf("SetSD: %v", err)
	}
	if again, err := svc.GetSD(ctx); err != nil || again.DACL[0].Trustee != "carol" || len(again.DACL) != len(sd.DACL)+1 {
		t.Errorf("GetSD after SetSD: %+v %v", again, err)
	}
	if err := svc.SetSD(ctx, &cimom.SecurityDescriptor{Owner: "x", Group: "x", DACL: []cimom.ACE{{Trustee: "y", Mask: cimom.RightFullWrite}}}); cim.StatusOf(err) != cim.EInvalidParameter {
		t.Errorf("SetSD of an invalid descriptor: %v", err)
	}
	// Methods: out-parameters, in-parameters, and exact statuses.
	if r, err := svc.GetCallerAccessRights(ctx); err != nil || r&cimom.RightWriteDAC == 0 {
		t.Errorf("GetCallerAccessRights: %#x %v", r, err)
	}
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass, Properties: []cim.Property{{Name: "Up", Type: cim.TypeBoolean, Value: cim.Value{Type: cim.TypeBoolean, V: true}}}}
	out, err := svc.ExecMethod(ctx, `Sample_Disk.Name="sda"`, "Spin", in, 0, nil)
	if err != nil {
		t.Fatalf("Spin(TRUE): %v", err)
	}
	if rv, _ := out.Get(cimom.ReturnValue); rv.V != uint32(1) {
		t.Errorf("Spin(TRUE) returned %v, want 1", rv)
	}
	for _, c := range []struct {
		path, method string
		in           *cim.Object
		want         cim.Status
	}{
		{`Sample_Disk.Name="sda"`, "Spin", nil, cim.EInvalidMethodParameters},
		{`Sample_Disk.Name="zz"`, "Spin", in, cim.ENotFound},
		{`Sample_Disk.Name="sda"`, "Explode", nil, cim.EInvalidMethod},
		{`Sample_Volume.Name="sda2"`, "Spin", nil, cim.EMethodNotImplemented},
		{`Nope.Name="x"`, "Spin", nil, cim.EInvalidClass},
	} {
		if _, err := svc.ExecMethod(ctx, c.path, c.method, c.in, 0, nil); cim.StatusOf(err) != c.want {
			t.Errorf("%s.%s: %v, want %s", c.path, c.method, err, c.want)
		}
	}
}

// blockingSpin is a method provider whose Spin waits until released.
type blockingSpin struct{ entered, release chan struct{} }

func (blockingSpin) Name() string { return "BlockingSpin" }
func (b blockingSpin) ExecMethod(context.Context, string, *cim.ObjectPath, *cim.Method, *cim.Object, *cimom.Context) (*cim.Object, error) {
	close(b.entered)
	<-b.release
	return nil, nil
}

// TestClientDraining: while wbemd drains, a call in flight finishes and a
// new call through the client answers WBEM_E_SHUTTING_DOWN.
func TestClientDraining(t *testing.T) {
	ctx := context.Background()
	om := testdata.SampleCIMOM(t)
	spin := blockingSpin{entered: make(chan struct{}), release: make(chan struct{})}
	om.RegisterMethodProvider("root/sample", "Sample_Disk", spin)
	srv := httptest.NewServer(behind(&cimxml.Handler{Connector: om}, asRoot))
	defer srv.Close()
	svc, err := Dial(ctx, srv.URL, "root/sample", Options{})
	if err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	go func() {
		_, err := svc.ExecMethod(ctx, `Sample_Disk.Name="sda"`, "Spin", nil, 0, nil)
		inFlight <- err
	}()
	<-spin.entered
	closed := make(chan error, 1)
	go func() { closed <- om.Close(ctx) }()
	// Close marks the CIMOM draining before it waits; poll until a new
	// call sees it (the first calls may still be admitted).
	for {
		_, err := svc.GetObject(ctx, "Sample_Disk", 0, nil)
		if err == nil {
			runtime.Gosched()
			continue
		}
		if cim.StatusOf(err) != cim.EShuttingDown {
			t.Fatalf("new call while draining: %v, want WBEM_E_SHUTTING_DOWN", err)
		}
		break
	}
	close(spin.release)
	if err := <-inFlight; err != nil {
		t.Errorf("the call in flight: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestDialWithoutNamespaceClass: a CIMOM without a __Namespace class
// answers its GetClass with CIM_ERR_NOT_FOUND, as OpenPegasus does (seen
// against Pegasus 2.14.4's root/cimv2); the namespace is there, so Dial
// connects. A missing namespace still fails.
func TestDialWithoutNamespaceClass(t *testing.T) {
	om := testdata.SampleCIMOM(t)
	real := behind(&cimxml.Handler{Connector: om}, asRoot)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// In root/sample, which exists, there is no __Namespace class.
		if r.Header.Get("CIMMethod") == "GetClass" && r.Header.Get("CIMObject") == "root%2Fsample" && bytes.Contains(body, []byte(`NAME="__Namespace"`)) {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.Header().Set("CIMOperation", "MethodResponse")
			io.WriteString(w, `<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="GetClass"><ERROR CODE="6" DESCRIPTION="CIM_ERR_NOT_FOUND: __Namespace"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		real.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL, "root/sample", Options{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := c.GetObject(ctx, `Sample_Disk.Name="sda"`, 0, nil); err != nil {
		t.Errorf("after Dial: %v", err)
	}
	if _, err := Dial(ctx, srv.URL, "root/nope", Options{}); cim.StatusOf(err) != cim.EInvalidNamespace {
		t.Errorf("missing namespace: %v", err)
	}
}

// TestQueryWithoutExecQuery: against a server that does not run ExecQuery
// (OpenPegasus answers CIM_ERR_NOT_SUPPORTED for repository classes), the
// client answers WQL ASSOCIATORS OF and REFERENCES OF through the
// Associators and References operations, and data queries by enumerating
// the class, with the same results as wbemd's own ExecQuery; what the
// operations cannot say (KeysOnly here) keeps the server's error.
func TestQueryWithoutExecQuery(t *testing.T) {
	om := testdata.SampleCIMOM(t)
	real := behind(&cimxml.Handler{Connector: om}, asRoot)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("CIMMethod") == "ExecQuery" {
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.Header().Set("CIMOperation", "MethodResponse")
			io.WriteString(w, `<?xml version="1.0" encoding="utf-8" ?><CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLERSP><IMETHODRESPONSE NAME="ExecQuery"><ERROR CODE="7" DESCRIPTION="CIM_ERR_NOT_SUPPORTED"/></IMETHODRESPONSE></SIMPLERSP></MESSAGE></CIM>`)
			return
		}
		real.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL, "root/sample", Options{})
	if err != nil {
		t.Fatal(err)
	}
	local, _ := om.Connect(ctx, "root/sample", cimom.Principal{Name: "root"})
	for _, q := range []string{`ASSOCIATORS OF {Sample_Disk.Name="sda"}`, `REFERENCES OF {Sample_Disk.Name="sda"} WHERE ResultClass = Sample_DiskVolume`,
		`ASSOCIATORS OF {Sample_Disk.Name="sda"} WHERE AssocClass = Sample_DiskVolume Role = Disk`,
		`SELECT * FROM Sample_Disk`, `SELECT Name FROM Sample_StorageElement WHERE Name LIKE 'sd%' AND __CLASS <> 'Sample_Volume'`,
		`SELECT * FROM Sample_StorageElement WHERE Name = 'sda2' OR Name = 'sdb'`} {
		remote, err := c.ExecQuery(ctx, "WQL", q, 0, nil)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		want, err := local.ExecQuery(ctx, "WQL", q, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		paths := func(e cimom.Enumerator) []string {
			var out []string
			for o, err := range cimom.All(ctx, e) {
				if err != nil {
					t.Fatal(err)
				}
				op, err := o.ObjectPath()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("%s %d", op.RelPath(), len(o.Properties)))
			}
			return out
		}
		if got, w := paths(remote), paths(want); len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: %v, want %v", q, got, w)
		}
	}
	if _, err := c.ExecQuery(ctx, "WQL", `ASSOCIATORS OF {Sample_Disk.Name="sda"} WHERE KeysOnly`, 0, nil); cim.StatusOf(err) != cim.ENotSupported {
		t.Errorf("KeysOnly: %v", err)
	}
	if _, err := c.ExecQuery(ctx, "WQL", `SELECT Nope FROM Sample_Disk`, 0, nil); cim.StatusOf(err) != cim.EInvalidQuery {
		t.Errorf("SELECT of an unknown property: %v", err)
	}
	strict, err := Dial(ctx, srv.URL, "root/sample", Options{ServerQueriesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.ExecQuery(ctx, "WQL", `SELECT * FROM Sample_Disk`, 0, nil); cim.StatusOf(err) != cim.ENotSupported {
		t.Errorf("SELECT with ServerQueriesOnly: %v", err)
	}
}

// TestNamesAsRepository: the names the client decodes (EnumerateInstanceNames
// for cimom.KeysOnlyContext) are the instances wbemd's repository gives
// for the keys alone: the key properties with their class qualifiers, in
// the connection's namespace, whose paths are the full instances' paths.
func TestNamesAsRepository(t *testing.T) {
	h, om := sampleRepo(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL, "root/sample", Options{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	local, err := om.Connect(ctx, "root/sample", cimom.Principal{Name: "root"})
	if err != nil {
		t.Fatal(err)
	}
	all := func(svc cimom.Services, wctx *cimom.Context) []*cim.Object {
		e, err := svc.CreateInstanceEnum(ctx, "Sample_Disk", cimom.FlagForwardOnly, wctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []*cim.Object
		for o, err := range cimom.All(ctx, e) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
		return out
	}
	names, want, full := all(c, cimom.KeysOnlyContext()), all(local, cimom.KeysOnlyContext()), all(c, nil)
	if len(names) == 0 || len(names) != len(want) || len(names) != len(full) {
		t.Fatalf("%d names, %d from the repository, %d instances", len(names), len(want), len(full))
	}
	for i, n := range names {
		if !n.CompareTo(want[i], cim.CompareIgnoreObjectSource) {
			t.Errorf("name %d:\n%v\nthe repository's:\n%v", i, n, want[i])
		}
		got, _ := n.SystemProperty("__RELPATH")
		path, _ := full[i].SystemProperty("__RELPATH")
		if got.V != path.V || n.Namespace != "root/sample" {
			t.Errorf("name %d: path %v in %q, the instance's %v", i, got.V, n.Namespace, path.V)
		}
	}
}

// TestDerivationOverTheWire: the derivation of a class read over CIM-XML
// (which carries only the superclass) is the repository's, at every depth,
// whether the ancestors are read for it or were read before.
func TestDerivationOverTheWire(t *testing.T) {
	url := sampleServer(t)
	ctx := context.Background()
	svc, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	parent := ""
	for _, name := range []string{"Deep_A", "Deep_B", "Deep_C", "Deep_D"} {
		cls := &cim.Object{Genus: cim.GenusClass, Class: name, Superclass: parent}
		if parent == "" {
			cls.Properties = []cim.Property{{Name: "Id", Type: cim.TypeString, Qualifiers: []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}}}
		}
		if err := svc.PutClass(ctx, cls, 0, nil); err != nil {
			t.Fatalf("PutClass %s: %v", name, err)
		}
		parent = name
	}
	for _, tc := range []struct{ class, want string }{
		{"Deep_D", "[Deep_C Deep_B Deep_A]"}, // every ancestor read
		{"Deep_C", "[Deep_B Deep_A]"},        // known from the first
		{"Deep_A", "[]"},
	} {
		fresh, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []cimom.Services{fresh, svc} {
			cls, err := c.GetObject(ctx, tc.class, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			der, _ := cls.SystemProperty("__DERIVATION")
			if got := fmt.Sprint(der.V); got != tc.want {
				t.Errorf("%s: __DERIVATION %s, want %s", tc.class, got, tc.want)
			}
		}
	}
}
