package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A Verb describes one wbem command for its reference documentation (the
// wbem(1) manual page).
type Verb struct {
	// Path is the command line up to the verb: "wbem user add".
	Path string
	// Args is the rest of the verb's usage line: "NAME --password-stdin [--admin]".
	Args string
	// Short is the one-line summary; Long, if not empty, the full text.
	Short, Long string
	// Flags are the verb's own flags.
	Flags []Flag
}

// A Flag describes one command-line flag.
type Flag struct {
	// Name is the long name without dashes; Shorthand the one-letter one,
	// if any.
	Name, Shorthand string
	// Arg names the flag's value ("string", "N", ...); empty for a
	// boolean flag.
	Arg string
	// Usage is the flag's help text.
	Usage string
	// Default is the flag's default value as text, if it has one worth
	// saying (not false, 0 or empty).
	Default string
}

// Reference returns wbem's global flags and every verb, subcommands
// included, in the order wbem --help lists them. It describes the command
// line as built in this process, so defaults taken from the environment
// ($WBEM_REPO, $USER) show the environment's values.
func Reference() (global []Flag, verbs []Verb) {
	root := (&app{}).rootCommand()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	global = flags(root.PersistentFlags())
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, c := range cmd.Commands() {
			if c.Hidden || c.Name() == "help" {
				continue
			}
			if c.Name() == "completion" { // one entry, not one per shell
				var shells []string
				for _, sh := range c.Commands() {
					shells = append(shells, sh.Name())
				}
				verbs = append(verbs, Verb{Path: c.CommandPath(), Args: strings.Join(shells, "|"), Short: c.Short})
				continue
			}
			if c.Runnable() {
				path := c.CommandPath()
				verbs = append(verbs, Verb{
					Path:  path,
					Args:  strings.TrimSpace(strings.TrimPrefix(c.Use, c.Name())),
					Short: c.Short,
					Long:  c.Long,
					Flags: flags(c.LocalNonPersistentFlags()),
				})
			}
			walk(c)
		}
	}
	walk(root)
	return global, verbs
}

func flags(fs *pflag.FlagSet) []Flag {
	var out []Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		arg, usage := pflag.UnquoteUsage(f)
		def := f.DefValue
		switch def {
		case "false", "0", "[]", "":
			def = ""
		}
		out = append(out, Flag{Name: f.Name, Shorthand: f.Shorthand, Arg: arg, Usage: usage, Default: def})
	})
	return out
}
