// Command widgets is an example wbemd provider written with the Go SDK:
// it keeps Example_Widget instances in memory and serves their methods.
// It is also an event provider: it raises the instance events of its
// widgets (__InstanceCreationEvent, __InstanceModificationEvent,
// __InstanceDeletionEvent) and the extrinsic event Example_WidgetResized,
// and answers which event queries wbemd has told it are active
// (Example_Widget.EventQueries). widgets.mof declares the classes and
// registers the provider; see PROVIDERS.md for building, registering and
// calling it.
package main

import (
	"context"
	"log"
	"sort"
	"sync"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/provider"
)

type widgets struct {
	mu sync.Mutex
	m  map[string]provider.Instance // by Name
	p  *provider.Provider           // for Raise
}

// raise raises an event in every namespace with an active query; the
// provider has nothing better to do with an event wbemd refuses than to
// log it.
func (w *widgets) raise(ev provider.Instance) {
	if err := w.p.Raise("", ev); err != nil {
		log.Printf("raise %v: %v", ev["__CLASS"], err)
	}
}

// copyOf is a copy of a widget, for an event (the map changes later).
func copyOf(it provider.Instance) provider.Instance {
	out := provider.Instance{"__CLASS": "Example_Widget"}
	for k, v := range it {
		out[k] = v
	}
	return out
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
	if exists {
		w.raise(provider.ModificationEvent(copyOf(w.m[name]), copyOf(old)))
	} else {
		w.raise(provider.CreationEvent(copyOf(w.m[name])))
	}
	return w.m[name], nil
}

func (w *widgets) delete(ctx context.Context, r *provider.Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, ok := w.m[r.Keys.String("Name")]
	if !ok {
		return cim.Errorf(cim.ENotFound, "no widget %q", r.Keys.String("Name"))
	}
	delete(w.m, r.Keys.String("Name"))
	w.raise(provider.DeletionEvent(copyOf(old)))
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
	before := copyOf(it)
	old := it["Size"]
	it["Size"], _ = r.In.Get("Size")
	w.raise(provider.ModificationEvent(copyOf(it), before))
	w.raise(provider.Instance{"__CLASS": "Example_WidgetResized", "Name": it["Name"], "OldSize": old, "NewSize": it["Size"]})
	return provider.Instance{"ReturnValue": 0, "OldSize": old}, nil
}

// count is a static method: how many widgets there are.
func (w *widgets) count(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return provider.Instance{"ReturnValue": 0, "Count": len(w.m)}, nil
}

// eventQueries is a static method: the event queries wbemd has told the
// provider are active (those of the subscriptions its events feed).
func (w *widgets) eventQueries(ctx context.Context, r *provider.Request) (provider.Instance, error) {
	queries := []string{}
	for _, q := range w.p.Queries() {
		queries = append(queries, q.Namespace+": "+q.Text)
	}
	sort.Strings(queries)
	return provider.Instance{"ReturnValue": 0, "Queries": queries}, nil
}

func main() {
	w := &widgets{m: map[string]provider.Instance{
		"gear": {"Name": "gear", "Size": 3, "Color": "steel"},
	}}
	w.p = &provider.Provider{
		Name: "WidgetProvider",
		Classes: map[string]*provider.Class{
			"Example_Widget": {
				Get: w.get, Enumerate: w.enumerate, Put: w.put, Delete: w.delete,
				Methods: map[string]provider.Method{"Resize": w.resize, "Count": w.count, "EventQueries": w.eventQueries},
			},
		},
		// The widgets are in memory: events cost nothing to raise, so the
		// provider raises them whenever a query is active (Raise sends
		// nothing otherwise). A provider whose events cost something to
		// find starts its source in NewQuery and stops it in CancelQuery.
		Events: &provider.Events{
			NewQuery:    func(q *provider.EventQuery) { log.Printf("event query %d active in %s: %s", q.ID, q.Namespace, q.Text) },
			CancelQuery: func(q *provider.EventQuery) { log.Printf("event query %d cancelled", q.ID) },
		},
	}
	err := provider.Serve(w.p)
	if err != nil {
		log.Fatal(err)
	}
}
