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
	switch {
	case ev.Type == store.EventDelete:
		if d.deletedWithClass(ns, nsFolded, ev.PrevValue) {
			return
		}
		prev := d.instance(ns, ev.PrevValue)
		emit("__InstanceDeletionEvent", prev, nil)
		if prev.IsA(namespaceClass) {
			emit("__NamespaceDeletionEvent", prev, nil)
		}
	case ev.PrevValue == nil:
		inst := d.instance(ns, ev.Value)
		emit("__InstanceCreationEvent", inst, nil)
		if inst.IsA(namespaceClass) {
			emit("__NamespaceCreationEvent", inst.Clone(), nil)
		}
	default:
		inst, prev := d.instance(ns, ev.Value), d.instance(ns, ev.PrevValue)
		emit("__InstanceModificationEvent", inst, prev)
		if inst.IsA(namespaceClass) {
			emit("__NamespaceModificationEvent", inst.Clone(), prev)
		}
	}
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
