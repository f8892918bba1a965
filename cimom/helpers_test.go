package cimom

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/internal/etcdtest"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
	"github.com/wbemd/wbemd/store/etcd"
)

var admin = Principal{Name: "root"}

// testRepo is a real repository: in a temporary directory, or on an etcd
// cluster (see testEngine).
type testRepo struct {
	t   *testing.T
	db  store.Store
	c   *CIMOM
	svc Services
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	return repoOn(t, testStoreOptions(), Options{})
}

// The store engine the tests run on: the embedded one, or with
// WBEMD_TEST_STORE=etcd an etcd cluster of one member that TestMain
// starts for the package (each test on a prefix of its own).
const storeEnv = "WBEMD_TEST_STORE"

// storeQueryEnv holds the parameters of the etcd store URL the tests use
// (WBEMD_TEST_STORE_QUERY=reads=session runs the suite with session reads).
const storeQueryEnv = "WBEMD_TEST_STORE_QUERY"

var (
	testEngine  = os.Getenv(storeEnv)
	testCluster *etcdtest.Cluster
	prefixes    atomic.Int64
)

// onEtcd reports whether the tests run on etcd.
func onEtcd() bool { return testEngine == "etcd" }

func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		checkNote = compareNote // not in benchmarks: it decodes what notes spare
	}
	switch testEngine {
	case "", "bolt":
		os.Exit(m.Run())
	case "etcd":
	default:
		fmt.Fprintf(os.Stderr, "%s=%s: want bolt or etcd\n", storeEnv, testEngine)
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "wbemd-cimom-etcd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The limits wbemd needs (see store/etcd), and progress notifications
	// often enough that revisions other tests make complete quickly.
	testCluster, err = etcdtest.StartIn(dir, etcdtest.Options{MaxTxnOps: etcd.DefaultMaxTxnOps,
		MaxRequestBytes: etcd.DefaultMaxRequestBytes, ProgressNotify: 100 * time.Millisecond})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s=etcd: %v\n", storeEnv, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	testCluster.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testStoreOptions are the embedded engine's options most tests use.
func testStoreOptions() bolt.Options { return bolt.Options{} }

// skipOnEtcd skips a test that depends on the embedded engine.
func skipOnEtcd(t testing.TB, why string) {
	t.Helper()
	if onEtcd() {
		t.Skipf("%s=etcd: %s", storeEnv, why)
	}
}

// openStore opens a store for one test, closed at its end: a bolt store
// in a temporary directory with opts, or a fresh prefix of the etcd
// cluster (opts are the embedded engine's: etcd ignores them).
func openStore(t *testing.T, opts bolt.Options) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if onEtcd() {
		st, err = etcd.Open(context.Background(), testCluster.URL(fmt.Sprintf("t%d", prefixes.Add(1)), os.Getenv(storeQueryEnv)), etcd.Options{})
	} else {
		st, err = bolt.Open(filepath.Join(t.TempDir(), "repo.db"), opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// qualifiers
func qTrue(name string) cim.Qualifier {
	return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeBoolean, V: true}, Flavor: cim.FlavorToSubclass}
}

func qStr(name, v string) cim.Qualifier {
	return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeString, V: v}, Flavor: cim.FlavorToSubclass}
}

func prop(name string, t cim.Type, qs ...cim.Qualifier) cim.Property {
	return cim.Property{Name: name, Type: t, Value: cim.Null(t), Qualifiers: qs}
}

func class(name, super string, qs []cim.Qualifier, props ...cim.Property) *cim.Object {
	return &cim.Object{Genus: cim.GenusClass, Class: name, Superclass: super, Qualifiers: qs, Properties: props}
}

func (r *testRepo) putClass(c *cim.Object) {
	r.t.Helper()
	if err := r.svc.PutClass(context.Background(), c, 0, nil); err != nil {
		r.t.Fatalf("PutClass %s: %v", c.Class, err)
	}
}

// inst spawns an instance of class and sets name/value pairs (Go values
// converted to the property types).
func (r *testRepo) inst(class string, kv ...any) *cim.Object {
	r.t.Helper()
	cls, err := r.svc.GetObject(context.Background(), class, 0, nil)
	if err != nil {
		r.t.Fatalf("GetObject %s: %v", class, err)
	}
	o, err := cls.SpawnInstance()
	if err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		p, ok := o.Property(name)
		if !ok {
			r.t.Fatalf("no property %s", name)
		}
		v, err := cim.NewValue(p.Type, kv[i+1])
		if err != nil {
			r.t.Fatalf("value of %s: %v", name, err)
		}
		p.Value = v
	}
	return o
}

func (r *testRepo) put(o *cim.Object, flags Flags) string {
	r.t.Helper()
	path, err := r.svc.PutInstance(context.Background(), o, flags, nil)
	if err != nil {
		r.t.Fatalf("PutInstance: %v", err)
	}
	return path
}

// snapshot returns every key and value of the store, to check that a
// failed operation changed nothing.
func (r *testRepo) snapshot() map[string]string {
	r.t.Helper()
	out := map[string]string{}
	for kv, err := range r.db.Range(context.Background(), nil, nil) {
		if err != nil {
			r.t.Fatal(err)
		}
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// wantStatus fails unless err carries status want.
func wantStatus(t *testing.T, err error, want cim.Status) {
	t.Helper()
	if got := cim.StatusOf(err); got != want {
		t.Fatalf("status %v (%v), want %v", got, err, want)
	}
}

// baseSchema declares the classes most tests use:
//
//	Item (Id string key, Size uint32, Label Not_Null? no)
//	Counter (N uint32 key)
//	Abstract_Base [Abstract] (Id string key) <- Concrete
//	Setting [Singleton] (Level uint32)
//	Keyless (Note string)
//	Strict (Id string key, Name Not_Null string, Tag Indexed string)
func (r *testRepo) baseSchema() {
	r.putClass(class("Item", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Size", cim.TypeUint32), prop("Label", cim.TypeString)))
	r.putClass(class("Counter", "", nil, prop("N", cim.TypeUint32, qTrue("Key")), prop("Note", cim.TypeString)))
	r.putClass(class("Abstract_Base", "", []cim.Qualifier{qTrue("Abstract")}, prop("Id", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Concrete", "Abstract_Base", nil, prop("Extra", cim.TypeString)))
	r.putClass(class("Setting", "", []cim.Qualifier{qTrue("Singleton")}, prop("Level", cim.TypeUint32)))
	r.putClass(class("Keyless", "", nil, prop("Note", cim.TypeString)))
	r.putClass(class("Strict", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Name", cim.TypeString, qTrue("Not_Null")), prop("Tag", cim.TypeString, qTrue("Indexed"))))
	r.putClass(class("Amended_Class", "", []cim.Qualifier{qTrue("Amendment")}, prop("Id", cim.TypeString, qTrue("Key"))))
	r.putClass(class("Dyn", "", []cim.Qualifier{qTrue("Dynamic"), qStr("Provider", "DynProv")}, prop("Id", cim.TypeString, qTrue("Key"))))
}

// compareNote fails the tests (it panics, in the feed's reader) when the
// instances a writer noted for an event differ from what decoding the
// event's records gives.
func compareNote(d *revDecoder, ns string, ev store.Event, inst, prev *cim.Object) {
	want := d.instance(ns, ev.Value)
	var wantPrev *cim.Object
	if ev.PrevValue != nil {
		wantPrev = d.instance(ns, ev.PrevValue)
	}
	if !reflect.DeepEqual(inst, want) || !reflect.DeepEqual(prev, wantPrev) {
		panic(fmt.Sprintf("the instances noted for %q at revision %d differ from its records':\nnoted   %+v\n        %+v\nrecords %+v\n        %+v", ev.Key, ev.Rev, inst, prev, want, wantPrev))
	}
}
