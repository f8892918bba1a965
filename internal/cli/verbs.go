package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cim/cimjson"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/client"
	"github.com/wbemd/wbemd/internal/admin"
	"github.com/wbemd/wbemd/mof"
)

func (a *app) nsCommand() *cobra.Command {
	ns := &cobra.Command{Use: "ns", Short: "List, create and delete child namespaces of -n"}
	ns.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the child namespaces of -n",
		Args:  args(0, 0, "no arguments"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, _ []string) error {
			names, err := childNamespaces(ctx, svc)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(a.stdout, n)
			}
			return nil
		}),
	}, &cobra.Command{
		Use:   "create NAME | /PATH",
		Short: "Create the namespace NAME below -n, or every missing namespace of an absolute /PATH",
		Args:  args(1, 1, "one namespace name"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			if path, abs := strings.CutPrefix(as[0], "/"); abs {
				asvc, err := a.adminServices(ctx)
				if err != nil {
					return err
				}
				if _, err := asvc.ExecMethod(ctx, admin.RepositoryClass, "CreateNamespace", strParams("Name", path), 0, nil); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, path)
				return nil
			}
			if err := createNamed(ctx, svc, "__Namespace", as[0]); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, strings.TrimSuffix(svc.Namespace(), "/")+"/"+as[0])
			return nil
		}),
	}, &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete the namespace NAME below -n, with everything in it",
		Args:  args(1, 1, "one namespace name"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			p := cim.ObjectPath{Class: "__Namespace", Keys: []cim.KeyBinding{{Name: "Name", Value: cim.Value{Type: cim.TypeString, V: as[0]}}}}
			return svc.DeleteInstance(ctx, p.String(), 0, nil)
		}),
	})
	return ns
}

// withServices adapts a verb that works on the namespace of -n: it opens
// the repository and connects before running fn.
func (a *app) withServices(fn func(ctx context.Context, svc cimom.Services, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, as []string) error {
		svc, err := a.services(cmd.Context())
		if err != nil {
			return err
		}
		return fn(cmd.Context(), svc, as)
	}
}

func (a *app) classesCommand() *cobra.Command {
	var shallow bool
	c := &cobra.Command{
		Use:   "classes [CLASS]",
		Short: "Show the class hierarchy (below CLASS)",
		Args:  args(0, 1, "at most one class name"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			super := ""
			if len(as) == 1 {
				super = as[0]
			}
			flags := cimom.FlagForwardOnly
			if shallow {
				flags |= cimom.FlagShallow
			}
			e, err := svc.CreateClassEnum(ctx, super, flags, nil)
			if err != nil {
				return err
			}
			defer e.Close()
			var classes []*cim.Object
			for o, err := range cimom.All(ctx, e) {
				if err != nil {
					return err
				}
				classes = append(classes, o)
			}
			return a.printClasses(super, classes)
		}),
	}
	c.Flags().BoolVar(&shallow, "shallow", false, "only the immediate subclasses")
	return c
}

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get PATH",
		Short: "Show a class or an instance",
		Long:  "Show a class (wbem get Disk) or an instance (wbem get 'Disk.Name=\"sda\"').",
		Args:  args(1, 1, "one object path"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			o, err := svc.GetObject(ctx, as[0], 0, nil)
			if err != nil {
				return err
			}
			return a.printObject(o)
		}),
	}
}

func (a *app) putCommand() *cobra.Command {
	var createOnly, updateOnly, strictNulls, atomic bool
	var properties []string
	var ifVersion int64
	c := &cobra.Command{
		Use:   "put [FILE|-] | put CLASS name=value ... | put PATH name=value ...",
		Short: "Create or update an instance (or a class, given as JSON)",
		Long: `Create or update an instance, given in FILE or on standard input as JSON or as
one MOF "instance of" declaration, or as CLASS followed by property=value pairs. A
JSON object with "__GENUS": 1 is a class definition. Prints the path of what was
written.

Given an instance PATH instead of a CLASS, the keys come from the path (a pair may
repeat a key, never change it); with --update-only only the properties of the
pairs are written (or those of --properties), the others keep their values:

  wbem put --update-only 'Disk.Name="sda"' Model=X1`,
		Args: args(1, -1, "a JSON or MOF file, '-', CLASS name=value ... or PATH name=value ..."),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			if createOnly && updateOnly {
				return usagef("--create-only and --update-only exclude each other")
			}
			svc, err := a.services(ctx)
			if err != nil {
				return err
			}
			opts := cimom.PutOptions{StrictNulls: strictNulls, Atomic: atomic, ClientRequest: true}
			if len(properties) > 0 {
				opts.Properties = properties
			}
			switch {
			case createOnly:
				opts.Mode = cimom.CreateOnly
			case updateOnly:
				opts.Mode = cimom.UpdateOnly
			}
			if ifVersion != 0 {
				opts.Context = cimom.NewContext()
				opts.Context.SetValue(cimom.IfRevision, ifVersion)
			}

			var obj *cim.Object
			if len(as) == 1 && !strings.Contains(as[0], "=") {
				data, err := a.readInput(as[0])
				if err != nil {
					return err
				}
				if isJSON(data) {
					obj, err = cimjson.Decode(data, "", func(class string) (*cim.Object, error) {
						return svc.GetObject(ctx, class, 0, nil)
					})
				} else {
					var errs []*mof.Error
					if obj, errs = mof.Instance(ctx, svc, as[0], string(data)); len(errs) > 0 {
						if errs[0].Status == 0 {
							return a.reportMOF(errs, 3, "syntax")
						}
						return a.reportMOF(errs, 1, "nothing was written")
					}
				}
				if err != nil {
					return err
				}
			} else {
				class := as[0]
				if op, err := cim.ParsePath(as[0]); err == nil && !op.IsClass() {
					class, opts.Target = op.Class, as[0]
				}
				obj, err = instanceFromPairs(ctx, svc, class, as[1:], opts.Target != "")
				if err != nil {
					return err
				}
				if opts.Target != "" && updateOnly && opts.Properties == nil {
					opts.Properties = pairNames(obj, as[1:])
				}
			}
			if obj.Genus == cim.GenusClass {
				if ifVersion != 0 {
					return usagef("--if-version applies to instances: classes have no version")
				}
				flags, wctx := opts.Args()
				if err := svc.PutClass(ctx, obj, flags, wctx); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, obj.Class)
				return nil
			}
			path, err := cimom.Put(ctx, svc, obj, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, path)
			return nil
		},
	}
	f := c.Flags()
	f.BoolVar(&createOnly, "create-only", false, "fail if the instance exists (WBEM_FLAG_CREATE_ONLY)")
	f.BoolVar(&updateOnly, "update-only", false, "fail if the instance does not exist (WBEM_FLAG_UPDATE_ONLY)")
	f.StringSliceVar(&properties, "properties", nil, "partial update: write only these properties (__PUT_EXT_PROPERTIES)")
	f.BoolVar(&strictNulls, "strict-nulls", false, "NULL values are intentional (__PUT_EXT_STRICT_NULLS)")
	f.BoolVar(&atomic, "atomic", false, "all or nothing (__PUT_EXT_ATOMIC)")
	f.Int64Var(&ifVersion, "if-version", 0, "write only if the instance is still at this version (its __VERSION; else WBEM_E_TRANSACTION_CONFLICT)")
	return c
}

// pairNames returns the property names that name=value pairs set, as
// inst (which they were read into) spells them.
func pairNames(inst *cim.Object, pairs []string) []string {
	names := make([]string, 0, len(pairs))
	for _, pair := range pairs {
		name, _, _ := strings.Cut(pair, "=")
		if p, ok := inst.Property(name); ok && !slices.Contains(names, p.Name) {
			names = append(names, p.Name)
		}
	}
	return names
}

// isJSON reports whether data is a JSON object rather than MOF text.
func isJSON(data []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// instanceFromPairs spawns an instance of class and sets each name=value
// pair, converting the text to the property's declared type. With
// keysFromPath its keys are NULL unless a pair gives them: the path they
// are written to gives them, not the class's defaults.
func instanceFromPairs(ctx context.Context, svc cimom.Services, class string, pairs []string, keysFromPath bool) (*cim.Object, error) {
	cls, err := svc.GetObject(ctx, class, 0, nil)
	if err != nil {
		return nil, err
	}
	if cls.Genus != cim.GenusClass {
		return nil, cim.Errorf(cim.EInvalidClass, "%s is an instance path, not a class name", class).WithParam(class)
	}
	inst, err := cls.SpawnInstance()
	if err != nil {
		return nil, err
	}
	if keysFromPath {
		for _, k := range inst.KeyProperties() {
			k.Value = cim.Null(k.Type)
		}
	}
	for _, pair := range pairs {
		name, text, ok := strings.Cut(pair, "=")
		if !ok || name == "" {
			return nil, usagef("%q is not a property=value pair", pair)
		}
		p, ok := inst.Property(name)
		if !ok {
			return nil, cim.Errorf(cim.EInvalidProperty, "class %s has no property %s", cls.Class, name).WithParam(name)
		}
		v, err := parseArg(p.Type, text)
		if err != nil {
			return nil, cim.AsError(err).WithParam(name)
		}
		if err := inst.Put(name, v); err != nil {
			return nil, cim.AsError(err).WithParam(name)
		}
	}
	return inst, nil
}

func (a *app) readInput(name string) ([]byte, error) {
	var r io.Reader = a.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &runError{err}
		}
		defer f.Close()
		r = f
	}
	// Bound the input: a single object is never larger than this.
	const maxInput = 64 << 20
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, &runError{fmt.Errorf("read %s: %w", name, err)}
	}
	if len(data) > maxInput {
		return nil, cim.Errorf(cim.EQuotaViolation, "%s: input larger than %d bytes", name, maxInput)
	}
	return data, nil
}

func (a *app) deleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete PATH",
		Short: "Delete an instance, or a class with its subclasses and instances",
		Args:  args(1, 1, "one object path"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			p, err := cim.ParsePath(as[0])
			if err != nil {
				return err
			}
			if p.IsClass() {
				return deleteClass(ctx, svc, p.Class)
			}
			return svc.DeleteInstance(ctx, as[0], 0, nil)
		}),
	}
}

func (a *app) enumCommand() *cobra.Command {
	var shallow, names bool
	c := &cobra.Command{
		Use:   "enum CLASS",
		Short: "List the instances of CLASS (and of its subclasses unless --shallow)",
		Args:  args(1, 1, "one class name"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			flags := cimom.FlagForwardOnly
			if shallow {
				flags |= cimom.FlagShallow
			}
			var wctx *cimom.Context
			if names {
				wctx = cimom.KeysOnlyContext()
			}
			e, err := svc.CreateInstanceEnum(ctx, as[0], flags, wctx)
			if err != nil {
				return err
			}
			defer e.Close()
			if names {
				for o, err := range cimom.All(ctx, e) {
					if err != nil {
						return err
					}
					v, _ := o.SystemProperty("__RELPATH")
					fmt.Fprintln(a.stdout, cim.FormatValue(v))
				}
				return nil
			}
			return a.printInstances(ctx, svc, as[0], e)
		}),
	}
	c.Flags().BoolVar(&shallow, "shallow", false, "only instances of CLASS itself")
	c.Flags().BoolVar(&names, "names", false, "print instance paths only")
	return c
}

func (a *app) repoCommand() *cobra.Command {
	r := &cobra.Command{Use: "repo", Short: "Check or back up the repository, also while wbemd serves it"}
	r.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Verify every record, index entry and reference (exit status 1 for a damaged record or a dangling reference)",
		Args:  args(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var rv uint32
			var report string
			var dangling []string
			if a.url != "" || a.socket() != "" {
				svc, err := a.adminServices(ctx)
				if err != nil {
					return err
				}
				out, err := svc.ExecMethod(ctx, admin.RepositoryClass, "Check", nil, 0, nil)
				if err != nil {
					return err
				}
				v, _ := out.Get(cimom.ReturnValue)
				rv, _ = v.V.(uint32)
				t, _ := out.Get("Report")
				report, _ = t.V.(string)
				dangling = stringsOf(out, "Dangling")
			} else {
				if _, err := a.open(ctx); err != nil {
					return err
				}
				rep, err := admin.Check(ctx, a.db)
				report, dangling = rep.String(), rep.Dangling
				switch {
				case err != nil:
					rv, report = admin.CheckDamaged, err.Error()
				case rep.DanglingCount > 0:
					rv = admin.CheckDangling
				}
			}
			if rv == admin.CheckDamaged {
				return &runError{fmt.Errorf("%s", report)}
			}
			fmt.Fprintln(a.stdout, report)
			for _, d := range dangling {
				fmt.Fprintln(a.stdout, "  dangling:", d)
			}
			if rv != admin.CheckSound {
				return &exitError{code: 1, msg: "the repository holds dangling references"}
			}
			return nil
		},
	}, &cobra.Command{
		Use:   "backup FILE",
		Short: "Copy a consistent snapshot of the repository to FILE (while wbemd serves it, too)",
		Args:  args(1, 1, "one output file"),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			var write func(w io.Writer) error
			switch {
			case a.url != "" || a.socket() != "":
				url, opts := a.url, a.clientOptions()
				if a.url == "" {
					url, opts = "http://localhost", client.Options{Socket: a.socket()}
				}
				write = func(w io.Writer) error {
					body, err := client.Fetch(ctx, url, admin.BackupPath, opts)
					if err != nil {
						return err
					}
					defer body.Close()
					if _, err := io.Copy(w, body); err != nil {
						return &runError{fmt.Errorf("backup from %s: %w", url, err)}
					}
					return nil
				}
			default:
				if _, err := a.open(ctx); err != nil {
					return err
				}
				write = func(w io.Writer) error { return a.db.Backup(ctx, w) }
			}
			return a.backupTo(as[0], write)
		},
	})
	return r
}

// backupTo writes a backup to a temporary file beside dst, syncs it and
// renames it into place, so that dst is either the old file or a whole
// snapshot.
func (a *app) backupTo(dst string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".wbem-backup-*")
	if err != nil {
		return &runError{err}
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		if _, ok := err.(*cim.Error); ok {
			return err
		}
		return &runError{fmt.Errorf("backup: %w", err)}
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return &runError{err}
	}
	if err := tmp.Close(); err != nil {
		return &runError{err}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return &runError{err}
	}
	fmt.Fprintln(a.stdout, dst)
	return nil
}

// interopNamespaces are where CIMOMs without __Namespace keep their
// CIM_Namespace instances (DSP1033): DMTF's name, SFCB's and OpenPegasus's.
var interopNamespaces = []string{"interop", "root/interop", "root/PG_InterOp"}

// childNamespaces lists the namespaces directly below svc's. WMI and wbemd
// keep them as __Namespace instances in the parent; a CIMOM without that
// class (it answers CIM_ERR_NOT_FOUND or CIM_ERR_INVALID_CLASS, as
// OpenPegasus does) lists all its namespaces as CIM_Namespace instances in
// its interop namespace.
func childNamespaces(ctx context.Context, svc cimom.Services) ([]string, error) {
	names := func(svc cimom.Services, class string, flags cimom.Flags) ([]string, error) {
		e, err := svc.CreateInstanceEnum(ctx, class, flags|cimom.FlagForwardOnly, nil)
		if err != nil {
			return nil, err
		}
		defer e.Close()
		var out []string
		for o, err := range cimom.All(ctx, e) {
			if err != nil {
				return nil, err
			}
			v, err := o.Get("Name")
			if err != nil {
				return nil, err
			}
			if s, ok := v.V.(string); ok {
				out = append(out, s)
			}
		}
		return out, nil
	}
	out, err := names(svc, "__Namespace", cimom.FlagShallow)
	if st := cim.StatusOf(err); st != cim.ENotFound && st != cim.EInvalidClass {
		return out, err
	}
	parent := strings.Trim(svc.Namespace(), "/") + "/"
	for _, interop := range interopNamespaces {
		isvc, ierr := svc.OpenNamespace(ctx, "/"+interop, 0, nil)
		if ierr != nil {
			continue
		}
		all, ierr := names(isvc, "CIM_Namespace", 0)
		if ierr != nil {
			continue
		}
		var kids []string
		for _, n := range all {
			n = strings.Trim(n, "/")
			if len(n) > len(parent) && cim.EqualFold(n[:len(parent)], parent) && !strings.Contains(n[len(parent):], "/") {
				kids = append(kids, n[len(parent):])
			}
		}
		slices.SortFunc(kids, func(x, y string) int { return strings.Compare(cim.Fold(x), cim.Fold(y)) })
		return kids, nil
	}
	return nil, err
}

// deleteClass deletes a class with its subclasses and instances, as
// WMI's DeleteClass: one call to a server that does so (wbemd in process,
// WMI), and for a server that deletes only classes with neither (DSP0200's
// DeleteClass, which CIM-XML serves) the subclasses, deepest first, and
// the stored instances one by one before the class. A class served by a
// provider ([Dynamic]) keeps its provider's instances, as in WMI.
func deleteClass(ctx context.Context, svc cimom.Services, class string) error {
	err := svc.DeleteClass(ctx, class, 0, nil)
	if st := cim.StatusOf(err); st != cim.EClassHasChildren && st != cim.EClassHasInstances {
		return err
	}
	e, err := svc.CreateClassEnum(ctx, class, cimom.FlagShallow|cimom.FlagForwardOnly, nil)
	if err != nil {
		return err
	}
	var kids []string
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			e.Close()
			return err
		}
		kids = append(kids, o.Class)
	}
	e.Close()
	for _, kid := range kids {
		if err := deleteClass(ctx, svc, kid); err != nil {
			return err
		}
	}
	cls, err := svc.GetObject(ctx, class, 0, nil)
	if err != nil {
		return err
	}
	if !cim.HasTrueQualifier(cls.Qualifiers, "Dynamic") {
		var paths []string
		err := eachInstance(ctx, svc, class, cimom.FlagShallow, func(o *cim.Object) error {
			if p, err := o.ObjectPath(); err == nil {
				paths = append(paths, p.RelPath())
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := svc.DeleteInstance(ctx, p, 0, nil); err != nil && cim.StatusOf(err) != cim.ENotFound {
				return err
			}
		}
	}
	return svc.DeleteClass(ctx, class, 0, nil)
}
