package cimom

import (
	"context"
	"fmt"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

type dynProvider struct{}

func (dynProvider) Name() string { return "DynProv" }
func (dynProvider) PutInstance(context.Context, string, *cim.Object, Flags, *Context) error {
	return nil
}

// TestSecurityMatrix runs each operation as a principal holding ENABLE plus
// exactly one other right, for every right, and checks that it is allowed
// exactly when that right is the one the operation needs (spec §7.2).
func TestSecurityMatrix(t *testing.T) {
	ctx := context.Background()
	rights := []Rights{RightEnable, RightMethodExecute, RightFullWrite, RightPartialWrite, RightWriteProvider,
		RightRemoteEnable, RightSubscribe, RightPublish, RightReadControl, RightWriteDAC}
	ops := []struct {
		name string
		need Rights
		run  func(r *testRepo, s Services) error
	}{
		{"GetObject", RightEnable, func(r *testRepo, s Services) error {
			_, err := s.GetObject(ctx, "Item", 0, nil)
			return err
		}},
		{"CreateInstanceEnum", RightEnable, func(r *testRepo, s Services) error {
			e, err := s.CreateInstanceEnum(ctx, "Item", 0, nil)
			if err == nil {
				e.Close()
			}
			return err
		}},
		{"PutInstance static", RightPartialWrite, func(r *testRepo, s Services) error {
			_, err := s.PutInstance(ctx, r.inst("Item", "Id", "new"), 0, nil)
			return err
		}},
		{"DeleteInstance static", RightPartialWrite, func(r *testRepo, s Services) error {
			return s.DeleteInstance(ctx, `Item.Id="there"`, 0, nil)
		}},
		{"PutInstance dynamic", RightWriteProvider, func(r *testRepo, s Services) error {
			_, err := s.PutInstance(ctx, r.inst("Dyn", "Id", "d"), 0, nil)
			return err
		}},
		{"PutInstance system class", RightFullWrite, func(r *testRepo, s Services) error {
			cls, err := s.GetObject(ctx, "__Namespace", 0, nil)
			if err != nil {
				return err
			}
			o, _ := cls.SpawnInstance()
			o.Put("Name", cim.Value{Type: cim.TypeString, V: "sub"})
			_, err = s.PutInstance(ctx, o, 0, nil)
			return err
		}},
		{"PutClass", RightFullWrite, func(r *testRepo, s Services) error {
			return s.PutClass(ctx, class("NewClass", "", nil), 0, nil)
		}},
		{"DeleteClass", RightFullWrite, func(r *testRepo, s Services) error {
			return s.DeleteClass(ctx, "Counter", 0, nil)
		}},
		{"GetSD", RightReadControl, func(r *testRepo, s Services) error {
			_, err := s.GetSD(ctx)
			return err
		}},
		{"SetSD", RightWriteDAC, func(r *testRepo, s Services) error {
			sd, err := r.svc.GetSD(ctx) // read as admin: the right under test is WRITE_DAC
			if err != nil {
				return err
			}
			return s.SetSD(ctx, sd)
		}},
		{"ExecMethod", RightMethodExecute, func(r *testRepo, s Services) error {
			_, err := s.ExecMethod(ctx, "Tool", "Version", nil, 0, nil)
			return err
		}},
		{"__SystemSecurity.GetCallerAccessRights", RightEnable, func(r *testRepo, s Services) error {
			_, err := s.ExecMethod(ctx, "__SystemSecurity", "GetCallerAccessRights", nil, 0, nil)
			return err
		}},
		{"Subscribe", RightSubscribe, func(r *testRepo, s Services) error {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := subscribeChan(cctx, r.c, "root/cimv2", Principal{Name: "bob"}, false)
			return err
		}},
	}
	for _, op := range ops {
		for _, granted := range rights {
			allowed := granted == op.need || op.need == RightEnable ||
				(granted == RightFullWrite && (op.need == RightPartialWrite || op.need == RightWriteProvider))
			t.Run(fmt.Sprintf("%s/%s", op.name, rightName(granted)), func(t *testing.T) {
				r := newRepo(t)
				r.baseSchema()
				r.c.RegisterProvider("root/cimv2", "Dyn", dynProvider{})
				r.methodSchema()
				r.put(r.inst("Item", "Id", "there"), 0)
				sd := &SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators, Protected: true, DACL: []ACE{
					{Trustee: GroupAdministrators, Mask: rightsAll},
					{Trustee: "bob", Mask: RightEnable | granted},
				}}
				if granted == RightFullWrite {
					sd.DACL[1].Mask |= RightPartialWrite | RightWriteProvider // SetSD's rule
					allowed = allowed || op.need == RightPartialWrite || op.need == RightWriteProvider
				}
				if err := r.svc.SetSD(ctx, sd); err != nil {
					t.Fatal(err)
				}
				bob, err := r.c.Connect(ctx, "root/cimv2", Principal{Name: "bob"})
				if err != nil {
					t.Fatal(err)
				}
				err = op.run(r, bob)
				if allowed && err != nil {
					t.Fatalf("allowed operation failed: %v", err)
				}
				if !allowed {
					wantStatus(t, err, cim.EAccessDenied)
				}
			})
		}
	}
}

func TestSecurityInheritanceAndRemote(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	mkns := func(s Services, name string) {
		cls, _ := s.GetObject(ctx, "__Namespace", 0, nil)
		o, _ := cls.SpawnInstance()
		o.Put("Name", cim.Value{Type: cim.TypeString, V: name})
		if _, err := s.PutInstance(ctx, o, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	sd := &SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators, Protected: true, DACL: []ACE{
		{Trustee: GroupAdministrators, Mask: rightsAll, Flags: ACEContainerInherit},
		{Trustee: "carol", Deny: true, Mask: RightPartialWrite, Flags: ACEContainerInherit},
		{Trustee: "carol", Mask: RightEnable | RightPartialWrite | RightReadControl, Flags: ACEContainerInherit},
		{Trustee: "dave", Mask: RightEnable, Flags: ACEContainerInherit | ACENoPropagate},
		{Trustee: "erin", Mask: RightEnable},
	}}
	if err := r.svc.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}
	mkns(r.svc, "kid")
	kid, _ := r.c.Connect(ctx, "root/cimv2/kid", admin)
	mkns(kid, "grandkid")
	check := func(ns, who string, want Rights) {
		t.Helper()
		got, err := r.c.GetCallerAccessRights(ctx, ns, Principal{Name: who})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s in %s: rights %#x, want %#x", who, ns, uint32(got), uint32(want))
		}
	}
	// The deny ACE comes first, so carol never gets PARTIAL_WRITE, here or below.
	check("root/cimv2", "carol", RightEnable|RightReadControl)
	check("root/cimv2/kid", "carol", RightEnable|RightReadControl)
	check("root/cimv2/kid/grandkid", "carol", RightEnable|RightReadControl)
	// NO_PROPAGATE: children only.
	check("root/cimv2/kid", "dave", RightEnable)
	check("root/cimv2/kid/grandkid", "dave", 0)
	// Not inheritable at all.
	check("root/cimv2", "erin", RightEnable)
	check("root/cimv2/kid", "erin", 0)
	if _, err := r.c.Connect(ctx, "root/cimv2/kid", Principal{Name: "erin"}); cim.StatusOf(err) != cim.EAccessDenied {
		t.Fatalf("erin connecting to kid: %v", err)
	}
	// Changing the parent's SD re-propagates to existing children.
	sd.DACL = append(sd.DACL, ACE{Trustee: "frank", Mask: RightEnable, Flags: ACEContainerInherit})
	if err := r.svc.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}
	check("root/cimv2/kid/grandkid", "frank", RightEnable)
	// Remote callers need REMOTE_ENABLE.
	if _, err := r.c.Connect(ctx, "root/cimv2", Principal{Name: "carol", Remote: true}); cim.StatusOf(err) != cim.EAccessDenied {
		t.Fatalf("remote without REMOTE_ENABLE: %v", err)
	}
	if _, err := r.c.Connect(ctx, "root/cimv2", Principal{Name: "root", Remote: true}); err != nil {
		t.Fatalf("remote admin: %v", err)
	}
	// SetSD validation.
	bad := []*SecurityDescriptor{
		{Group: "g", DACL: []ACE{{Trustee: "x", Mask: RightEnable}}},
		{Owner: "o", Group: "g", DACL: []ACE{{Trustee: "x", Mask: RightFullWrite}}},
		{Owner: "o", Group: "g", DACL: []ACE{{Trustee: "x", Mask: RightEnable, Flags: ACEInheritOnly}}},
		{Owner: "o", Group: "g", DACL: []ACE{{Trustee: "x", Mask: 0x100}}},
	}
	for i, b := range bad {
		if err := r.svc.SetSD(ctx, b); cim.StatusOf(err) != cim.EInvalidParameter {
			t.Errorf("bad SD %d: %v", i, err)
		}
	}
	// The default: authenticated users may read and write provider data, not static data.
	r2 := newRepo(t)
	r2.baseSchema()
	u, err := r2.c.Connect(ctx, "root/cimv2", Principal{Name: "someone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.PutInstance(ctx, r2.inst("Item", "Id", "x"), 0, nil); cim.StatusOf(err) != cim.EAccessDenied {
		t.Fatalf("default SD let a user write static data: %v", err)
	}
	if got, _ := u.GetCallerAccessRights(ctx); got != defaultNonAdminRights {
		t.Fatalf("default user rights %#x", uint32(got))
	}
}
