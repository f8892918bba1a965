package testdata

import (
	"context"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
)

// SpinProvider serves Sample_Disk.Spin(Up) of the sample schema:
// ReturnValue 1 when Up is TRUE, 0 when FALSE, WBEM_E_INVALID_METHOD_PARAMETERS
// when NULL.
type SpinProvider struct{}

// Name names the provider.
func (SpinProvider) Name() string { return "SpinProv" }

// ExecMethod runs Spin.
func (SpinProvider) ExecMethod(_ context.Context, _ string, _ *cim.ObjectPath, _ *cim.Method, in *cim.Object, _ *cimom.Context) (*cim.Object, error) {
	up, _ := in.Get("Up")
	if up.IsNull() {
		return nil, cim.Errorf(cim.EInvalidMethodParameters, "Up is needed")
	}
	rv := uint32(0)
	if up.V.(bool) {
		rv = 1
	}
	return &cim.Object{Genus: cim.GenusInstance, Class: cimom.ParametersClass, Properties: []cim.Property{
		{Name: cimom.ReturnValue, Type: cim.TypeUint32, Value: cim.Value{Type: cim.TypeUint32, V: rv}}}}, nil
}
