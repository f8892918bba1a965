// Package auth keeps wbemd's users in the repository's store and checks
// HTTP Basic credentials against them. Passwords are stored as PBKDF2-
// SHA256 hashes with a per-user salt; a verified password is remembered
// (as a hash) until the user's record changes, so that the slow key
// derivation runs once per credential, not once per request. Failed logins
// are rate-limited per client address.
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

// Users is the user store.
type Users struct {
	st store.Store

	mu       sync.Mutex
	verified map[[32]byte]verifiedUser // sha256(name, password) -> user
	failures map[string]*window        // client address -> recent failures
	now      func() time.Time
}

type verifiedUser struct {
	p      cimom.Principal
	modRev int64 // of the user record verified against
	seen   int64 // the store's revision when that record was last read
}

type window struct {
	start time.Time
	n     int
}

// New returns the user store kept in st.
func New(st store.Store) *Users {
	return &Users{st: st, verified: map[[32]byte]verifiedUser{}, failures: map[string]*window{}, now: time.Now}
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
	rec := record{Name: name, Iter: Iterations}
	switch {
	case create && found:
		return cim.Errorf(cim.EAlreadyExists, "user %s already exists", name)
	case !create && !found:
		return cim.Errorf(cim.ENotFound, "user %s does not exist", name)
	case found:
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("auth: user record %s: %w", name, err)
		}
		rec.Iter = Iterations
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

// User is a user as listed.
type User struct {
	Name  string
	Admin bool
}

// List returns every user by name.
func (u *Users) List(ctx context.Context) ([]User, error) {
	var out []User
	for kv, err := range u.st.Range(ctx, userPrefix, store.PrefixEnd(userPrefix)) {
		if err != nil {
			return nil, err
		}
		var rec record
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return nil, fmt.Errorf("auth: user record %q: %w", kv.Key, err)
		}
		out = append(out, User{Name: rec.Name, Admin: (cimom.Principal{Name: rec.Name, Groups: rec.Groups}).IsAdmin()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// failureLimit is how many failed logins a client address may make per
// failureWindow before further attempts are refused unchecked.
const (
	failureLimit  = 10
	failureWindow = 30 * time.Second
)

// ErrRateLimited is returned by Verify for a client address that failed
// too often recently.
var ErrRateLimited = errors.New("auth: too many failed logins; wait")

// Verify checks a name and password from client address addr.
func (u *Users) Verify(ctx context.Context, addr, name, password string) (cimom.Principal, error) {
	u.mu.Lock()
	if w := u.failures[addr]; w != nil && u.now().Sub(w.start) < failureWindow && w.n >= failureLimit {
		u.mu.Unlock()
		return cimom.Principal{}, ErrRateLimited
	}
	u.mu.Unlock()
	id := sha256.Sum256([]byte(cim.Fold(name) + "\x00" + password))
	// While the store's revision stays the one at which the record was
	// read, the record is unchanged: no read is needed. (The revision is
	// read before the record, so a change in between reads again next time.)
	rev, revErr := u.st.Rev(ctx)
	u.mu.Lock()
	if v, ok := u.verified[id]; ok && revErr == nil && v.seen == rev {
		u.mu.Unlock()
		return v.p, nil
	}
	u.mu.Unlock()
	kv, found, err := u.st.Get(ctx, userKey(name))
	if err != nil {
		return cimom.Principal{}, err
	}
	u.mu.Lock()
	if v, ok := u.verified[id]; ok && found && v.modRev == kv.ModRev {
		if revErr == nil {
			v.seen = rev
			u.verified[id] = v
		}
		u.mu.Unlock()
		return v.p, nil
	}
	u.mu.Unlock()
	var rec record
	ok := false
	if found && json.Unmarshal(kv.Value, &rec) == nil {
		if h, err := hash(password, rec.Salt, rec.Iter); err == nil && subtle.ConstantTimeCompare(h, rec.Hash) == 1 {
			ok = true
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if !ok {
		w := u.failures[addr]
		if w == nil || u.now().Sub(w.start) >= failureWindow {
			w = &window{start: u.now()}
			u.failures[addr] = w
		}
		w.n++
		return cimom.Principal{}, errors.New("auth: wrong user name or password")
	}
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
