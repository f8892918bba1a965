package cimom

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// DMTF indications (DSP1054, the CIM schema's Event model) are
// subscribed to with three repository instances in the interop
// namespace: a CIM_IndicationFilter (the event query, its language and
// the namespace it watches), a CIM_ListenerDestinationCIMXML (the URL
// ExportIndication requests are POSTed to) and a CIM_IndicationSubscription
// associating the two, with its OnFatalErrorPolicy and SubscriptionState.
// The one CIM_IndicationService instance holds DeliveryRetryAttempts and
// DeliveryRetryInterval. They are checked when they are written (a bad
// query, URL or reference stores nothing), and a subscription's creator is
// recorded with it, in the same transaction: its events are those the
// creator may read. The deliverer (package indication) reads them here.

// The classes of the DMTF indication model.
const (
	IndicationFilterClass       = "CIM_IndicationFilter"
	ListenerDestinationClass    = "CIM_ListenerDestination"
	ListenerDestinationCIMXML   = "CIM_ListenerDestinationCIMXML"
	IndicationSubscriptionClass = "CIM_IndicationSubscription"
	IndicationServiceClass      = "CIM_IndicationService"
	abstractSubscriptionClass   = "CIM_AbstractIndicationSubscription"
)

// SubscriptionState values of CIM_AbstractIndicationSubscription.
const (
	StateEnabled         uint16 = 2
	StateEnabledDegraded uint16 = 3
	StateDisabled        uint16 = 4
)

// OnFatalErrorPolicy values of CIM_AbstractIndicationSubscription.
const (
	PolicyIgnore  uint16 = 2
	PolicyDisable uint16 = 3
	PolicyRemove  uint16 = 4
)

// Defaults of CIM_IndicationService (the schema's).
const (
	DefaultDeliveryRetryAttempts = 3
	DefaultDeliveryRetryInterval = 30 * time.Second
)

// indicationClasses are the classes of the model, as declared, parents
// first (the interop namespace declares CIM_ManagedElement and CIM_Service
// before them): the keys and the properties wbemd reads or sets, from the
// CIM schema 2.49.
func indicationClasses() []*cim.Object {
	str, u16, u32, u64 := cim.TypeString, cim.TypeUint16, cim.TypeUint32, cim.TypeUint64
	key := keyQualifier()
	prop, def := nullProp, defaultProp
	ref := func(name, class string) cim.Property { return refProp(name, class, key) }
	list := func(name string, v ...string) cim.Qualifier {
		return cim.Qualifier{Name: name, Value: cim.Value{Type: cim.TypeString.ArrayOf(), V: v}, Flavor: cim.FlavorToSubclass}
	}
	class := declaredClass
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	abstract := []cim.Qualifier{{Name: "Abstract", Value: yes}}
	assoc := cim.Qualifier{Name: "Association", Value: yes, Flavor: cim.FlavorToSubclass | cim.FlavorDisableOverride}
	systemKeys := func() []cim.Property {
		return []cim.Property{prop("SystemCreationClassName", str, key), prop("SystemName", str, key),
			prop("CreationClassName", str, key), prop("Name", str, key)}
	}
	return []*cim.Object{
		class(IndicationFilterClass, "CIM_ManagedElement", nil, append(systemKeys(),
			prop("SourceNamespace", str), prop("SourceNamespaces", str.ArrayOf()),
			def("IndividualSubscriptionSupported", cim.Value{Type: cim.TypeBoolean, V: true}),
			prop("Query", str), prop("QueryLanguage", str))...),
		class(ListenerDestinationClass, "CIM_ManagedElement", abstract, append(systemKeys(),
			prop("PersistenceType", u16, list("ValueMap", "1", "2", "3"), list("Values", "Other", "Permanent", "Transient")),
			prop("OtherPersistenceType", str), prop("Destination", str), prop("OtherProtocol", str),
			def("Protocol", cim.Value{Type: u16, V: uint16(2)}))...),
		class(ListenerDestinationCIMXML, ListenerDestinationClass, nil),
		// The deprecated handler classes (CIM 2.8) that older clients
		// (openwsman's CIM bridge, early pywbem) still create.
		class("CIM_IndicationHandler", ListenerDestinationClass, abstract, prop("Owner", str)),
		class("CIM_IndicationHandlerCIMXML", "CIM_IndicationHandler", nil),
		class(abstractSubscriptionClass, "", append([]cim.Qualifier{assoc}, abstract...),
			ref("Filter", "CIM_ManagedElement"), ref("Handler", ListenerDestinationClass),
			prop("OnFatalErrorPolicy", u16, list("ValueMap", "1", "2", "3", "4"), list("Values", "Other", "Ignore", "Disable", "Remove")),
			prop("OtherOnFatalErrorPolicy", str),
			prop("SubscriptionState", u16, list("ValueMap", "0", "1", "2", "3", "4"),
				list("Values", "Unknown", "Other", "Enabled", "Enabled Degraded", "Disabled")),
			prop("OtherSubscriptionState", str), prop("TimeOfLastStateChange", cim.TypeDatetime),
			prop("SubscriptionDuration", u64), prop("SubscriptionStartTime", cim.TypeDatetime),
			prop("SubscriptionInfo", str)),
		class(IndicationSubscriptionClass, abstractSubscriptionClass, []cim.Qualifier{assoc},
			ref("Filter", IndicationFilterClass), ref("Handler", ListenerDestinationClass)),
		class(IndicationServiceClass, "CIM_Service", nil,
			def("FilterCreationEnabled", cim.Value{Type: cim.TypeBoolean, V: true}),
			def("DeliveryRetryAttempts", cim.Value{Type: u16, V: uint16(DefaultDeliveryRetryAttempts)}),
			def("DeliveryRetryInterval", cim.Value{Type: u32, V: uint32(DefaultDeliveryRetryInterval / time.Second)})),
	}
}

// indicationServiceName is the Name of the CIM_IndicationService.
const indicationServiceName = "wbemd:IndicationService"

// serveIndications writes the CIM_IndicationService instance if it is
// missing.
func (c *CIMOM) serveIndications(ctx context.Context) error {
	s, err := c.connect(ctx, InteropNamespace, self)
	if err != nil {
		return err
	}
	ci, err := c.resolve(ctx, InteropNamespace, IndicationServiceClass)
	if err != nil {
		return err
	}
	inst, err := ci.cls.SpawnInstance()
	if err != nil {
		return err
	}
	for _, f := range []field{{"SystemCreationClassName", computerSystemClass}, {"SystemName", c.opts.Server},
		{"CreationClassName", IndicationServiceClass}, {"Name", indicationServiceName}, {"ElementName", "wbemd indication service"}} {
		if err := putValue(inst, f.name, f.v); err != nil {
			return err
		}
	}
	_, err = s.PutInstance(ctx, inst, FlagCreateOnly, nil)
	if st := cim.StatusOf(err); st == cim.EAlreadyExists || st == cim.ETransactionConflict {
		return nil
	}
	return err
}

// isInterop reports whether s serves the interop namespace.
func (s *services) isInterop() bool { return cim.EqualFold(s.ns, InteropNamespace) }

// indicationDefaults fills what a client usually leaves NULL in an
// instance of the model before its keys are checked: the system keys and
// CreationClassName of filters and destinations, the Ignore policy and the
// Enabled state of subscriptions, Permanent destinations.
func (s *services) indicationDefaults(ci *classInfo, inst *cim.Object, shared *bool) error {
	if !s.isInterop() {
		return nil
	}
	set := func(name string, v any) error {
		if p, ok := inst.Property(name); !ok || !p.Value.IsNull() {
			return nil
		}
		own(inst, shared)
		return putValue(inst, name, v)
	}
	var sets []field
	switch {
	case ci.cls.IsA(IndicationFilterClass), ci.cls.IsA(ListenerDestinationClass):
		sets = []field{{"SystemCreationClassName", computerSystemClass}, {"SystemName", s.c.opts.Server}, {"CreationClassName", ci.cls.Class}}
		if ci.cls.IsA(ListenerDestinationClass) {
			sets = append(sets, field{"PersistenceType", uint16(2)})
		}
	case ci.cls.IsA(abstractSubscriptionClass):
		sets = []field{{"OnFatalErrorPolicy", PolicyIgnore}, {"SubscriptionState", StateEnabled}}
	}
	for _, f := range sets {
		if err := set(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// indicationPut checks an instance of the model before it is written and
// returns the writes that go with it: a subscription's creator record.
func (s *services) indicationPut(ctx context.Context, ci *classInfo, inst, prev *cim.Object, keys string) ([]store.Op, error) {
	if ops, handled, err := s.wmiPut(ctx, ci, inst, prev, keys); handled {
		return ops, err
	}
	if handled, err := timerPut(ci, inst); handled {
		return nil, err
	}
	if !s.isInterop() {
		return nil, nil
	}
	switch {
	case ci.cls.IsA(IndicationFilterClass):
		_, err := s.c.parseFilter(ctx, inst, s.p)
		return nil, err
	case ci.cls.IsA(ListenerDestinationClass):
		_, err := destinationOf(inst)
		return nil, err
	case ci.cls.IsA(IndicationServiceClass):
		_, _, err := retrySettings(inst)
		return nil, err
	case ci.cls.IsA(IndicationSubscriptionClass):
		for _, f := range []struct{ prop, class string }{{"Filter", IndicationFilterClass}, {"Handler", ListenerDestinationClass}} {
			if _, err := s.referenced(ctx, inst, f.prop, f.class); err != nil {
				return nil, err
			}
		}
		if _, err := policyOf(inst); err != nil {
			return nil, err
		}
		if st := u16Of(inst, "SubscriptionState"); st != StateEnabled && st != StateEnabledDegraded && st != StateDisabled {
			return nil, cim.Errorf(cim.EInvalidParameter, "SubscriptionState %d is not one wbemd takes: 2 (Enabled) or 4 (Disabled)", st).WithParam("SubscriptionState")
		}
		if prev != nil {
			return nil, nil // the creator is the first writer's
		}
		rec, err := json.Marshal(s.p)
		if err != nil {
			return nil, fmt.Errorf("cimom: subscription creator: %w", err)
		}
		return []store.Op{store.Put(creatorKey(s.ns, keys), rec)}, nil
	}
	return nil, nil
}

// creatorKey is the record of a subscription's creator:
//
//	e 0 <ns> 0 <keys>    the Principal that created the subscription (JSON)
func creatorKey(ns, keys string) []byte { return key('e', cim.Fold(ns), keys) }

// indicationDelete checks the delete of an instance of the model and
// returns the writes that go with it: a filter or destination that a
// subscription refers to is not deleted (WBEM_E_FAILED naming the
// subscription: delete it first, as DSP1054 has it), a subscription's
// creator record goes with it.
func (s *services) indicationDelete(ctx context.Context, ci *classInfo, prev *cim.Object, keys string) ([]store.Op, error) {
	if ops, handled := s.wmiDelete(ci, keys); handled {
		return ops, nil
	}
	if !s.isInterop() {
		return nil, nil
	}
	switch {
	case ci.cls.IsA(IndicationSubscriptionClass):
		return []store.Op{store.Delete(creatorKey(s.ns, keys))}, nil
	case ci.cls.IsA(IndicationFilterClass), ci.cls.IsA(ListenerDestinationClass):
		gone, err := prev.ObjectPath()
		if err != nil {
			return nil, err
		}
		prop := "Filter"
		if ci.cls.IsA(ListenerDestinationClass) {
			prop = "Handler"
		}
		sys, err := s.c.connect(ctx, s.ns, self)
		if err != nil {
			return nil, err
		}
		e, err := sys.CreateInstanceEnum(ctx, IndicationSubscriptionClass, 0, nil)
		if err != nil {
			return nil, err
		}
		defer e.Close()
		for sub, err := range All(ctx, e) {
			if err != nil {
				return nil, err
			}
			if p, err := cim.ParsePath(strOf(sub, prop)); err == nil && cim.EqualPaths(p, gone) {
				sp, _ := sub.ObjectPath()
				return nil, cim.Errorf(cim.EFailed, "%s is the %s of subscription %s: delete the subscription first", gone.RelPath(), prop, sp.RelPath()).WithParam(gone.RelPath())
			}
		}
	}
	return nil, nil
}

// referenced reads the instance a reference property of inst names, in
// the interop namespace, and checks that it is a class.
func (s *services) referenced(ctx context.Context, inst *cim.Object, prop, class string) (*cim.Object, error) {
	v, err := inst.Get(prop)
	if err != nil || v.IsNull() {
		return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s is NULL: it must name a %s in %s", inst.Class, prop, class, InteropNamespace).WithParam(prop)
	}
	text, _ := v.V.(string)
	p, err := cim.ParsePath(text)
	if err != nil {
		return nil, cim.Errorf(cim.EInvalidObjectPath, "%s.%s: %v", inst.Class, prop, err).WithParam(prop)
	}
	if p.Namespace != "" {
		if ns, ok := interopAlias(p.Namespace); !ok && !cim.EqualFold(p.Namespace, InteropNamespace) || ok && ns != InteropNamespace {
			return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s names an instance of namespace %s: it must be in %s", inst.Class, prop, p.Namespace, InteropNamespace).WithParam(prop)
		}
	}
	local := *p
	local.Namespace, local.Server = "", ""
	obj, err := s.GetObject(ctx, local.String(), 0, nil)
	if err != nil {
		if cim.StatusOf(err) == cim.ENotFound || cim.StatusOf(err) == cim.EInvalidClass {
			return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s names %s, which does not exist: create it first", inst.Class, prop, local.String()).WithParam(prop)
		}
		return nil, err
	}
	if !obj.IsA(class) {
		return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s names a %s, not a %s", inst.Class, prop, obj.Class, class).WithParam(prop)
	}
	return obj, nil
}

// u16Of is a uint16 property's value (0 when NULL or absent).
func u16Of(inst *cim.Object, name string) uint16 {
	v, err := inst.Get(name)
	if err != nil {
		return 0
	}
	n, _ := v.V.(uint16)
	return n
}

// strOf is a string property's value ("" when NULL or absent).
func strOf(inst *cim.Object, name string) string {
	v, err := inst.Get(name)
	if err != nil {
		return ""
	}
	s, _ := v.V.(string)
	return s
}

func policyOf(inst *cim.Object) (uint16, error) {
	switch p := u16Of(inst, "OnFatalErrorPolicy"); p {
	case PolicyIgnore, PolicyDisable, PolicyRemove:
		return p, nil
	default:
		return 0, cim.Errorf(cim.EInvalidParameter, "OnFatalErrorPolicy %d is not one wbemd takes: 2 (Ignore), 3 (Disable) or 4 (Remove)", p).WithParam("OnFatalErrorPolicy")
	}
}

// destinationOf checks a listener destination and returns its URL.
func destinationOf(inst *cim.Object) (string, error) {
	d := strOf(inst, "Destination")
	u, err := url.Parse(d)
	switch {
	case d == "":
		return "", cim.Errorf(cim.EInvalidParameter, "%s.Destination is NULL: it must be the listener's http:// or https:// URL", inst.Class).WithParam("Destination")
	case err != nil:
		return "", cim.Errorf(cim.EInvalidParameter, "%s.Destination %q is not a URL: %v", inst.Class, d, err).WithParam("Destination")
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return "", cim.Errorf(cim.EInvalidParameter, "%s.Destination %q is not an http:// or https:// URL with a host", inst.Class, d).WithParam("Destination")
	}
	if p := u16Of(inst, "Protocol"); p != 0 && p != 2 {
		return "", cim.Errorf(cim.EInvalidParameter, "%s.Protocol %d is not 2 (CIM-XML), the only protocol wbemd exports indications in", inst.Class, p).WithParam("Protocol")
	}
	if p := u16Of(inst, "PersistenceType"); p < 1 || p > 3 {
		return "", cim.Errorf(cim.EInvalidParameter, "%s.PersistenceType %d is not 1 (Other), 2 (Permanent) or 3 (Transient)", inst.Class, p).WithParam("PersistenceType")
	}
	return d, nil
}

// retrySettings checks and returns a CIM_IndicationService's retry
// settings.
func retrySettings(inst *cim.Object) (attempts int, interval time.Duration, err error) {
	attempts, interval = DefaultDeliveryRetryAttempts, DefaultDeliveryRetryInterval
	if v, err := inst.Get("DeliveryRetryAttempts"); err == nil && !v.IsNull() {
		attempts = int(v.V.(uint16))
	}
	if v, err := inst.Get("DeliveryRetryInterval"); err == nil && !v.IsNull() {
		n := v.V.(uint32)
		if n == 0 {
			return 0, 0, cim.Errorf(cim.EInvalidParameter, "DeliveryRetryInterval is 0: it is a number of seconds, at least 1").WithParam("DeliveryRetryInterval")
		}
		interval = time.Duration(n) * time.Second
	}
	return attempts, interval, nil
}

// IndicationFilter is a checked CIM_IndicationFilter.
type IndicationFilter struct {
	Query, QueryLanguage string
	SourceNamespace      string // the namespace whose events it selects
}

// parseFilter checks a filter: its language, its source namespace (the
// interop namespace when NULL), which must exist, and its query there, as
// p may subscribe to it.
func (c *CIMOM) parseFilter(ctx context.Context, inst *cim.Object, p Principal) (*IndicationFilter, error) {
	f := &IndicationFilter{Query: strOf(inst, "Query"), QueryLanguage: strOf(inst, "QueryLanguage"), SourceNamespace: strOf(inst, "SourceNamespace")}
	if v, err := inst.Get("SourceNamespaces"); err == nil && !v.IsNull() {
		list, _ := v.V.([]string)
		switch {
		case len(list) > 1:
			return nil, cim.Errorf(cim.ENotSupported, "%s.SourceNamespaces names %d namespaces: wbemd takes one (a filter per namespace)", inst.Class, len(list)).WithParam("SourceNamespaces")
		case len(list) == 1 && f.SourceNamespace != "" && !cim.EqualFold(list[0], f.SourceNamespace):
			return nil, cim.Errorf(cim.EInvalidParameter, "%s.SourceNamespace %s and SourceNamespaces %s differ", inst.Class, f.SourceNamespace, list[0]).WithParam("SourceNamespaces")
		case len(list) == 1:
			f.SourceNamespace = list[0]
		}
	}
	if f.SourceNamespace == "" {
		f.SourceNamespace = InteropNamespace
	}
	if f.Query == "" {
		return nil, cim.Errorf(cim.EInvalidQuery, "%s.Query is NULL: it must be an event query", inst.Class).WithParam("Query")
	}
	switch strings.ToUpper(strings.TrimSpace(f.QueryLanguage)) {
	case "WQL", "DMTF:CQL", "CIM:CQL", "CQL":
	default:
		return nil, cim.Errorf(cim.EInvalidQueryType, "%s.QueryLanguage %q is not WQL or DMTF:CQL", inst.Class, f.QueryLanguage).WithParam("QueryLanguage")
	}
	ns, err := cim.NormalizeNamespace(f.SourceNamespace)
	if err != nil {
		return nil, cim.AsError(err).WithParam("SourceNamespace")
	}
	if a, ok := interopAlias(ns); ok {
		ns = a
	}
	if _, found, err := c.st.Get(ctx, nsKey(ns)); err != nil {
		return nil, err
	} else if !found {
		return nil, cim.Errorf(cim.EInvalidNamespace, "%s.SourceNamespace %s does not exist", inst.Class, f.SourceNamespace).WithParam("SourceNamespace")
	}
	svc, err := c.connect(ctx, ns, p)
	if err != nil {
		return nil, err
	}
	if err := svc.ValidateEventQuery(ctx, f.QueryLanguage, f.Query); err != nil {
		if e := cim.AsError(err); e.Status != cim.EAccessDenied {
			return nil, e.WithParam("Query")
		}
		return nil, err
	}
	f.SourceNamespace = ns
	return f, nil
}

// IndicationSubscription is a subscription as the deliverer runs it: its
// filter, its destination, its policy and state, its creator and the
// revision it was created at.
type IndicationSubscription struct {
	// Path is the subscription's relative path, and Key its canonical key
	// string (the same for every spelling of the path).
	Path, Key   string
	Filter      IndicationFilter
	Destination string
	Policy      uint16
	State       uint16
	Creator     Principal
	Created     int64 // revision of the subscription's creation
	// Namespace and Consumer are set for a WMI __FilterToConsumerBinding:
	// the binding's namespace and its consumer instance
	// (LogFileEventConsumer or CommandLineEventConsumer). Destination then
	// names the consumer, for logs.
	Namespace string
	Consumer  *cim.Object
}

// IndicationService is the CIM_IndicationService's retry settings.
type IndicationService struct {
	DeliveryRetryAttempts int
	DeliveryRetryInterval time.Duration
}

// IndicationSubscriptions reads every subscription of the interop
// namespace with its filter and destination, and the indication service's
// settings. A subscription whose filter or destination is gone or no
// longer valid is returned with State StateDisabled (and its parts
// unset): it is logged and not run, and keeps its cursor.
func (c *CIMOM) IndicationSubscriptions(ctx context.Context) ([]IndicationSubscription, IndicationService, error) {
	svc := IndicationService{DefaultDeliveryRetryAttempts, DefaultDeliveryRetryInterval}
	s, err := c.connect(ctx, InteropNamespace, self)
	if err != nil {
		return nil, svc, err
	}
	if e, err := s.CreateInstanceEnum(ctx, IndicationServiceClass, 0, nil); err == nil {
		for inst, err := range All(ctx, e) {
			if err != nil {
				return nil, svc, err
			}
			if a, i, err := retrySettings(inst); err == nil {
				svc = IndicationService{a, i}
			}
		}
	} else {
		return nil, svc, err
	}
	e, err := s.CreateInstanceEnum(ctx, IndicationSubscriptionClass, 0, nil)
	if err != nil {
		return nil, svc, err
	}
	var out []IndicationSubscription
	for inst, err := range All(ctx, e) {
		if err != nil {
			return nil, svc, err
		}
		sub, err := s.subscriptionOf(ctx, inst)
		if err != nil {
			c.log.Error("indication subscription not run", "subscription", sub.Path, "err", err)
			if sub.Key == "" {
				continue
			}
			sub.State = StateDisabled // kept (with its cursor), not run
		}
		out = append(out, sub)
	}
	return out, svc, nil
}

// subscriptionOf reads a subscription's parts.
func (s *services) subscriptionOf(ctx context.Context, inst *cim.Object) (IndicationSubscription, error) {
	var sub IndicationSubscription
	op, err := inst.ObjectPath()
	if err != nil {
		return sub, err
	}
	sub.Path, sub.Key = op.RelPath(), keyString(op)
	filter, err := s.referenced(ctx, inst, "Filter", IndicationFilterClass)
	if err != nil {
		return sub, err
	}
	f, err := s.c.parseFilter(ctx, filter, s.p)
	if err != nil {
		return sub, err
	}
	sub.Filter = *f
	handler, err := s.referenced(ctx, inst, "Handler", ListenerDestinationClass)
	if err != nil {
		return sub, err
	}
	if sub.Destination, err = destinationOf(handler); err != nil {
		return sub, err
	}
	if sub.Policy, err = policyOf(inst); err != nil {
		return sub, err
	}
	sub.State = u16Of(inst, "SubscriptionState")
	sub.Creator, sub.Created, err = s.creator(ctx, sub.Key, "subscription "+sub.Path)
	return sub, err
}

// creator reads the creator record of the subscription or binding whose
// keys are keys (what names it in errors), and the revision that wrote it.
func (s *services) creator(ctx context.Context, keys, what string) (Principal, int64, error) {
	var p Principal
	kv, found, err := s.c.st.Get(ctx, creatorKey(s.ns, keys))
	if err != nil {
		return p, 0, err
	}
	if !found {
		return p, 0, cim.Errorf(cim.EFailed, "%s has no creator record", what)
	}
	if err := json.Unmarshal(kv.Value, &p); err != nil {
		return p, 0, fmt.Errorf("cimom: creator of %s: %w", what, err)
	}
	return p, kv.ModRev, nil
}

// IndicationEvents returns the events of a subscription after revision
// from: its filter's query in its source namespace, run as its creator
// (see ExecNotificationQuery and Subscribe for the errors that end the
// sequence), in its language (WQL or DMTF:CQL).
func (c *CIMOM) IndicationEvents(ctx context.Context, sub *IndicationSubscription, from int64, progress time.Duration) (iter.Seq2[Event, error], error) {
	svc, err := c.Connect(ctx, sub.Filter.SourceNamespace, sub.Creator)
	if err != nil {
		return nil, err
	}
	return svc.ExecNotificationQuery(ctx, sub.Filter.QueryLanguage, sub.Filter.Query, NotificationOptions{From: from, Progress: progress})
}

// SetSubscriptionState writes a subscription's SubscriptionState (and
// TimeOfLastStateChange).
func (c *CIMOM) SetSubscriptionState(ctx context.Context, path string, state uint16) error {
	s, err := c.connect(ctx, InteropNamespace, self)
	if err != nil {
		return err
	}
	inst, err := s.GetObject(ctx, path, 0, nil)
	if err != nil {
		return err
	}
	inst = inst.Clone()
	if err := putValue(inst, "SubscriptionState", state); err != nil {
		return err
	}
	if err := putValue(inst, "TimeOfLastStateChange", cim.Value{Type: cim.TypeDatetime, V: cim.DatetimeFromTime(c.opts.Now())}); err != nil {
		return err
	}
	_, err = s.PutInstance(ctx, inst, FlagUpdateOnly, nil)
	return err
}

// RemoveSubscription deletes a subscription (OnFatalErrorPolicy Remove).
func (c *CIMOM) RemoveSubscription(ctx context.Context, path string) error {
	s, err := c.connect(ctx, InteropNamespace, self)
	if err != nil {
		return err
	}
	return s.DeleteInstance(ctx, path, 0, nil)
}

// WatchIndicationModel returns the events of the indication models after
// revision from: the interop namespace's DMTF model (filters,
// destinations, subscriptions and the indication service), WMI's
// permanent subscriptions in any namespace (filters, consumers, bindings)
// and the creation and deletion of namespaces: the deliverer's cue to
// read IndicationSubscriptions and ConsumerBindings again.
func (c *CIMOM) WatchIndicationModel(ctx context.Context, from int64) (iter.Seq2[Event, error], error) {
	classes := []string{IndicationFilterClass, ListenerDestinationClass, abstractSubscriptionClass, IndicationServiceClass, EventFilterClass, EventConsumerClass, BindingClass, namespaceClass}
	return c.Subscribe(ctx, SubscribeOptions{Namespace: "root", Deep: true, From: from, Principal: self, Classes: classes, Match: func(e *Event) bool {
		t := e.Target
		if t == nil {
			return false
		}
		if cim.EqualFold(e.Namespace, InteropNamespace) && (t.IsA(IndicationFilterClass) || t.IsA(ListenerDestinationClass) || t.IsA(abstractSubscriptionClass) || t.IsA(IndicationServiceClass)) {
			return true
		}
		return t.IsA(EventFilterClass) || t.IsA(EventConsumerClass) || t.IsA(BindingClass) || t.IsA(namespaceClass)
	}})
}

// Rev returns the revision of the store's last committed transaction.
func (c *CIMOM) Rev(ctx context.Context) (int64, error) { return c.st.Rev(ctx) }

// EarliestRevision is the smallest From a subscription may start at to
// receive every event the change feed still holds.
func (c *CIMOM) EarliestRevision(ctx context.Context) (int64, error) {
	held, err := c.feedHolds(ctx, 1)
	if err != nil || held {
		return 1, err
	}
	oldest, err := c.oldestHeld(ctx, 1)
	if err != nil {
		return 0, err
	}
	return oldest - 1, nil
}
