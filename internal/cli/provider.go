package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/provhost"
)

// providerCommand is `wbem provider`: the registered out-of-process
// providers and the state of their hosts (the WBEMD_Provider instances a
// running wbemd serves in root), and enabling or disabling one
// (__Win32Provider.Enabled in the namespace of -n).
func (a *app) providerCommand() *cobra.Command {
	p := &cobra.Command{Use: "provider", Short: "List providers and their hosts' state; enable or disable a provider"}
	p.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "Every registered provider: state, host pid, user, calls, errors, restarts, memory",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			root, err := a.statusServices(ctx)
			if err != nil {
				return err
			}
			e, err := root.CreateInstanceEnum(ctx, provhost.StatusClass, cimom.FlagForwardOnly, nil)
			if err != nil {
				return err
			}
			defer e.Close()
			if a.output != "table" {
				return a.printInstances(ctx, root, provhost.StatusClass, e)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			cols := []string{"Namespace", "Name", "State", "Enabled", "ProcessId", "User", "Calls", "Errors", "Restarts", "MemoryBytes"}
			fmt.Fprintln(tw, "NAMESPACE\tNAME\tSTATE\tENABLED\tPID\tUSER\tCALLS\tERRORS\tRESTARTS\tMEMORY")
			for o, err := range cimom.All(ctx, e) {
				if err != nil {
					tw.Flush()
					return err
				}
				row := make([]string, len(cols))
				for i, c := range cols {
					v, _ := o.Get(c)
					row[i] = "-"
					if !v.IsNull() {
						row[i] = cim.FormatValue(v)
					}
				}
				if n, err := strconv.ParseUint(row[9], 10, 64); err == nil {
					row[9] = fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
				}
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
			return tw.Flush()
		},
	})
	p.AddCommand(&cobra.Command{
		Use:   "status NAME",
		Short: "One provider of the namespace (-n): its registration and its host's state, with its last error",
		Args:  args(1, 1, "a provider name"),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			root, err := a.statusServices(ctx)
			if err != nil {
				return err
			}
			ns, err := cim.NormalizeNamespace(a.namespace)
			if err != nil {
				return err
			}
			o, err := root.GetObject(ctx, fmt.Sprintf("%s.Namespace=%q,Name=%q", provhost.StatusClass, ns, as[0]), 0, nil)
			if err != nil {
				return err
			}
			return a.printObject(o)
		},
	})
	for _, enable := range []bool{true, false} {
		verb := map[bool]string{true: "enable", false: "disable"}[enable]
		p.AddCommand(&cobra.Command{
			Use:   verb + " NAME",
			Short: map[bool]string{true: "Let a provider of the namespace (-n) serve again, also after it was disabled for crashing", false: "Stop a provider of the namespace (-n) from serving: its calls answer WBEM_E_PROVIDER_DISABLED"}[enable],
			Args:  args(1, 1, "a provider name"),
			RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
				reg, err := svc.GetObject(ctx, fmt.Sprintf("__Win32Provider.Name=%q", as[0]), 0, nil)
				if err != nil {
					return err
				}
				if err := reg.Put("Enabled", cim.Value{Type: cim.TypeBoolean, V: enable}); err != nil {
					return err
				}
				if _, err := svc.PutInstance(ctx, reg, cimom.FlagUpdateOnly, nil); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "provider %s %sd\n", as[0], verb)
				return nil
			}),
		})
	}
	return p
}

// statusServices connects to root, where a running wbemd serves the
// providers' state.
func (a *app) statusServices(ctx context.Context) (cimom.Services, error) {
	if a.url == "" && a.socket() == "" {
		return nil, &runError{fmt.Errorf("the state of providers comes from a running wbemd: none serves %s (give --url, or start wbemd)", a.repo)}
	}
	ns := a.namespace
	a.namespace = "root"
	defer func() { a.namespace = ns }()
	return a.services(ctx)
}
