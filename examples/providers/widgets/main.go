// Command widgets is an example wbemd provider written with the Go SDK:
// it keeps Example_Widget instances in memory and serves their methods.
// widgets.mof declares the class and registers the provider; see
// PROVIDERS.md for building, registering and calling it.
package main

import (
	"context"
	"log"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
)

type widgets struct {
	mu sync.Mutex
	m  map[string]provider.Instance // by Name
}

func (w *widgets) get(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if it, ok := w.m[r.Keys.String("Name")]; ok {
		return it, nil
	}
	return nil, cim.Errorf(cim.ENotFound, "no widget %q", r.Keys.String("Name"))
}

func (w *widgets) enumerate(ctx context.Context, r *provider.Request, send func(provider.Instance) error) error {
	w.mu.Lock()
	all := make([]provider.Instance, 0, len(w.m))
	for _, it := range w.m {
		all = append(all, it)
	}
	w.mu.Unlock()
	for _, it := range all {
		if err := send(it); err != nil {
			return err
		}
	}
	return nil
}

func (w *widgets) put(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	name := r.Instance.String("Name")
	old, exists := w.m[name]
	if r.CreateOnly && exists {
		return nil, cim.Errorf(cim.EAlreadyExists, "widget %q exists", name)
	}
	if r.UpdateOnly && !exists {
		return nil, cim.Errorf(cim.ENotFound, "no widget %q", name)
	}
	w.m[name] = r.Apply(old)
	return w.m[name], nil
}

func (w *widgets) delete(ctx context.Context, r *provider.Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.m[r.Keys.String("Name")]; !ok {
		return cim.Errorf(cim.ENotFound, "no widget %q", r.Keys.String("Name"))
	}
	delete(w.m, r.Keys.String("Name"))
	return nil
}

// resize sets a widget's Size and answers the old one.
func (w *widgets) resize(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	it, ok := w.m[r.Keys.String("Name")]
	if !ok {
		return nil, cim.Errorf(cim.ENotFound, "no widget %q", r.Keys.String("Name"))
	}
	old := it["Size"]
	it["Size"], _ = r.In.Get("Size")
	return provider.Instance{"ReturnValue": 0, "OldSize": old}, nil
}

// count is a static method: how many widgets there are.
func (w *widgets) count(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return provider.Instance{"ReturnValue": 0, "Count": len(w.m)}, nil
}

func main() {
	w := &widgets{m: map[string]provider.Instance{
		"gear": {"Name": "gear", "Size": 3, "Color": "steel"},
	}}
	err := provider.Serve(&provider.Provider{
		Name: "WidgetProvider",
		Classes: map[string]*provider.Class{
			"Example_Widget": {
				Get: w.get, Enumerate: w.enumerate, Put: w.put, Delete: w.delete,
				Methods: map[string]provider.Method{"Resize": w.resize, "Count": w.count},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
}
