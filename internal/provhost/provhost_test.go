package provhost_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
	"github.com/wbemd/wbemd/mof"
	"github.com/wbemd/wbemd/store/bolt"
)

var admin = cimom.Principal{Name: "root"}

// harness is a real repository on disk with a supervisor attached.
type harness struct {
	t   testing.TB
	om  *cimom.CIMOM
	sup *provhost.Supervisor
	svc cimom.Services // root/cimv2 as the administrator
}

// newHarness opens a repository, compiles the MOF texts into it (each a
// format with the provider binary as %[1]s), and attaches a supervisor.
func newHarness(t testing.TB, opts provhost.Options, mofs ...string) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "repo.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "testhost"})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, om: om}
	for i, text := range mofs {
		h.compile(fmt.Sprintf("test%d.mof", i), fmt.Sprintf(text, providerBin))
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if h.sup, err = provhost.Attach(ctx, om, opts); err != nil {
		t.Fatal(err)
	}
	if h.svc, err = om.Connect(ctx, "root/cimv2", admin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.sup.Close(ctx); err != nil {
			t.Errorf("supervisor Close: %v", err)
		}
		if err := om.Close(ctx); err != nil {
			t.Errorf("cimom Close: %v", err)
		}
		db.Close()
	})
	return h
}

// compile compiles MOF text into the repository.
func (h *harness) compile(name, text string) {
	h.t.Helper()
	unit, errs := mof.Load([]string{name}, nil, func(string) ([]byte, error) { return []byte(text), nil })
	if len(errs) > 0 {
		h.t.Fatalf("MOF %s: %v", name, errs[0])
	}
	root, err := h.om.Connect(context.Background(), "root", admin)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, errs := mof.Compile(context.Background(), root, unit, mof.Options{Namespace: "root/cimv2"}); len(errs) > 0 {
		h.t.Fatalf("MOF %s: %v", name, errs[0])
	}
}

// call runs a method and returns its out-parameters.
func (h *harness) call(path, method string, in ...any) (*cim.Object, error) {
	var args *cim.Object
	if len(in) > 0 {
		args = &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
		for i := 0; i+1 < len(in); i += 2 {
			v, err := cim.NewValue(typeOf(in[i+1]), in[i+1])
			if err != nil {
				h.t.Fatal(err)
			}
			args.Properties = append(args.Properties, cim.Property{Name: in[i].(string), Type: v.Type, Value: v})
		}
	}
	return h.svc.ExecMethod(context.Background(), path, method, args, 0, nil)
}

func typeOf(x any) cim.Type {
	switch x.(type) {
	case bool:
		return cim.TypeBoolean
	case uint32:
		return cim.TypeUint32
	}
	return cim.TypeString
}

// whoami returns the host's pid and user.
func (h *harness) whoami() (pid uint32, user, queries string) {
	h.t.Helper()
	out, err := h.call("Test_Item", "Whoami")
	if err != nil {
		h.t.Fatalf("Whoami: %v", err)
	}
	p, _ := out.Get("Pid")
	u, _ := out.Get("User")
	q, _ := out.Get("Queries")
	qs, _ := q.V.(string)
	return p.V.(uint32), u.V.(string), qs
}

// all enumerates or queries, returning the objects.
func all(e cimom.Enumerator, err error) ([]*cim.Object, error) {
	if err != nil {
		return nil, err
	}
	defer e.Close()
	var out []*cim.Object
	for o, err := range cimom.All(context.Background(), e) {
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func names(objs []*cim.Object, prop string) string {
	var out []string
	for _, o := range objs {
		v, _ := o.Get(prop)
		out = append(out, fmt.Sprint(v.V))
	}
	return strings.Join(sortStrings(out), ",")
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

func wantStatus(t *testing.T, err error, want cim.Status, provider string) {
	t.Helper()
	if cim.StatusOf(err) != want {
		t.Fatalf("status %v (%v), want %v", cim.StatusOf(err), err, want)
	}
	if provider != "" {
		if e, ok := err.(*cim.Error); !ok || e.Provider != provider {
			t.Fatalf("error %v names provider %q, want %q", err, e.Provider, provider)
		}
	}
}

// TestOperations drives every operation through a real host process.
func TestOperations(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, provhost.Options{}, testSchema)
	// Get and enumerate.
	o, err := h.svc.GetObject(ctx, `Test_Item.Name="a"`, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := o.Get("Size"); v.V != uint32(1) {
		t.Errorf("Size = %#v, want uint32 1 (typed by the class)", v.V)
	}
	if o.Namespace != "root/cimv2" || o.Server != "testhost" {
		t.Errorf("instance path parts %q %q", o.Namespace, o.Server)
	}
	_, err = h.svc.GetObject(ctx, `Test_Item.Name="zz"`, 0, nil)
	wantStatus(t, err, cim.ENotFound, "TestItems")
	objs, err := all(h.svc.CreateInstanceEnum(ctx, "Test_Item", cimom.FlagForwardOnly, nil))
	if err != nil || names(objs, "Name") != "a,b" {
		t.Fatalf("enumerate: %s %v", names(objs, "Name"), err)
	}
	// Create, update, delete.
	in, _ := h.inst("Test_Item", "Name", "c", "Size", uint32(7))
	if _, err := h.svc.PutInstance(ctx, in, cimom.FlagCreateOnly, nil); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.PutInstance(ctx, in, cimom.FlagCreateOnly, nil)
	wantStatus(t, err, cim.EAlreadyExists, "TestItems")
	o, err = h.svc.GetObject(ctx, `Test_Item.Name="c"`, 0, nil)
	if v, _ := o.Get("Note"); err != nil || v.V != "stored by the provider" {
		t.Fatalf("after put: %v %v", o, err)
	}
	if err := h.svc.DeleteInstance(ctx, `Test_Item.Name="c"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, h.svc.DeleteInstance(ctx, `Test_Item.Name="c"`, 0, nil), cim.ENotFound, "TestItems")
	// A query: the provider gets the parsed condition and answers more
	// than it matches; wbemd filters.
	objs, err = all(h.svc.ExecQuery(ctx, "WQL", "SELECT Name FROM Test_Item WHERE Size > 1", cimom.FlagForwardOnly, nil))
	if err != nil || names(objs, "Name") != "b" {
		t.Fatalf("query: %s %v", names(objs, "Name"), err)
	}
	if _, _, q := h.whoami(); q != "Size > 1" {
		t.Errorf("the provider saw the queries %q, want %q", q, "Size > 1")
	}
	// Methods: static with out-parameters, and on an instance.
	out, err := h.call("Test_Item", "Echo", "Text", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if said, _ := out.Get("Said"); said.V != "hello" {
		t.Errorf("Echo Said = %v", said.V)
	}
	if n, _ := out.Get("Length"); n.V != uint32(5) {
		t.Errorf("Echo Length = %#v", n.V)
	}
	out, err = h.call(`Test_Item.Name="b"`, "Grow", "By", uint32(40))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := out.Get("NewSize"); n.V != uint32(42) {
		t.Errorf("Grow NewSize = %#v", n.V)
	}
	// Many instances stream.
	objs, err = all(h.svc.CreateInstanceEnum(ctx, "Test_Many", cimom.FlagForwardOnly, nil))
	if err != nil || len(objs) != 1000 {
		t.Fatalf("Test_Many: %d %v", len(objs), err)
	}
	// The host runs as the unprivileged user, not as root.
	if _, user, _ := h.whoami(); user != "nobody" {
		t.Errorf("the host runs as %s, want nobody", user)
	}
	// Status.
	sts := h.sup.Statuses()
	if len(sts) != 1 || sts[0].Name != "TestItems" || sts[0].State != "running" || sts[0].PID == 0 || sts[0].User != "nobody" || sts[0].Calls < 10 {
		t.Errorf("status: %+v", sts)
	}
	root, _ := h.om.Connect(ctx, "root", admin)
	objs, err = all(root.CreateInstanceEnum(ctx, provhost.StatusClass, cimom.FlagForwardOnly, nil))
	if err != nil || names(objs, "Name") != "TestItems,TestOther" {
		t.Errorf("%s: %s %v", provhost.StatusClass, names(objs, "Name"), err)
	}
}

// inst spawns an instance of class with name/value pairs.
func (h *harness) inst(class string, kv ...any) (*cim.Object, error) {
	cls, err := h.svc.GetObject(context.Background(), class, 0, nil)
	if err != nil {
		return nil, err
	}
	o, err := cls.SpawnInstance()
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p, ok := o.Property(kv[i].(string))
		if !ok {
			return nil, fmt.Errorf("no property %v", kv[i])
		}
		v, err := cim.NewValue(p.Type, kv[i+1])
		if err != nil {
			return nil, err
		}
		p.Value = v
	}
	return o, nil
}

func testLogger(t testing.TB) *slogLogger {
	return newTestLogger(t)
}

var _ = os.Getpid

// TestAssociations: ASSOCIATORS OF and REFERENCES OF across provider and
// repository instances, through an association a provider serves and one
// the repository holds.
func TestAssociations(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, provhost.Options{}, testSchema)
	for _, c := range []struct{ query, prop, want string }{
		{`ASSOCIATORS OF {Test_Repo.Name="r"}`, "Name", "a"},                 // provider link, provider end
		{`ASSOCIATORS OF {Test_Item.Name="a"}`, "Name", "r"},                 // provider link, repository end
		{`ASSOCIATORS OF {Test_Repo.Name="s"}`, "Name", "b"},                 // repository link, provider end
		{`ASSOCIATORS OF {Test_Item.Name="b"}`, "Name", "s"},                 // repository link, repository end
		{`REFERENCES OF {Test_Item.Name="a"}`, "Repo", `Test_Repo.Name="r"`}, // the provider's link
		{`REFERENCES OF {Test_Repo.Name="s"} WHERE ResultClass = Test_StaticLink`, "Item", `Test_Item.Name="b"`},
	} {
		objs, err := all(h.svc.ExecQuery(ctx, "WQL", c.query, cimom.FlagForwardOnly, nil))
		if err != nil || names(objs, c.prop) != c.want {
			t.Errorf("%s: %s %v, want %s", c.query, names(objs, c.prop), err, c.want)
		}
	}
}
