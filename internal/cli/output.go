package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
)

// nullText is how a NULL value shows in a table.
const nullText = "NULL"

func valueText(v cim.Value) string {
	if v.IsNull() {
		return nullText
	}
	return cim.FormatValue(v)
}

// printObject prints one class or instance in the chosen format.
func (a *app) printObject(o *cim.Object) error {
	switch a.output {
	case "json":
		a.stdout.Write(cimjson.Encode(o, true))
		fmt.Fprintln(a.stdout)
	case "mof":
		fmt.Fprint(a.stdout, o.GetObjectText(0))
	default:
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		if o.Genus == cim.GenusClass {
			fmt.Fprintf(tw, "CLASS\t%s\n", o.Class)
			if o.Superclass != "" {
				fmt.Fprintf(tw, "SUPERCLASS\t%s\n", o.Superclass)
			}
			if q := qualifierSummary(o.Qualifiers); q != "" {
				fmt.Fprintf(tw, "QUALIFIERS\t%s\n", q)
			}
			fmt.Fprintln(tw)
			fmt.Fprintln(tw, "PROPERTY\tTYPE\tDEFAULT\tORIGIN\tQUALIFIERS")
			for _, p := range o.Properties {
				def := ""
				if !p.Value.IsNull() {
					def = cim.FormatValue(p.Value)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, typeText(p.Type, p.RefClass), def, p.Origin, qualifierSummary(p.Qualifiers))
			}
			if len(o.Methods) > 0 {
				fmt.Fprintln(tw)
				fmt.Fprintln(tw, "METHOD\tRETURNS\tPARAMETERS\tORIGIN")
				for _, m := range o.Methods {
					var ps []string
					for _, p := range m.Parameters {
						ps = append(ps, typeText(p.Type, p.RefClass)+" "+p.Name)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, typeText(m.ReturnType, ""), strings.Join(ps, ", "), m.Origin)
				}
			}
			return tw.Flush()
		}
		for _, name := range []string{"__PATH", "__CLASS"} {
			if v, ok := o.SystemProperty(name); ok && !v.IsNull() {
				fmt.Fprintf(tw, "%s\t%s\n", name, cim.FormatValue(v))
			}
		}
		for _, p := range o.Properties {
			fmt.Fprintf(tw, "%s\t%s\n", p.Name, valueText(p.Value))
		}
		return tw.Flush()
	}
	return nil
}

func typeText(t cim.Type, refClass string) string {
	s := cim.TypeName(t.Elem())
	if refClass != "" && (t.Elem() == cim.TypeReference || t.Elem() == cim.TypeObject) {
		s = refClass + " " + s
	}
	if t.IsArray() {
		s += "[]"
	}
	return s
}

// qualifierSummary lists qualifiers briefly: boolean true ones by name,
// others as Name(value); Description is left out (too long for a table).
func qualifierSummary(qs []cim.Qualifier) string {
	var parts []string
	for _, q := range qs {
		if cim.EqualFold(q.Name, "Description") {
			continue
		}
		if b, ok := q.Value.V.(bool); ok && b {
			parts = append(parts, q.Name)
			continue
		}
		parts = append(parts, q.Name+"("+valueText(q.Value)+")")
	}
	return strings.Join(parts, ",")
}

// printClasses prints classes as an indented hierarchy below root (or all
// roots), or as JSON/MOF.
func (a *app) printClasses(root string, classes []*cim.Object) error {
	switch a.output {
	case "json":
		fmt.Fprintln(a.stdout, "[")
		for i, c := range classes {
			a.stdout.Write(cimjson.Encode(c, true))
			if i < len(classes)-1 {
				fmt.Fprint(a.stdout, ",")
			}
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintln(a.stdout, "]")
		return nil
	case "mof":
		for _, c := range classes {
			fmt.Fprintln(a.stdout, c.GetObjectText(0))
		}
		return nil
	}
	children := map[string][]*cim.Object{}
	present := map[string]bool{}
	for _, c := range classes {
		present[cim.Fold(c.Class)] = true
	}
	for _, c := range classes {
		parent := cim.Fold(c.Superclass)
		if !present[parent] {
			parent = cim.Fold(root)
		}
		children[parent] = append(children[parent], c)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool { return cim.Fold(kids[i].Class) < cim.Fold(kids[j].Class) })
		for _, c := range kids {
			fmt.Fprintf(a.stdout, "%s%s\n", strings.Repeat("  ", depth), c.Class)
			walk(cim.Fold(c.Class), depth+1)
		}
	}
	walk(cim.Fold(root), 0)
	return nil
}

// printInstances streams the instances of an enumeration: as a table with
// one column per property of class, as a JSON array, or as MOF.
func (a *app) printInstances(ctx context.Context, svc cimom.Services, class string, e cimom.Enumerator) error {
	switch a.output {
	case "json":
		fmt.Fprintln(a.stdout, "[")
		first := true
		for o, err := range cimom.All(ctx, e) {
			if err != nil {
				return err
			}
			if !first {
				fmt.Fprintln(a.stdout, ",")
			}
			first = false
			a.stdout.Write(cimjson.Encode(o, true))
		}
		if !first {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintln(a.stdout, "]")
		return nil
	case "mof":
		for o, err := range cimom.All(ctx, e) {
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, o.GetObjectText(0))
		}
		return nil
	}
	cls, err := svc.GetObject(ctx, class, 0, nil)
	if err != nil {
		return err
	}
	return a.printTable(ctx, cls, e)
}

// printTable prints instances with a column for their class and one for
// each property of shape, in shape's order.
func (a *app) printTable(ctx context.Context, shape *cim.Object, e cimom.Enumerator) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	cols := make([]string, 0, len(shape.Properties)+1)
	cols = append(cols, "CLASS")
	for _, p := range shape.Properties {
		cols = append(cols, strings.ToUpper(p.Name))
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	row := make([]string, len(cols))
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			tw.Flush()
			return err
		}
		row[0] = o.Class
		for i, p := range shape.Properties {
			row[i+1] = nullText
			if op, ok := o.Property(p.Name); ok {
				row[i+1] = valueText(op.Value)
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}
