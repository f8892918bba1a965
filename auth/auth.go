// Package auth keeps wbemd's users in the repository's store and checks
// HTTP Basic credentials against them. Passwords are stored as PBKDF2-
// SHA256 hashes with a per-user salt; a verified password is remembered
// (as a hash) until the user's record changes, so that the slow key
// derivation runs once per credential, not once per request.
//
// Verify takes the same time whether the user exists or not: a name that
// is not a user's is checked against a dummy hash with the same work
// factor. Failed logins are logged, and throttled per client and per
// client and user name with an exponential back-off (throttle.go), so
// that a guesser never locks out a user who logs in from elsewhere.
package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
)

// Iterations is the PBKDF2 work factor of new password hashes.
const Iterations = 210_000

// userPrefix is the store prefix of user records; it is outside every
// namespace's key space.
var userPrefix = []byte("u\x00")

type record struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups,omitempty"`
	Salt   []byte   `json:"salt"`
	Hash   []byte   `json:"hash"`
	Iter   int      `json:"iter"`
}

// maxIterations bounds the work factor read from a user record, so that a
// damaged record cannot make one login take hours.
const maxIterations = 100 * Iterations

// Users is the user store.
type Users struct {
	st   store.Store
	log  *slog.Logger
	now  func() time.Time
	iter int // the work factor of new hashes and of the dummy one

	// A name that is not a user's is checked against this hash, at the
	// same cost as a user's.
	dummySalt, dummyHash []byte

	mu       sync.Mutex
	verified map[[32]byte]verifiedUser // sha256(name, password) -> user
	throttle *throttle                 // recent failed logins
}

type verifiedUser struct {
	p      cimom.Principal
	modRev int64 // of the user record verified against
	seen   int64 // the store's revision when that record was last read
}

// Options tune a Users.
type Options struct {
	Logger *slog.Logger     // failed logins are logged here (default slog.Default())
	Now    func() time.Time // the clock of failure throttling (default time.Now)
}

// New returns the user store kept in st, with the default Options.
func New(st store.Store) *Users {
	return NewWithOptions(st, Options{})
}

// NewWithOptions returns the user store kept in st.
func NewWithOptions(st store.Store, opts Options) *Users {
	u := &Users{st: st, log: opts.Logger, now: opts.Now, iter: Iterations,
		dummySalt: make([]byte, 16), dummyHash: make([]byte, 32),
		verified: map[[32]byte]verifiedUser{}, throttle: newThrottle(maxTracked)}
	if u.log == nil {
		u.log = slog.Default()
	}
	if u.now == nil {
		u.now = time.Now
	}
	rand.Read(u.dummySalt)
	rand.Read(u.dummyHash)
	return u
}

func userKey(name string) []byte {
	return append(append([]byte(nil), userPrefix...), cim.Fold(name)...)
}

func checkName(name string) error {
	if name == "" || len(name) > 256 || strings.ContainsAny(name, ":\x00\r\n") {
		return cim.Errorf(cim.EInvalidParameter, "invalid user name %q", name)
	}
	return nil
}

func hash(password string, salt []byte, iter int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, password, salt, iter, 32)
}

// Add creates a user; admin puts it in the Administrators group.
func (u *Users) Add(ctx context.Context, name, password string, admin bool) error {
	return u.put(ctx, name, password, admin, true)
}

// SetPassword changes a user's password.
func (u *Users) SetPassword(ctx context.Context, name, password string) error {
	return u.put(ctx, name, password, false, false)
}

func (u *Users) put(ctx context.Context, name, password string, admin, create bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	if password == "" {
		return cim.Errorf(cim.EInvalidParameter, "a password cannot be empty")
	}
	kv, found, err := u.st.Get(ctx, userKey(name))
	if err != nil {
		return err
	}
	rec := record{Name: name, Iter: u.iter}
	switch {
	case create && found:
		return cim.Errorf(cim.EAlreadyExists, "user %s already exists", name)
	case !create && !found:
		return cim.Errorf(cim.ENotFound, "user %s does not exist", name)
	case found:
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("auth: user record %s: %w", name, err)
		}
		rec.Iter = u.iter
	}
	if admin {
		rec.Groups = []string{cimom.GroupAdministrators}
	}
	rec.Salt = make([]byte, 16)
	rand.Read(rec.Salt)
	if rec.Hash, err = hash(password, rec.Salt, rec.Iter); err != nil {
		return err
	}
	data, _ := json.Marshal(rec)
	_, err = u.st.Txn(ctx, []store.Compare{{Key: userKey(name), ModRev: kv.ModRev}}, []store.Op{store.Put(userKey(name), data)})
	if errors.Is(err, store.ErrCompareFailed) {
		return cim.Errorf(cim.ETransactionConflict, "user %s changed meanwhile; retry", name)
	}
	return err
}

// Delete removes a user.
func (u *Users) Delete(ctx context.Context, name string) error {
	_, found, err := u.st.Get(ctx, userKey(name))
	if err != nil {
		return err
	}
	if !found {
		return cim.Errorf(cim.ENotFound, "user %s does not exist", name)
	}
	_, err = u.st.Txn(ctx, nil, []store.Op{store.Delete(userKey(name))})
	return err
}

// User is a user as listed: its name, its groups, and whether it is an
// administrator (a member of Administrators).
type User struct {
	Name   string
	Groups []string
	Admin  bool
}

// List returns every user by name.
func (u *Users) List(ctx context.Context) ([]User, error) {
	var out []User
	for su, err := range u.records(ctx) {
		if err != nil {
			return nil, err
		}
		out = append(out, su.user())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup returns the user called name; found is false if there is none.
func (u *Users) Lookup(ctx context.Context, name string) (usr User, found bool, err error) {
	kv, found, err := u.st.Get(ctx, userKey(name))
	if err != nil || !found {
		return User{}, false, err
	}
	var rec record
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return User{}, false, fmt.Errorf("auth: user record %s: %w", name, err)
	}
	return rec.user(), true, nil
}

func (rec record) user() User {
	return User{Name: rec.Name, Groups: rec.Groups, Admin: (cimom.Principal{Name: rec.Name, Groups: rec.Groups}).IsAdmin()}
}

// ErrRateLimited is returned by Verify, without checking the password, for
// a client that failed too often recently.
var ErrRateLimited = errors.New("auth: too many failed logins; wait")

// ErrWrongCredentials is returned by Verify for a wrong user name or
// password (which of the two is not told).
var ErrWrongCredentials = errors.New("auth: wrong user name or password")

// Verify checks a name and password from client address addr (an IP
// address; other strings are taken as they are). It returns
// ErrWrongCredentials for a wrong name or password, and ErrRateLimited,
// unchecked, while addr backs off after failed logins (throttle.go), the
// right password included. It logs every failed login, and the first
// refused one of each wait.
func (u *Users) Verify(ctx context.Context, addr, name, password string) (cimom.Principal, error) {
	u.mu.Lock()
	refused := u.throttle.check(addr, name, u.now())
	u.mu.Unlock()
	if refused != nil {
		if refused.first {
			u.log.Warn("login refused", "client", addr, "user", logName(name), "reason", refused.reason, "until", refused.until)
		}
		return cimom.Principal{}, ErrRateLimited
	}
	id := sha256.Sum256([]byte(cim.Fold(name) + "\x00" + password))
	// While the store's revision stays the one at which the record was
	// read, the record is unchanged: no read is needed. (The revision is
	// read before the record, so a change in between reads again next time.)
	rev, revErr := u.st.Rev(ctx)
	u.mu.Lock()
	if v, ok := u.verified[id]; ok && revErr == nil && v.seen == rev {
		u.throttle.succeeded(addr, name)
		u.mu.Unlock()
		return v.p, nil
	}
	u.mu.Unlock()
	kv, found, err := u.st.Get(ctx, userKey(name))
	if err != nil {
		return cimom.Principal{}, fmt.Errorf("auth: read user %s: %w", name, err)
	}
	u.mu.Lock()
	if v, ok := u.verified[id]; ok && found && v.modRev == kv.ModRev {
		if revErr == nil {
			v.seen = rev
			u.verified[id] = v
		}
		u.throttle.succeeded(addr, name)
		u.mu.Unlock()
		return v.p, nil
	}
	u.mu.Unlock()
	rec, reason := u.check(kv, found, password)
	if reason != "" {
		u.mu.Lock()
		u.throttle.failed(addr, name, u.now())
		u.mu.Unlock()
		u.log.Warn("login failed", "client", addr, "user", logName(name), "reason", reason)
		return cimom.Principal{}, ErrWrongCredentials
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.throttle.succeeded(addr, name)
	p := cimom.Principal{Name: rec.Name, Groups: rec.Groups}
	if len(u.verified) > 10_000 {
		u.verified = map[[32]byte]verifiedUser{}
	}
	seen := int64(-1) // unknown: the record is read again next time
	if revErr == nil {
		seen = rev
	}
	u.verified[id] = verifiedUser{p: p, modRev: kv.ModRev, seen: seen}
	return p, nil
}

// logName is a user name as logged: cut after 256 bytes (no user has a
// longer name), so that long names sent by a client cannot flood the log.
func logName(name string) string {
	if len(name) > 256 {
		return strings.ToValidUTF8(name[:256], "") + "..."
	}
	return name
}

// check derives the password's hash against the user record kv (if found)
// and returns the record, or why the login fails. Whether the record is
// found, readable or not, one hash of the same cost is derived, so that
// the time taken does not tell whether a user exists.
func (u *Users) check(kv store.KV, found bool, password string) (record, string) {
	var rec record
	salt, want, iter := u.dummySalt, u.dummyHash, u.iter
	reason := "unknown user"
	if found {
		reason = "unreadable user record"
		if json.Unmarshal(kv.Value, &rec) == nil && rec.Iter > 0 && rec.Iter <= maxIterations {
			salt, want, iter = rec.Salt, rec.Hash, rec.Iter
			reason = "wrong password"
		}
	}
	h, err := hash(password, salt, iter)
	if err != nil {
		return rec, fmt.Sprintf("password hash: %v", err)
	}
	if subtle.ConstantTimeCompare(h, want) == 1 && reason == "wrong password" {
		return rec, ""
	}
	return rec, reason
}
