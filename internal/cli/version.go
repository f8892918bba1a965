package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/internal/version"
)

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of wbem, the Go version that built it and the platform (-o json for a script)",
		Args:  args(0, 0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			info := version.Get()
			if a.output == "json" {
				b, err := json.Marshal(info)
				if err != nil {
					return &runError{err}
				}
				fmt.Fprintf(a.stdout, "%s\n", b)
				return nil
			}
			fmt.Fprintln(a.stdout, info.Line("wbem"))
			return nil
		},
	}
}
