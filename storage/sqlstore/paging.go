package sqlstore

import (
	"context"
	"strings"

	"github.com/holdfast/holdfast"
)

// conds is the WHERE clause of a paged list: conditions joined by AND,
// with their arguments in order.
type conds struct {
	sql  []string
	args []any
}

func (c *conds) add(cond string, args ...any) {
	c.sql = append(c.sql, cond)
	c.args = append(c.args, args...)
}

// in adds "col IN (vals)"; an empty, non-nil vals matches nothing and a
// nil one does not filter.
func (c *conds) in(col string, vals []string) {
	switch {
	case vals == nil:
	case len(vals) == 0:
		c.add("1 = 0")
	default:
		c.add(col+" IN ("+placeholders(len(vals))+")", strs(vals)...)
	}
}

func (c *conds) where() string { return " WHERE " + strings.Join(c.sql, " AND ") }

func strs(vals []string) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// keyed is a paged table: its name, its columns, and how to read a row
// and its (name, id) sort key.
type keyed[T any] struct {
	table, columns string
	scan           func(scanner) (T, error)
	key            func(T) (name, id string)
}

// pageOf returns one page of the rows of k matching c, ordered by (name,
// id) after the page's cursor, and the total matching c. The order is an
// index walk (account_id, name, id), so a page costs its size, not the
// table's. c is never empty: every list is inside one account.
func pageOf[T any](ctx context.Context, s *Store, k keyed[T], c conds, p holdfast.Page) (holdfast.Paged[T], error) {
	t := k.table
	return pageBy(ctx, s, pageQuery[T]{
		what: t, columns: k.columns, from: t + c.where(), args: c.args,
		order: t + ".name, " + t + ".id",
		after: func(key []string) (string, []any, error) {
			if len(key) != 2 {
				return "", nil, badCursor()
			}
			return "(" + t + ".name > ? OR (" + t + ".name = ? AND " + t + ".id > ?))", []any{key[0], key[0], key[1]}, nil
		},
		key: func(v T) []string {
			name, id := k.key(v)
			return []string{name, id}
		},
		scan: k.scan,
	}, p)
}

// PageProfiles returns one page of the account's profiles, only those of
// ids when ids is not nil.
func (s *Store) PageProfiles(ctx context.Context, accountID string, ids []string, p holdfast.Page) (holdfast.Paged[holdfast.Profile], error) {
	var c conds
	c.add("account_id = ?", accountID)
	c.in("id", ids)
	return pageOf(ctx, s, keyed[holdfast.Profile]{table: "profiles", columns: profileColumns, scan: scanProfile,
		key: func(p holdfast.Profile) (string, string) { return p.Name, p.ID }}, c, p)
}

// PageUsers returns one page of the account's users matching f.
func (s *Store) PageUsers(ctx context.Context, accountID string, f holdfast.UserFilter, p holdfast.Page) (holdfast.Paged[holdfast.User], error) {
	var c conds
	c.add("account_id = ?", accountID)
	c.in("profile_id", f.ProfileIDs)
	if f.State != "" {
		c.add("state = ?", f.State)
	}
	if f.Search != "" {
		pat := likePattern(f.Search)
		c.add(`(lower(name) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\')`, pat, pat)
	}
	if f.Email != "" {
		c.add("lower(email) = ?", strings.ToLower(f.Email))
	}
	if f.ExternalID != "" {
		c.add("external_id = ?", f.ExternalID)
	}
	if r := f.Reach; r != nil {
		reach(&c, r)
	}
	return pageOf(ctx, s, keyed[holdfast.User]{table: "users", columns: userColumns, scan: scanUser,
		key: func(u holdfast.User) (string, string) { return u.Name, u.ID }}, c, p)
}

// reach adds the workload scope r: a device of one of its workloads, a
// profile whose own workloads are in scope, or no device and a profile
// without workloads.
func reach(c *conds, r *holdfast.UserReach) {
	const device = `EXISTS (SELECT 1 FROM devices d WHERE d.account_id = users.account_id AND d.user_id = users.id`
	var alts []string
	var args []any
	if len(r.Workloads) > 0 {
		alts = append(alts, device+` AND d.workload IN (`+placeholders(len(r.Workloads))+`))`)
		args = append(args, strs(r.Workloads)...)
	}
	if len(r.Profiles) > 0 {
		alts = append(alts, `profile_id IN (`+placeholders(len(r.Profiles))+`)`)
		args = append(args, strs(r.Profiles)...)
	}
	if len(r.Bare) > 0 {
		alts = append(alts, `(profile_id IN (`+placeholders(len(r.Bare))+`) AND NOT `+device+`))`)
		args = append(args, strs(r.Bare)...)
	}
	if len(alts) == 0 {
		c.add("1 = 0")
		return
	}
	c.add("("+strings.Join(alts, " OR ")+")", args...)
}

// PageDevices returns one page of the account's devices matching f.
func (s *Store) PageDevices(ctx context.Context, accountID string, f holdfast.DeviceFilter, p holdfast.Page) (holdfast.Paged[holdfast.Device], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.UserID != "" {
		c.add("user_id = ?", f.UserID)
	}
	c.in("workload", f.Workloads)
	switch {
	case f.ProfileIDs == nil:
	case len(f.ProfileIDs) == 0:
		c.add("1 = 0")
	default:
		c.add(`EXISTS (SELECT 1 FROM users u WHERE u.account_id = devices.account_id AND u.id = devices.user_id
			AND u.profile_id IN (`+placeholders(len(f.ProfileIDs))+`))`, strs(f.ProfileIDs)...)
	}
	return pageOf(ctx, s, keyed[holdfast.Device]{table: "devices", columns: deviceColumns, scan: scanDevice,
		key: func(d holdfast.Device) (string, string) { return d.Name, d.ID }}, c, p)
}
