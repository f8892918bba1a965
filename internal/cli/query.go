package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/wql"
)

func (a *app) queryCommand() *cobra.Command {
	var plan, scan, cql bool
	c := &cobra.Command{
		Use:   "query 'WQL'",
		Short: "Run a WQL query (SELECT, ASSOCIATORS OF, REFERENCES OF), or with --cql a DMTF CQL query",
		Long: `Run a WQL query in the namespace of -n and print the results. --plan says how the
query is answered (a key lookup, an index range scan, or a scan) instead of running it;
--scan answers by scanning even where an index would serve (the results are the same).
--cql takes the query in DMTF CQL (DSP0202), in the subset wbemd speaks (SELECT ... FROM
one class [alias] WHERE ...; see README.md).`,
		Args: args(1, 1, "one query (quote it)"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			lang, text := "WQL", as[0]
			if cql {
				lang = "DMTF:CQL"
				// The same tree in WQL's words: the plan and the
				// table's columns are those of the WQL query.
				q, err := wql.ParseCQL(as[0])
				if err != nil {
					return err.(*wql.Error).CIMError()
				}
				text = wql.Format(q)
			}
			var wctx *cimom.Context
			if scan {
				wctx = cimom.NewContext()
				wctx.SetValue(cimom.ForceScan, true)
			}
			if plan {
				plan, err := svc.ExplainQuery(ctx, text, wctx)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, plan)
				return nil
			}
			e, err := svc.ExecQuery(ctx, lang, as[0], cimom.FlagForwardOnly, wctx)
			if err != nil {
				return err
			}
			defer e.Close()
			q, _ := wql.Parse(text)
			if sel, ok := q.(*wql.Select); ok && !sel.Meta && a.output == "table" {
				return a.printQueryTable(ctx, svc, text, e)
			}
			if a.output == "table" {
				return a.printPaths(ctx, e)
			}
			return a.printInstances(ctx, svc, "", e)
		}),
	}
	c.Flags().BoolVar(&plan, "plan", false, "say how the query would be answered, do not run it")
	c.Flags().BoolVar(&scan, "scan", false, "answer by scanning, not by key or index")
	c.Flags().BoolVar(&cql, "cql", false, "the query is DMTF CQL (DSP0202), not WQL")
	return c
}

// printQueryTable prints a data query's results with one column per
// property of its result shape (the PROTOTYPE of the query).
func (a *app) printQueryTable(ctx context.Context, svc cimom.Services, query string, e cimom.Enumerator) error {
	pe, err := svc.ExecQuery(ctx, "WQL", query, cimom.FlagPrototype|cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	protos, _, err := pe.Next(ctx, cimom.Infinite, 1)
	pe.Close()
	if err != nil || len(protos) == 0 {
		return err
	}
	return a.printTable(ctx, protos[0], e)
}

// printPaths prints one line per result: an instance's relative path or a
// class's name.
func (a *app) printPaths(ctx context.Context, e cimom.Enumerator) error {
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		if o.Genus == cim.GenusClass {
			fmt.Fprintln(a.stdout, o.Class)
			continue
		}
		v, _ := o.SystemProperty("__RELPATH")
		fmt.Fprintln(a.stdout, cim.FormatValue(v))
	}
	return nil
}
