// Package admin serves wbemd's administration while it runs, through the
// doors every client already uses: the users and groups wbemd
// authenticates, and the repository's check and namespaces, are classes
// with methods in the namespace root/wbemd, served in process; the backup
// is a stream (BackupPath) on the same listeners. The wbem command line
// uses the same classes in every mode — on a repository it opens itself,
// through the local socket of the wbemd serving it, and through --url — so
// there is one implementation of each task:
//
//	WBEMD_User        instances are the users (Name, Groups, Administrator;
//	                  passwords are never readable); Create (static) adds
//	                  one, SetPassword changes its password, DeleteInstance
//	                  deletes it
//	WBEMD_Group       instances are the groups with their Members;
//	                  PutInstance creates one, AddMember and RemoveMember
//	                  change it, DeleteInstance deletes it
//	WBEMD_Repository  static methods: Check (the repository's records and
//	                  references, on a snapshot), CreateNamespace (any
//	                  absolute path, top-level namespaces included)
//
// Who may administer is namespace security, as everything else in wbemd:
// root/wbemd is created protected (it inherits nothing from root) with one
// ACE, for Administrators; an administrator may delegate, e.g. let a group
// manage users, by granting it rights there (enable, execute and, to use it
// remotely, remote). Reading the users needs ENABLE; every change, and the
// backup, needs METHOD_EXECUTE or a write right, as the operation says.
package admin

import (
	"context"
	"fmt"

	"github.com/wbemd/wbemd/auth"
	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
)

// Namespace is the namespace of the administration classes.
const Namespace = "root/wbemd"

// The administration classes.
const (
	UserClass       = "WBEMD_User"
	GroupClass      = "WBEMD_Group"
	RepositoryClass = "WBEMD_Repository"
)

// providerName names wbemd in extended status.
const providerName = "wbemd"

// self is the principal the administration acts as once the namespace's
// security admitted the caller.
var self = cimom.Principal{Name: providerName, Groups: []string{cimom.GroupAdministrators}}

// Options configure Attach.
type Options struct {
	// Version is wbemd's version, shown by the interop namespace.
	Version string
	// TempDir holds the snapshot a Check runs on (default: the system's).
	TempDir string
}

// Attach prepares om's repository for administration and serves it:
// __SystemSecurity's current methods in every namespace, the interop
// namespace (cimom.ServeInterop), and the namespace root/wbemd with the
// administration classes, whose providers it registers with om. users is
// the user store kept in st.
func Attach(ctx context.Context, om *cimom.CIMOM, st store.Store, users *auth.Users, opts Options) error {
	if err := om.InstallSystemSecurity(ctx); err != nil {
		return err
	}
	if err := om.ServeInterop(ctx, opts.Version); err != nil {
		return err
	}
	own := &cimom.SecurityDescriptor{Owner: cimom.GroupAdministrators, Group: cimom.GroupAdministrators, Protected: true,
		DACL: []cimom.ACE{{Trustee: cimom.GroupAdministrators, Mask: allRights, Flags: cimom.ACEContainerInherit}}}
	if _, err := om.CreateNamespaceWith(ctx, Namespace, self, own); err != nil && cim.StatusOf(err) != cim.ETransactionConflict {
		return fmt.Errorf("admin: namespace %s: %w", Namespace, err)
	}
	if err := om.DeclareClasses(ctx, Namespace, classes()); err != nil {
		return fmt.Errorf("admin: classes: %w", err)
	}
	up := &userProvider{spawner{om}, users}
	gp := &groupProvider{spawner{om}, users}
	rp := &repositoryProvider{om: om, st: st, tempDir: opts.TempDir}
	for _, reg := range []error{
		om.RegisterProvider(Namespace, UserClass, up), om.RegisterMethodProvider(Namespace, UserClass, up),
		om.RegisterProvider(Namespace, GroupClass, gp), om.RegisterMethodProvider(Namespace, GroupClass, gp),
		om.RegisterMethodProvider(Namespace, RepositoryClass, rp),
	} {
		if reg != nil {
			return reg
		}
	}
	return nil
}

// allRights are every namespace right.
var allRights, _ = cimom.ParseRights("all")

// classes declares the administration classes.
func classes() []*cim.Object {
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	q := func(name string) cim.Qualifier { return cim.Qualifier{Name: name, Value: yes} }
	text := func(name, v string) cim.Qualifier {
		return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeString, V: v}}
	}
	prop := func(class, name string, t cim.Type, quals ...cim.Qualifier) cim.Property {
		return cim.Property{Name: name, Type: t, Value: cim.Null(t), Origin: class, Qualifiers: quals}
	}
	key := cim.Qualifier{Name: "Key", Value: yes, Flavor: cim.FlavorToSubclass | cim.FlavorToInstance | cim.FlavorDisableOverride}
	param := func(name string, t cim.Type, dir string) cim.Parameter {
		return cim.Parameter{Name: name, Type: t, Qualifiers: []cim.Qualifier{q(dir)}}
	}
	method := func(class, name string, static bool, params ...cim.Parameter) cim.Method {
		m := cim.Method{Name: name, ReturnType: cim.TypeUint32, Origin: class, Parameters: params}
		if static {
			m.Qualifiers = []cim.Qualifier{q("Static")}
		}
		return m
	}
	served := []cim.Qualifier{q("Dynamic"), text("Provider", providerName)}
	str := cim.TypeString
	return []*cim.Object{
		{Genus: cim.GenusClass, Class: UserClass, Qualifiers: append(served[:2:2], text("Description",
			"A user wbemd authenticates. Create adds one; DeleteInstance deletes it. Passwords are never readable.")),
			Properties: []cim.Property{prop(UserClass, "Name", str, key), prop(UserClass, "Groups", str.ArrayOf()),
				prop(UserClass, "Administrator", cim.TypeBoolean)},
			Methods: []cim.Method{
				method(UserClass, "Create", true, param("Name", str, "In"), param("Password", str, "In"), param("Administrator", cim.TypeBoolean, "In")),
				method(UserClass, "SetPassword", false, param("Password", str, "In"))}},
		{Genus: cim.GenusClass, Class: GroupClass, Qualifiers: append(served[:2:2], text("Description",
			"A group of users, a trustee of namespace security. PutInstance creates one; DeleteInstance deletes it.")),
			Properties: []cim.Property{prop(GroupClass, "Name", str, key), prop(GroupClass, "Members", str.ArrayOf())},
			Methods: []cim.Method{
				method(GroupClass, "AddMember", false, param("User", str, "In")),
				method(GroupClass, "RemoveMember", false, param("User", str, "In"))}},
		{Genus: cim.GenusClass, Class: RepositoryClass, Qualifiers: []cim.Qualifier{text("Description",
			"The repository. Check verifies it on a snapshot (ReturnValue 0: sound, 1: dangling references, 2: damaged); CreateNamespace creates a namespace and every missing one on its path.")},
			Methods: []cim.Method{
				method(RepositoryClass, "Check", true, param("Report", str, "Out"), param("Dangling", str.ArrayOf(), "Out")),
				method(RepositoryClass, "CreateNamespace", true, param("Name", str, "In"))}},
	}
}

// parameters returns an out-parameter object: ReturnValue rv and the
// given values.
func parameters(rv uint32, props ...cim.Property) *cim.Object {
	return &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass, Properties: append([]cim.Property{
		{Name: cimom.ReturnValue, Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: rv}}}, props...)}
}

// inString returns the in-parameter name of in as a string ("" when NULL).
func inString(in *cim.Object, name string) string {
	v, _ := in.Get(name)
	s, _ := v.V.(string)
	return s
}
