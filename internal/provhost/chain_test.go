package provhost_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
)

// chainSchema is a three-level static hierarchy whose top class is served
// by the out-of-process ChainTop provider; @LOG@ stands for its log file.
const chainSchema = `#pragma namespace("root/cimv2")
[Provider("ChainTop")]
class Chain_Top { [Key] string Name; string Data; };
class Chain_Mid : Chain_Top { };
class Chain_Bottom : Chain_Mid { };
instance of __Win32Provider as $C {
	Name = "ChainTop";
	Command = "%[1]s";
	Environment = {"WBEMD_TEST_PROVIDER=chain", "WBEMD_TEST_LOG=@LOG@"};
};
instance of __InstanceProviderRegistration { provider = $C; SupportsPut = TRUE; SupportsDelete = TRUE; };
`

// bottomProvider is the in-process provider of Chain_Bottom: it records
// what the top provider had logged when it was called, and vetoes names
// starting with "bottomveto".
type bottomProvider struct {
	log  string
	mu   sync.Mutex
	seen []string // "put NAME after: <the top's log>"
}

func (b *bottomProvider) Name() string { return "Bottom" }

func (b *bottomProvider) record(what string) {
	top, _ := os.ReadFile(b.log)
	b.mu.Lock()
	b.seen = append(b.seen, what+" after: "+strings.TrimSpace(string(top)))
	b.mu.Unlock()
}

func (b *bottomProvider) PutInstance(ctx context.Context, ns string, inst *cim.Object, flags cimom.Flags, wctx *cimom.Context) error {
	name, _ := inst.Get("Name")
	b.record("put " + name.V.(string))
	if strings.HasPrefix(name.V.(string), "bottomveto") {
		return cim.Errorf(cim.EVetoPut, "the bottom provider vetoes %s", name.V)
	}
	return nil
}

func (b *bottomProvider) DeleteInstance(ctx context.Context, ns string, path *cim.ObjectPath, wctx *cimom.Context) error {
	b.record("delete " + path.RelPath())
	return nil
}

func (b *bottomProvider) calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.seen...)
}

// TestChain: PutInstance of a three-level hierarchy with an
// out-of-process provider at the top and an in-process one at the bottom
// calls them top first; a veto by either stores nothing; a subclass's
// provider is not called for its superclass's instances.
func TestChain(t *testing.T) {
	ctx := context.Background()
	logFile := filepath.Join(sharedDir(t), "top.log")
	if err := os.WriteFile(logFile, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(logFile, 0o666)
	h := newHarness(t, provhost.Options{}, strings.Replace(chainSchema, "@LOG@", logFile, 1))
	bottom := &bottomProvider{log: logFile}
	if err := h.om.RegisterProvider("root/cimv2", "Chain_Bottom", bottom); err != nil {
		t.Fatal(err)
	}
	put := func(class, name string) error {
		o, err := h.inst(class, "Name", name, "Data", "d")
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.svc.PutInstance(ctx, o, 0, nil)
		return err
	}
	exists := func(class, name string) bool {
		_, err := h.svc.GetObject(ctx, class+`.Name="`+name+`"`, 0, nil)
		if err != nil && cim.StatusOf(err) != cim.ENotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	// Both accept: the top first, then the bottom; stored.
	if err := put("Chain_Bottom", "ok"); err != nil {
		t.Fatal(err)
	}
	if got := bottom.calls(); len(got) != 1 || got[0] != "put ok after: top put ok" {
		t.Errorf("order: %q", got)
	}
	if !exists("Chain_Bottom", "ok") {
		t.Error("accepted instance not stored")
	}
	// The top vetoes: the bottom is not called, nothing is stored.
	err := put("Chain_Bottom", "veto1")
	wantStatus(t, err, cim.EVetoPut, "ChainTop")
	if len(bottom.calls()) != 1 || exists("Chain_Bottom", "veto1") {
		t.Errorf("after the top's veto: bottom calls %q, stored %v", bottom.calls(), exists("Chain_Bottom", "veto1"))
	}
	// The bottom vetoes after the top accepted: nothing is stored.
	err = put("Chain_Bottom", "bottomveto1")
	wantStatus(t, err, cim.EVetoPut, "Bottom")
	if got := bottom.calls(); len(got) != 2 || !strings.HasSuffix(got[1], "top put bottomveto1") || exists("Chain_Bottom", "bottomveto1") {
		t.Errorf("after the bottom's veto: %q, stored %v", got, exists("Chain_Bottom", "bottomveto1"))
	}
	// An instance of the middle class: the top only.
	if err := put("Chain_Mid", "mid"); err != nil {
		t.Fatal(err)
	}
	if len(bottom.calls()) != 2 || !exists("Chain_Mid", "mid") {
		t.Errorf("Chain_Mid: bottom calls %q", bottom.calls())
	}
	// Delete goes down the chain too.
	if err := h.svc.DeleteInstance(ctx, `Chain_Bottom.Name="ok"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	if got := bottom.calls(); len(got) != 3 || !strings.HasSuffix(got[2], "top delete ok") || exists("Chain_Bottom", "ok") {
		t.Errorf("delete: %q", got)
	}
	// A top provider that is gone fails the put, and nothing is stored.
	reg, _ := h.svc.GetObject(ctx, `__Win32Provider.Name="ChainTop"`, 0, nil)
	reg.Put("Command", cim.Value{Type: cim.TypeString, V: "/nonexistent/chain"})
	if _, err := h.svc.PutInstance(ctx, reg, 0, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, put("Chain_Bottom", "orphan"), cim.EProviderNotFound, "ChainTop")
	if len(bottom.calls()) != 3 || exists("Chain_Bottom", "orphan") {
		t.Errorf("with the top provider missing: %q", bottom.calls())
	}
}
