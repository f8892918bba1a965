package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/admin"
)

// The user and group verbs work on the administration classes (package
// admin) wherever the repository is: opened here, behind the local socket
// of the wbemd serving it, or behind --url.

// withAdmin adapts a verb that works on the administration namespace.
func (a *app) withAdmin(fn func(ctx context.Context, svc cimom.Services, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, as []string) error {
		svc, err := a.adminServices(cmd.Context())
		if err != nil {
			return err
		}
		return fn(cmd.Context(), svc, as)
	}
}

// namePath is the path of the instance of class whose key Name is name.
func namePath(class, name string) string {
	p := cim.ObjectPath{Class: class, Keys: []cim.KeyBinding{{Name: "Name", Value: cim.Value{Type: cim.TypeString, V: name}}}}
	return p.String()
}

// createNamed creates the instance of class whose key Name is name
// (WBEM_FLAG_CREATE_ONLY).
func createNamed(ctx context.Context, svc cimom.Services, class, name string) error {
	cls, err := svc.GetObject(ctx, class, 0, nil)
	if err != nil {
		return err
	}
	inst, err := cls.SpawnInstance()
	if err != nil {
		return err
	}
	if err := inst.Put("Name", cim.Value{Type: cim.TypeString, V: name}); err != nil {
		return err
	}
	_, err = svc.PutInstance(ctx, inst, cimom.FlagCreateOnly, nil)
	return err
}

// strParams returns a __PARAMETERS object with string values (name,
// value, name, value, ...).
func strParams(kv ...string) *cim.Object {
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	for i := 0; i+1 < len(kv); i += 2 {
		in.Properties = append(in.Properties, cim.Property{Name: kv[i], Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: kv[i+1]}})
	}
	return in
}

// readPassword reads one line of standard input.
func (a *app) readPassword(stdin bool) (string, error) {
	if !stdin {
		return "", usagef("give the password on standard input with --password-stdin")
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" && err != nil {
		return "", &runError{fmt.Errorf("read password: %w", err)}
	}
	return line, nil
}

// eachInstance calls fn with each instance of class in svc (with flags:
// cimom.FlagShallow for those of class itself); an error of fn ends it.
func eachInstance(ctx context.Context, svc cimom.Services, class string, flags cimom.Flags, fn func(*cim.Object) error) error {
	e, err := svc.CreateInstanceEnum(ctx, class, flags|cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	defer e.Close()
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// stringsOf returns a string array property's values.
func stringsOf(o *cim.Object, name string) []string {
	v, _ := o.Get(name)
	s, _ := v.V.([]string)
	return s
}

func (a *app) userCommand() *cobra.Command {
	u := &cobra.Command{Use: "user", Short: "Manage the users wbemd authenticates (HTTP Basic), also while it serves"}
	var isAdmin, stdin bool
	add := &cobra.Command{
		Use:   "add NAME --password-stdin [--admin]",
		Short: "Create a user",
		Args:  args(1, 1, "one user name"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, as []string) error {
			pw, err := a.readPassword(stdin)
			if err != nil {
				return err
			}
			in := strParams("Name", as[0], "Password", pw)
			in.Properties = append(in.Properties, cim.Property{Name: "Administrator", Type: cim.TypeBoolean, Value: cim.Value{Type: cim.TypeBoolean, V: isAdmin}})
			_, err = svc.ExecMethod(ctx, admin.UserClass, "Create", in, 0, nil)
			return err
		}),
	}
	add.Flags().BoolVar(&isAdmin, "admin", false, "make the user an administrator (a member of Administrators)")
	add.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	passwd := &cobra.Command{
		Use:   "passwd NAME --password-stdin",
		Short: "Change a user's password",
		Args:  args(1, 1, "one user name"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, as []string) error {
			pw, err := a.readPassword(stdin)
			if err != nil {
				return err
			}
			_, err = svc.ExecMethod(ctx, namePath(admin.UserClass, as[0]), "SetPassword", strParams("Password", pw), 0, nil)
			return err
		}),
	}
	passwd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	u.AddCommand(add, passwd, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user",
		Args:  args(1, 1, "one user name"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, as []string) error {
			return svc.DeleteInstance(ctx, namePath(admin.UserClass, as[0]), 0, nil)
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List the users: name, role, groups",
		Args:  args(0, 0, "no arguments"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, _ []string) error {
			return eachInstance(ctx, svc, admin.UserClass, 0, func(o *cim.Object) error {
				name, _ := o.Get("Name")
				adm, _ := o.Get("Administrator")
				role := "user"
				if adm.V == true {
					role = "administrator"
				}
				fmt.Fprintf(a.stdout, "%s\t%s\t%s\n", name.V, role, strings.Join(stringsOf(o, "Groups"), ","))
				return nil
			})
		}),
	})
	return u
}

func (a *app) groupCommand() *cobra.Command {
	g := &cobra.Command{Use: "group", Short: "Manage groups of users, trustees of namespace security"}
	members := &cobra.Command{Use: "members", Short: "List, add or remove the members of a group"}
	change := func(method string) func(context.Context, cimom.Services, []string) error {
		return func(ctx context.Context, svc cimom.Services, as []string) error {
			for _, user := range as[1:] {
				if _, err := svc.ExecMethod(ctx, namePath(admin.GroupClass, as[0]), method, strParams("User", user), 0, nil); err != nil {
					return err
				}
			}
			return nil
		}
	}
	members.AddCommand(&cobra.Command{
		Use:   "list GROUP",
		Short: "List the members of GROUP",
		Args:  args(1, 1, "one group name"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, as []string) error {
			o, err := svc.GetObject(ctx, namePath(admin.GroupClass, as[0]), 0, nil)
			if err != nil {
				return err
			}
			for _, m := range stringsOf(o, "Members") {
				fmt.Fprintln(a.stdout, m)
			}
			return nil
		}),
	}, &cobra.Command{
		Use:   "add GROUP USER...",
		Short: "Put users in GROUP",
		Args:  args(2, -1, "a group and user names"),
		RunE:  a.withAdmin(change("AddMember")),
	}, &cobra.Command{
		Use:   "remove GROUP USER...",
		Short: "Take users out of GROUP",
		Args:  args(2, -1, "a group and user names"),
		RunE:  a.withAdmin(change("RemoveMember")),
	})
	g.AddCommand(&cobra.Command{
		Use:   "add NAME",
		Short: "Create a group (with no members)",
		Args:  args(1, 1, "one group name"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, as []string) error {
			return createNamed(ctx, svc, admin.GroupClass, as[0])
		}),
	}, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a group; its members leave it",
		Args:  args(1, 1, "one group name"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, as []string) error {
			return svc.DeleteInstance(ctx, namePath(admin.GroupClass, as[0]), 0, nil)
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List the groups and their members",
		Args:  args(0, 0, "no arguments"),
		RunE: a.withAdmin(func(ctx context.Context, svc cimom.Services, _ []string) error {
			return eachInstance(ctx, svc, admin.GroupClass, 0, func(o *cim.Object) error {
				name, _ := o.Get("Name")
				fmt.Fprintf(a.stdout, "%s\t%s\n", name.V, strings.Join(stringsOf(o, "Members"), ","))
				return nil
			})
		}),
	}, members)
	return g
}
