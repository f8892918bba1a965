package cimom

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// WMI's permanent event subscriptions are three repository instances in
// one namespace (root/subscription, which wbemd creates, or any namespace
// where the classes are declared): an __EventFilter (a WQL event query
// and the namespace it watches), a consumer (LogFileEventConsumer or
// CommandLineEventConsumer, both __EventConsumer) and an
// __FilterToConsumerBinding associating the two. They are checked when
// they are written, like the DMTF model (a bad query, a missing filter or
// consumer stores nothing), a binding's creator is recorded with it, and
// package indication delivers a binding's events to its consumer as it
// delivers a DMTF subscription's to its listener: same cursor, same
// guarantees. Every creation of a consumer is logged.

// SubscriptionNamespace is WMI's namespace of permanent subscriptions.
const SubscriptionNamespace = "root/subscription"

// The classes of WMI's permanent subscriptions.
const (
	EventFilterClass       = "__EventFilter"
	EventConsumerClass     = "__EventConsumer"
	BindingClass           = "__FilterToConsumerBinding"
	LogFileConsumerClass   = "LogFileEventConsumer"
	CommandConsumerClass   = "CommandLineEventConsumer"
	DefaultMaximumFileSize = 65535 // LogFileEventConsumer.MaximumFileSize's default (WMI's)
)

// wmiSubscriptionClasses are the classes, parents first, with WMI's
// properties (MS-WMI and the WMI SDK's system and standard consumer
// classes); the properties wbemd does not act on are accepted and kept.
// The system classes (__EventFilter, __EventConsumer,
// __FilterToConsumerBinding) are in every namespace, as in WMI; the
// standard consumers are declared in root/subscription, and in another
// namespace when an administrator compiles them there.
func wmiSubscriptionClasses() (system, consumers []*cim.Object) {
	str, u8, u32, u64, boolean := cim.TypeString, cim.TypeUint8, cim.TypeUint32, cim.TypeUint64, cim.TypeBoolean
	key := keyQualifier()
	prop, def, class := nullProp, defaultProp, systemClass
	ref := func(name, class string) cim.Property { return refProp(name, class, key) }
	yes := cim.Value{Type: cim.TypeBoolean, V: true}
	sid := prop("CreatorSID", u8.ArrayOf())
	binding := class(BindingClass, "__IndicationRelated", false,
		ref("Filter", EventFilterClass), ref("Consumer", EventConsumerClass),
		def("DeliverSynchronously", cim.Value{Type: boolean, V: false}), prop("DeliveryQoS", u32),
		def("MaintainSecurityContext", cim.Value{Type: boolean, V: false}),
		def("SlowDownProviders", cim.Value{Type: boolean, V: false}), sid)
	binding.Qualifiers = append(binding.Qualifiers, cim.Qualifier{Name: "Association", Value: yes, Flavor: cim.FlavorToSubclass | cim.FlavorDisableOverride})
	system = []*cim.Object{
		class(EventFilterClass, "__IndicationRelated", false,
			prop("Name", str, key), prop("Query", str), def("QueryLanguage", cim.Value{Type: str, V: "WQL"}),
			prop("EventNamespace", str), prop("EventAccess", str), sid),
		class(EventConsumerClass, "__IndicationRelated", true,
			prop("MachineName", str), prop("MaximumQueueSize", u32), sid),
		binding,
	}
	consumers = []*cim.Object{
		class(LogFileConsumerClass, EventConsumerClass, false,
			prop("Name", str, key), prop("Filename", str), prop("Text", str),
			def("MaximumFileSize", cim.Value{Type: u64, V: uint64(DefaultMaximumFileSize)}),
			def("IsUnicode", cim.Value{Type: boolean, V: false})),
		class(CommandConsumerClass, EventConsumerClass, false,
			prop("Name", str, key), prop("CommandLineTemplate", str), prop("ExecutablePath", str),
			prop("WorkingDirectory", str), def("KillTimeout", cim.Value{Type: u32, V: uint32(0)}),
			def("CreateNewConsole", cim.Value{Type: boolean, V: false}), def("CreateNewProcessGroup", cim.Value{Type: boolean, V: false}),
			def("CreateSeparateWowVdm", cim.Value{Type: boolean, V: false}), def("CreateSharedWowVdm", cim.Value{Type: boolean, V: false}),
			prop("DesktopName", str), prop("FillAttribute", u32), def("ForceOffFeedback", cim.Value{Type: boolean, V: false}),
			def("ForceOnFeedback", cim.Value{Type: boolean, V: false}), def("Priority", cim.Value{Type: u32, V: uint32(32)}),
			def("RunInteractively", cim.Value{Type: boolean, V: false}), prop("ShowWindowCommand", u32),
			def("UseDefaultErrorMode", cim.Value{Type: boolean, V: false}), prop("WindowTitle", str),
			prop("XCoordinate", u32), prop("XNumCharacters", u32), prop("XSize", u32),
			prop("YCoordinate", u32), prop("YNumCharacters", u32), prop("YSize", u32)),
	}
	return system, consumers
}

// serveSubscriptions declares the system classes of permanent
// subscriptions in the namespaces that lack them (a repository older than
// them), creates root/subscription if it is missing (it inherits root's
// rights) and declares the standard consumers there.
func (c *CIMOM) serveSubscriptions(ctx context.Context) error {
	system, consumers := wmiSubscriptionClasses()
	system = onceEach(append(system, extrinsicClasses()...)) // repositories made before wbemd raised them
	names, err := c.Namespaces(ctx)
	if err != nil {
		return err
	}
	for _, ns := range names {
		if err := c.DeclareClasses(ctx, ns, system); err != nil {
			return fmt.Errorf("cimom: %s: %w", ns, err)
		}
	}
	if _, err := c.CreateNamespace(ctx, SubscriptionNamespace, self); err != nil && cim.StatusOf(err) != cim.ETransactionConflict {
		return fmt.Errorf("cimom: %s: %w", SubscriptionNamespace, err)
	}
	if err := c.DeclareClasses(ctx, SubscriptionNamespace, append(system, consumers...)); err != nil {
		return fmt.Errorf("cimom: %s classes: %w", SubscriptionNamespace, err)
	}
	return nil
}

// isWMISubscriptionClass reports whether a class is one of the permanent
// subscription classes.
func isWMISubscriptionClass(cls *cim.Object) bool {
	return cls.IsA(EventFilterClass) || cls.IsA(EventConsumerClass) || cls.IsA(BindingClass)
}

// wmiPut checks an instance of the permanent subscription classes before
// it is written; handled is false for other classes.
func (s *services) wmiPut(ctx context.Context, ci *classInfo, inst, prev *cim.Object, keys string) (ops []store.Op, handled bool, err error) {
	switch {
	case ci.cls.IsA(EventFilterClass):
		_, err := s.c.parseEventFilter(ctx, s.ns, inst, s.p)
		return nil, true, err
	case ci.cls.IsA(EventConsumerClass):
		if !s.p.IsAdmin() {
			return nil, true, cim.Errorf(cim.EAccessDenied, "only an administrator creates or changes a %s (it writes files or runs commands on the server, as in WMI)", inst.Class)
		}
		if err := checkConsumer(inst); err != nil {
			return nil, true, err
		}
		if prev == nil {
			rel := inst.Class
			if op, err := inst.ObjectPath(); err == nil {
				rel = op.RelPath()
			}
			s.c.log.Info("permanent event consumer created", "user", s.p.Name, "remote", s.p.Remote, "namespace", s.ns, "consumer", rel,
				"filename", strOf(inst, "Filename"), "command", strOf(inst, "CommandLineTemplate"), "executable", strOf(inst, "ExecutablePath"))
		}
		return nil, true, nil
	case ci.cls.IsA(BindingClass):
		if !s.p.IsAdmin() {
			return nil, true, cim.Errorf(cim.EAccessDenied, "only an administrator binds a filter to LogFileEventConsumer or CommandLineEventConsumer (as in WMI)")
		}
		filter, err := s.localReferenced(ctx, inst, "Filter", EventFilterClass)
		if err != nil {
			return nil, true, err
		}
		if _, err := s.c.parseEventFilter(ctx, s.ns, filter, s.p); err != nil {
			return nil, true, err
		}
		if _, err := s.localReferenced(ctx, inst, "Consumer", EventConsumerClass); err != nil {
			return nil, true, err
		}
		if prev != nil {
			return nil, true, nil // the creator is the first writer's
		}
		rec, err := json.Marshal(s.p)
		if err != nil {
			return nil, true, fmt.Errorf("cimom: binding creator: %w", err)
		}
		return []store.Op{store.Put(creatorKey(s.ns, keys), rec)}, true, nil
	}
	return nil, false, nil
}

// wmiDelete returns the writes that go with the delete of a binding (its
// creator record). As in WMI, a filter or consumer may be deleted while a
// binding names it: the binding is then not run (and logged).
func (s *services) wmiDelete(ci *classInfo, keys string) ([]store.Op, bool) {
	switch {
	case ci.cls.IsA(BindingClass):
		return []store.Op{store.Delete(creatorKey(s.ns, keys))}, true
	case isWMISubscriptionClass(ci.cls):
		return nil, true
	}
	return nil, false
}

// checkConsumer checks a standard consumer's settings.
func checkConsumer(inst *cim.Object) error {
	switch {
	case inst.IsA(LogFileConsumerClass):
		f := strOf(inst, "Filename")
		if f == "" || !filepath.IsAbs(f) {
			return cim.Errorf(cim.EInvalidParameter, "%s.Filename %q must be an absolute file name", inst.Class, f).WithParam("Filename")
		}
	case inst.IsA(CommandConsumerClass):
		if strings.TrimSpace(strOf(inst, "CommandLineTemplate")) == "" && strOf(inst, "ExecutablePath") == "" {
			return cim.Errorf(cim.EInvalidParameter, "%s: CommandLineTemplate and ExecutablePath are both NULL: one names the command", inst.Class).WithParam("CommandLineTemplate")
		}
		if p := strOf(inst, "ExecutablePath"); p != "" && !filepath.IsAbs(p) {
			return cim.Errorf(cim.EInvalidParameter, "%s.ExecutablePath %q must be an absolute file name", inst.Class, p).WithParam("ExecutablePath")
		}
		if d := strOf(inst, "WorkingDirectory"); d != "" && !filepath.IsAbs(d) {
			return cim.Errorf(cim.EInvalidParameter, "%s.WorkingDirectory %q must be an absolute directory name", inst.Class, d).WithParam("WorkingDirectory")
		}
	default:
		return cim.Errorf(cim.ENotSupported, "%s is not a consumer wbemd runs: LogFileEventConsumer or CommandLineEventConsumer", inst.Class)
	}
	return nil
}

// localReferenced reads the instance a reference property of inst names,
// in inst's namespace, and checks that it is a class.
func (s *services) localReferenced(ctx context.Context, inst *cim.Object, prop, class string) (*cim.Object, error) {
	v, err := inst.Get(prop)
	if err != nil || v.IsNull() {
		return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s is NULL: it must name a %s in %s", inst.Class, prop, class, s.ns).WithParam(prop)
	}
	text, _ := v.V.(string)
	p, err := cim.ParsePath(text)
	if err != nil {
		return nil, cim.Errorf(cim.EInvalidObjectPath, "%s.%s: %v", inst.Class, prop, err).WithParam(prop)
	}
	if p.Namespace != "" && !cim.EqualFold(strings.Trim(strings.ReplaceAll(p.Namespace, `\`, "/"), "/"), s.ns) {
		return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s names an instance of namespace %s: it must be in %s, the binding's", inst.Class, prop, p.Namespace, s.ns).WithParam(prop)
	}
	local := *p
	local.Namespace, local.Server = "", ""
	obj, err := s.GetObject(ctx, local.String(), 0, nil)
	if err != nil {
		if st := cim.StatusOf(err); st == cim.ENotFound || st == cim.EInvalidClass {
			return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s names %s, which does not exist in %s: create it first", inst.Class, prop, local.String(), s.ns).WithParam(prop)
		}
		return nil, err
	}
	if !obj.IsA(class) {
		return nil, cim.Errorf(cim.EInvalidParameter, "%s.%s names a %s, not a %s", inst.Class, prop, obj.Class, class).WithParam(prop)
	}
	return obj, nil
}

// parseEventFilter checks an __EventFilter of namespace ns: WQL, its
// EventNamespace (ns when NULL), which must exist, and its query there,
// as p may subscribe to it.
func (c *CIMOM) parseEventFilter(ctx context.Context, ns string, inst *cim.Object, p Principal) (*IndicationFilter, error) {
	f := &IndicationFilter{Query: strOf(inst, "Query"), QueryLanguage: strOf(inst, "QueryLanguage"), SourceNamespace: strOf(inst, "EventNamespace")}
	if f.Query == "" {
		return nil, cim.Errorf(cim.EInvalidQuery, "%s.Query is NULL: it must be an event query", inst.Class).WithParam("Query")
	}
	if !strings.EqualFold(strings.TrimSpace(f.QueryLanguage), "WQL") {
		return nil, cim.Errorf(cim.EInvalidQueryType, "%s.QueryLanguage %q is not WQL", inst.Class, f.QueryLanguage).WithParam("QueryLanguage")
	}
	if f.SourceNamespace == "" {
		f.SourceNamespace = ns
	}
	en, err := cim.NormalizeNamespace(f.SourceNamespace)
	if err != nil {
		return nil, cim.AsError(err).WithParam("EventNamespace")
	}
	if _, found, err := c.st.Get(ctx, nsKey(en)); err != nil {
		return nil, err
	} else if !found {
		return nil, cim.Errorf(cim.EInvalidNamespace, "%s.EventNamespace %s does not exist", inst.Class, f.SourceNamespace).WithParam("EventNamespace")
	}
	svc, err := c.connect(ctx, en, p)
	if err != nil {
		return nil, err
	}
	if err := svc.ValidateEventQuery(ctx, "WQL", f.Query); err != nil {
		if e := cim.AsError(err); e.Status != cim.EAccessDenied {
			return nil, e.WithParam("Query")
		}
		return nil, err
	}
	f.SourceNamespace, f.QueryLanguage = en, "WQL"
	return f, nil
}

// ConsumerBindings reads every __FilterToConsumerBinding of the
// repository's namespaces with its filter and consumer, as the deliverer
// runs them (Consumer set, Policy Ignore: a failing consumer is retried,
// nothing is skipped). A binding whose filter or consumer is gone or no
// longer valid is returned with State StateDisabled: it is logged and not
// run, and keeps its cursor.
func (c *CIMOM) ConsumerBindings(ctx context.Context) ([]IndicationSubscription, error) {
	nss, err := c.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	var out []IndicationSubscription
	for _, ns := range nss {
		s, err := c.connect(ctx, ns, self)
		if err != nil {
			return nil, err
		}
		if _, found, err := c.st.Get(ctx, classKey(ns, BindingClass)); err != nil {
			return nil, err
		} else if !found {
			continue // not declared here
		}
		e, err := s.CreateInstanceEnum(ctx, BindingClass, 0, nil)
		if err != nil {
			return nil, err
		}
		for inst, err := range All(ctx, e) {
			if err != nil {
				return nil, err
			}
			sub, err := s.bindingOf(ctx, inst)
			if err != nil {
				c.log.Error("event consumer binding not run", "namespace", ns, "binding", sub.Path, "err", err)
				if sub.Key == "" {
					continue
				}
				sub.State = StateDisabled
			}
			out = append(out, sub)
		}
	}
	return out, nil
}

// bindingOf reads a binding's parts.
func (s *services) bindingOf(ctx context.Context, inst *cim.Object) (IndicationSubscription, error) {
	sub := IndicationSubscription{Namespace: s.ns, Policy: PolicyIgnore, State: StateEnabled}
	op, err := inst.ObjectPath()
	if err != nil {
		return sub, err
	}
	keys := keyString(op)
	sub.Path, sub.Key = op.RelPath(), "wmi\x00"+cim.Fold(s.ns)+"\x00"+keys
	if sub.Creator, sub.Created, err = s.creator(ctx, keys, "binding "+sub.Path); err != nil {
		return sub, err
	}
	if !sub.Creator.IsAdmin() {
		return sub, cim.Errorf(cim.EAccessDenied, "binding %s was created by %s, who is not an administrator", sub.Path, sub.Creator.Name)
	}
	filter, err := s.localReferenced(ctx, inst, "Filter", EventFilterClass)
	if err != nil {
		return sub, err
	}
	f, err := s.c.parseEventFilter(ctx, s.ns, filter, sub.Creator)
	if err != nil {
		return sub, err
	}
	sub.Filter = *f
	consumer, err := s.localReferenced(ctx, inst, "Consumer", EventConsumerClass)
	if err != nil {
		return sub, err
	}
	if err := checkConsumer(consumer); err != nil {
		return sub, err
	}
	sub.Consumer = consumer
	if p, err := consumer.ObjectPath(); err == nil {
		sub.Destination = s.ns + ":" + p.RelPath()
	}
	return sub, nil
}
