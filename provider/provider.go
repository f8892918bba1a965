// Package provider is the Go SDK for wbemd providers: programs that serve
// the instances and methods of CIM classes to wbemd, which runs them as
// child processes (see PROVIDERS.md).
//
// A provider declares what it serves and calls Serve:
//
//	func main() {
//		w := &widgets{}
//		err := provider.Serve(&provider.Provider{
//			Name: "WidgetProvider",
//			Classes: map[string]*provider.Class{
//				"Example_Widget": {
//					Get:       w.get,
//					Enumerate: w.enumerate,
//					Put:       w.put,
//					Delete:    w.delete,
//					Methods:   map[string]provider.Method{"Resize": w.resize},
//				},
//			},
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//	}
//
// Instances, keys and parameters are Instance maps from property names to
// values: strings, numbers, booleans, nil for NULL, slices for arrays and
// Instance for embedded objects, as package cimjson reads them: wbemd
// converts every value to the type the class declares (42 fits a uint8; a
// uint64 or sint64 may also be a decimal string; datetimes and references
// are strings). To fail with a WBEM status, return a *cim.Error (cim.Errorf(
// cim.ENotFound, ...)); any other error is WBEM_E_PROVIDER_FAILURE with its
// text. Handlers run concurrently, one goroutine per call; ctx ends when
// wbemd cancels the call or its deadline passes.
package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/wbemd/wbemd/provider/wire"
)

// Provider is one provider: the name its registration gives
// (__Win32Provider.Name) and the classes it serves, by class name.
type Provider struct {
	Name    string
	Classes map[string]*Class
	// Events, when set, is the provider's event side (see Events and
	// Raise): the registration also needs an __EventProviderRegistration.
	Events *Events

	evMu sync.Mutex
	srv  *server // the server serving it, for Raise
}

// Class is what a provider serves of one class. A nil handler answers
// WBEM_E_PROVIDER_NOT_CAPABLE.
type Class struct {
	// Get returns the instance at r.Keys, or a WBEM_E_NOT_FOUND error.
	Get func(ctx context.Context, r *Request) (Instance, error)
	// Enumerate sends every instance of r.Class; send fails once the call
	// is over (cancelled, timed out), and Enumerate should then return.
	Enumerate func(ctx context.Context, r *Request, send func(Instance) error) error
	// Query sends the instances that match r.Query (registrations with
	// QuerySupportLevels "WQL:UnarySelect" get queries); it may send more,
	// since wbemd filters again. Without it, queries use Enumerate.
	Query func(ctx context.Context, r *Request, send func(Instance) error) error
	// Put creates or updates r.Instance (r.CreateOnly, r.UpdateOnly,
	// r.Properties for a partial update). It may return the instance as
	// stored, for instance with keys it assigned, or nil.
	Put func(ctx context.Context, r *Request) (Instance, error)
	// Delete deletes the instance at r.Keys.
	Delete func(ctx context.Context, r *Request) error
	// Methods run the class's methods, by name.
	Methods map[string]Method
}

// Method runs a method: r.Keys is the target instance (nil for a static
// method) and r.In the in-parameters. It returns ReturnValue and the
// out-parameters.
type Method func(ctx context.Context, r *Request) (Instance, error)

// Request is one call from wbemd.
type Request struct {
	Provider  string // the provider called
	Namespace string // e.g. "root/cimv2"
	Class     string // the class the call is about
	// ProviderClass is the class whose Provider qualifier names this
	// provider: Class, or an ancestor of it (the top of a put chain). The
	// handler of Class serves the call, else the handler of
	// ProviderClass.
	ProviderClass string
	Path          string // the target's object path (get, delete, invoke)

	Keys     Instance // the target's keys (get, delete, invoke on an instance)
	Instance Instance // put

	CreateOnly, UpdateOnly bool     // put
	Properties             []string // put: update only these

	Method string   // invoke
	In     Instance // invoke: the in-parameters

	Query *wire.Query // query

	// Caller is who the call is made for, and the Unix account wbemd
	// maps it to (Caller.Unix, nil when none): a provider that acts on
	// the machine acts as that account (see Credential).
	Caller *wire.Caller
}

// Instance is a CIM object as a provider reads and writes it: property
// name to value. "__CLASS" names the class of an instance of a subclass.
type Instance map[string]any

// Get returns the value of the property name, looked up without regard to
// case as CIM names are; ok is false if it is absent.
func (i Instance) Get(name string) (any, bool) {
	if v, ok := i[name]; ok {
		return v, true
	}
	for k, v := range i {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// String returns a property as text ("" when absent or NULL).
func (i Instance) String(name string) string {
	v, _ := i.Get(name)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// Int returns an integer property; ok is false when it is absent, NULL or
// not an integer.
func (i Instance) Int(name string) (n int64, ok bool) {
	v, _ := i.Get(name)
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	case float64:
		return int64(x), float64(int64(x)) == x
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

// Bool returns a boolean property; ok is false when it is absent, NULL or
// not a boolean.
func (i Instance) Bool(name string) (b, ok bool) {
	v, _ := i.Get(name)
	b, ok = v.(bool)
	return b, ok
}

// Apply returns the instance a put stores: r.Instance without system
// properties ("__CLASS" aside), or, for a partial update (r.Properties),
// old with those properties taken from r.Instance.
func (r *Request) Apply(old Instance) Instance {
	out := Instance{}
	if len(r.Properties) > 0 {
		for k, v := range old {
			out[k] = v
		}
		for _, name := range r.Properties {
			v, ok := r.Instance.Get(name)
			if !ok {
				continue
			}
			for k := range out {
				if strings.EqualFold(k, name) {
					delete(out, k)
				}
			}
			out[name] = v
		}
		return out
	}
	for k, v := range r.Instance {
		if !strings.HasPrefix(k, "__") || strings.EqualFold(k, "__CLASS") {
			out[k] = v
		}
	}
	return out
}
