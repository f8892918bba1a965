package cimom

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// TestSDDL: descriptors written as SDDL read back equal; WMI's own form
// (hex masks, SID strings, AI flags) reads; bad text is
// WBEM_E_INVALID_PARAMETER naming the position.
func TestSDDL(t *testing.T) {
	sds := []*SecurityDescriptor{
		defaultSD(),
		{Owner: "alice", Group: GroupEveryone, Protected: true, DACL: []ACE{
			{Trustee: `we"ird\ name (x);y`, Deny: true, Mask: RightWriteDAC, Flags: ACEContainerInherit | ACEInheritOnly},
			{Trustee: "ops", Mask: 0},
			{Trustee: GroupAuthenticatedUsers, Mask: RightEnable | RightRemoteEnable, Flags: ACEInherited},
		}},
		{Owner: GroupAdministrators, Group: GroupAdministrators, DACL: []ACE{}},
	}
	for _, sd := range sds {
		text := FormatSDDL(sd)
		got, err := ParseSDDL(text)
		if err != nil {
			t.Fatalf("ParseSDDL(%q): %v", text, err)
		}
		if !reflect.DeepEqual(got, sd) {
			t.Errorf("%q read back as %+v, want %+v", text, got, sd)
		}
	}
	if got := FormatSDDL(defaultSD()); got != "O:BAG:BAD:(A;CI;CCDCLCSWRPWPDTLORCWD;;;BA)(A;CI;CCDCRP;;;AU)" {
		t.Errorf("default descriptor as SDDL: %s", got)
	}
	// As WMI writes them.
	got, err := ParseSDDL("O:S-1-5-32-544G:S-1-5-32-544D:PAI(A;CIID;0x6003f;;;S-1-5-32-544)(A;;CCWP;;;S-1-1-0)")
	if err != nil {
		t.Fatal(err)
	}
	want := &SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators, Protected: true, DACL: []ACE{
		{Trustee: GroupAdministrators, Mask: 0x6003f, Flags: ACEContainerInherit | ACEInherited},
		{Trustee: GroupEveryone, Mask: RightEnable | RightRemoteEnable}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("WMI's form read as %+v, want %+v", got, want)
	}
	for _, c := range []struct{ text, want string }{
		{"", "no DACL"},
		{"O:BA", "no DACL"},
		{"X:BA", "position 1"},
		{"O:BAO:BAD:", "position 5: O: given twice"},
		{"O:alice D:", "position 3: trustee \"al\""},
		{"D:(A;;CC;;;\"alice)", "position 12: unterminated"},
		{"D:(A;;CC;;;\"\")", "empty trustee"},
		{"D:(X;;CC;;;BA)", "position 4: ACE type \"X\""},
		{"D:(A;QQ;CC;;;BA)", "position 6: unknown ACE flag \"QQ\""},
		{"D:(A;;ZZ;;;BA)", "position 7: unknown right \"ZZ\""},
		{"D:(A;;;;;BA)", "no rights"},
		{"D:(A;;0xZ;;;BA)", "not a number"},
		{"D:(A;;CC;abc;;BA)", "position 10: object ACEs"},
		{"D:(A;;CC;;;S-1-5-21-1)", "position 12: trustee \"S-1-5-21-1\""},
		{"D:(A;;CC;;;BA", "expected ) to end the ACE"},
		{"D:(A;;CC)", "expected ;"},
		{"D:QD:", "unknown DACL flag"},
		{"D:S:", "SACL"},
		{`D:(A;;CC;;;"a\b")`, `\ escapes only`},
	} {
		_, err := ParseSDDL(c.text)
		if cim.StatusOf(err) != cim.EInvalidParameter || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSDDL(%q): %v, want WBEM_E_INVALID_PARAMETER with %q", c.text, err, c.want)
		}
	}
}

// FuzzParseSDDL: ParseSDDL never panics, and what it reads formats to text
// that reads back equal.
func FuzzParseSDDL(f *testing.F) {
	f.Add(FormatSDDL(defaultSD()))
	f.Add(`O:"a\"b"G:WDD:P(D;CIIO;0x40000;;;"x")(A;ID;GA;;;AU)`)
	f.Add("O:S-1-5-11G:BAD:AIAR")
	f.Fuzz(func(t *testing.T, text string) {
		sd, err := ParseSDDL(text)
		if err != nil {
			if cim.StatusOf(err) != cim.EInvalidParameter {
				t.Fatalf("ParseSDDL(%q): %v", text, err)
			}
			return
		}
		again, err := ParseSDDL(FormatSDDL(sd))
		if err != nil || !reflect.DeepEqual(again, sd) {
			t.Fatalf("%q: %+v formats as %q, which reads as %+v, %v", text, sd, FormatSDDL(sd), again, err)
		}
	})
}

// TestGrantRevoke: Grant, Revoke and Deny change only the trustee's own
// ACEs and keep descriptors valid.
func TestGrantRevoke(t *testing.T) {
	read, _ := ParseRights("read")
	if read != RightEnable|RightRemoteEnable {
		t.Fatalf("read = %#x", read)
	}
	sd := inheritSD(&SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators}, defaultSD())
	g := sd.Grant("alice", read, 0)
	if n := g.ownCount(); n != 1 || g.DACL[0] != (ACE{Trustee: "alice", Mask: read}) || len(g.DACL) != len(sd.DACL)+1 {
		t.Fatalf("grant: %+v", g.DACL)
	}
	if accessRights(g, Principal{Name: "ALICE"})&read != read {
		t.Errorf("alice (any case) lacks read after the grant")
	}
	full, _ := ParseRights("full-write")
	g = g.Grant("alice", full, 0)
	if err := validateSD(g); err != nil || g.DACL[0].Mask != read|full {
		t.Fatalf("second grant: %+v, %v", g.DACL, err)
	}
	// Revoking partial-write takes FULL_WRITE too, which needs it.
	r := g.Revoke("alice", RightPartialWrite)
	if err := validateSD(r); err != nil || r.DACL[0].Mask != read|RightWriteProvider {
		t.Fatalf("revoke partial-write: %+v, %v", r.DACL, err)
	}
	r = r.Revoke("Alice", rightsAll)
	if !reflect.DeepEqual(r.DACL, sd.DACL) {
		t.Errorf("after revoking all: %+v, want %+v", r.DACL, sd.DACL)
	}
	// Deny beats the inherited allow; a later grant lifts the deny.
	d := sd.Deny(GroupAuthenticatedUsers, RightMethodExecute, 0)
	if accessRights(d, Principal{Name: "bob"})&RightMethodExecute != 0 {
		t.Errorf("deny did not take METHOD_EXECUTE away")
	}
	if u := d.Grant(GroupAuthenticatedUsers, RightMethodExecute, 0); accessRights(u, Principal{Name: "bob"})&RightMethodExecute == 0 || len(u.DACL) != len(sd.DACL)+1 {
		t.Errorf("grant after deny: %+v", u.DACL)
	}
	if _, err := ParseRights("read,bogus"); cim.StatusOf(err) != cim.EInvalidParameter || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("ParseRights(bogus): %v", err)
	}
	if got := FormatRights(read | RightMethodExecute); got != "read,execute" {
		t.Errorf("FormatRights = %s", got)
	}
}

// TestSystemSecurityMethods: GetSD and SetSD through ExecMethod, each with
// its right; a change applies at once to every connection.
func TestSystemSecurityMethods(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	out, err := r.svc.ExecMethod(ctx, "__SystemSecurity", "GetSD", nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := out.Get("SDDL")
	sd, err := ParseSDDL(text.V.(string))
	if err != nil {
		t.Fatal(err)
	}
	alice := Principal{Name: "alice", Remote: true}
	asAlice := func() error {
		_, err := r.c.Connect(ctx, "root/cimv2", alice)
		return err
	}
	wantStatus(t, asAlice(), cim.EAccessDenied)
	read, _ := ParseRights("read")
	in := &cim.Object{Genus: cim.GenusInstance, Class: ParametersClass, Properties: []cim.Property{
		{Name: "SDDL", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: FormatSDDL(sd.Grant("alice", read, 0))}}}}
	if _, err := r.svc.ExecMethod(ctx, "__SystemSecurity", "SetSD", in, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := asAlice(); err != nil {
		t.Fatalf("alice after the grant: %v", err)
	}
	asvc, _ := r.c.Connect(ctx, "root/cimv2", alice)
	// Alice may not read or change the descriptor, though she may ask her rights.
	_, err = asvc.ExecMethod(ctx, "__SystemSecurity", "GetSD", nil, 0, nil)
	wantStatus(t, err, cim.EAccessDenied)
	_, err = asvc.ExecMethod(ctx, "__SystemSecurity", "SetSD", in, 0, nil)
	wantStatus(t, err, cim.EAccessDenied)
	out, err = asvc.ExecMethod(ctx, "__SystemSecurity", "GetCallerAccessRights", nil, 0, nil)
	if v, _ := out.Get("Rights"); err != nil || Rights(v.V.(int32)) != read|defaultNonAdminRights {
		t.Fatalf("alice's rights: %v, %v", v, err)
	}
	// Bad SDDL changes nothing.
	before := r.snapshot()
	in.Properties[0].Value.V = "D:(A;;CC;;;nobody)"
	_, err = r.svc.ExecMethod(ctx, "__SystemSecurity", "SetSD", in, 0, nil)
	wantStatus(t, err, cim.EInvalidParameter)
	in.Properties[0].Value.V = "D:(A;;LC;;;BA)"
	_, err = r.svc.ExecMethod(ctx, "__SystemSecurity", "SetSD", in, 0, nil)
	wantStatus(t, err, cim.EInvalidParameter)
	if !sameSnapshot(before, r.snapshot()) {
		t.Errorf("a refused SetSD changed the repository")
	}
	// Revoking applies to her open connection at once.
	in.Properties[0].Value.V = FormatSDDL(sd)
	if _, err := r.svc.ExecMethod(ctx, "__SystemSecurity", "SetSD", in, 0, nil); err != nil {
		t.Fatal(err)
	}
	_, err = asvc.GetObject(ctx, "Item", 0, nil)
	wantStatus(t, err, cim.EAccessDenied)
}

// TestInstallSystemSecurity: a repository whose __SystemSecurity predates
// GetSD gets the current declaration, once.
func TestInstallSystemSecurity(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	old := &cim.Object{Genus: cim.GenusClass, Class: systemSecurityClass, Superclass: "__SystemClass"}
	if _, err := r.c.commit(ctx, nil, []store.Op{store.Put(classKey("root/cimv2", systemSecurityClass), cim.EncodeClass(nil, old))}); err != nil {
		t.Fatal(err)
	}
	_, err := r.svc.ExecMethod(ctx, "__SystemSecurity", "GetSD", nil, 0, nil)
	wantStatus(t, err, cim.EInvalidMethod)
	if err := r.c.InstallSystemSecurity(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.ExecMethod(ctx, "__SystemSecurity", "GetSD", nil, 0, nil); err != nil {
		t.Fatalf("GetSD after the install: %v", err)
	}
	rev, _ := r.db.Rev(ctx)
	if err := r.c.InstallSystemSecurity(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.db.Rev(ctx); again != rev {
		t.Errorf("a second install wrote (revision %d to %d)", rev, again)
	}
}
