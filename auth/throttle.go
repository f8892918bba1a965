package auth

import (
	"container/list"
	"crypto/sha256"
	"math"
	"net/netip"
	"time"

	"github.com/wbemd/wbemd/cim"
)

// Failed logins are throttled by client, never by user alone, so that a
// client that guesses cannot lock anybody else out: a client with no
// recent failures is always checked. Two tables count failures: one per
// client and user name (a guesser of one password), one per client (a
// guesser of many user names). Past a table's free failures, each further
// failure makes that key wait twice as long as the one before, up to a
// cap; failures are forgiven at a steady rate, so an occasional typing
// error never accumulates into a wait. While a key waits, every attempt
// from it is refused unchecked, the right password too: checking would
// let the guesser go on guessing, and the remembered verifications would
// answer a guess of a recently used password at no cost at all.
//
// A client is its IP address, or its /64 network for IPv6, since one host
// commonly holds a whole /64. Each table holds at most a fixed number of
// keys; the key that failed least recently makes room for a new one, so a
// guesser with many addresses costs memory up to that bound, and evicting
// a key only ever lets its client be checked again.

// backoff is the policy of one table.
type backoff struct {
	free    float64       // failures made before the first wait
	forgive time.Duration // one failure is forgiven per forgive of time
	base    time.Duration // the first wait
	max     time.Duration // the longest wait
}

var (
	// pairBackoff: a client's guesses of one user's password. Kept up,
	// guessing settles at about one guess per forgive.
	pairBackoff = backoff{free: 5, forgive: 10 * time.Minute, base: time.Second, max: 15 * time.Minute}
	// clientBackoff: a client's failures whatever the user names.
	clientBackoff = backoff{free: 20, forgive: 2 * time.Minute, base: time.Second, max: 15 * time.Minute}
)

// maxTracked is the number of keys each table holds.
const maxTracked = 10_000

// wait is how long a key waits after n failures past the free ones.
func (b backoff) wait(n int) time.Duration {
	if n > 40 {
		return b.max
	}
	d := b.base << (n - 1)
	if d <= 0 || d > b.max {
		return b.max
	}
	return d
}

// strike is one key's record of recent failures.
type strike struct {
	key   [32]byte
	score float64   // failures not yet forgiven at last
	last  time.Time // the latest failure
	until time.Time // attempts before this are refused unchecked
	noted time.Time // the until last reported in the log
}

// table counts failures per key; see the top of this file.
type table struct {
	policy backoff
	limit  int
	keys   map[[32]byte]*list.Element
	order  list.List // of *strike, the least recently failed first
}

func newTable(policy backoff, limit int) *table {
	return &table{policy: policy, limit: limit, keys: map[[32]byte]*list.Element{}}
}

// score is s's failures not yet forgiven at now.
func (t *table) score(s *strike, now time.Time) float64 {
	return max(s.score-float64(now.Sub(s.last))/float64(t.policy.forgive), 0)
}

// waiting returns key's strike if the key must wait at now, else nil.
func (t *table) waiting(key [32]byte, now time.Time) *strike {
	if e := t.keys[key]; e != nil && now.Before(e.Value.(*strike).until) {
		return e.Value.(*strike)
	}
	return nil
}

// fail records a failure of key at now.
func (t *table) fail(key [32]byte, now time.Time) {
	var s *strike
	if e := t.keys[key]; e != nil {
		s = e.Value.(*strike)
		s.score = t.score(s, now)
		t.order.MoveToBack(e)
	} else {
		t.prune(now)
		if len(t.keys) >= t.limit {
			t.remove(t.order.Front())
		}
		s = &strike{key: key}
		t.keys[key] = t.order.PushBack(s)
	}
	s.score++
	s.last = now
	if over := math.Ceil(s.score) - t.policy.free; over > 0 {
		s.until = now.Add(t.policy.wait(int(over)))
	}
}

// forget drops key's failures.
func (t *table) forget(key [32]byte) {
	if e := t.keys[key]; e != nil {
		t.remove(e)
	}
}

// prune drops the least recently failed keys while they have nothing
// left to remember.
func (t *table) prune(now time.Time) {
	for e := t.order.Front(); e != nil; e = t.order.Front() {
		s := e.Value.(*strike)
		if t.score(s, now) > 0 || now.Before(s.until) {
			return
		}
		t.remove(e)
	}
}

func (t *table) remove(e *list.Element) {
	delete(t.keys, e.Value.(*strike).key)
	t.order.Remove(e)
}

// throttle is the two tables of failed logins.
type throttle struct {
	clients, pairs *table
}

func newThrottle(limit int) *throttle {
	return &throttle{clients: newTable(clientBackoff, limit), pairs: newTable(pairBackoff, limit)}
}

// clientOf is the throttling identity of a client address: the IP address,
// or its /64 for IPv6; an address that is not an IP address is itself.
func clientOf(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if ip = ip.Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64) // 64 is valid for every IPv6 address
		return p.String()
	}
	return ip.String()
}

// keys returns the client and pair keys of a login attempt. They are
// hashes, so that a key's size is bounded whatever the user name.
func keys(addr, name string) (c, p [32]byte) {
	cl := clientOf(addr)
	return sha256.Sum256([]byte(cl)), sha256.Sum256([]byte(cl + "\x00" + cim.Fold(name)))
}

// refusal says why an attempt is refused unchecked.
type refusal struct {
	reason string
	until  time.Time
	first  bool // the first refusal of this wait: to be logged
}

// check returns why an attempt from addr for name at now is refused, or
// nil if it is to be checked.
func (th *throttle) check(addr, name string, now time.Time) *refusal {
	if th.empty() {
		return nil // the common case: no failure to remember, nothing to hash
	}
	c, p := keys(addr, name)
	var s *strike
	reason := ""
	if ps := th.pairs.waiting(p, now); ps != nil {
		s, reason = ps, "too many failed logins for this user from this client"
	}
	if cs := th.clients.waiting(c, now); cs != nil && (s == nil || cs.until.After(s.until)) {
		s, reason = cs, "too many failed logins from this client"
	}
	if s == nil {
		return nil
	}
	r := &refusal{reason: reason, until: s.until, first: !s.noted.Equal(s.until)}
	s.noted = s.until
	return r
}

// empty reports whether no key has failures to remember.
func (th *throttle) empty() bool { return len(th.clients.keys) == 0 && len(th.pairs.keys) == 0 }

// failed records a failed attempt.
func (th *throttle) failed(addr, name string, now time.Time) {
	c, p := keys(addr, name)
	th.clients.fail(c, now)
	th.pairs.fail(p, now)
}

// succeeded forgets the failures of this user from this client; the
// client's other failures are forgotten only with time, so that a guesser
// who knows one account cannot clear its record by logging in with it.
func (th *throttle) succeeded(addr, name string) {
	if len(th.pairs.keys) == 0 {
		return
	}
	_, p := keys(addr, name)
	th.pairs.forget(p)
}
