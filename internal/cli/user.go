package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/auth"
)

func (a *app) userCommand() *cobra.Command {
	u := &cobra.Command{Use: "user", Short: "Manage the users wbemd authenticates (HTTP Basic)"}
	var admin, stdin bool
	withUsers := func(fn func(ctx context.Context, users *auth.Users, as []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, as []string) error {
			if _, err := a.open(cmd.Context()); err != nil {
				return err
			}
			return fn(cmd.Context(), auth.New(a.db), as)
		}
	}
	password := func() (string, error) {
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
	add := &cobra.Command{
		Use:   "add NAME --password-stdin [--admin]",
		Short: "Create a user",
		Args:  args(1, 1, "one user name"),
		RunE: withUsers(func(ctx context.Context, users *auth.Users, as []string) error {
			pw, err := password()
			if err != nil {
				return err
			}
			return users.Add(ctx, as[0], pw, admin)
		}),
	}
	add.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	add.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	passwd := &cobra.Command{
		Use:   "passwd NAME --password-stdin",
		Short: "Change a user's password",
		Args:  args(1, 1, "one user name"),
		RunE: withUsers(func(ctx context.Context, users *auth.Users, as []string) error {
			pw, err := password()
			if err != nil {
				return err
			}
			return users.SetPassword(ctx, as[0], pw)
		}),
	}
	passwd.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	u.AddCommand(add, passwd, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user",
		Args:  args(1, 1, "one user name"),
		RunE: withUsers(func(ctx context.Context, users *auth.Users, as []string) error {
			return users.Delete(ctx, as[0])
		}),
	}, &cobra.Command{
		Use:   "list",
		Short: "List the users",
		Args:  args(0, 0, "no arguments"),
		RunE: withUsers(func(ctx context.Context, users *auth.Users, as []string) error {
			list, err := users.List(ctx)
			if err != nil {
				return err
			}
			for _, usr := range list {
				role := "user"
				if usr.Admin {
					role = "administrator"
				}
				fmt.Fprintf(a.stdout, "%s\t%s\n", usr.Name, role)
			}
			return nil
		}),
	})
	return u
}
