package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sort"

	"github.com/wbemd/wbemd/cim"
	"github.com/wbemd/wbemd/cimom"
	"github.com/wbemd/wbemd/store"
)

// Groups of users name trustees of namespace security descriptors: an
// ACE for a group applies to its members. A group is a record of its own
// (so that it exists without members); membership is kept in each user's
// record, so that a login reads one record and a membership change
// reaches the user's next request (Verify reads the record again when it
// changed). The group Administrators always exists; the other well-known
// trustees (Authenticated Users, Everyone) are not groups one joins.

// groupPrefix is the store prefix of group records.
var groupPrefix = []byte("g\x00")

type groupRecord struct {
	Name string `json:"name"`
}

func groupKey(name string) []byte {
	return append(append([]byte(nil), groupPrefix...), cim.Fold(name)...)
}

// Group is a group as listed: its name and its members' names.
type Group struct {
	Name    string
	Members []string
}

// checkGroupName refuses names no group may have.
func checkGroupName(name string) error {
	if err := checkName(name); err != nil {
		return cim.Errorf(cim.EInvalidParameter, "invalid group name %q", name)
	}
	for _, w := range []string{cimom.GroupAuthenticatedUsers, cimom.GroupEveryone} {
		if cim.EqualFold(name, w) {
			return cim.Errorf(cim.EInvalidParameter, "%s is a well-known trustee, not a group with members", w)
		}
	}
	return nil
}

// AddGroup creates a group with no members.
func (u *Users) AddGroup(ctx context.Context, name string) error {
	if err := checkGroupName(name); err != nil {
		return err
	}
	if cim.EqualFold(name, cimom.GroupAdministrators) {
		return cim.Errorf(cim.EAlreadyExists, "group %s always exists", cimom.GroupAdministrators)
	}
	data, _ := json.Marshal(groupRecord{Name: name})
	_, err := u.st.Txn(ctx, []store.Compare{{Key: groupKey(name)}}, []store.Op{store.Put(groupKey(name), data)})
	if errors.Is(err, store.ErrCompareFailed) {
		return cim.Errorf(cim.EAlreadyExists, "group %s already exists", name)
	}
	return err
}

// DeleteGroup deletes a group and takes its members out of it, in one
// transaction. Administrators cannot be deleted.
func (u *Users) DeleteGroup(ctx context.Context, name string) error {
	if cim.EqualFold(name, cimom.GroupAdministrators) {
		return cim.Errorf(cim.EInvalidOperation, "group %s cannot be deleted", cimom.GroupAdministrators)
	}
	kv, found, err := u.st.Get(ctx, groupKey(name))
	if err != nil {
		return err
	}
	if !found {
		return cim.Errorf(cim.ENotFound, "group %s does not exist", name)
	}
	cmps := []store.Compare{{Key: groupKey(name), ModRev: kv.ModRev}}
	ops := []store.Op{store.Delete(groupKey(name))}
	for su, err := range u.records(ctx) {
		if err != nil {
			return err
		}
		if i := memberIndex(su.record, name); i >= 0 {
			rec := su.record
			rec.Groups = slices.Delete(slices.Clone(rec.Groups), i, i+1)
			data, _ := json.Marshal(rec)
			cmps = append(cmps, store.Compare{Key: userKey(rec.Name), ModRev: su.modRev})
			ops = append(ops, store.Put(userKey(rec.Name), data))
		}
	}
	_, err = u.st.Txn(ctx, cmps, ops)
	if errors.Is(err, store.ErrCompareFailed) {
		return cim.Errorf(cim.ETransactionConflict, "group %s or a member changed meanwhile; retry", name)
	}
	return err
}

// ListGroups returns every group by name, Administrators included, with
// its members.
func (u *Users) ListGroups(ctx context.Context) ([]Group, error) {
	groups := []Group{{Name: cimom.GroupAdministrators}}
	for kv, err := range u.st.Range(ctx, groupPrefix, store.PrefixEnd(groupPrefix)) {
		if err != nil {
			return nil, err
		}
		var rec groupRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return nil, fmt.Errorf("auth: group record %q: %w", kv.Key, err)
		}
		groups = append(groups, Group{Name: rec.Name})
	}
	for su, err := range u.records(ctx) {
		if err != nil {
			return nil, err
		}
		for i := range groups {
			if rec := su.record; memberIndex(rec, groups[i].Name) >= 0 {
				groups[i].Members = append(groups[i].Members, rec.Name)
			}
		}
	}
	sort.Slice(groups, func(i, j int) bool { return cim.Fold(groups[i].Name) < cim.Fold(groups[j].Name) })
	return groups, nil
}

// AddMember puts user in group (a no-op if it is a member already).
func (u *Users) AddMember(ctx context.Context, group, user string) error {
	return u.membership(ctx, group, user, true)
}

// RemoveMember takes user out of group.
func (u *Users) RemoveMember(ctx context.Context, group, user string) error {
	return u.membership(ctx, group, user, false)
}

func (u *Users) membership(ctx context.Context, group, user string, add bool) error {
	name := cimom.GroupAdministrators
	var cmps []store.Compare
	if !cim.EqualFold(group, cimom.GroupAdministrators) {
		gkv, found, err := u.st.Get(ctx, groupKey(group))
		if err != nil {
			return err
		}
		if !found {
			return cim.Errorf(cim.ENotFound, "group %s does not exist", group).WithParam(group)
		}
		var g groupRecord
		if err := json.Unmarshal(gkv.Value, &g); err != nil {
			return fmt.Errorf("auth: group record %s: %w", group, err)
		}
		name = g.Name
		cmps = append(cmps, store.Compare{Key: groupKey(group), ModRev: gkv.ModRev})
	}
	kv, found, err := u.st.Get(ctx, userKey(user))
	if err != nil {
		return err
	}
	if !found {
		return cim.Errorf(cim.ENotFound, "user %s does not exist", user).WithParam(user)
	}
	var rec record
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		return fmt.Errorf("auth: user record %s: %w", user, err)
	}
	switch i := memberIndex(rec, name); {
	case add && i >= 0:
		return nil
	case add:
		rec.Groups = append(rec.Groups, name)
	case i < 0:
		return cim.Errorf(cim.ENotFound, "user %s is not a member of %s", rec.Name, name).WithParam(user)
	default:
		rec.Groups = slices.Delete(rec.Groups, i, i+1)
	}
	data, _ := json.Marshal(rec)
	cmps = append(cmps, store.Compare{Key: userKey(user), ModRev: kv.ModRev})
	_, err = u.st.Txn(ctx, cmps, []store.Op{store.Put(userKey(user), data)})
	if errors.Is(err, store.ErrCompareFailed) {
		return cim.Errorf(cim.ETransactionConflict, "user %s or group %s changed meanwhile; retry", user, name)
	}
	return err
}

// memberIndex returns the index of group in rec's groups, or -1.
func memberIndex(rec record, group string) int {
	return slices.IndexFunc(rec.Groups, func(g string) bool { return cim.EqualFold(g, group) })
}

// storedUser is a user record with its ModRev.
type storedUser struct {
	record
	modRev int64
}

// records yields every user record.
func (u *Users) records(ctx context.Context) iter.Seq2[storedUser, error] {
	return func(yield func(storedUser, error) bool) {
		for kv, err := range u.st.Range(ctx, userPrefix, store.PrefixEnd(userPrefix)) {
			if err != nil {
				yield(storedUser{}, err)
				return
			}
			var rec record
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				yield(storedUser{}, fmt.Errorf("auth: user record %q: %w", kv.Key, err))
				return
			}
			if !yield(storedUser{rec, kv.ModRev}, nil) {
				return
			}
		}
	}
}
