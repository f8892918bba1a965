package indication

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/protocol/cimxml"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

var root = cimom.Principal{Name: "root"}

// logBuf is a log the test reads.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testListener is a CIM-XML listener over real HTTP (the package's own
// decoder) that records what it receives, or refuses it while failing.
type testListener struct {
	url     string
	mu      sync.Mutex
	got     []*cim.Object
	failing bool
}

func newTestListener(t testing.TB) *testListener {
	l := &testListener{}
	srv := httptest.NewServer(&cimxml.Listener{Deliver: func(ctx context.Context, consumer string, ind *cim.Object) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.failing {
			return cim.Errorf(cim.EFailed, "the listener is failing")
		}
		l.got = append(l.got, ind)
		return nil
	}})
	t.Cleanup(srv.Close)
	l.url = srv.URL + "/"
	return l
}

func (l *testListener) fail(on bool) {
	l.mu.Lock()
	l.failing = on
	l.mu.Unlock()
}

// received returns Id, SequenceContext and SequenceNumber of each
// indication received.
func (l *testListener) received() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ind := range l.got {
		tv, _ := ind.Get("TargetInstance")
		id, _ := tv.V.(*cim.Object).Get("Id")
		c, _ := ind.Get("SequenceContext")
		n, _ := ind.Get("SequenceNumber")
		out = append(out, fmt.Sprintf("%v %v %v", id.V, c.V, n.V))
	}
	return out
}

// fixture is a repository with an Item class, the interop namespace and
// a deliverer running, with a small event ring.
type fixture struct {
	t       testing.TB
	db      *bolt.DB
	om      *cimom.CIMOM
	log     *logBuf
	interop cimom.Services
	cimv2   cimom.Services
}

func newFixture(t testing.TB) *fixture {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuf{}
	log := slog.New(slog.NewTextHandler(lb, nil))
	om, err := cimom.Open(ctx, db, cimom.Options{Server: "test", EventRing: 16, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := om.ServeInterop(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, om: om, log: lb}
	if f.interop, err = om.Connect(ctx, cimom.InteropNamespace, root); err != nil {
		t.Fatal(err)
	}
	if f.cimv2, err = om.Connect(ctx, "root/cimv2", root); err != nil {
		t.Fatal(err)
	}
	key := cim.Qualifier{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}
	if err := f.cimv2.PutClass(ctx, &cim.Object{Genus: cim.GenusClass, Class: "Item", Properties: []cim.Property{
		{Name: "Id", Type: cim.TypeString, Value: cim.Null(cim.TypeString), Qualifiers: []cim.Qualifier{key}}}}, 0, nil); err != nil {
		t.Fatal(err)
	}
	// One retry a second, none beyond the first attempt.
	f.modify(f.one(cimom.IndicationServiceClass), "DeliveryRetryAttempts", uint16(0), "DeliveryRetryInterval", uint32(1))
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&Manager{OM: om, Store: db, Log: log, ExportTimeout: 5 * time.Second}).Run(mctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		om.Close(ctx)
		db.Close()
	})
	return f
}

// one returns the path of the only instance of class in interop.
func (f *fixture) one(class string) string {
	f.t.Helper()
	e, err := f.interop.CreateInstanceEnum(context.Background(), class, 0, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	var paths []string
	for o, err := range cimom.All(context.Background(), e) {
		if err != nil {
			f.t.Fatal(err)
		}
		p, _ := o.ObjectPath()
		paths = append(paths, p.RelPath())
	}
	if len(paths) != 1 {
		f.t.Fatalf("%d instances of %s", len(paths), class)
	}
	return paths[0]
}

// create writes a new instance of class in interop.
func (f *fixture) create(class string, kv ...any) string {
	f.t.Helper()
	ctx := context.Background()
	cls, err := f.interop.GetObject(ctx, class, 0, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	o, _ := cls.SpawnInstance()
	f.set(o, kv...)
	p, err := f.interop.PutInstance(ctx, o, cimom.FlagCreateOnly, nil)
	if err != nil {
		f.t.Fatalf("create %s: %v", class, err)
	}
	return p
}

func (f *fixture) set(o *cim.Object, kv ...any) {
	f.t.Helper()
	for i := 0; i < len(kv); i += 2 {
		p, ok := o.Property(kv[i].(string))
		if !ok {
			f.t.Fatalf("%s has no %s", o.Class, kv[i])
		}
		v, err := cim.NewValue(p.Type, kv[i+1])
		if err != nil {
			f.t.Fatal(err)
		}
		p.Value = v
	}
}

// modify changes properties of an instance of interop.
func (f *fixture) modify(path string, kv ...any) {
	f.t.Helper()
	ctx := context.Background()
	o, err := f.interop.GetObject(ctx, path, 0, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	o = o.Clone()
	f.set(o, kv...)
	if _, err := f.interop.PutInstance(ctx, o, cimom.FlagUpdateOnly, nil); err != nil {
		f.t.Fatal(err)
	}
}

// subscribe makes a filter on Item creations, a destination and a
// subscription with policy, and returns the subscription's path.
func (f *fixture) subscribe(name, url string, policy uint16) string {
	f.t.Helper()
	filter := f.create(cimom.IndicationFilterClass, "Name", name, "QueryLanguage", "WQL", "SourceNamespace", "root/cimv2",
		"Query", "SELECT * FROM __InstanceCreationEvent WHERE TargetInstance ISA 'Item'")
	dest := f.create(cimom.ListenerDestinationCIMXML, "Name", name, "Destination", url)
	return f.create(cimom.IndicationSubscriptionClass, "Filter", filter, "Handler", dest, "OnFatalErrorPolicy", policy)
}

func (f *fixture) item(id string) {
	f.t.Helper()
	cls, _ := f.cimv2.GetObject(context.Background(), "Item", 0, nil)
	o, _ := cls.SpawnInstance()
	f.set(o, "Id", id)
	if _, err := f.cimv2.PutInstance(context.Background(), o, 0, nil); err != nil {
		f.t.Fatal(err)
	}
}

// state is a subscription's SubscriptionState ("gone" once deleted).
func (f *fixture) state(path string) string {
	o, err := f.interop.GetObject(context.Background(), path, 0, nil)
	if cim.StatusOf(err) == cim.ENotFound {
		return "gone"
	}
	if err != nil {
		f.t.Fatal(err)
	}
	v, _ := o.Get("SubscriptionState")
	return fmt.Sprint(v.V)
}

// eventually waits up to 20 s for cond.
func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: not within 20 s\nlog:\n%s", what, f.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRetentionLost: a subscription whose undelivered events the feed no
// longer holds is disabled with a log line (never silently resumed); its
// cursor starts a new SequenceContext, and enabling it delivers from there.
func TestRetentionLost(t *testing.T) {
	f := newFixture(t)
	l := newTestListener(t)
	l.fail(true)
	sub := f.subscribe("s", l.url, cimom.PolicyIgnore)
	f.item("first")
	f.eventually("degraded", func() bool { return f.state(sub) == "3" })
	// Past the ring of 16, and past what a subscription reading the
	// store holds (256 events) in case a new subscription sent it there.
	for i := range 600 {
		f.item(fmt.Sprint("more", i))
	}
	rev, _ := f.db.Rev(context.Background())
	if err := f.db.Compact(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	l.fail(false)
	f.eventually("disabled", func() bool { return f.state(sub) == "4" })
	// Before the loss: "first", and the events the subscription's stream
	// had read ahead with it (a stream reading the store holds some), in
	// order and numbered without a gap.
	got := l.received()
	if len(got) == 0 || len(got) > 300 {
		t.Fatalf("received %d events before the loss", len(got))
	}
	for i, g := range got {
		want := "first"
		if i > 0 {
			want = fmt.Sprint("more", i-1)
		}
		if f := strings.Fields(g); len(f) != 3 || f[0] != want || f[2] != fmt.Sprint(i) {
			t.Fatalf("event %d before the loss: %q, want %s numbered %d", i, g, want, i)
		}
	}
	if !strings.Contains(f.log.String(), "no longer holds") {
		t.Errorf("no log line of the loss:\n%s", f.log)
	}
	oldContext := strings.Fields(got[0])[1]
	f.modify(sub, "SubscriptionState", cimom.StateEnabled)
	f.item("after")
	before := len(got)
	f.eventually("delivery after enabling", func() bool { return len(l.received()) == before+1 })
	got = l.received()
	fields := strings.Fields(got[before])
	if fields[0] != "after" || fields[1] == oldContext || fields[2] != "0" {
		t.Errorf("after enabling: %v (old context %s)", got, oldContext)
	}
}

// TestFatalPolicies: with OnFatalErrorPolicy Disable a failed delivery
// disables the subscription, and enabling it delivers the event with its
// number; with Remove the subscription and its cursor are deleted.
func TestFatalPolicies(t *testing.T) {
	f := newFixture(t)
	l := newTestListener(t)
	l.fail(true)
	dis := f.subscribe("dis", l.url, cimom.PolicyDisable)
	rem := f.subscribe("rem", l.url, cimom.PolicyRemove)
	f.item("a")
	f.eventually("disabled", func() bool { return f.state(dis) == "4" })
	f.eventually("removed", func() bool { return f.state(rem) == "gone" })
	f.eventually("the removed subscription's cursor deleted", func() bool {
		n := 0
		for _, err := range f.db.Range(context.Background(), cursorPrefix, store.PrefixEnd(cursorPrefix)) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n <= 1
	})
	l.fail(false)
	f.item("b")
	time.Sleep(1500 * time.Millisecond)
	if got := l.received(); len(got) != 0 {
		t.Fatalf("a disabled subscription delivered %v", got)
	}
	f.modify(dis, "SubscriptionState", cimom.StateEnabled)
	f.eventually("delivery after enabling", func() bool { return len(l.received()) == 2 })
	got := l.received()
	if !strings.HasPrefix(got[0], "a ") || !strings.HasSuffix(got[0], " 0") || !strings.HasPrefix(got[1], "b ") || !strings.HasSuffix(got[1], " 1") {
		t.Errorf("after enabling: %v", got)
	}
}

// BenchmarkDelivery measures indications delivered per second to one
// listener over HTTP (each event's export answered before the next), the
// events written beforehand in one transaction.
func BenchmarkDelivery(b *testing.B) {
	f := newFixture(b)
	l := newTestListener(b)
	f.subscribe("s", l.url, cimom.PolicyIgnore)
	cls, _ := f.cimv2.GetObject(context.Background(), "Item", 0, nil)
	var insts []*cim.Object
	for i := range b.N {
		o, _ := cls.SpawnInstance()
		f.set(o, "Id", fmt.Sprint("b", i))
		insts = append(insts, o)
	}
	b.ResetTimer()
	if _, err := f.om.PutInstances(context.Background(), "root/cimv2", root, insts, 0); err != nil {
		b.Fatal(err)
	}
	for len(l.received()) < b.N {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "indications/s")
}

// BenchmarkCommitToListener measures the time from a write's commit (its
// PutInstance returned) to the listener's receipt of its indication, at
// 10 and 1,000 writes per second, and reports p50 and p99.
func BenchmarkCommitToListener(b *testing.B) {
	for _, rate := range []int{10, 1000} {
		b.Run(fmt.Sprint("rate=", rate), func(b *testing.B) {
			f := newFixture(b)
			var mu sync.Mutex
			got := map[string]time.Time{}
			srv := httptest.NewServer(&cimxml.Listener{Deliver: func(ctx context.Context, consumer string, ind *cim.Object) error {
				tv, _ := ind.Get("TargetInstance")
				id, _ := tv.V.(*cim.Object).Get("Id")
				mu.Lock()
				got[id.V.(string)] = time.Now()
				mu.Unlock()
				return nil
			}})
			defer srv.Close()
			f.subscribe("s", srv.URL+"/", cimom.PolicyIgnore)
			n := rate * 2 // two seconds of writes
			if n < 20 {
				n = 20
			}
			cls, _ := f.cimv2.GetObject(context.Background(), "Item", 0, nil)
			committed := make([]time.Time, n)
			b.ResetTimer()
			for range b.N {
				clear(got)
				tick := time.NewTicker(time.Second / time.Duration(rate))
				var wg sync.WaitGroup
				for i := range n {
					<-tick.C
					wg.Add(1)
					go func() {
						defer wg.Done()
						o, _ := cls.SpawnInstance()
						o.Put("Id", cim.Value{Type: cim.TypeString, V: fmt.Sprint("i", i)})
						if _, err := f.cimv2.PutInstance(context.Background(), o, 0, nil); err != nil {
							b.Error(err)
						}
						committed[i] = time.Now()
					}()
				}
				tick.Stop()
				wg.Wait()
				for {
					mu.Lock()
					done := len(got) == n
					mu.Unlock()
					if done {
						break
					}
					time.Sleep(time.Millisecond)
				}
			}
			b.StopTimer()
			lat := make([]time.Duration, n)
			for i := range n {
				lat[i] = got[fmt.Sprint("i", i)].Sub(committed[i])
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// TestDMTFFilter: a DMTF:CQL filter's indications are DMTF's
// CIM_InstCreation with SourceInstance, IndicationTime and the sequence.
func TestDMTFFilter(t *testing.T) {
	f := newFixture(t)
	l := newTestListener(t)
	filter := f.create(cimom.IndicationFilterClass, "Name", "cql", "QueryLanguage", "DMTF:CQL", "SourceNamespace", "root/cimv2",
		"Query", "SELECT * FROM CIM_InstCreation WHERE SourceInstance ISA 'Item'")
	dest := f.create(cimom.ListenerDestinationCIMXML, "Name", "cql", "Destination", l.url)
	f.create(cimom.IndicationSubscriptionClass, "Filter", filter, "Handler", dest)
	f.item("x")
	f.eventually("the indication", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.got) == 1
	})
	ind := l.got[0]
	src, _ := ind.Get("SourceInstance")
	obj, ok := src.V.(*cim.Object)
	if ind.Class != "CIM_InstCreation" || !ok {
		t.Fatalf("indication %s with SourceInstance %v", ind.Class, src)
	}
	if id, _ := obj.Get("Id"); id.V != "x" {
		t.Errorf("SourceInstance.Id %v", id.V)
	}
	for _, p := range []string{"IndicationTime", "SequenceContext", "SequenceNumber", "IndicationIdentifier"} {
		if v, err := ind.Get(p); err != nil || v.IsNull() {
			t.Errorf("%s: %v %v", p, v, err)
		}
	}
}
