// Command wbem is the command line of wbemd: it reads and writes a CIM
// repository (namespaces, classes, instances) the way WMI's tools do.
//
// Run `wbem --help` for the verbs.
package main

import (
	"os"

	"github.com/wbemd/wbemd/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
