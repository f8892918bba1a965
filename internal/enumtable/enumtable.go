// Package enumtable keeps the enumerations a protocol door leaves open
// between requests: CIM-XML's pull contexts and WS-Enumeration's contexts.
// Each has a random id, belongs to the user who opened it, counts against
// a bound, and expires when unused for its lifetime. One request at a
// time uses a context: the table hands it out locked, and closes it only
// under its lock, so a request in flight finishes before an expiry or a
// shutdown releases its enumerator.
package enumtable

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Context is an open enumeration. Close releases what it holds; the table
// calls it once, with the context locked.
type Context interface {
	sync.Locker
	Close()
}

// ErrFull is returned by Add when the table holds its maximum.
var ErrFull = errors.New("enumtable: too many open enumerations")

// Table holds open enumerations by id. The zero value is empty and ready.
type Table[C Context] struct {
	mu sync.Mutex
	m  map[string]*entry[C]
}

type entry[C Context] struct {
	c      C
	owner  string
	life   time.Duration
	timer  *time.Timer
	closed bool // under c's lock
}

// close releases e once; c's lock is held.
func (e *entry[C]) close() {
	if e.closed {
		return
	}
	e.closed = true
	e.timer.Stop()
	e.c.Close()
}

// Add registers c for owner, to expire after life unused, and returns its
// id (prefix and 32 hex digits); ErrFull when max are open already.
func (t *Table[C]) Add(c C, prefix, owner string, life time.Duration, max int) (string, error) {
	var b [16]byte
	rand.Read(b[:])
	id := prefix + hex.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*entry[C]{}
	}
	if len(t.m) >= max {
		return "", ErrFull
	}
	e := &entry[C]{c: c, owner: owner, life: life}
	e.timer = time.AfterFunc(life, func() { t.Remove(id) })
	t.m[id] = e
	return id, nil
}

// ErrExists is returned by Restore when the id is open already.
var ErrExists = errors.New("enumtable: the id is open already")

// Restore registers c for owner under an id an earlier Add returned (a
// context kept across a restart), to expire after left unused, then after
// life unused at each use.
func (t *Table[C]) Restore(id string, c C, owner string, life, left time.Duration, max int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*entry[C]{}
	}
	if t.m[id] != nil {
		return ErrExists
	}
	if len(t.m) >= max {
		return ErrFull
	}
	e := &entry[C]{c: c, owner: owner, life: life}
	e.timer = time.AfterFunc(left, func() { t.Remove(id) })
	t.m[id] = e
	return nil
}

// Get returns owner's context id, locked, with its expiry restarted; ok is
// false when no such context is open for owner (never opened, another
// user's, released or expired).
func (t *Table[C]) Get(id, owner string) (c C, ok bool) {
	t.mu.Lock()
	e := t.m[id]
	t.mu.Unlock()
	if e == nil || e.owner != owner {
		return c, false
	}
	e.c.Lock()
	if e.closed {
		e.c.Unlock()
		return c, false
	}
	e.timer.Reset(e.life)
	return e.c, true
}

// SetLife gives owner's context id a new life, from now; false when no
// such context is open for owner.
func (t *Table[C]) SetLife(id, owner string, life time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[id]
	if e == nil || e.owner != owner {
		return false
	}
	e.life = life
	e.timer.Reset(life)
	return true
}

// Forget drops and closes the context id, whose lock the caller holds
// (from Get, or since Add).
func (t *Table[C]) Forget(id string) {
	if e := t.drop(id); e != nil {
		e.close()
	}
}

// Remove drops and closes the context id, after any request using it.
func (t *Table[C]) Remove(id string) {
	if e := t.drop(id); e != nil {
		e.c.Lock()
		e.close()
		e.c.Unlock()
	}
}

func (t *Table[C]) drop(id string) *entry[C] {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[id]
	delete(t.m, id)
	return e
}

// CloseAll removes every context (at shutdown: their enumerators hold the
// CIMOM open).
func (t *Table[C]) CloseAll() {
	t.mu.Lock()
	ids := make([]string, 0, len(t.m))
	for id := range t.m {
		ids = append(ids, id)
	}
	t.mu.Unlock()
	for _, id := range ids {
		t.Remove(id)
	}
}

// Len returns how many contexts are open.
func (t *Table[C]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
