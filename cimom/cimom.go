package cimom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// Options configure a CIMOM.
type Options struct {
	Server          string           // __SERVER of stored objects (default: the host name)
	Logger          *slog.Logger     // default slog.Default()
	Now             func() time.Time // clock for event times (default time.Now)
	SchemaCacheSize int              // resolved classes kept in memory (default 4,096)
	DefaultLocale   string           // locale for amended qualifiers (default "MS_409")
	EventRing       int              // intrinsic events kept in memory for subscriptions (default 4,096)
}

// CIMOM is an open repository with its services.
type CIMOM struct {
	st     store.Store
	opts   Options
	log    *slog.Logger
	schema *schemaCache
	// refIndex is set when the reverse-reference index is complete (the
	// repository's format is formatVersion): associations read it.
	refIndex bool

	drainMu  sync.RWMutex // read-held by every call in flight
	draining bool
	inflight sync.WaitGroup

	providersMu     sync.RWMutex
	providers       map[nameKey]InstanceProvider
	methodProviders map[nameKey]MethodProvider
	registry        registry // registered (out-of-process) providers: providerreg.go

	feed  feed
	locks [256]sync.Mutex // striped by instance key: serialises writers of one instance

	quals qualCache

	xhub   hub          // extrinsic events (extrinsic.go)
	timers timerService // timer instructions (timers.go)

	sdMu    sync.RWMutex
	sdGen   atomic.Uint64 // raised (under sdMu) by every invalidation of sdCache and names (see feed.go); read without it by subscriptions
	sdCache map[string]*SecurityDescriptor
	names   map[string]string // folded namespace -> its name as created (filled with sdCache)

	provEvents providerEvents // event providers feeding subscriptions: providerevents.go
}

// Open opens the repository in st, creating root, root/cimv2 and
// root/default with WMI's system classes on first use. It reads nothing
// else: opening costs the same whatever the repository's size, except
// once, when it upgrades a repository of an earlier format (format.go). It starts
// the CIMOM's reader of the store's change feed, from the current
// revision (see feed.go); Close stops it.
func Open(ctx context.Context, st store.Store, opts Options) (*CIMOM, error) {
	if opts.Server == "" {
		opts.Server, _ = os.Hostname()
		if opts.Server == "" {
			opts.Server = "localhost"
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SchemaCacheSize <= 0 {
		opts.SchemaCacheSize = 4096
	}
	if opts.DefaultLocale == "" {
		opts.DefaultLocale = "MS_409"
	}
	if opts.EventRing <= 0 {
		opts.EventRing = 4096
	}
	rev, err := st.Rev(ctx)
	if err != nil {
		return nil, fmt.Errorf("cimom: open: %w", err)
	}
	c := newCIMOM(st, opts)
	c.feed.start(rev)
	if _, found, err := st.Get(ctx, nsKey("root")); err != nil {
		c.feed.close()
		return nil, fmt.Errorf("cimom: open: %w", err)
	} else if !found {
		var ops []store.Op
		rootSD := defaultSD()
		ops = append(ops, namespaceOps("root", rootSD)...)
		for _, child := range []string{"root/cimv2", "root/default"} {
			ops = append(ops, namespaceOps(child, inheritSD(&SecurityDescriptor{Owner: rootSD.Owner, Group: rootSD.Group}, rootSD))...)
			ops = append(ops, namespaceInstanceOp("root", child[len("root/"):]))
		}
		ops = append(ops, store.Put(formatKey, []byte(strconv.Itoa(formatVersion))))
		if _, err := c.commit(ctx, []store.Compare{{Key: nsKey("root")}}, ops); err != nil && !errors.Is(err, store.ErrCompareFailed) {
			c.feed.close()
			return nil, fmt.Errorf("cimom: create root namespace: %w", err)
		}
	}
	// A repository of an earlier format is upgraded, once; one of a later
	// format is refused (format.go).
	if err := c.checkFormat(ctx); err != nil {
		c.feed.close()
		return nil, fmt.Errorf("cimom: open: repository format: %w", err)
	}
	return c, nil
}

// newCIMOM returns a CIMOM over st with empty caches and no feed reader.
func newCIMOM(st store.Store, opts Options) *CIMOM {
	c := &CIMOM{st: st, opts: opts, log: opts.Logger, schema: newSchemaCache(opts.SchemaCacheSize),
		providers: map[nameKey]InstanceProvider{}, methodProviders: map[nameKey]MethodProvider{}, sdCache: map[string]*SecurityDescriptor{}}
	c.feed.c = c
	c.feed.ring.init(opts.EventRing)
	return c
}

// Close drains the CIMOM: calls that arrive from now on get
// WBEM_E_SHUTTING_DOWN, calls in flight finish (or ctx ends the wait);
// then the feed reader stops and every subscription ends with
// WBEM_E_SHUTTING_DOWN. It does not close the store.
func (c *CIMOM) Close(ctx context.Context) error {
	c.drainMu.Lock()
	c.draining = true
	c.drainMu.Unlock()
	done := make(chan struct{})
	go func() { c.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.stopTimers()
	c.feed.close()
	return nil
}

// enter admits a call unless the CIMOM is draining.
func (c *CIMOM) enter() error {
	c.drainMu.RLock()
	defer c.drainMu.RUnlock()
	if c.draining {
		return &cim.Error{Status: cim.EShuttingDown, Description: "wbemd is shutting down", Provider: providerSelf}
	}
	c.inflight.Add(1)
	return nil
}

func (c *CIMOM) leave() { c.inflight.Done() }

// fail decorates an error with the __ExtendedStatus fields of the
// operation: every error leaving a Services method goes through it.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *cim.Error
	switch {
	case errors.As(err, &ce):
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		err = &cim.Error{Status: cim.ECallCancelled, Description: err.Error(), Err: err}
	case errors.Is(err, store.ErrClosed):
		err = &cim.Error{Status: cim.EShuttingDown, Description: "the repository is closed", Err: err}
	}
	e := cim.AsError(err).WithOp(op)
	if e.Provider == "" {
		e.Provider = providerSelf
	}
	return e
}

// nsRecord is a namespace's record: its name as first written and its
// effective security descriptor.
type nsRecord struct {
	Name string              `json:"name"`
	SD   *SecurityDescriptor `json:"sd"`
}

func namespaceOps(ns string, sd *SecurityDescriptor) []store.Op {
	rec, _ := json.Marshal(nsRecord{Name: ns, SD: sd})
	ops := []store.Op{store.Put(nsKey(ns), rec)}
	for _, cls := range append(systemClasses(), providerClasses(ns)...) {
		ops = append(ops, classOps(ns, cls)...)
	}
	return ops
}

// namespaceInstanceOp stores the __Namespace instance that names child in
// parent.
func namespaceInstanceOp(parent, child string) store.Op {
	inst := &cim.Object{Genus: cim.GenusInstance, Class: namespaceClass,
		Properties: []cim.Property{{Name: "Name", Type: cim.TypeString, Value: cim.Value{Type: cim.TypeString, V: child}}}}
	keys := cim.KeyString([]cim.KeyBinding{{Name: "Name", Value: cim.Value{Type: cim.TypeString, V: child}}})
	return store.Put(instKey(parent, namespaceClass, keys), cim.EncodeInstance(nil, inst))
}

// classOps stores a class as declared and its subclass index entry.
func classOps(ns string, local *cim.Object) []store.Op {
	return []store.Op{
		store.Put(classKey(ns, local.Class), cim.EncodeClass(nil, local)),
		store.Put(subKey(ns, local.Superclass, local.Class), []byte(local.Class)),
	}
}

// loadNamespace reads a namespace record; ok is false if it does not exist.
func (c *CIMOM) loadNamespace(ctx context.Context, ns string) (*nsRecord, int64, bool, error) {
	kv, found, err := c.st.Get(ctx, nsKey(ns))
	if err != nil || !found {
		return nil, 0, false, err
	}
	var rec nsRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil || rec.SD == nil {
		return nil, 0, false, cim.Errorf(cim.ECriticalError, "corrupt record of namespace %s", ns)
	}
	return &rec, kv.ModRev, true, nil
}

// namespaceSD returns the effective security descriptor of ns (cached;
// the feed invalidates it on any change of a namespace record).
func (c *CIMOM) namespaceSD(ctx context.Context, ns string) (*SecurityDescriptor, error) {
	k := cim.Fold(ns)
	c.sdMu.RLock()
	sd, gen := c.sdCache[k], c.sdGen.Load()
	c.sdMu.RUnlock()
	if sd != nil {
		return sd, nil
	}
	rec, _, ok, err := c.loadNamespace(ctx, ns)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cim.Errorf(cim.EInvalidNamespace, "namespace %s does not exist", ns).WithParam(ns)
	}
	c.sdMu.Lock()
	if c.sdGen.Load() == gen {
		c.sdCache[k] = rec.SD
	}
	c.sdMu.Unlock()
	return rec.SD, nil
}

func (c *CIMOM) forgetSDs() {
	c.sdMu.Lock()
	c.sdCache = map[string]*SecurityDescriptor{}
	c.names = nil
	c.sdGen.Add(1)
	c.sdMu.Unlock()
}

// namespaceName returns the name of namespace ns as it was created
// (cached with the security descriptors); found is false if it does not
// exist.
func (c *CIMOM) namespaceName(ctx context.Context, ns string) (name string, found bool, err error) {
	k := cim.Fold(ns)
	c.sdMu.RLock()
	name, known := c.names[k]
	gen := c.sdGen.Load()
	c.sdMu.RUnlock()
	if known {
		return name, true, nil
	}
	rec, _, ok, err := c.loadNamespace(ctx, ns)
	if err != nil || !ok {
		return "", false, err
	}
	c.sdMu.Lock()
	if c.sdGen.Load() == gen {
		if c.names == nil {
			c.names = map[string]string{}
		}
		c.names[k] = rec.Name
	}
	c.sdMu.Unlock()
	return rec.Name, true, nil
}

// namespaceLabel names a namespace in an event: as it was created, or as
// folded when it no longer exists.
func (c *CIMOM) namespaceLabel(ctx context.Context, folded string) string {
	if name, found, err := c.namespaceName(ctx, folded); err == nil && found {
		return name
	}
	return folded
}

// Connect opens a connection to namespace for p, as ConnectServer: the
// namespace must exist (WBEM_E_INVALID_NAMESPACE) and p needs ENABLE on it
// (and REMOTE_ENABLE when remote).
func (c *CIMOM) Connect(ctx context.Context, namespace string, p Principal) (Services, error) {
	if err := c.enter(); err != nil {
		return nil, fail("ConnectServer", err)
	}
	defer c.leave()
	s, err := c.connect(ctx, namespace, p)
	return s, fail("ConnectServer", err)
}

func (c *CIMOM) connect(ctx context.Context, namespace string, p Principal) (*services, error) {
	ns, err := cim.NormalizeNamespace(strings.TrimPrefix(strings.TrimPrefix(namespace, `\\.\`), "//./"))
	if err != nil {
		return nil, cim.AsError(err).WithParam(namespace)
	}
	name, found, err := c.namespaceName(ctx, ns)
	if alias, ok := interopAlias(ns); ok && err == nil && !found {
		name, found, err = c.namespaceName(ctx, alias)
	}
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, cim.Errorf(cim.EInvalidNamespace, "namespace %s does not exist", ns).WithParam(namespace)
	}
	s := &services{c: c, ns: name, p: p}
	if err := s.require(ctx, RightEnable); err != nil {
		return nil, err
	}
	return s, nil
}

// GetCallerAccessRights returns p's rights on namespace.
func (c *CIMOM) GetCallerAccessRights(ctx context.Context, namespace string, p Principal) (Rights, error) {
	sd, err := c.namespaceSD(ctx, namespace)
	if err != nil {
		return 0, fail("GetCallerAccessRights", err)
	}
	return accessRights(sd, p), nil
}

// services is a Services bound to a namespace and a principal.
type services struct {
	c  *CIMOM
	ns string
	p  Principal

	// rights caches the caller's rights for one security descriptor:
	// descriptors are replaced, never changed, so a new one misses.
	rights atomic.Pointer[rightsFor]
}

type rightsFor struct {
	sd     *SecurityDescriptor
	rights Rights
}

var _ Services = (*services)(nil)

func (s *services) Namespace() string { return s.ns }

// require checks that the caller holds need on the namespace (plus
// REMOTE_ENABLE for remote callers).
func (s *services) require(ctx context.Context, need Rights) error {
	sd, err := s.c.namespaceSD(ctx, s.ns)
	if err != nil {
		return err
	}
	var rights Rights
	if cached := s.rights.Load(); cached != nil && cached.sd == sd {
		rights = cached.rights
	} else {
		rights = accessRights(sd, s.p)
		s.rights.Store(&rightsFor{sd: sd, rights: rights})
	}
	if s.p.Remote && rights&RightRemoteEnable == 0 {
		return cim.Errorf(cim.EAccessDenied, "%s lacks %s on namespace %s", s.p.Name, rightName(RightRemoteEnable), s.ns)
	}
	if !hasRight(rights, need) {
		return cim.Errorf(cim.EAccessDenied, "%s lacks %s on namespace %s", s.p.Name, rightName(need), s.ns)
	}
	return nil
}

// call runs one operation under the drain gate with error decoration.
func (s *services) call(op string, fn func() error) error {
	if err := s.c.enter(); err != nil {
		return fail(op, err)
	}
	defer s.c.leave()
	return fail(op, fn())
}

// checkFlags rejects bits outside allowed, and the two mutually exclusive
// write modes together.
func checkFlags(flags, allowed Flags) error {
	if extra := flags &^ allowed; extra != 0 {
		return cim.Errorf(cim.EInvalidParameter, "flags %#x are not valid for this operation", uint32(extra)).WithParam("lFlags")
	}
	return nil
}

func (s *services) OpenNamespace(ctx context.Context, ns string, flags Flags, wctx *Context) (Services, error) {
	var out Services
	err := s.call("OpenNamespace", func() error {
		if err := checkFlags(flags, 0); err != nil {
			return err
		}
		target := s.ns + "/" + ns
		if strings.HasPrefix(ns, "/") || strings.HasPrefix(ns, `\`) {
			target = strings.TrimLeft(ns, `/\`)
		}
		svc, err := s.c.connect(ctx, target, s.p)
		if err != nil {
			return err
		}
		out = svc
		return nil
	})
	return out, err
}

func (s *services) GetSD(ctx context.Context) (*SecurityDescriptor, error) {
	var out *SecurityDescriptor
	err := s.call("GetSD", func() error {
		var err error
		out, err = s.getSD(ctx)
		return err
	})
	return out, err
}

// getSD is GetSD without the call's gate.
func (s *services) getSD(ctx context.Context) (*SecurityDescriptor, error) {
	if err := s.require(ctx, RightReadControl); err != nil {
		return nil, err
	}
	sd, err := s.c.namespaceSD(ctx, s.ns)
	if err != nil {
		return nil, err
	}
	cp := *sd
	cp.DACL = append([]ACE(nil), sd.DACL...)
	return &cp, nil
}

func (s *services) GetCallerAccessRights(ctx context.Context) (Rights, error) {
	var out Rights
	err := s.call("GetCallerAccessRights", func() error {
		sd, err := s.c.namespaceSD(ctx, s.ns)
		if err != nil {
			return err
		}
		out = accessRights(sd, s.p)
		return nil
	})
	return out, err
}

// SetSD replaces the namespace's own ACEs and recomputes the inherited ones
// here and in every descendant namespace, in one transaction.
func (s *services) SetSD(ctx context.Context, sd *SecurityDescriptor) error {
	return s.call("SetSD", func() error { return s.setSD(ctx, sd) })
}

// setSD is SetSD without the call's gate.
func (s *services) setSD(ctx context.Context, sd *SecurityDescriptor) error {
	if err := s.require(ctx, RightWriteDAC); err != nil {
		return err
	}
	if err := validateSD(sd); err != nil {
		return err
	}
	var parentSD *SecurityDescriptor
	if i := strings.LastIndexByte(s.ns, '/'); i > 0 {
		p, err := s.c.namespaceSD(ctx, s.ns[:i])
		if err != nil {
			return err
		}
		parentSD = p
	}
	// Collect this namespace and its descendants, parents before children.
	recs := map[string]*nsRecord{}
	var order []string
	var cmps []store.Compare
	start := nsKey(s.ns)
	for kv, err := range s.c.st.Range(ctx, start, store.PrefixEnd(append(nsKey(s.ns)[:len(start):len(start)], '/'))) {
		if err != nil {
			return err
		}
		var rec nsRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return cim.Errorf(cim.ECriticalError, "corrupt namespace record %q", kv.Key)
		}
		if !cim.EqualFold(rec.Name, s.ns) && !strings.HasPrefix(cim.Fold(rec.Name), cim.Fold(s.ns)+"/") {
			continue
		}
		recs[cim.Fold(rec.Name)] = &rec
		order = append(order, rec.Name)
		cmps = append(cmps, store.Compare{Key: append([]byte(nil), kv.Key...), ModRev: kv.ModRev})
	}
	var ops []store.Op
	for _, name := range order {
		rec := recs[cim.Fold(name)]
		if cim.EqualFold(name, s.ns) {
			rec.SD = inheritSD(sd, parentSD)
		} else {
			parent := recs[cim.Fold(name[:strings.LastIndexByte(name, '/')])]
			rec.SD = inheritSD(rec.SD, parent.SD)
		}
		b, _ := json.Marshal(rec)
		ops = append(ops, store.Put(nsKey(name), b))
	}
	if _, err := s.c.commit(ctx, cmps, ops); err != nil {
		if errors.Is(err, store.ErrCompareFailed) {
			return cim.Errorf(cim.ETransactionConflict, "namespace security changed concurrently; retry")
		}
		return err
	}
	return nil
}
