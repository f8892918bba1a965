package cimom

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
	"github.com/wbemd/wbemd/store/bolt"
)

// subscribeChan runs a subscription into a channel, closed when the
// subscription ends.
func subscribeChan(ctx context.Context, c *CIMOM, ns string, p Principal, deep bool) (<-chan Event, error) {
	return subscribeWith(ctx, c, SubscribeOptions{Namespace: ns, Principal: p, Deep: deep})
}

// subscribeWith is subscribeChan with any options.
func subscribeWith(ctx context.Context, c *CIMOM, opts SubscribeOptions) (<-chan Event, error) {
	seq, err := c.Subscribe(ctx, opts)
	if err != nil {
		return nil, err
	}
	ch := make(chan Event, 4096)
	go func() {
		defer close(ch)
		for ev, err := range seq {
			if err != nil {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// openOn opens a CIMOM over st, closed at the end of the test (before the
// store).
func openOn(t *testing.T, st store.Store, opts Options) *CIMOM {
	t.Helper()
	if opts.Server == "" {
		opts.Server = "testhost"
	}
	c, err := Open(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v (an enumerator left open?)", err)
		}
	})
	return c
}

// repoOn is a testRepo with the given options.
func repoOn(t *testing.T, bopts bolt.Options, opts Options) *testRepo {
	t.Helper()
	db := openStore(t, bopts)
	c := openOn(t, db, opts)
	svc, err := c.Connect(context.Background(), "root/cimv2", admin)
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, db: db, c: c, svc: svc}
}

func mustConnect(t *testing.T, c *CIMOM, ns string, p Principal) Services {
	t.Helper()
	svc, err := c.Connect(context.Background(), ns, p)
	if err != nil {
		t.Fatalf("Connect %s as %s: %v", ns, p.Name, err)
	}
	return svc
}

// storeRev returns the store's current revision.
func storeRev(t *testing.T, db store.Store) int64 {
	t.Helper()
	rev, err := db.Rev(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// nextEvent returns the next event of a subscription, failing the test
// after a long wait.
func nextEvent(t *testing.T, evs <-chan Event) Event {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("the subscription ended")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
	}
	return Event{}
}

// TestTwoCIMOMsOneStore: two CIMOMs over one store, as two nodes over a
// shared one. A class change, a namespace creation and deletion, a revoked
// right and a qualifier declaration change made through one are seen by
// the other once its feed has passed their revision: no stale cached
// answer. The other's subscription sees the first one's writes.
func TestTwoCIMOMsOneStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, testStoreOptions())
	a := openOn(t, db, Options{})
	b := openOn(t, db, Options{})
	sa, sb := mustConnect(t, a, "root/cimv2", admin), mustConnect(t, b, "root/cimv2", admin)
	evctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs, err := subscribeChan(evctx, b, "root", admin, true)
	if err != nil {
		t.Fatal(err)
	}
	caughtUp := func() {
		t.Helper()
		if err := b.WaitRevision(ctx, storeRev(t, db)); err != nil {
			t.Fatal(err)
		}
	}

	// A class change.
	if err := sa.PutClass(ctx, class("Shared", "", nil, prop("Id", cim.TypeString, qTrue("Key"))), 0, nil); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if _, err := sb.GetObject(ctx, "Shared", 0, nil); err != nil { // now cached in b
		t.Fatal(err)
	}
	if err := sa.PutClass(ctx, class("Shared", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Added", cim.TypeUint32)), 0, nil); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	cls, err := sb.GetObject(ctx, "Shared", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cls.Property("Added"); !ok {
		t.Error("b answers with the class as it was before a's change")
	}
	inst, _ := cls.SpawnInstance()
	inst.Put("Id", cim.Value{Type: cim.TypeString, V: "x"})
	inst.Put("Added", cim.Value{Type: cim.TypeUint32, V: uint32(7)})
	if _, err := sb.PutInstance(ctx, inst, 0, nil); err != nil {
		t.Fatalf("b writes an instance with the added property: %v", err)
	}

	// A namespace creation, then its deletion.
	if _, err := a.CreateNamespace(ctx, "root/cimv2/shared", admin); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	mustConnect(t, b, "root/cimv2/shared", admin) // now cached in b
	if err := sa.DeleteInstance(ctx, `__Namespace.Name="shared"`, 0, nil); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if _, err := b.Connect(ctx, "root/cimv2/shared", admin); cim.StatusOf(err) != cim.EInvalidNamespace {
		t.Errorf("b connects to the namespace a deleted: %v, want WBEM_E_INVALID_NAMESPACE", err)
	}

	// A right granted, then revoked.
	bob := Principal{Name: "bob"}
	sd := &SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators, Protected: true,
		DACL: append([]ACE{{Trustee: "bob", Mask: RightEnable}}, adminsOnly()...)}
	if err := sa.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	bobB := mustConnect(t, b, "root/cimv2", bob) // b caches the descriptor
	if _, err := bobB.GetObject(ctx, "Shared", 0, nil); err != nil {
		t.Fatalf("bob reads through b: %v", err)
	}
	sd.DACL = adminsOnly()
	if err := sa.SetSD(ctx, sd); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if _, err := bobB.GetObject(ctx, "Shared", 0, nil); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("bob reads through b after a revoked his right: %v, want WBEM_E_ACCESS_DENIED", err)
	}
	if _, err := b.Connect(ctx, "root/cimv2", bob); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("bob connects to b after a revoked his right: %v, want WBEM_E_ACCESS_DENIED", err)
	}

	// A qualifier declaration changed.
	decl := &cim.QualifierDecl{Name: "Color", Type: cim.TypeString, Scope: cim.ScopeProperty}
	if err := sa.PutQualifier(ctx, decl, 0); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if _, err := sb.GetQualifier(ctx, "Color"); err != nil { // now cached in b
		t.Fatal(err)
	}
	decl.Scope = cim.ScopeClass | cim.ScopeProperty
	if err := sa.PutQualifier(ctx, decl, 0); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if d, err := sb.GetQualifier(ctx, "Color"); err != nil || d.Scope != decl.Scope {
		t.Errorf("b's declaration of Color: %v, %v; want the scope a wrote (%v)", d, err, decl.Scope)
	}

	// b's subscription saw a's writes, in revision order.
	want := []struct{ class, ns, target string }{
		{"__ClassCreationEvent", "root/cimv2", "Shared"},
		{"__ClassModificationEvent", "root/cimv2", "Shared"},
		{"__InstanceCreationEvent", "root/cimv2", "Shared"},
		{"__InstanceCreationEvent", "root/cimv2", "__Namespace"},
		{"__NamespaceCreationEvent", "root/cimv2", "__Namespace"},
		{"__InstanceDeletionEvent", "root/cimv2", "__Namespace"},
		{"__NamespaceDeletionEvent", "root/cimv2", "__Namespace"},
	}
	var last int64
	for i, w := range want {
		ev := nextEvent(t, evs)
		if ev.Class != w.class || ev.Namespace != w.ns || ev.Target == nil || ev.Target.Class != w.target || ev.Rev < last {
			t.Fatalf("event %d: %s in %s of %v at revision %d (after %d), want %s in %s of %s", i, ev.Class, ev.Namespace, ev.Target, ev.Rev, last, w.class, w.ns, w.target)
		}
		last = ev.Rev
		if ev.Class == "__ClassModificationEvent" {
			if _, ok := ev.Previous.Property("Added"); ok {
				t.Error("PreviousClass has the property the change added")
			}
			if _, ok := ev.Target.Property("Added"); !ok {
				t.Error("TargetClass lacks the property the change added")
			}
		}
	}
}

// adminsOnly is a DACL that lets administrators do everything
// and no one else anything.
func adminsOnly() []ACE {
	return []ACE{{Trustee: GroupAdministrators, Mask: rightsAll, Flags: ACEContainerInherit}}
}

// itemWrites makes n instances of Item (Size 1), then updates the first
// half (Size 2) and deletes the second half, with four writers at a
// time: 2n writes, one event each.
func (r *testRepo) itemWrites(n int) {
	r.t.Helper()
	ctx := context.Background()
	phase := func(f func(i int) error) {
		r.t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < n; i += 4 {
					if err := f(i); err != nil {
						errs <- err
						return
					}
				}
			}(w)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			r.t.Fatal(err)
		}
	}
	cls, err := r.svc.GetObject(ctx, "Item", 0, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	item := func(i int, size uint32) *cim.Object {
		o, _ := cls.SpawnInstance()
		o.Put("Id", cim.Value{Type: cim.TypeString, V: strconv.Itoa(i)})
		o.Put("Size", cim.Value{Type: cim.TypeUint32, V: size})
		return o
	}
	phase(func(i int) error {
		_, err := r.svc.PutInstance(ctx, item(i, 1), FlagCreateOnly, nil)
		return err
	})
	phase(func(i int) error {
		if i < n/2 {
			_, err := r.svc.PutInstance(ctx, item(i, 2), FlagUpdateOnly, nil)
			return err
		}
		return r.svc.DeleteInstance(ctx, fmt.Sprintf(`Item.Id="%d"`, i), 0, nil)
	})
}

// checkItemEvents checks the events of itemWrites(n): every one, in
// revision order, with the right targets and previous instances.
func checkItemEvents(t *testing.T, evs []Event, n int) {
	t.Helper()
	if len(evs) != 2*n {
		t.Fatalf("%d events, want %d", len(evs), 2*n)
	}
	state := map[string]int{} // 1 created, 2 then changed or deleted
	var last int64
	for _, ev := range evs {
		if ev.Rev <= last {
			t.Fatalf("event at revision %d after one at %d", ev.Rev, last)
		}
		last = ev.Rev
		id, _ := ev.Target.Get("Id")
		size, _ := ev.Target.Get("Size")
		i, _ := strconv.Atoi(id.V.(string))
		k := id.V.(string)
		switch ev.Class {
		case "__InstanceCreationEvent":
			if state[k] != 0 || size.V != uint32(1) {
				t.Fatalf("creation of %s (Size %v) in state %d", k, size.V, state[k])
			}
		case "__InstanceModificationEvent":
			prev, _ := ev.Previous.Get("Size")
			if state[k] != 1 || i >= n/2 || size.V != uint32(2) || prev.V != uint32(1) {
				t.Fatalf("modification of %s (Size %v, previously %v) in state %d", k, size.V, prev.V, state[k])
			}
		case "__InstanceDeletionEvent":
			if state[k] != 1 || i < n/2 || size.V != uint32(1) {
				t.Fatalf("deletion of %s (Size %v) in state %d", k, size.V, state[k])
			}
		default:
			t.Fatalf("unexpected %s", ev.Class)
		}
		state[k]++
	}
}

// TestSubscriberLosesNothing: a subscriber that reads nothing while many
// more writes than the ring holds happen gets every event, in revision
// order, with the right previous instances, when it resumes; so does one
// that starts reading only after the writes, from the revision it
// subscribed at. Each reads until a progress report says it has all
// events up to a class written after the instances.
func TestSubscriberLosesNothing(t *testing.T) {
	n := 10_000 // 20,000 writes
	if testing.Short() {
		n = 1_000
	}
	r := repoOn(t, bolt.Options{NoSync: true}, Options{EventRing: 512})
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := SubscribeOptions{Namespace: "root/cimv2", Principal: admin, Progress: 20 * time.Millisecond}
	stalled, err := r.c.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	late, err := r.c.Subscribe(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	first, release := make(chan struct{}), make(chan struct{})
	var end atomic.Int64
	end.Store(1 << 62)
	got := make(chan []Event, 1)
	collect := func(seq iter.Seq2[Event, error], stall bool) {
		var evs []Event
		for ev, err := range seq {
			if err != nil {
				t.Error(err)
				break
			}
			if ev.Progress {
				if ev.Rev >= end.Load() {
					break
				}
				continue
			}
			if ev.Class != "__ClassCreationEvent" {
				evs = append(evs, ev)
			}
			if stall && len(evs) == 1 {
				close(first)
				<-release // reads nothing while the writes happen
			}
		}
		got <- evs
	}
	go collect(stalled, true)
	r.itemWrites(n)
	r.putClass(class("End", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	end.Store(storeRev(t, r.db))
	<-first
	close(release)
	checkItemEvents(t, <-got, n)
	go collect(late, false)
	checkItemEvents(t, <-got, n)
}

// firstOf returns the first event or error a subscription from revision
// from yields.
func firstOf(t *testing.T, c *CIMOM, from int64) (Event, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seq, err := c.Subscribe(ctx, SubscribeOptions{Namespace: "root/cimv2", Principal: admin, From: from})
	if err != nil {
		t.Fatal(err)
	}
	for ev, err := range seq {
		return ev, err
	}
	t.Fatal("the subscription ended without anything")
	return Event{}, nil
}

// TestSubscribeCompacted: a subscription from a revision that neither
// the ring nor the feed holds any longer, and one that fell behind further
// than both, end with WBEM_E_QUEUE_OVERFLOW naming the oldest revision
// the feed holds; one from the oldest start the feed accepts gets the
// events from there on. (The embedded engine compacts its feed to
// FeedRetention revisions at each checkpoint; on etcd the test compacts
// the cluster to as many after the writes.)
func TestSubscribeCompacted(t *testing.T) {
	const retention = 5
	r := repoOn(t, bolt.Options{FeedRetention: retention, NoSync: true}, Options{EventRing: 16})
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled, err := r.c.Subscribe(ctx, SubscribeOptions{Namespace: "root/cimv2", Principal: admin})
	if err != nil {
		t.Fatal(err)
	}
	from := storeRev(t, r.db)
	first, release, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		n := 0
		for _, err := range stalled {
			if err != nil {
				ended <- err
				return
			}
			if n++; n == 1 {
				close(first)
				<-release
			}
		}
		ended <- nil
	}()
	// More writes than the ring, the stalled subscription's own buffers
	// and the feed hold; each checkpoint compacts the feed.
	for i := range 1000 {
		r.put(r.inst("Item", "Id", strconv.Itoa(i)), 0)
		if i%250 == 249 {
			if err := r.db.Backup(ctx, io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-first
	now := storeRev(t, r.db)
	oldest := now - retention + 1
	if onEtcd() {
		if err := r.db.(store.Compactor).Compact(ctx, oldest-1); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprintf("the oldest revision it holds is %d", oldest)
	check := func(what string, err error) {
		t.Helper()
		if e, ok := err.(*cim.Error); !ok || e.Status != cim.EQueueOverflow || !strings.Contains(e.Description, want) {
			t.Errorf("%s: %v, want WBEM_E_QUEUE_OVERFLOW saying %q", what, err, want)
		}
	}
	_, err = firstOf(t, r.c, from)
	check("subscription from a compacted revision", err)
	// The ring of r.c (kept by the stalled subscription) holds the latest
	// events still; a CIMOM without subscriptions reads the feed.
	other := openOn(t, r.db, Options{})
	_, err = firstOf(t, other, oldest-2)
	check("subscription from the revision before the oldest start", err)
	if ev, err := firstOf(t, other, oldest-1); err != nil || ev.Rev != oldest {
		t.Errorf("subscription from the oldest start: %+v, %v; want the event of revision %d", ev, err, oldest)
	}
	close(release)
	check("a subscription that fell behind", <-ended)
}

// TestProgress: an idle subscription reports progress, with a bookmark
// from which a new subscription misses nothing and repeats nothing; the
// bookmark is the revision of the last event delivered, with no later
// write needed.
func TestProgress(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subscribe := func(from int64) func() (Event, bool) {
		seq, err := r.c.Subscribe(ctx, SubscribeOptions{Namespace: "root/cimv2", Principal: admin, From: from, Progress: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		next, stop := iter.Pull2(seq)
		t.Cleanup(stop)
		return func() (Event, bool) {
			t.Helper()
			ev, err, ok := next()
			if err != nil || !ok {
				t.Fatalf("subscription: %v", err)
			}
			return ev, ev.Progress
		}
	}
	next := subscribe(0)
	start := storeRev(t, r.db)
	if ev, progress := next(); !progress || ev.Rev != start {
		t.Fatalf("idle subscription: %+v, want a progress report at revision %d", ev, start)
	}
	r.putClass(class("Later", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	classRev := storeRev(t, r.db)
	if ev, progress := next(); progress || ev.Class != "__ClassCreationEvent" || ev.Rev != classRev {
		t.Fatalf("%+v, want the class creation at revision %d", ev, classRev)
	}
	ev, progress := next()
	if !progress || ev.Rev != classRev {
		t.Fatalf("%+v, want a progress report at revision %d", ev, classRev)
	}
	r.put(r.inst("Item", "Id", "a"), 0)
	instRev := storeRev(t, r.db)
	if ev, progress := next(); progress || ev.Class != "__InstanceCreationEvent" || ev.Rev != instRev {
		t.Fatalf("%+v, want the instance creation at revision %d", ev, instRev)
	}
	// The store marks the end of every revision: the bookmark is the
	// instance's revision at once, with no later write.
	if ev, progress := next(); !progress || ev.Rev != instRev {
		t.Fatalf("%+v, want a progress report at revision %d", ev, instRev)
	}
	// From the class's bookmark: the instance again, not the class.
	again := subscribe(classRev)
	if ev, progress := again(); progress || ev.Class != "__InstanceCreationEvent" || ev.Rev != instRev {
		t.Fatalf("from the bookmark %d: %+v, want the instance creation at revision %d", classRev, ev, instRev)
	}
}

// TestSubscribeSecurity: a deep subscription sees only the namespaces its
// principal may read, and ends with WBEM_E_ACCESS_DENIED when the right
// to subscribe is revoked; a revision in the future is refused.
func TestSubscribeSecurity(t *testing.T) {
	r := newRepo(t)
	r.baseSchema()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rootSvc := mustConnect(t, r.c, "root", admin)
	rootSD, err := rootSvc.GetSD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var own []ACE
	for _, ace := range rootSD.DACL {
		if ace.Flags&ACEInherited == 0 {
			own = append(own, ace)
		}
	}
	withBob := *rootSD
	withBob.DACL = append([]ACE{{Trustee: "bob", Mask: RightSubscribe}}, own...)
	if err := rootSvc.SetSD(ctx, &withBob); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.CreateNamespace(ctx, "root/secret", admin); err != nil {
		t.Fatal(err)
	}
	secret := mustConnect(t, r.c, "root/secret", admin)
	if err := secret.SetSD(ctx, &SecurityDescriptor{Owner: GroupAdministrators, Group: GroupAdministrators, Protected: true, DACL: adminsOnly()}); err != nil {
		t.Fatal(err)
	}
	bob := Principal{Name: "bob"}
	if _, err := r.c.Subscribe(ctx, SubscribeOptions{Namespace: "root", Principal: bob, From: storeRev(t, r.db) + 1}); cim.StatusOf(err) != cim.EInvalidParameter {
		t.Errorf("subscription from a future revision: %v, want WBEM_E_INVALID_PARAMETER", err)
	}
	if _, err := r.c.Subscribe(ctx, SubscribeOptions{Namespace: "root/secret", Principal: bob}); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("subscription to a namespace bob may not read: %v, want WBEM_E_ACCESS_DENIED", err)
	}
	seq, err := r.c.Subscribe(ctx, SubscribeOptions{Namespace: "root", Principal: bob, Deep: true})
	if err != nil {
		t.Fatal(err)
	}
	next, stop := iter.Pull2(seq)
	defer stop()
	if err := secret.PutClass(ctx, class("Hidden", "", nil, prop("Id", cim.TypeString, qTrue("Key"))), 0, nil); err != nil {
		t.Fatal(err)
	}
	r.putClass(class("Visible", "", nil, prop("Id", cim.TypeString, qTrue("Key"))))
	if ev, err, _ := next(); err != nil || ev.Target == nil || ev.Target.Class != "Visible" {
		t.Fatalf("bob's first event: %+v, %v; want the creation of Visible (not of Hidden)", ev, err)
	}
	if err := rootSvc.SetSD(ctx, rootSD); err != nil {
		t.Fatal(err)
	}
	r.put(r.inst("Item", "Id", "after"), 0)
	if _, err, _ := next(); cim.StatusOf(err) != cim.EAccessDenied {
		t.Errorf("after the revocation: %v, want WBEM_E_ACCESS_DENIED", err)
	}
}

// TestBatchAndBulkEvents: a batch (as a MOF compile makes) and a bulk
// load raise their events from the feed, each in its one revision, in the
// order of the records: classes before instances.
func TestBatchAndBulkEvents(t *testing.T) {
	r := newRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, err := subscribeChan(ctx, r.c, "root/cimv2", admin, false)
	if err != nil {
		t.Fatal(err)
	}
	err = r.c.Batch(ctx, func(view *CIMOM) error {
		svc, err := view.Connect(ctx, "root/cimv2", admin)
		if err != nil {
			return err
		}
		if err := svc.PutClass(ctx, class("Disk", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Size", cim.TypeUint32)), 0, nil); err != nil {
			return err
		}
		// The view's caches follow its own writes.
		if err := svc.PutClass(ctx, class("Disk", "", nil, prop("Id", cim.TypeString, qTrue("Key")), prop("Size", cim.TypeUint32), prop("Model", cim.TypeString)), 0, nil); err != nil {
			return err
		}
		cls, err := svc.GetObject(ctx, "Disk", 0, nil)
		if err != nil {
			return err
		}
		if _, ok := cls.Property("Model"); !ok {
			return fmt.Errorf("the batch's view answers with the class before its own update")
		}
		for _, id := range []string{"d1", "d2"} {
			o, _ := cls.SpawnInstance()
			o.Put("Id", cim.Value{Type: cim.TypeString, V: id})
			if _, err := svc.PutInstance(ctx, o, 0, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	batchRev := storeRev(t, r.db)
	for i, want := range []string{"__ClassCreationEvent", "__InstanceCreationEvent", "__InstanceCreationEvent"} {
		ev := nextEvent(t, evs)
		if ev.Class != want || ev.Rev != batchRev {
			t.Fatalf("batch event %d: %s at revision %d, want %s at %d", i, ev.Class, ev.Rev, want, batchRev)
		}
		if i == 0 {
			if _, ok := ev.Target.Property("Model"); !ok {
				t.Error("TargetClass lacks what the batch wrote last")
			}
		}
	}
	var insts []*cim.Object
	for i := range 3 {
		insts = append(insts, r.inst("Disk", "Id", fmt.Sprintf("b%d", i), "Size", uint32(i)))
	}
	if _, err := r.c.PutInstances(ctx, "root/cimv2", admin, insts, FlagCreateOnly); err != nil {
		t.Fatal(err)
	}
	bulkRev := storeRev(t, r.db)
	for i := range 3 {
		ev := nextEvent(t, evs)
		id, _ := ev.Target.Get("Id")
		if ev.Class != "__InstanceCreationEvent" || ev.Rev != bulkRev || id.V != fmt.Sprintf("b%d", i) {
			t.Fatalf("bulk event %d: %s of %v at revision %d, want the creation of b%d at %d", i, ev.Class, id.V, ev.Rev, i, bulkRev)
		}
	}
}

// TestCacheLoadRace: a resolution that read the store before an
// invalidation does not insert what it read after it.
func TestCacheLoadRace(t *testing.T) {
	sc := newSchemaCache(16)
	gen := sc.generation() // a resolution begins and reads the store
	sc.clear()             // the feed invalidates meanwhile
	sc.put("root/cimv2", "Item", &classInfo{cls: &cim.Object{Class: "Item"}}, gen)
	if sc.get("root/cimv2", "Item") != nil {
		t.Error("a resolution older than the invalidation was cached")
	}
	sc.put("root/cimv2", "Item", &classInfo{cls: &cim.Object{Class: "Item"}}, sc.generation())
	if sc.get("root/cimv2", "Item") == nil {
		t.Error("a resolution newer than the invalidation was not cached")
	}
}
