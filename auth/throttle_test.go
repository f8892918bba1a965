package auth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wbemd/wbemd/store/bolt"
)

// clock is a settable clock for the throttle.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) { c.set(c.now().Add(d)) }

// logLines is a JSON slog handler's output (the handler serializes its
// writes; the tests read it when no login is in flight).
type logLines struct{ buf bytes.Buffer }

// records returns the logged records whose message is msg.
func (l *logLines) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// throttled returns users kept in a real store on disk, with a settable
// clock, a captured log, and a work factor of iter (the tests of the
// throttle do not need a slow hash). It adds the administrator "admin"
// with the password "right".
func throttled(t *testing.T, iter int) (*Users, *clock, *logLines) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "r.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	logs := &logLines{}
	u := NewWithOptions(db, Options{Logger: slog.New(slog.NewJSONHandler(&logs.buf, nil)), Now: c.now})
	u.iter = iter
	if err := u.Add(context.Background(), "admin", "right", true); err != nil {
		t.Fatal(err)
	}
	return u, c, logs
}

// fail makes a failed login and says whether it was checked (false: it
// was refused unchecked).
func fail(t *testing.T, u *Users, addr, name string) bool {
	t.Helper()
	_, err := u.Verify(context.Background(), addr, name, "wrong")
	switch {
	case errors.Is(err, ErrWrongCredentials):
		return true
	case errors.Is(err, ErrRateLimited):
		return false
	}
	t.Fatalf("Verify(%s, %s, wrong) = %v", addr, name, err)
	return false
}

// TestLockoutFromElsewhere: however many failures one address makes,
// against the administrator's name and against many others, the right
// password from another address is accepted at once; the guessing address
// itself is refused unchecked while it backs off, the right password too,
// even one verified (and remembered) before.
func TestLockoutFromElsewhere(t *testing.T) {
	ctx := context.Background()
	u, c, _ := throttled(t, 1000)
	const attacker = "203.0.113.7"
	// A login from the guessing address first: its remembered
	// verification must not let the right password through later.
	if _, err := u.Verify(ctx, attacker, "admin", "right"); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i := 0; i < 200; i++ {
		name := "admin"
		if i%2 == 1 {
			name = fmt.Sprintf("user%d", i)
		}
		if fail(t, u, attacker, name) {
			checked++
		}
		c.advance(100 * time.Millisecond)
	}
	if checked >= 200 || checked < int(clientBackoff.free) {
		t.Fatalf("%d of 200 guesses in 20 s were checked", checked)
	}
	if _, err := u.Verify(ctx, attacker, "admin", "right"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the right password from the guessing address while it backs off: %v, want ErrRateLimited", err)
	}
	for _, clean := range []string{"198.51.100.1", "203.0.113.8", "2001:db8::1", "::ffff:198.51.100.2"} {
		if p, err := u.Verify(ctx, clean, "admin", "right"); err != nil || !p.IsAdmin() {
			t.Fatalf("the right password from %s: %+v, %v", clean, p, err)
		}
	}
	// A success elsewhere does not clear the guesser's record.
	if _, err := u.Verify(ctx, attacker, "admin", "right"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the guessing address after a login elsewhere: %v, want ErrRateLimited", err)
	}
}

// TestBackoffGrows: past the free failures, each failure doubles the
// wait (read from the logged refusal), starting from the base, while less
// than one failure has been forgiven; kept up, guessing settles at about
// one guess per forgive, never a wait past the cap. The attempt just
// before a wait ends is refused, the one at its end is checked; the right
// password at the end of a wait is accepted and clears the record.
func TestBackoffGrows(t *testing.T) {
	u, c, logs := throttled(t, 1000)
	const addr = "192.0.2.1"
	for i := 0; i < int(pairBackoff.free); i++ {
		if !fail(t, u, addr, "admin") {
			t.Fatalf("free failure %d refused", i+1)
		}
	}
	start := c.now()
	var waits []time.Duration
	for len(waits) < 50 {
		if !fail(t, u, addr, "admin") {
			t.Fatalf("failure %d refused at the end of its wait", len(waits)+6)
		}
		before := len(logs.records(t, "login refused"))
		if fail(t, u, addr, "admin") {
			t.Fatalf("failure %d: the next attempt was checked at once", len(waits)+6)
		}
		refused := logs.records(t, "login refused")
		if len(refused) != before+1 {
			t.Fatalf("%d refusals logged, want %d", len(refused), before+1)
		}
		until, err := time.Parse(time.RFC3339Nano, refused[len(refused)-1]["until"].(string))
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, until.Sub(c.now()))
		c.set(until.Add(-time.Nanosecond))
		if fail(t, u, addr, "admin") {
			t.Fatalf("an attempt 1 ns before the end of a %v wait was checked", waits[len(waits)-1])
		}
		c.set(until)
	}
	t.Logf("waits: %v", waits)
	const doubling = 10 // 1+2+...+256 s: less than one forgive
	for i, w := range waits[:doubling] {
		if want := pairBackoff.base << i; w != want {
			t.Fatalf("waits %v: wait %d is %v, want %v", waits[:doubling], i+1, w, want)
		}
	}
	var sustained time.Duration
	for _, w := range waits[doubling:] {
		if w > pairBackoff.max {
			t.Fatalf("a wait of %v, past the cap %v", w, pairBackoff.max)
		}
		sustained += w
	}
	if per := sustained / time.Duration(len(waits)-doubling); per < pairBackoff.forgive/2 {
		t.Fatalf("sustained guessing: one guess per %v, want about one per %v", per, pairBackoff.forgive)
	}
	if _, err := u.Verify(context.Background(), addr, "admin", "right"); err != nil {
		t.Fatalf("the right password at the end of a wait: %v", err)
	}
	if !fail(t, u, addr, "admin") {
		t.Fatal("a failure after a successful login was refused")
	}
	t.Logf("%d guesses checked in %v", len(waits)+int(pairBackoff.free)+1, c.now().Sub(start))
}

// TestTyposForgiven: one failure every few minutes, kept up for a day, is
// never refused, and a guesser's record is forgotten after a quiet time.
func TestTyposForgiven(t *testing.T) {
	u, c, _ := throttled(t, 1000)
	for i := 0; i < 96; i++ {
		if !fail(t, u, "192.0.2.2", "admin") {
			t.Fatalf("typo %d refused", i+1)
		}
		c.advance(15 * time.Minute)
	}
	for fail(t, u, "192.0.2.3", "admin") {
	}
	c.advance(2 * time.Hour)
	for i := 0; i < int(pairBackoff.free); i++ {
		if !fail(t, u, "192.0.2.3", "admin") {
			t.Fatalf("after two quiet hours, failure %d refused", i+1)
		}
	}
}

// TestThrottleClients: an IPv6 client is its /64, an IPv4-mapped address
// is the IPv4 address.
func TestThrottleClients(t *testing.T) {
	ctx := context.Background()
	u, _, _ := throttled(t, 1000)
	for i := 0; fail(t, u, fmt.Sprintf("2001:db8:1:2::%x", i), fmt.Sprintf("u%d", i)); i++ {
		if i > 100 {
			t.Fatal("100 addresses of one /64 were never refused")
		}
	}
	if _, err := u.Verify(ctx, "2001:db8:1:2:ffff::1", "admin", "right"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the same /64: %v, want ErrRateLimited", err)
	}
	if _, err := u.Verify(ctx, "2001:db8:1:3::1", "admin", "right"); err != nil {
		t.Fatalf("the next /64: %v", err)
	}
	for fail(t, u, "192.0.2.9", "admin") {
	}
	if _, err := u.Verify(ctx, "::ffff:192.0.2.9", "admin", "right"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the IPv4-mapped form of a backing-off address: %v, want ErrRateLimited", err)
	}
}

// TestThrottleBounded: a guesser with many addresses and names fills the
// tables up to their bound and no further; the least recently failed keys
// make room, so an evicted address is checked again and the latest
// guessers are still refused.
func TestThrottleBounded(t *testing.T) {
	u, c, _ := throttled(t, 1)
	const limit = 64
	u.throttle = newThrottle(limit)
	for fail(t, u, "198.51.100.200", "admin") {
	}
	for i := 0; i < 50*limit; i++ {
		fail(t, u, fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), fmt.Sprintf("user%d-%s", i, bytes.Repeat([]byte("x"), 1000)))
		c.advance(time.Millisecond)
	}
	for fail(t, u, "198.51.100.201", "admin") {
	}
	for name, tb := range map[string]*table{"clients": u.throttle.clients, "pairs": u.throttle.pairs} {
		if len(tb.keys) > limit || tb.order.Len() != len(tb.keys) {
			t.Fatalf("%s: %d keys, %d in order; the bound is %d", name, len(tb.keys), tb.order.Len(), limit)
		}
	}
	if !fail(t, u, "198.51.100.200", "admin") {
		t.Fatal("an evicted address is still refused")
	}
	if fail(t, u, "198.51.100.201", "admin") {
		t.Fatal("the latest guesser was checked while backing off")
	}
}

// TestFailuresLogged: each failed login is logged with the client, the
// user and the reason; a client that backs off is logged once per wait,
// not once per refused attempt.
func TestFailuresLogged(t *testing.T) {
	ctx := context.Background()
	u, c, logs := throttled(t, 1000)
	fail(t, u, "192.0.2.4", "admin")
	fail(t, u, "192.0.2.4", "nobody")
	failed := logs.records(t, "login failed")
	if len(failed) != 2 {
		t.Fatalf("%d failures logged, want 2", len(failed))
	}
	for i, want := range []map[string]any{
		{"client": "192.0.2.4", "user": "admin", "reason": "wrong password", "level": "WARN"},
		{"client": "192.0.2.4", "user": "nobody", "reason": "unknown user", "level": "WARN"},
	} {
		for k, v := range want {
			if failed[i][k] != v {
				t.Fatalf("failure %d logged %v, want %s=%v", i+1, failed[i], k, v)
			}
		}
	}
	for fail(t, u, "192.0.2.4", "admin") {
	}
	for i := 0; i < 10; i++ {
		u.Verify(ctx, "192.0.2.4", "admin", "right")
	}
	refused := logs.records(t, "login refused")
	if len(refused) != 1 || refused[0]["client"] != "192.0.2.4" || refused[0]["user"] != "admin" || refused[0]["reason"] == "" {
		t.Fatalf("refusals logged: %v, want one with client, user and reason", refused)
	}
	// After the wait, a failure is checked and the next wait logged once.
	c.advance(time.Hour)
	if !fail(t, u, "192.0.2.4", "admin") {
		t.Fatal("refused an hour later")
	}
	for i := 0; i < 10; i++ {
		fail(t, u, "192.0.2.4", "admin")
	}
	if refused := logs.records(t, "login refused"); len(refused) != 2 {
		t.Fatalf("%d refusals logged, want 2", len(refused))
	}
}

// TestVerifyConcurrent: logins from many clients at once, the right
// password from clean addresses and a guesser's wrong ones, are each
// answered as if alone (and the race detector sees no race).
func TestVerifyConcurrent(t *testing.T) {
	ctx := context.Background()
	u, c, logs := throttled(t, 1000)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if g%2 == 0 {
					_, err := u.Verify(ctx, "203.0.113.66", "admin", "wrong")
					if !errors.Is(err, ErrWrongCredentials) && !errors.Is(err, ErrRateLimited) {
						errs <- err
					}
					c.advance(time.Millisecond)
					continue
				}
				if _, err := u.Verify(ctx, fmt.Sprintf("198.51.%d.%d", g, i), "admin", "right"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(logs.records(t, "login refused")) == 0 {
		t.Error("200 wrong passwords from one address in 0.2 s were never refused")
	}
}

// TestLongNameLogged: a user name longer than any user's is logged cut.
func TestLongNameLogged(t *testing.T) {
	u, _, logs := throttled(t, 1000)
	fail(t, u, "192.0.2.5", string(bytes.Repeat([]byte("é"), 10_000)))
	failed := logs.records(t, "login failed")
	if len(failed) != 1 || len(failed[0]["user"].(string)) > 260 {
		t.Fatalf("logged %v", failed)
	}
}
