package cimom

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/store"
)

// entry is an intrinsic event with its place in the feed: the index of
// the event among those its revision raised. (Rev, idx) orders every event.
type entry struct {
	ev  Event
	ns  string // the folded namespace of ev
	idx int
}

func (e *entry) pos() position { return position{e.ev.Rev, e.idx} }

// position is a place in the feed: after the event idx of revision rev;
// idx is revisionEnd for "after all of revision rev".
type position struct {
	rev int64
	idx int
}

const revisionEnd = int(^uint(0) >> 1)

func (p position) before(q position) bool {
	return p.rev < q.rev || p.rev == q.rev && p.idx < q.idx
}

// done returns the last revision whose events all lie at or before p.
func (p position) done() int64 {
	if p.idx == revisionEnd {
		return p.rev
	}
	return p.rev - 1
}

// revDecoder turns the feed's events into intrinsic events, one revision
// at a time. The same code serves the CIMOM's reader and subscriptions that
// read the store's feed themselves, so that both number a revision's events
// alike.
//
// What a revision raises:
//   - a class record written or deleted: __Class{Creation,Modification,
//     Deletion}Event, the class resolved against its superclass (as the
//     revision left it, or as the repository holds it now);
//   - an instance record: __Instance{Creation,Modification,Deletion}Event,
//     and for a __Namespace instance also the __Namespace*Event;
//   - nothing for the records inside a namespace the same revision creates
//     or deletes (the __Namespace instance in its parent stands for them),
//     and nothing for the instances deleted with their class (a class
//     deletion or a force-mode class update: the class event stands for
//     them); nothing for qualifier declarations, namespace records and
//     index entries.
//
// The namespace rule needs the whole revision (namespace records sort
// after the records inside them), so a revision that writes a class record
// (they sort first) is held until it is complete (its Last event). Other
// revisions are decoded as they come.
type revDecoder struct {
	c   *CIMOM
	ctx context.Context
	out func(entry)
	// filter, if set, is the ring whose subscriptions' interest spares
	// the decoding of instance events nobody wants (the CIMOM's reader):
	// such an event is counted in the revision's numbering, and dropped.
	filter *ring
	// wanted caches, for the interest of version wantedFor, whether the
	// instances of a key class (folded) in a namespace (folded) may be
	// wanted; emptied when the interest or a class changes.
	wanted    map[string]map[string]bool
	wantedFor uint64

	rev      int64
	on       bool // decoding this revision
	first    bool // no event of rev seen yet
	held     bool // holding rev's events until it completes
	pending  []store.Event
	n        int             // index of the next event of rev
	nsChange map[string]bool // folded namespaces the revision creates or deletes
	classes  map[nameKey]bool
	gone     map[nameKey][]byte // class records the revision deletes

	// Read once per revision and namespace: the last namespace an event
	// was raised in (folded, and as named), and the revision's time.
	nsFolded, nsLabel string
	now               time.Time
}

// begin starts revision rev; on says whether to decode it.
func (d *revDecoder) begin(rev int64, on bool) {
	d.rev, d.on, d.first, d.held, d.n = rev, on, true, false, 0
	d.nsFolded, d.nsLabel, d.now = "", "", time.Time{}
	d.pending = d.pending[:0]
	clear(d.nsChange)
	clear(d.classes)
	clear(d.gone)
}

// add takes the next event of the current revision.
func (d *revDecoder) add(ev store.Event) {
	if !d.on {
		return
	}
	if ev.Type == store.EventPut && bytes.Equal(ev.Key, formatKey) && string(ev.Value) != strconv.Itoa(formatVersion) {
		// A format upgrade's revision (format.go) re-keys instances
		// without changing them: it raises nothing. The format record
		// sorts before every instance record, so none was decoded yet.
		d.on, d.held = false, false
		d.pending = d.pending[:0]
		return
	}
	if d.first {
		d.first = false
		d.held = len(ev.Key) > 0 && ev.Key[0] == 'c'
	}
	d.note(ev)
	if d.held {
		d.pending = append(d.pending, ev)
		return
	}
	d.decode(ev)
}

// flush decodes what the current revision holds: it is complete.
func (d *revDecoder) flush() {
	for _, ev := range d.pending {
		d.decode(ev)
	}
	d.pending = d.pending[:0]
	d.held = false
}

// note records what the rules need to know of the revision.
func (d *revDecoder) note(ev store.Event) {
	kind, parts, ok := keyParts(ev.Key, 2)
	if !ok && kind == 'n' {
		kind, parts, ok = keyParts(ev.Key, 1)
	}
	if !ok {
		return
	}
	switch kind {
	case 'n':
		if ev.Type == store.EventDelete || ev.PrevValue == nil {
			if d.nsChange == nil {
				d.nsChange = map[string]bool{}
			}
			d.nsChange[parts[0]] = true
		}
	case 'c':
		clear(d.wanted) // a class's ancestry may have changed
		k := nameKey{parts[0], parts[1]}
		if d.classes == nil {
			d.classes, d.gone = map[nameKey]bool{}, map[nameKey][]byte{}
		}
		d.classes[k] = true
		if ev.Type == store.EventDelete {
			d.gone[k] = ev.PrevValue
		}
	}
}

func (d *revDecoder) decode(ev store.Event) {
	k := ev.Key
	if len(k) < 2 || (k[0] != 'c' && k[0] != 'i') || k[1] != sep {
		return
	}
	kind := k[0]
	folded, _, ok := bytes.Cut(k[2:], []byte{sep})
	if !ok {
		return
	}
	if d.nsLabel == "" || string(folded) != d.nsFolded {
		d.nsFolded = string(folded)
		d.nsLabel = d.c.namespaceLabel(d.ctx, d.nsFolded)
	}
	if d.nsChange[d.nsFolded] {
		return
	}
	if d.now.IsZero() {
		d.now = d.c.opts.Now()
	}
	ns, nsFolded := d.nsLabel, d.nsFolded
	emit := func(class string, target, previous *cim.Object) {
		d.out(entry{ev: Event{Class: class, Namespace: ns, Target: target, Previous: previous, Time: d.now, Rev: d.rev, Index: d.n}, ns: nsFolded, idx: d.n})
		d.n++
	}
	if kind == 'c' {
		switch {
		case ev.Type == store.EventDelete:
			emit("__ClassDeletionEvent", d.class(ns, ev.PrevValue, 0), nil)
		case ev.PrevValue == nil:
			emit("__ClassCreationEvent", d.class(ns, ev.Value, 0), nil)
		default:
			emit("__ClassModificationEvent", d.class(ns, ev.Value, 0), d.class(ns, ev.PrevValue, 0))
		}
		return
	}
	if ev.Type == store.EventDelete && d.deletedWithClass(ns, nsFolded, ev.PrevValue) {
		return
	}
	if d.unwanted(ns, nsFolded, k) {
		d.n++ // its place in the revision, as a reader that decodes it numbers it
		d.filter.undecoded.Add(1)
		return
	}
	switch {
	case ev.Type == store.EventDelete:
		prev := d.instance(ns, ev.PrevValue)
		emit("__InstanceDeletionEvent", prev, nil)
		if prev.IsA(namespaceClass) {
			emit("__NamespaceDeletionEvent", prev, nil)
		}
	case ev.PrevValue == nil:
		inst, _ := d.put(ns, ev)
		emit("__InstanceCreationEvent", inst, nil)
		if inst.IsA(namespaceClass) {
			emit("__NamespaceCreationEvent", inst.Clone(), nil)
		}
	default:
		inst, prev := d.put(ns, ev)
		emit("__InstanceModificationEvent", inst, prev)
		if inst.IsA(namespaceClass) {
			emit("__NamespaceModificationEvent", inst.Clone(), prev)
		}
	}
}

// unwanted reports whether no subscription of the filter ring wants the
// event of the instance record at key k (in namespace ns): its key class
// is neither one of the wanted classes, nor derived from one, nor an
// ancestor of one. A __Namespace instance is always wanted (it raises a
// namespace event too), and so is one whose classes do not resolve.
func (d *revDecoder) unwanted(ns, nsFolded string, k []byte) bool {
	if d.filter == nil {
		return false
	}
	in := d.filter.want.Load()
	if in == nil || in.all {
		return false
	}
	kc, _, ok := bytes.Cut(k[3+len(nsFolded):], []byte{sep}) // i 0 <ns> 0 <keyclass> 0 <keys>
	if !ok || string(kc) == "__namespace" {
		return false
	}
	if d.wantedFor != in.version {
		clear(d.wanted)
		d.wantedFor = in.version
	}
	byClass := d.wanted[nsFolded]
	if want, ok := byClass[string(kc)]; ok {
		return !want
	}
	want := d.mayWant(ns, string(kc), in.classes)
	if byClass == nil {
		if d.wanted == nil {
			d.wanted = map[string]map[string]bool{}
		}
		byClass = map[string]bool{}
		d.wanted[nsFolded] = byClass
	}
	byClass[string(kc)] = want
	return !want
}

// mayWant reports whether an instance whose key class is kc may be of one
// of classes: kc is one of them, derives from one, or is an ancestor of
// one (some of its subclasses then are).
func (d *revDecoder) mayWant(ns, kc string, classes []string) bool {
	ci, err := d.c.resolve(d.ctx, ns, kc)
	if err != nil || ci == nil {
		return true
	}
	isOrDerives := func(cls *cim.Object, name string) bool {
		if cim.Fold(cls.Class) == name {
			return true
		}
		for _, a := range cls.Derivation {
			if cim.Fold(a) == name {
				return true
			}
		}
		return false
	}
	for _, c := range classes {
		if isOrDerives(ci.cls, c) {
			return true
		}
		if wi, err := d.c.resolve(d.ctx, ns, c); err == nil && wi != nil && isOrDerives(wi.cls, kc) {
			return true
		}
	}
	return false
}

// class returns a class record resolved against its superclass: one the
// revision deleted, else the repository's.
func (d *revDecoder) class(ns string, rec []byte, depth int) *cim.Object {
	local, err := cim.DecodeClass(rec)
	if err != nil {
		d.c.log.Error("change feed: a class record does not decode", "namespace", ns, "rev", d.rev, "err", err)
		return &cim.Object{Genus: cim.GenusClass, Namespace: ns, Server: d.c.opts.Server}
	}
	var parent *cim.Object
	if local.Superclass != "" {
		if rec, ok := d.gone[nameKey{cim.Fold(ns), cim.Fold(local.Superclass)}]; ok && depth < 256 {
			parent = d.class(ns, rec, depth+1)
		} else if ci, err := d.c.resolve(d.ctx, ns, local.Superclass); err == nil && ci != nil {
			parent = ci.cls
		}
	}
	cls := local
	if parent != nil {
		if derived, err := cim.Derive(parent, local); err == nil {
			cls = derived
		}
	}
	cls.Namespace, cls.Server = ns, d.c.opts.Server
	return cls
}

// instanceNote is what a write of an instance hands this CIMOM's readers
// of the change feed with its record (store.Op.Note), so that they need
// not decode what the writer has: the instance it stored, when its caller
// handed it over (HandOver) and it is what decoding the record gives
// (cim.Template.IsStored), and for an update the instance it replaced,
// which the writer decoded, with that one's record. Readers share it:
// read-only.
type instanceNote struct {
	inst, prev *cim.Object // either may be nil; Namespace and Server set, as the readers set them
	prevRec    []byte
}

// handOverKey marks a context whose writes hand their instances over.
type handOverKey struct{}

// HandOver returns a context under which PutInstance, PutInstanceCall,
// PutInstances, Put and Modify take the instances they are given: the
// caller will not change them, their properties or their values after the
// call, so that the events of the writes can carry them rather than what
// decoding the stored records gives anew. The doors, which decode a fresh
// instance from each request, write under it; a caller that goes on
// changing its instance must not.
func HandOver(ctx context.Context) context.Context {
	return context.WithValue(ctx, handOverKey{}, true)
}

// noteInstance returns the note of a write of inst, an instance of ci
// with Namespace and Server set, that replaces prev (decoded by the
// writer from prevRec; nil for a create): nil when no subscription wants
// its events, or when it has nothing to hand over. A note is taken as it
// is: the commit's compares guard that prev is the stored instance and
// that ci is the class at the write's revision.
func (c *CIMOM) noteInstance(ctx context.Context, ci *classInfo, inst, prev *cim.Object, prevRec []byte) any {
	if ci.tmpl == nil || !c.feed.ring.wantsNote(ci.cls) {
		return nil
	}
	var stored *cim.Object
	if handed, _ := ctx.Value(handOverKey{}).(bool); handed && ci.tmpl.IsStored(inst) {
		stored = inst
	}
	if stored == nil && prev == nil {
		return nil
	}
	if prev != nil {
		prev.Namespace, prev.Server = inst.Namespace, inst.Server
	}
	return &instanceNote{inst: stored, prev: prev, prevRec: prevRec}
}

// put returns the instances of a put's event: the new one and, for an
// update, the one it replaced; those the writer noted, else decoded.
func (d *revDecoder) put(ns string, ev store.Event) (inst, prev *cim.Object) {
	n, _ := ev.Note.(*instanceNote)
	if n != nil && n.inst != nil && n.inst.Namespace == ns && n.inst.Server == d.c.opts.Server {
		inst = n.inst
		if d.filter != nil {
			d.filter.noted.Add(1)
		}
	} else {
		inst = d.instance(ns, ev.Value)
	}
	if ev.PrevValue != nil {
		if n != nil && n.prev != nil && n.prev.Namespace == ns && bytes.Equal(n.prevRec, ev.PrevValue) {
			prev = n.prev
		} else {
			prev = d.instance(ns, ev.PrevValue)
		}
	}
	if checkNote != nil && n != nil {
		checkNote(d, ns, ev, inst, prev)
	}
	return inst, prev
}

// checkNote, when set (the package's tests set it), is called with every
// event whose instances a note gave, to compare them with the records'.
var checkNote func(d *revDecoder, ns string, ev store.Event, inst, prev *cim.Object)

// instance decodes an instance record against its class; if the class is
// gone, the event carries the class name alone.
func (d *revDecoder) instance(ns string, rec []byte) *cim.Object {
	inst, _, err := d.c.decodeInstance(d.ctx, ns, rec)
	if err != nil {
		name, _ := cim.DecodeInstanceClassName(rec)
		d.c.log.Warn("change feed: an instance record does not decode; its event carries the class name alone", "namespace", ns, "class", name, "rev", d.rev, "err", err)
		inst = &cim.Object{Genus: cim.GenusInstance, Class: name}
	}
	inst.Namespace, inst.Server = ns, d.c.opts.Server
	return inst
}

// deletedWithClass reports whether an instance was deleted because the
// revision deleted or rewrote its class or an ancestor.
func (d *revDecoder) deletedWithClass(ns, folded string, rec []byte) bool {
	if len(d.classes) == 0 {
		return false
	}
	name, err := cim.DecodeInstanceClassName(rec)
	if err != nil {
		return false
	}
	if d.classes[nameKey{folded, cim.Fold(name)}] {
		return true
	}
	ci, err := d.c.resolve(d.ctx, ns, name)
	if err != nil || ci == nil {
		return false
	}
	for _, a := range ci.cls.Derivation {
		if d.classes[nameKey{folded, cim.Fold(a)}] {
			return true
		}
	}
	return false
}
