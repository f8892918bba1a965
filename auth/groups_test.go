package auth

import (
	"context"
	"slices"
	"testing"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// TestGroups: groups are created, joined, left and deleted; a login sees
// its user's groups as they are now.
func TestGroups(t *testing.T) {
	ctx := context.Background()
	u, _ := testUsers(t)
	u.iter = 1000 // fast hashes: this test is about groups
	for _, n := range []string{"alice", "bob"} {
		if err := u.Add(ctx, n, "pw", false); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.AddGroup(ctx, "ops"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err  error
		want cim.Status
	}{
		{u.AddGroup(ctx, "OPS"), cim.EAlreadyExists},
		{u.AddGroup(ctx, "administrators"), cim.EAlreadyExists},
		{u.AddGroup(ctx, "Everyone"), cim.EInvalidParameter},
		{u.AddGroup(ctx, "a:b"), cim.EInvalidParameter},
		{u.AddMember(ctx, "nope", "alice"), cim.ENotFound},
		{u.AddMember(ctx, "ops", "nobody"), cim.ENotFound},
		{u.RemoveMember(ctx, "ops", "alice"), cim.ENotFound},
		{u.DeleteGroup(ctx, "Administrators"), cim.EInvalidOperation},
		{u.DeleteGroup(ctx, "nope"), cim.ENotFound},
	} {
		if got := cim.StatusOf(c.err); got != c.want {
			t.Errorf("%v, want %v", c.err, c.want)
		}
	}
	groups := func(name string) []string {
		t.Helper()
		p, err := u.Verify(ctx, "a", name, "pw")
		if err != nil {
			t.Fatal(err)
		}
		return p.Groups
	}
	if err := u.AddMember(ctx, "Ops", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := u.AddMember(ctx, "ops", "alice"); err != nil {
		t.Fatalf("joining twice: %v", err)
	}
	if got := groups("alice"); !slices.Equal(got, []string{"ops"}) {
		t.Errorf("alice's groups: %v", got)
	}
	if err := u.AddMember(ctx, "administrators", "bob"); err != nil {
		t.Fatal(err)
	}
	if p, _ := u.Verify(ctx, "a", "bob", "pw"); !p.IsAdmin() {
		t.Errorf("bob is no administrator: %+v", p)
	}
	list, err := u.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{{Name: cimom.GroupAdministrators, Members: []string{"bob"}}, {Name: "ops", Members: []string{"alice"}}}
	if len(list) != 2 || list[0].Name != want[0].Name || !slices.Equal(list[0].Members, want[0].Members) || !slices.Equal(list[1].Members, want[1].Members) {
		t.Errorf("groups %+v, want %+v", list, want)
	}
	if err := u.DeleteGroup(ctx, "OPS"); err != nil {
		t.Fatal(err)
	}
	if got := groups("alice"); len(got) != 0 {
		t.Errorf("alice's groups after the delete: %v", got)
	}
	if usr, found, err := u.Lookup(ctx, "BOB"); err != nil || !found || !usr.Admin || usr.Name != "bob" {
		t.Errorf("Lookup: %+v %v %v", usr, found, err)
	}
	if err := u.RemoveMember(ctx, "Administrators", "bob"); err != nil {
		t.Fatal(err)
	}
	if p, _ := u.Verify(ctx, "a", "bob", "pw"); p.IsAdmin() {
		t.Errorf("bob is still an administrator")
	}
}
