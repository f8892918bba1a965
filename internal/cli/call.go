package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

func (a *app) callCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "call PATH METHOD [param=value ...]",
		Short: "Run a method of a class or an instance",
		Long: `Run METHOD on the object at PATH (a class for a static method, an instance
otherwise), with in-parameters given as name=value pairs typed by the method's
declaration; prints ReturnValue and the out-parameters.

  wbem -n root/sample call __SystemSecurity GetCallerAccessRights`,
		Args: args(2, -1, "an object path, a method and name=value pairs"),
		RunE: a.withServices(func(ctx context.Context, svc cimom.Services, as []string) error {
			in, err := methodArguments(ctx, svc, as[0], as[1], as[2:])
			if err != nil {
				return err
			}
			out, err := svc.ExecMethod(ctx, as[0], as[1], in, 0, nil)
			if err != nil {
				return err
			}
			return a.printObject(out)
		}),
	}
}

// methodArguments reads name=value pairs as the in-parameters of the
// method as the target's class declares it, each value's text parsed as
// its parameter's type.
func methodArguments(ctx context.Context, svc cimom.Services, path, method string, pairs []string) (*cim.Object, error) {
	in := &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass}
	if len(pairs) == 0 {
		return in, nil
	}
	op, err := cim.ParsePath(path)
	if err != nil {
		return nil, err
	}
	cls, err := svc.GetObject(ctx, op.Class, 0, nil)
	if err != nil {
		return nil, err
	}
	m, ok := cls.GetMethod(method)
	if !ok {
		return nil, cim.Errorf(cim.EInvalidMethod, "class %s has no method %s", cls.Class, method).WithParam(method)
	}
	args := make([]cimom.Argument, 0, len(pairs))
	for _, pair := range pairs {
		name, text, ok := strings.Cut(pair, "=")
		if !ok || name == "" {
			return nil, usagef("%q is not a parameter=value pair", pair)
		}
		args = append(args, cimom.Argument{Name: name, Decode: func(prm *cim.Parameter) (cim.Value, error) {
			return parseArg(prm.Type, text)
		}})
	}
	return cimom.TypeInParameters(m, args)
}
