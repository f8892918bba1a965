package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cimom"
)

// descriptor connects to namespace ns for the security verbs — as the
// caller through --url or the socket; on a repository opened here, as an
// administrator (see adminServices) — and reads its security descriptor.
func (a *app) descriptor(ctx context.Context, ns string) (cimom.Services, *cimom.SecurityDescriptor, error) {
	svc, err := a.connect(ctx, ns, localAdmin())
	if err != nil {
		return nil, nil, err
	}
	sd, err := svc.GetSD(ctx)
	if err != nil {
		return nil, nil, err
	}
	return svc, sd, nil
}

func (a *app) securityCommand() *cobra.Command {
	s := &cobra.Command{Use: "security", Short: "Show and change who may do what in a namespace (its security descriptor)",
		Long: `Show and change a namespace's security descriptor: its access control entries
(ACEs), each allowing or denying a trustee (a user, a group, or Administrators,
Authenticated Users, Everyone) rights. Rights are names separated by commas:

  read            enable and remote: connect, get, enumerate, query, from anywhere
  write           read, partial-write and provider-write: write instances
  all             every right
  enable, execute, full-write, partial-write, provider-write, remote,
  subscribe, publish, read-security, edit-security   one right each (WMI's)

A remote user needs remote (WBEM_REMOTE_ACCESS) besides the rights of what it
does; read includes it, so one grant gives a user read access from anywhere:

  wbem security grant root/cimv2 alice read

Changes apply to every connection at once. --inherit makes the ACE apply to the
child namespaces too (CONTAINER_INHERIT).`}
	var sddl bool
	get := &cobra.Command{
		Use:   "get NAMESPACE",
		Short: "Show the security descriptor of NAMESPACE",
		Args:  args(1, 1, "one namespace"),
		RunE: func(cmd *cobra.Command, as []string) error {
			svc, sd, err := a.descriptor(cmd.Context(), as[0])
			if err != nil {
				return err
			}
			return a.printSD(svc.Namespace(), sd, sddl)
		},
	}
	get.Flags().BoolVar(&sddl, "sddl", false, "print the descriptor as SDDL text")
	var inherit, deny bool
	change := func(verb string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			mask, err := cimom.ParseRights(as[2])
			if err != nil {
				return usagef("%s", err.Error())
			}
			var flags cimom.ACEFlags
			if inherit {
				flags = cimom.ACEContainerInherit
			}
			svc, sd, err := a.descriptor(ctx, as[0])
			if err != nil {
				return err
			}
			switch {
			case verb == "grant":
				sd = sd.Grant(as[1], mask, flags)
			case deny:
				sd = sd.Deny(as[1], mask, flags)
			default:
				sd = sd.Revoke(as[1], mask)
			}
			return svc.SetSD(ctx, sd)
		}
	}
	grant := &cobra.Command{
		Use:   "grant NAMESPACE TRUSTEE RIGHTS [--inherit]",
		Short: "Allow a user or group RIGHTS in NAMESPACE",
		Args:  args(3, 3, "a namespace, a user or group, and rights"),
		RunE:  change("grant"),
	}
	grant.Flags().BoolVar(&inherit, "inherit", false, "the child namespaces too")
	revoke := &cobra.Command{
		Use:   "revoke NAMESPACE TRUSTEE RIGHTS [--deny [--inherit]]",
		Short: "Take RIGHTS that NAMESPACE's own ACEs allow a user or group; --deny denies them whatever else allows them",
		Args:  args(3, 3, "a namespace, a user or group, and rights"),
		RunE:  change("revoke"),
	}
	revoke.Flags().BoolVar(&deny, "deny", false, "add an ACE denying RIGHTS, which beats groups and inherited ACEs")
	revoke.Flags().BoolVar(&inherit, "inherit", false, "with --deny: the child namespaces too")
	s.AddCommand(get, grant, revoke)
	return s
}

// printSD prints a security descriptor: as a table of its ACEs, as SDDL,
// or as JSON.
func (a *app) printSD(ns string, sd *cimom.SecurityDescriptor, sddl bool) error {
	switch {
	case sddl:
		fmt.Fprintln(a.stdout, cimom.FormatSDDL(sd))
		return nil
	case a.output == "json":
		b, err := json.MarshalIndent(sd, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s\n", b)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "NAMESPACE\t%s\nOWNER\t%s\nGROUP\t%s\n", ns, sd.Owner, sd.Group)
	if sd.Protected {
		fmt.Fprintf(tw, "PROTECTED\tyes: nothing is inherited from the parent\n")
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TRUSTEE\tACCESS\tRIGHTS\tAPPLIES TO")
	for _, ace := range sd.DACL {
		access := "allow"
		if ace.Deny {
			access = "deny"
		}
		applies := "this namespace"
		switch {
		case ace.Flags&cimom.ACEInheritOnly != 0:
			applies = "child namespaces"
		case ace.Flags&cimom.ACEContainerInherit != 0:
			applies = "this and child namespaces"
		}
		if ace.Flags&cimom.ACEInherited != 0 {
			applies += " (inherited)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ace.Trustee, access, cimom.FormatRights(ace.Mask), applies)
	}
	return tw.Flush()
}
