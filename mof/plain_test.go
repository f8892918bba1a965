package mof_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/mof"
)

// TestCompileInstances: a piece of plain instances is compiled without a
// write of its own and handed whole to the writer; a piece with anything
// else, an error, or a failing writer leaves the session as it was (its
// summary unchanged) so that Compile names the error.
func TestCompileInstances(t *testing.T) {
	ctx := context.Background()
	om := openRepo(t)
	mustCompile(t, om, "root/cimv2", `
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);
class P_Item { [Key] string Id; uint32 Num; };`)
	root := connect(t, om, "root/cimv2")
	piece := func(src string) *mof.Unit {
		u, errs := mof.ParsePiece("p.mof", src, 1, int64(len(src)), int64(len(src)))
		if len(errs) > 0 {
			t.Fatalf("parse: %v", errs)
		}
		return u
	}
	sess := mof.NewSession(ctx, mof.Options{Namespace: "root/cimv2"})
	var got []*cim.Object
	bulk := func(ctx context.Context, ns string, insts []*cim.Object) error {
		if ns != "root/cimv2" {
			t.Errorf("namespace %q", ns)
		}
		got = append(got, insts...)
		_, err := om.PutInstances(ctx, ns, admin, insts, cimom.FlagCreateOnly)
		return err
	}
	plain := `instance of P_Item { Id = "a"; Num = 1; };
instance of P_Item { Num = 2; Id = "b"; };`
	if !sess.CompileInstances(root, piece(plain), bulk) || len(got) != 2 {
		t.Fatalf("plain piece: compiled false or %d instances given", len(got))
	}
	if sum, _ := sess.Finish(); sum.InstancesCreated != 2 {
		t.Errorf("created %d, want 2", sum.InstancesCreated)
	}
	for _, path := range []string{`P_Item.Id="a"`, `P_Item.Id="b"`} {
		if _, err := root.GetObject(ctx, path, 0, nil); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	// Not plain: a class, an alias, a bad value, instances that exist
	// already.
	for name, src := range map[string]string{
		"class":  `class P_Other { [Key] string Id; };`,
		"alias":  `instance of P_Item as $x { Id = "c"; };`,
		"bad":    `instance of P_Item { Id = "e"; Num = "x"; };`,
		"exists": `instance of P_Item { Id = "f"; }; instance of P_Item { Id = "a"; };`,
	} {
		got = nil
		if sess.CompileInstances(root, piece(src), bulk) {
			t.Errorf("%s: compiled as plain instances", name)
		}
		if sum, errs := sess.Finish(); sum.InstancesCreated != 2 || len(errs) != 0 {
			t.Errorf("%s: the session changed: %d created, errors %v", name, sum.InstancesCreated, errs)
		}
	}
	if _, err := root.GetObject(ctx, `P_Item.Id="f"`, 0, nil); cim.StatusOf(err) != cim.ENotFound {
		t.Errorf("an instance of the failed piece was written: %v", err)
	}
	// Instances written other than created (mofcomp -instance:updateonly).
	upd := mof.NewSession(ctx, mof.Options{Namespace: "root/cimv2", InstanceFlags: cimom.FlagUpdateOnly})
	if upd.CompileInstances(root, piece(`instance of P_Item { Id = "a"; Num = 3; };`), bulk) {
		t.Error("updateonly: compiled as plain instances")
	}
	// A writer's failure leaves nothing counted.
	if sess.CompileInstances(root, piece(`instance of P_Item { Id = "g"; };`), func(context.Context, string, []*cim.Object) error {
		return errors.New("refused")
	}) {
		t.Error("a refused write: compiled")
	}
	if sum, _ := sess.Finish(); sum.InstancesCreated != 2 {
		t.Errorf("after a refused write: %d created", sum.InstancesCreated)
	}
}
