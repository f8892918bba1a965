package etcd

import (
	"context"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/internal/testdata"
	"github.com/wbemd/wbemd/mof"
)

// compileSchema compiles the DMTF CIM schema into root/cimv2 through nd in
// one batch: one store transaction.
func compileSchema(t *testing.T, nd *node) (mof.Summary, error) {
	t.Helper()
	ctx := context.Background()
	u, errs := mof.Load([]string{testdata.CIMSchema(t)}, nil, nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	var sum mof.Summary
	err := nd.om.Batch(ctx, func(view *cimom.CIMOM) error {
		root, err := view.Connect(ctx, "root", admin)
		if err != nil {
			return err
		}
		var errs []*mof.Error
		sum, errs = mof.Compile(ctx, root, u, mof.Options{Namespace: "root/cimv2"})
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	})
	return sum, err
}

// schemaClasses counts the non-system classes of root/cimv2 through nd.
func schemaClasses(t *testing.T, nd *node) int {
	t.Helper()
	ctx := context.Background()
	e, err := nd.svc.CreateClassEnum(ctx, "", cimom.FlagDeep|cimom.FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n := 0
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			t.Fatal(err)
		}
		if !cim.IsSystemName(o.Class) {
			n++
		}
	}
	return n
}

// TestCIMSchema: wbemd's largest atomic operations work on a cluster
// configured as the engine requires: the whole DMTF schema compiles in
// one transaction and is seen at once by another node, a namespace chain
// is created in one, and a DeleteClass of the schema's root class
// cascades in one.
func TestCIMSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the full CIM schema")
	}
	c := startCluster(t)
	nodes := openNodes(t, c, "schema", 2)
	ctx := context.Background()
	sum, err := compileSchema(t, nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if sum.ClassesCreated != 1631 {
		t.Fatalf("summary %+v, want 1631 classes", sum)
	}
	if n := schemaClasses(t, nodes[1]); n != 1631 {
		t.Fatalf("the other node sees %d classes, want 1631", n)
	}
	if _, err := nodes[1].om.CreateNamespace(ctx, "root/a/b/c/d/e/f/g/h", admin); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes[0].om.Connect(ctx, "root/a/b/c/d/e/f/g/h", admin); err != nil {
		t.Fatalf("the namespace created through one node, through the other: %v", err)
	}
	if err := nodes[1].svc.DeleteClass(ctx, "CIM_ManagedElement", 0, nil); err != nil {
		t.Fatal(err)
	}
	if n := schemaClasses(t, nodes[0]); n >= 1631 {
		t.Fatalf("%d classes left after deleting CIM_ManagedElement", n)
	}
}

// TestSchemaRefusedWhole: on a cluster with limits below what wbemd asks
// for (256 ops, 1.5 MiB: etcd's default 128 ops is too few even for a new
// repository's first transaction, about 160 writes), stated in the URL,
// the schema compile and a cascading DeleteClass are refused as a whole
// with WBEM_E_QUOTA_VIOLATION: nothing is written, the revision does not
// move.
func TestSchemaRefusedWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the full CIM schema")
	}
	c := etcdtest.Start(t, etcdtest.Options{MaxTxnOps: 256})
	nodes := openNodes(t, &limited{c}, "small", 1)
	nd := nodes[0]
	ctx := context.Background()
	r0, err := nd.st.Rev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = compileSchema(t, nd)
	if statusOf(err) != cim.EQuotaViolation || !strings.Contains(err.Error(), "nothing was written") {
		t.Fatalf("schema compile on a 256-op cluster: %v, want WBEM_E_QUOTA_VIOLATION", err)
	}
	if r, _ := nd.st.Rev(ctx); r != r0 {
		t.Fatalf("the refused compile moved the revision %d -> %d", r0, r)
	}
	if n := schemaClasses(t, nd); n != 0 {
		t.Fatalf("the refused compile left %d classes", n)
	}
	// 140 classes fit, one declaration a transaction; deleting their root
	// class is one transaction of about 280 ops: refused whole.
	var sb strings.Builder
	sb.WriteString("[Abstract] class T_Root { [Key] string Name; };\n")
	for i := 0; i < 140; i++ {
		sb.WriteString("class T_Sub" + string(rune('A'+i/26)) + string(rune('A'+i%26)) + " : T_Root { };\n")
	}
	u, errs := mof.Load([]string{"t.mof"}, nil, func(string) ([]byte, error) { return []byte(sb.String()), nil })
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	root, _ := nd.om.Connect(ctx, "root", admin)
	if _, errs := mof.Compile(ctx, root, u, mof.Options{Namespace: "root/cimv2"}); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r1, _ := nd.st.Rev(ctx)
	err = nd.svc.DeleteClass(ctx, "T_Root", 0, nil)
	if statusOf(err) != cim.EQuotaViolation {
		t.Fatalf("cascading DeleteClass of 141 classes on a 256-op cluster: %v, want WBEM_E_QUOTA_VIOLATION", err)
	}
	if r, _ := nd.st.Rev(ctx); r != r1 {
		t.Fatalf("the refused DeleteClass moved the revision %d -> %d", r1, r)
	}
	if n := schemaClasses(t, nd); n != 141 {
		t.Fatalf("%d classes after the refused DeleteClass, want 141", n)
	}
}

// limited states limits of 256 ops and 1.5 MiB in a cluster's URLs.
type limited struct{ *etcdtest.Cluster }

func (l *limited) URL(prefix, query string) string {
	return l.Cluster.URL(prefix, "max-txn-ops=256&max-request-bytes=1572864")
}
