package cimom

import (
	"context"
	"testing"

	"github.com/wbemd/wbemd/cim"
)

// registerProvider writes __Win32Provider.Name=name (Command /bin/true)
// and an __InstanceProviderRegistration with the given flags.
func (r *testRepo) registerProvider(name string, flags ...any) {
	r.t.Helper()
	r.put(r.inst("__Win32Provider", "Name", name, "Command", "/bin/true"), 0)
	kv := append([]any{"provider", `__Win32Provider.Name="` + name + `"`}, flags...)
	r.put(r.inst("__InstanceProviderRegistration", kv...), 0)
}

func TestRegistrationRules(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	// Not registered: PROVIDER_NOT_FOUND naming the provider.
	_, err := r.svc.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotFound)
	if e := err.(*cim.Error); e.Provider != "DynProv" {
		t.Errorf("ProviderName %q, want DynProv", e.Provider)
	}
	// Registered, Get not supported (WMI's default): NOT_CAPABLE; the
	// registration takes effect without a restart.
	r.registerProvider("DynProv")
	_, err = r.svc.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotCapable)
	// SupportsEnumeration defaults to TRUE: no host here, so the call
	// gets as far as loading it.
	e, err := r.svc.CreateInstanceEnum(ctx, "Dyn", FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.Next(ctx, Infinite, 10)
	wantStatus(t, err, cim.EProviderLoadFailure)
	e.Close()
	// Enabled = FALSE: PROVIDER_DISABLED, before anything else.
	r.put(r.inst("__Win32Provider", "Name", "DynProv", "Command", "/bin/true", "Enabled", false), 0)
	_, err = r.svc.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderDisabled)
	// A class bound to a provider with no method registration has no
	// methods to run.
	_, err = r.svc.ExecMethod(ctx, `Dyn.Id="a"`, "M", nil, 0, nil)
	wantStatus(t, err, cim.EMethodNotImplemented)
	// Deleting the provider's registration: NOT_FOUND again.
	if err := r.svc.DeleteInstance(ctx, `__Win32Provider.Name="DynProv"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	_, err = r.svc.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotFound)
}

func TestRegistrationChecks(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	cases := []struct {
		name string
		inst func() *cim.Object
		want cim.Status
	}{
		{"relative command", func() *cim.Object { return r.inst("__Win32Provider", "Name", "P", "Command", "bin/p") }, cim.EInvalidProviderRegistration},
		{"unknown hosting model", func() *cim.Object {
			return r.inst("__Win32Provider", "Name", "P", "Command", "/bin/p", "HostingModel", "Elsewhere")
		}, cim.EInvalidProviderRegistration},
		{"decoupled", func() *cim.Object {
			return r.inst("__Win32Provider", "Name", "P", "Command", "/bin/p", "HostingModel", "Decoupled:Com")
		}, cim.EInvalidProviderRegistration},
		{"environment without =", func() *cim.Object {
			return r.inst("__Win32Provider", "Name", "P", "Command", "/bin/p", "Environment", []string{"X"})
		}, cim.EInvalidProviderRegistration},
		{"registration of a missing provider", func() *cim.Object {
			return r.inst("__InstanceProviderRegistration", "provider", `__Win32Provider.Name="Nobody"`)
		}, cim.EInvalidProviderRegistration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := r.snapshot()
			_, err := r.svc.PutInstance(ctx, tc.inst(), 0, nil)
			wantStatus(t, err, tc.want)
			if !sameSnapshot(before, r.snapshot()) {
				t.Error("a refused registration changed the repository")
			}
		})
	}
	r.put(r.inst("__Win32Provider", "Name", "P", "Command", "/bin/p"), 0)
	bad := r.inst("__InstanceProviderRegistration", "provider", `__Win32Provider.Name="P"`, "QuerySupportLevels", []string{"SQL:Everything"})
	_, err := r.svc.PutInstance(ctx, bad, 0, nil)
	wantStatus(t, err, cim.EInvalidProviderRegistration)
}

// TestRegistrationNeedsAdmin: a registration whose provider runs as
// another user than the writer needs an administrator.
func TestRegistrationNeedsAdmin(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	// alice may write the repository's system classes.
	sd, err := r.svc.GetSD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sd.DACL = append(sd.DACL, ACE{Trustee: "alice", Mask: RightEnable | RightFullWrite | RightPartialWrite | RightWriteProvider})
	if err := r.svc.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}
	alice, err := r.c.Connect(ctx, "root/cimv2", Principal{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kv   []any
		want cim.Status
	}{
		{[]any{"Name", "A", "Command", "/bin/p"}, cim.EAccessDenied},                                    // the provider user
		{[]any{"Name", "A", "Command", "/bin/p", "User", "bob"}, cim.EAccessDenied},                     // someone else
		{[]any{"Name", "A", "Command", "/bin/p", "HostingModel", "LocalSystemHost"}, cim.EAccessDenied}, // root
		{[]any{"Name", "A", "Command", "/bin/p", "User", "alice"}, cim.SNoError},
	} {
		_, err := alice.PutInstance(ctx, r.inst("__Win32Provider", c.kv...), 0, nil)
		if cim.StatusOf(err) != c.want {
			t.Errorf("%v: %v, want %v", c.kv, err, c.want)
		}
	}
	// alice may not take over root's provider, nor delete it.
	r.put(r.inst("__Win32Provider", "Name", "R", "Command", "/bin/p"), 0)
	_, err = alice.PutInstance(ctx, r.inst("__InstanceProviderRegistration", "provider", `__Win32Provider.Name="R"`), 0, nil)
	wantStatus(t, err, cim.EAccessDenied)
	wantStatus(t, alice.DeleteInstance(ctx, `__Win32Provider.Name="R"`, 0, nil), cim.EAccessDenied)
	if err := alice.DeleteInstance(ctx, `__Win32Provider.Name="A"`, 0, nil); err != nil {
		t.Errorf("alice deleting her own registration: %v", err)
	}
}

// TestProvidersNotReplayed: a provider is called without the instance's
// lock; when another writer changes the instance meanwhile, the put fails
// with WBEM_E_TRANSACTION_CONFLICT and the provider is not called again.
func TestProvidersNotReplayed(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.baseSchema()
	r.put(r.inst("Item", "Id", "a", "Size", uint32(1)), 0)
	calls := 0
	r.c.RegisterProvider("root/cimv2", "Item", &fnProvider{name: "P", put: func(inst *cim.Object, _ *Context) error {
		calls++
		if calls == 1 {
			// Another writer, while the provider works (the lock is free).
			other, err := r.c.Connect(ctx, "root/cimv2", admin)
			if err != nil {
				return err
			}
			r.c.UnregisterProvider("root/cimv2", "Item")
			defer r.c.RegisterProvider("root/cimv2", "Item", &fnProvider{name: "P2"})
			_, err = other.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", uint32(2)), 0, nil)
			return err
		}
		return nil
	}})
	_, err := r.svc.PutInstance(ctx, r.inst("Item", "Id", "a", "Size", uint32(3)), 0, nil)
	wantStatus(t, err, cim.ETransactionConflict)
	if calls != 1 {
		t.Errorf("the provider was called %d times", calls)
	}
	o, _ := r.svc.GetObject(ctx, `Item.Id="a"`, 0, nil)
	if v, _ := o.Get("Size"); v.V != uint32(2) {
		t.Errorf("Size = %v, want the other writer's 2", v.V)
	}
}

// TestRegistrationFollowsFeed: a registration written through one CIMOM
// takes effect on another over the same store once its feed has applied
// the write, though the other cached the provider as unregistered; the
// registration's Revision grows with each change, and the writer itself
// reads its own write at once.
func TestRegistrationFollowsFeed(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, testStoreOptions())
	a, b := openOn(t, db, Options{}), openOn(t, db, Options{})
	ra := &testRepo{t: t, db: db, c: a, svc: mustConnect(t, a, "root/cimv2", admin)}
	sb := mustConnect(t, b, "root/cimv2", admin)
	ra.baseSchema()
	caughtUp := func() {
		t.Helper()
		if err := b.WaitRevision(ctx, storeRev(t, db)); err != nil {
			t.Fatal(err)
		}
	}
	caughtUp()
	_, err := sb.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotFound) // now cached in b

	ra.registerProvider("DynProv")
	_, err = ra.svc.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotCapable) // the writer: at once
	caughtUp()
	_, err = sb.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotCapable)
	reg1, err := b.ProviderRegistration(ctx, "root/cimv2", "DynProv")
	if err != nil {
		t.Fatal(err)
	}

	ra.put(ra.inst("__Win32Provider", "Name", "DynProv", "Command", "/bin/true", "Enabled", false), 0)
	caughtUp()
	_, err = sb.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderDisabled)
	reg2, err := b.ProviderRegistration(ctx, "root/cimv2", "DynProv")
	if err != nil {
		t.Fatal(err)
	}
	if reg2.Revision <= reg1.Revision || reg1.Revision == 0 {
		t.Errorf("registration revisions %d then %d: want them to grow", reg1.Revision, reg2.Revision)
	}

	if err := ra.svc.DeleteInstance(ctx, `__Win32Provider.Name="DynProv"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	_, err = sb.GetObject(ctx, `Dyn.Id="a"`, 0, nil)
	wantStatus(t, err, cim.EProviderNotFound)
}
