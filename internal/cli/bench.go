package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
	"github.com/wbemd/wbemd/wql"
)

// benchClass is the class wbem bench writes.
const benchClass = "WbemBench_Item"

func (a *app) benchCommand() *cobra.Command {
	var objects, conns, payload, enums int
	var phases string
	c := &cobra.Command{
		Use:   "bench --url URL",
		Short: "Load a CIM-XML server and measure it (create, get, modify, enumerate, names, query, delete)",
		Long: `Run phases of CIM-XML operations against a server (wbemd or another CIMOM) with
--connections concurrent connections over --objects instances of WbemBench_Item
(created in -n if missing), and print operations per second, p50 and p99 latency and
the errors of each phase. The enumerate phase (EnumerateInstances) and the names
phase (EnumerateInstanceNames) run --enumerations whole enumerations, up to
--connections at once; their ops are the objects delivered, their latencies those of
whole enumerations. The password comes from $WBEM_PASSWORD.`,
		Args: args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if a.url == "" {
				return usagef("bench needs --url")
			}
			if conns < 1 || objects < 1 || enums < 1 {
				return usagef("--connections, --objects and --enumerations must be positive")
			}
			svc, err := client.Connect(ctx, a.url, a.namespace, client.Options{User: a.user, Password: os.Getenv("WBEM_PASSWORD"),
				Insecure: a.insecure, MaxConns: conns, ServerQueriesOnly: true}) // the query phase measures the server's ExecQuery
			if err != nil {
				return err
			}
			if err := ensureBenchClass(ctx, svc); err != nil {
				return err
			}
			cls, err := svc.GetObject(ctx, benchClass, 0, nil)
			if err != nil {
				return err
			}
			fill := strings.Repeat("x", payload)
			id := func(i int) cim.Value { return cim.Value{Type: cim.TypeString, V: fmt.Sprintf("b%08d", i)} }
			inst := func(i int, n uint32) *cim.Object {
				o, _ := cls.SpawnInstance()
				o.Put("Id", id(i))
				o.Put("N", cim.Value{Type: cim.TypeUint32, V: n})
				o.Put("Payload", cim.Value{Type: cim.TypeString, V: fill})
				return o
			}
			path := func(i int) string { return fmt.Sprintf(`%s.Id="b%08d"`, benchClass, i) }
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "phase\tops\tops/s\tp50\tp99\terrors\t\n")
			for _, ph := range strings.Split(phases, ",") {
				var r benchResult
				switch ph {
				case "create":
					r = runPhase(ctx, objects, conns, func(i int) error {
						_, err := svc.PutInstance(ctx, inst(i, 0), cimom.FlagCreateOnly, nil)
						return err
					})
				case "get":
					r = runPhase(ctx, objects, conns, func(i int) error {
						_, err := svc.GetObject(ctx, path(i), 0, nil)
						return err
					})
				case "modify":
					r = runPhase(ctx, objects, conns, func(i int) error {
						_, err := svc.PutInstance(ctx, inst(i, 1), cimom.FlagUpdateOnly, nil)
						return err
					})
				case "enumerate", "names":
					// Each of --enumerations enumerations delivers every
					// instance (or, for names, EnumerateInstanceNames every
					// name); ops counts the objects delivered.
					var wctx *cimom.Context
					if ph == "names" {
						wctx = cimom.KeysOnlyContext()
					}
					r = runPhase(ctx, enums, min(conns, enums), func(int) error {
						return benchEnumerate(ctx, svc, wctx, objects)
					})
					r.ops = objects * enums
				case "query":
					r = runPhase(ctx, objects, conns, func(i int) error {
						where, err := wql.Equal("Id", id(i))
						if err != nil {
							return err
						}
						query := wql.Format(&wql.Select{Star: true, From: benchClass, Where: where})
						e, err := svc.ExecQuery(ctx, "WQL", query, cimom.FlagForwardOnly, nil)
						if err != nil {
							return err
						}
						defer e.Close()
						objs, _, err := e.Next(ctx, cimom.Infinite, 2)
						if err == nil && len(objs) != 1 {
							err = fmt.Errorf("query found %d instances", len(objs))
						}
						return err
					})
				case "delete":
					r = runPhase(ctx, objects, conns, func(i int) error { return svc.DeleteInstance(ctx, path(i), 0, nil) })
				default:
					return usagef("unknown phase %q (create, get, modify, enumerate, names, query, delete)", ph)
				}
				fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t\n", ph, r.ops, float64(r.ops)/r.took.Seconds(), r.p(50), r.p(99), r.errors)
				if r.firstErr != nil {
					fmt.Fprintf(a.stderr, "wbem bench: %s: first error: %v\n", ph, r.firstErr)
				}
			}
			return tw.Flush()
		},
	}
	f := c.Flags()
	f.IntVar(&objects, "objects", 1000, "instances per phase")
	f.IntVar(&conns, "connections", 8, "concurrent connections")
	f.IntVar(&payload, "payload", 100, "bytes of the Payload string of each instance")
	f.IntVar(&enums, "enumerations", 1, "whole enumerations of the enumerate and names phases")
	f.StringVar(&phases, "phases", "create,get,modify,enumerate,query,delete", "phases to run, in order (also: names)")
	return c
}

// benchEnumerate enumerates the bench class (the names alone with
// cimom.KeysOnlyContext) and checks that it delivered objects of them.
func benchEnumerate(ctx context.Context, svc cimom.Services, wctx *cimom.Context, objects int) error {
	e, err := svc.CreateInstanceEnum(ctx, benchClass, cimom.FlagForwardOnly, wctx)
	if err != nil {
		return err
	}
	defer e.Close()
	n := 0
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			return err
		}
		if wctx != nil {
			if v, _ := o.Get("Payload"); !v.IsNull() {
				return fmt.Errorf("a name came with its Payload: the server sent instances")
			}
		}
		n++
	}
	if n != objects {
		return fmt.Errorf("enumerated %d of %d", n, objects)
	}
	return nil
}

func ensureBenchClass(ctx context.Context, svc cimom.Services) error {
	if _, err := svc.GetObject(ctx, benchClass, 0, nil); err == nil {
		return nil
	}
	key := []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass | cim.FlavorDisableOverride}}
	cls := &cim.Object{Genus: cim.GenusClass, Class: benchClass, Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: key},
		{Name: "N", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32)},
		{Name: "Payload", Type: cim.TypeString, Value: cim.Null(cim.TypeString)},
	}}
	return svc.PutClass(ctx, cls, cimom.FlagCreateOnly, nil)
}

type benchResult struct {
	ops      int
	took     time.Duration
	lat      []time.Duration
	errors   int64
	firstErr error
}

func (r *benchResult) p(q int) string {
	if len(r.lat) == 0 {
		return "-"
	}
	slices.Sort(r.lat)
	return r.lat[(len(r.lat)-1)*q/100].Round(time.Microsecond).String()
}

// runPhase runs op for 0..n-1 on conns workers and measures each call.
func runPhase(ctx context.Context, n, conns int, op func(i int) error) benchResult {
	var next atomic.Int64
	var mu sync.Mutex
	r := benchResult{ops: n}
	lats := make([][]time.Duration, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				err := op(i)
				lats[w] = append(lats[w], time.Since(t))
				if err != nil {
					mu.Lock()
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	r.took = time.Since(start)
	for _, l := range lats {
		r.lat = append(r.lat, l...)
	}
	return r
}
