package cimom

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// toolProvider serves the methods of Tool: static Version() and, on an
// instance, Add(uint32 A, uint32 B, [out] uint32 Sum, [out] string Note).
type toolProvider struct {
	calls   []string
	release chan struct{} // when set, Add waits for it
	bad     bool          // answer an out-parameter Add does not declare
}

func (p *toolProvider) Name() string { return "ToolProv" }
func (p *toolProvider) ExecMethod(_ context.Context, ns string, target *cim.ObjectPath, m *cim.Method, in *cim.Object, _ *Context) (*cim.Object, error) {
	p.calls = append(p.calls, ns+":"+target.RelPath()+"."+m.Name)
	out := &cim.Object{Genus: cim.GenusInstance, Class: ParametersClass}
	set := func(name string, v cim.Value) {
		out.Properties = append(out.Properties, cim.Property{Name: name, Type: v.Type, Value: v})
	}
	switch m.Name {
	case "Version":
		set(ReturnValue, cim.Value{Type: cim.TypeString, V: "1.2"})
	case "Add":
		if p.release != nil {
			<-p.release
		}
		a, _ := in.Get("A")
		b, _ := in.Get("B")
		if a.IsNull() || b.IsNull() {
			return nil, cim.Errorf(cim.EInvalidMethodParameters, "A and B are needed")
		}
		// Answer with wider types: wbemd converts them to the declaration's.
		set(ReturnValue, cim.Value{Type: cim.TypeSint64, V: int64(0)})
		set("Sum", cim.Value{Type: cim.TypeUint64, V: uint64(a.V.(uint32) + b.V.(uint32))})
		if p.bad {
			set("Extra", cim.Value{Type: cim.TypeString, V: "x"})
		}
	case "Fail":
		return nil, errors.New("the tool broke")
	}
	return out, nil
}

// methodSchema declares Tool, with methods, and an instance Tool.Id="t1".
func (r *testRepo) methodSchema() *toolProvider {
	r.t.Helper()
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	in := []cim.Qualifier{{Name: "In", Value: yes}}
	out := []cim.Qualifier{{Name: "Out", Value: yes}}
	c := class("Tool", "", nil, prop("Id", cim.TypeString, qTrue("Key")))
	c.Methods = []cim.Method{
		{Name: "Version", ReturnType: cim.TypeString, Qualifiers: []cim.Qualifier{{Name: "Static", Value: yes}}},
		{Name: "Add", ReturnType: cim.TypeUint32, Parameters: []cim.Parameter{
			{Name: "A", Type: cim.TypeUint32, Qualifiers: in}, {Name: "B", Type: cim.TypeUint32, Qualifiers: in},
			{Name: "Sum", Type: cim.TypeUint32, Qualifiers: out}, {Name: "Note", Type: cim.TypeString, Qualifiers: out}}},
		{Name: "Fail", ReturnType: cim.TypeUint32},
		{Name: "Off", ReturnType: cim.TypeUint32, Qualifiers: []cim.Qualifier{{Name: "Disabled", Value: yes}}},
	}
	r.putClass(c)
	r.putClass(class("SubTool", "Tool", nil))
	lonely := class("Lonely", "", nil, prop("Id", cim.TypeString, qTrue("Key")))
	lonely.Methods = []cim.Method{{Name: "Ping", ReturnType: cim.TypeUint32, Qualifiers: []cim.Qualifier{{Name: "Static", Value: yes}}}}
	r.putClass(lonely)
	r.put(r.inst("Tool", "Id", "t1"), 0)
	r.put(r.inst("SubTool", "Id", "s1"), 0)
	p := &toolProvider{}
	if err := r.c.RegisterMethodProvider("root/cimv2", "Tool", p); err != nil {
		r.t.Fatal(err)
	}
	return p
}

func params(kv ...any) *cim.Object {
	o := &cim.Object{Genus: cim.GenusInstance, Class: ParametersClass}
	for i := 0; i < len(kv); i += 2 {
		v := kv[i+1].(cim.Value)
		o.Properties = append(o.Properties, cim.Property{Name: kv[i].(string), Type: v.Type, Value: v})
	}
	return o
}

// TestExecMethod runs methods through a provider: static and instance
// targets, in-parameters typed by the declaration, out-parameters checked
// and converted, inherited providers, and every failure with its status.
func TestExecMethod(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	p := r.methodSchema()
	u32 := func(n uint32) cim.Value { return cim.Value{Type: cim.TypeUint32, V: n} }

	out, err := r.svc.ExecMethod(ctx, "Tool", "version", nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := out.Get(ReturnValue); v.V != "1.2" || out.Class != ParametersClass {
		t.Errorf("Version: %v of %s, want 1.2 of __PARAMETERS", v, out.Class)
	}
	// In-parameters given as text or other widths are converted.
	out, err = r.svc.ExecMethod(ctx, `Tool.Id="t1"`, "Add", params("a", cim.Value{Type: cim.TypeString, V: "40"}, "B", cim.Value{Type: cim.TypeUint8, V: uint8(2)}), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	rv, _ := out.Get(ReturnValue)
	sum, _ := out.Get("Sum")
	note, _ := out.Get("Note")
	if rv.Type != cim.TypeUint32 || rv.V != uint32(0) || sum.Type != cim.TypeUint32 || sum.V != uint32(42) || !note.IsNull() {
		t.Errorf("Add: ReturnValue %v, Sum %v, Note %v; want uint32 0, uint32 42, NULL", rv, sum, note)
	}
	// A subclass's instance uses the provider of its superclass.
	if _, err := r.svc.ExecMethod(ctx, `SubTool.Id="s1"`, "Add", params("A", u32(1), "B", u32(1)), 0, nil); err != nil {
		t.Fatal(err)
	}
	if want := `root/cimv2:SubTool.Id="s1".Add`; p.calls[len(p.calls)-1] != want {
		t.Errorf("provider saw %s, want %s", p.calls[len(p.calls)-1], want)
	}
	// __SystemSecurity in every namespace.
	out, err = r.svc.ExecMethod(ctx, "__SystemSecurity", "GetCallerAccessRights", nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := out.Get("Rights"); v.V != int32(rightsAll) {
		t.Errorf("administrator's rights %v, want %#x", v, rightsAll)
	}

	calls := len(p.calls)
	for _, c := range []struct {
		name, path, method string
		in                 *cim.Object
		want               cim.Status
		text               string
	}{
		{"no such class", "Nowhere", "Version", nil, cim.EInvalidClass, "does not exist"},
		{"no such method", "Tool", "Explode", nil, cim.EInvalidMethod, "no method Explode"},
		{"instance method on the class", "Tool", "Add", nil, cim.EInvalidMethod, "not static"},
		{"no such instance", `Tool.Id="zz"`, "Add", params("A", u32(1), "B", u32(1)), cim.ENotFound, "does not exist"},
		{"bad path", `Tool.Id=`, "Add", nil, cim.EInvalidObjectPath, ""},
		{"unknown parameter", `Tool.Id="t1"`, "Add", params("C", u32(1)), cim.EInvalidMethodParameters, "no in-parameter C"},
		{"out-parameter given as in", `Tool.Id="t1"`, "Add", params("Sum", u32(1)), cim.EInvalidMethodParameters, "no in-parameter Sum"},
		{"wrong type", `Tool.Id="t1"`, "Add", params("A", cim.Value{Type: cim.TypeString, V: "many"}), cim.EInvalidMethodParameters, "must be uint32"},
		{"disabled", "Tool", "Off", nil, cim.EMethodDisabled, "disabled"},
		{"no provider", "Lonely", "Ping", nil, cim.EMethodNotImplemented, "no provider"},
		{"no method name", "Tool", "", nil, cim.EInvalidParameter, ""},
	} {
		_, err := r.svc.ExecMethod(ctx, c.path, c.method, c.in, 0, nil)
		if cim.StatusOf(err) != c.want || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %s (%q)", c.name, err, c.want, c.text)
		}
	}
	if len(p.calls) != calls {
		t.Errorf("failed checks reached the provider: %v", p.calls[calls:])
	}
	// Provider failures carry its name.
	_, err = r.svc.ExecMethod(ctx, `Tool.Id="t1"`, "Fail", nil, 0, nil)
	if e := cim.AsError(err); e.Status != cim.EProviderFailure || e.Provider != "ToolProv" || e.Operation != "ExecMethod" {
		t.Errorf("Fail: %+v, want WBEM_E_PROVIDER_FAILURE from ToolProv in ExecMethod", e)
	}
	p.bad = true
	if _, err := r.svc.ExecMethod(ctx, `Tool.Id="t1"`, "Add", params("A", u32(1), "B", u32(1)), 0, nil); cim.StatusOf(err) != cim.EProviderFailure || !strings.Contains(err.Error(), "Extra") {
		t.Errorf("undeclared out-parameter: %v, want WBEM_E_PROVIDER_FAILURE", err)
	}
	p.bad = false
	if _, err := r.svc.ExecMethod(ctx, "Tool", "Version", nil, FlagReturnImmediately, nil); cim.StatusOf(err) != cim.EInvalidParameter {
		t.Errorf("RETURN_IMMEDIATELY without a call result: %v", err)
	}
}

// TestExecMethodSemisynchronous: ExecMethodCall with RETURN_IMMEDIATELY
// answers WBEM_S_TIMEDOUT while the provider works, then the
// out-parameters through GetResultObject.
func TestExecMethodSemisynchronous(t *testing.T) {
	r := newRepo(t)
	p := r.methodSchema()
	p.release = make(chan struct{})
	cr, err := r.svc.ExecMethodCall(context.Background(), `Tool.Id="t1"`, "Add", params("A", cim.Value{Type: cim.TypeUint32, V: uint32(2)}, "B", cim.Value{Type: cim.TypeUint32, V: uint32(3)}), FlagReturnImmediately, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.GetResultObject(10 * time.Millisecond); cim.StatusOf(err) != cim.STimedOut {
		t.Errorf("while the provider works: %v, want WBEM_S_TIMEDOUT", err)
	}
	close(p.release)
	out, err := cr.GetResultObject(Infinite)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := out.Get("Sum"); v.V != uint32(5) {
		t.Errorf("Sum %v, want 5", v)
	}
}
