package testdata

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// FailingClass is the dynamic class of root/sample that AddFailing serves.
const FailingClass = "Sample_Failing"

// AddFailing adds to om's root/sample (SampleCIMOM) the dynamic class
// Sample_Failing (key ID, a string Payload) and an in-process provider
// that enumerates n of its instances, each with a payload of size bytes,
// then fails with err (unless it is nil): an operation that fails once
// its answer is under way.
func AddFailing(t testing.TB, om *cimom.CIMOM, n, size int, err error) {
	t.Helper()
	ctx := context.Background()
	svc, e := om.Connect(ctx, "root/sample", cimom.Principal{Name: "root"})
	if e != nil {
		t.Fatal(e)
	}
	key := []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}
	cls := &cim.Object{Genus: cim.GenusClass, Class: FailingClass,
		Qualifiers: []cim.Qualifier{
			{Name: "Dynamic", Value: cim.Value{Type: cim.TypeBoolean, V: true}},
			{Name: "Provider", Value: cim.Value{Type: cim.TypeString, V: "FailingProv"}},
		},
		Properties: []cim.Property{
			{Name: "ID", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32), Qualifiers: key},
			{Name: "Payload", Type: cim.TypeString, Value: cim.Null(cim.TypeString)},
		}}
	if e := svc.PutClass(ctx, cls, cimom.FlagCreateOnly, nil); e != nil {
		t.Fatal(e)
	}
	if cls, e = svc.GetObject(ctx, FailingClass, 0, nil); e != nil {
		t.Fatal(e)
	}
	if e := om.RegisterProvider("root/sample", FailingClass, &failing{cls: cls, n: n, size: size, err: err}); e != nil {
		t.Fatal(e)
	}
}

// failing is the provider of AddFailing.
type failing struct {
	cls     *cim.Object
	n, size int
	err     error
}

func (p *failing) Name() string { return "FailingProv" }

func (p *failing) PutInstance(context.Context, string, *cim.Object, cimom.Flags, *cimom.Context) error {
	return cim.Errorf(cim.EProviderNotCapable, "Sample_Failing is read-only")
}

func (p *failing) EnumerateInstances(ctx context.Context, ns, class string, wctx *cimom.Context) iter.Seq2[*cim.Object, error] {
	return func(yield func(*cim.Object, error) bool) {
		for i := range p.n {
			o, err := p.cls.SpawnInstance()
			if err == nil {
				o.Put("ID", cim.Value{Type: cim.TypeUint32, V: uint32(i)})
				err = o.Put("Payload", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("%d %s", i, strings.Repeat("p", p.size))})
			}
			if !yield(o, err) || err != nil {
				return
			}
		}
		if p.err != nil {
			yield(nil, p.err)
		}
	}
}
