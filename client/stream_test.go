package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/internal/testdata"
)

// countingWriter counts the bytes of the answers it writes and, past
// limit (unless it is negative), aborts the answer as wbemd does when an
// operation fails in the middle of a streamed answer, after stall is
// closed when it is set.
type countingWriter struct {
	http.ResponseWriter
	n     *atomic.Int64
	limit int64
	stall chan struct{}
}

func (w countingWriter) Write(p []byte) (int, error) {
	if w.limit >= 0 && w.n.Load()+int64(len(p)) > w.limit {
		w.Flush()
		if w.stall != nil {
			<-w.stall
		}
		panic(http.ErrAbortHandler)
	}
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}

func (w countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// bigServer serves the sample repository with n instances of bigClass,
// the answers to EnumerateInstances written through wrap; it returns its
// URL.
func bigServer(t *testing.T, n int, wrap func(http.ResponseWriter) http.ResponseWriter) string {
	t.Helper()
	h, om := sampleRepo(t)
	bigClass(t, om, n, 400)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("CIMMethod") == "EnumerateInstances" {
			w = wrap(w)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// bigClass fills root/sample with n instances of Stream_Item and its
// subclass Stream_Sub (every other one), each with a payload of size
// bytes.
func bigClass(t *testing.T, om *cimom.CIMOM, n, size int) {
	t.Helper()
	ctx := context.Background()
	root := cimom.Principal{Name: "root"}
	svc, err := om.Connect(ctx, "root/sample", root)
	if err != nil {
		t.Fatal(err)
	}
	key := []cim.Qualifier{{Name: "Key", Value: cim.Value{Type: cim.TypeBoolean, V: true}}}
	base := &cim.Object{Genus: cim.GenusClass, Class: "Stream_Item", Properties: []cim.Property{
		{Name: "ID", Type: cim.TypeUint32, Value: cim.Null(cim.TypeUint32), Qualifiers: key},
		{Name: "Payload", Type: cim.TypeString, Value: cim.Null(cim.TypeString)},
	}}
	sub := &cim.Object{Genus: cim.GenusClass, Class: "Stream_Sub", Superclass: "Stream_Item", Properties: []cim.Property{
		{Name: "Extra", Type: cim.TypeUint64, Value: cim.Null(cim.TypeUint64)},
	}}
	classes := map[string]*cim.Object{}
	for _, c := range []*cim.Object{base, sub} {
		if err := svc.PutClass(ctx, c, cimom.FlagCreateOnly, nil); err != nil {
			t.Fatal(err)
		}
		if classes[c.Class], err = svc.GetObject(ctx, c.Class, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	payload := strings.Repeat("p", size)
	for i := 0; i < n; i += 5000 {
		batch := make([]*cim.Object, 0, 5000)
		for j := i; j < min(i+5000, n); j++ {
			cls := classes["Stream_Item"]
			if j%2 == 1 {
				cls = classes["Stream_Sub"]
			}
			inst, _ := cls.SpawnInstance()
			inst.Put("ID", cim.Value{Type: cim.TypeUint32, V: uint32(j)})
			inst.Put("Payload", cim.Value{Type: cim.TypeString, V: fmt.Sprintf("%d %s", j, payload)})
			batch = append(batch, inst)
		}
		if _, err := om.PutInstances(ctx, "root/sample", root, batch, cimom.FlagCreateOnly); err != nil {
			t.Fatal(err)
		}
	}
}

// TestEnumerationHeapIsFlat enumerates 20,000 instances (about 12 MB of
// answer) through wbemd's CIM-XML door over real HTTP, forward-only, and
// checks that the live heap grows by well under the size of the answer
// while the instances are read: the client decodes the answer as it
// arrives and holds one instance at a time. With a single connection, the
// class of the subclass's instances, read in the middle of the answer,
// comes over a connection of its own.
func TestEnumerationHeapIsFlat(t *testing.T) {
	const n = 20000
	var written atomic.Int64
	url := bigServer(t, n, func(w http.ResponseWriter) http.ResponseWriter { return countingWriter{w, &written, -1, nil} })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw", MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc // after a collection: the live heap
	e, err := c.CreateInstanceEnum(ctx, "Stream_Item", cimom.FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, subs := 0, 0
	var peak uint64
	for inst, err := range cimom.All(ctx, e) {
		if err != nil {
			t.Fatal(err)
		}
		if inst.Class == "Stream_Sub" {
			subs++
			if p, ok := inst.Property("ID"); !ok || !p.IsKey() {
				t.Fatalf("an instance of the subclass is not completed by its class: %+v", inst)
			}
		}
		if got++; got%2000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
		}
	}
	if got != n || subs != n/2 {
		t.Fatalf("%d instances (%d of the subclass), want %d (%d)", got, subs, n, n/2)
	}
	answer := written.Load()
	t.Logf("answer %d bytes; live heap grew by %d bytes at most while reading it", answer, peak)
	if answer < 8<<20 {
		t.Fatalf("the answer is only %d bytes", answer)
	}
	if peak > uint64(answer)/8 {
		t.Errorf("the live heap grew by %d bytes while reading an answer of %d: more than an eighth of it", peak, answer)
	}
}

// TestEnumerationClosed: an enumeration closed before its end, read as
// it comes or with WBEM_FLAG_RETURN_IMMEDIATELY, gives its connection back
// at once: the next call, on the one connection, is answered.
func TestEnumerationClosed(t *testing.T) {
	url := bigServer(t, 5000, func(w http.ResponseWriter) http.ResponseWriter { return w })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw", MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, flags := range []cimom.Flags{cimom.FlagForwardOnly, cimom.FlagForwardOnly | cimom.FlagReturnImmediately, 0} {
		for _, read := range []int{0, 10} {
			e, err := c.CreateInstanceEnum(ctx, "Stream_Item", flags, nil)
			if err != nil {
				t.Fatal(err)
			}
			if read > 0 {
				if objs, _, err := e.Next(ctx, cimom.Infinite, read); err != nil || len(objs) != read {
					t.Fatalf("flags %#x: %d objects, %v", flags, len(objs), err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetObject(ctx, `Stream_Item.ID=1`, 0, nil); err != nil {
				t.Fatalf("flags %#x, %d read: the next call: %v", flags, read, err)
			}
		}
	}
}

// TestEnumerationBroken: an answer that breaks off in the middle (wbemd
// aborts a streamed answer whose operation fails) ends the enumeration
// with WBEM_E_TRANSPORT_FAILURE after the instances that came whole.
func TestEnumerationBroken(t *testing.T) {
	var written atomic.Int64
	url := bigServer(t, 5000, func(w http.ResponseWriter) http.ResponseWriter {
		written.Store(0)
		return countingWriter{w, &written, 1 << 20, nil}
	})
	ctx := context.Background()
	c, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.CreateInstanceEnum(ctx, "Stream_Item", cimom.FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := 0
	for _, err := range cimom.All(ctx, e) {
		if err != nil {
			if cim.StatusOf(err) != cim.ETransportFailure {
				t.Errorf("the broken answer: %v", err)
			}
			break
		}
		got++
	}
	if got == 0 || got >= 5000 {
		t.Errorf("%d instances before the break, want some and not all", got)
	}
}

// TestEnumerationFailsInTrailer: an operation that fails once its answer
// is streamed (a provider failing after 200 instances, 120 KB of answer)
// gives the instances produced before the failure, then the failure with
// its exact WBEM status and description, which wbemd's door sends in the
// CIMStatusCode trailer because the client takes trailers.
func TestEnumerationFailsInTrailer(t *testing.T) {
	h, om := sampleRepo(t)
	testdata.AddFailing(t, om, 200, 400, cim.Errorf(cim.EProviderFailure, "the disk is on fire"))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL, "root/sample", Options{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.CreateInstanceEnum(ctx, testdata.FailingClass, cimom.FlagForwardOnly, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, failed := 0, false
	for o, err := range cimom.All(ctx, e) {
		if err != nil {
			failed = true
			if cim.StatusOf(err) != cim.EProviderFailure || !strings.Contains(err.Error(), "the disk is on fire") {
				t.Errorf("the failure: %v", err)
			}
			break
		}
		if id, _ := o.Get("ID"); id.V != uint32(got) {
			t.Errorf("instance %d: ID %v", got, id.V)
		}
		got++
	}
	if !failed || got != 200 {
		t.Errorf("%d instances, then failed %v: want the 200 produced, then the failure", got, failed)
	}
}

// TestEnumerationClosedWhileWaiting: closing an enumeration whose answer
// has stopped coming (the server stalls) does not wait for the server.
func TestEnumerationClosedWhileWaiting(t *testing.T) {
	var written atomic.Int64
	stall := make(chan struct{})
	defer close(stall)
	url := bigServer(t, 5000, func(w http.ResponseWriter) http.ResponseWriter {
		written.Store(0)
		return countingWriter{w, &written, 512 << 10, stall}
	})
	ctx := context.Background() // no deadline: a Close that waits for the server hangs
	c, err := Dial(ctx, url, "root/sample", Options{User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, flags := range []cimom.Flags{cimom.FlagForwardOnly, cimom.FlagForwardOnly | cimom.FlagReturnImmediately} {
		e, err := c.CreateInstanceEnum(ctx, "Stream_Item", flags, nil)
		if err != nil {
			t.Fatal(err)
		}
		if objs, _, err := e.Next(ctx, cimom.Infinite, 10); err != nil || len(objs) != 10 {
			t.Fatalf("flags %#x: %d objects, %v", flags, len(objs), err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
