package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/holdfast/holdfast"
)

// maxInList bounds the ids one IN list carries; longer lists run in chunks.
const maxInList = 512

// inList returns the placeholders and arguments of an IN list of ids. The
// list is padded (with its last id) to a power of two of at least 8, so a
// batch of any size runs one of a few statement texts, which stay prepared.
func inList[V any](ids []V) (string, []any) {
	n := 8
	for n < len(ids) {
		n *= 2
	}
	args := make([]any, n)
	for i := range args {
		args[i] = ids[min(i, len(ids)-1)]
	}
	return placeholders(n), args
}

// listIn runs query (whose one %s is an IN list) for every chunk of ids
// after the leading args, and collects the rows.
func listIn[T any](ctx context.Context, s *Store, what string, scan func(scanner) (T, error), query string, lead []any, ids []string) ([]T, error) {
	ids = distinct(ids)
	var out []T
	for chunk := range slices.Chunk(ids, maxInList) {
		ph, args := inList(chunk)
		rows, err := list(ctx, s, what, scan, strings.Replace(query, "%s", ph, 1), append(slices.Clone(lead), args...)...)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// distinct returns the non-empty values of ids, sorted, once each.
func distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// LoadAttributes reads the attributes of a batch of decisions: eight
// queries at most (more only past maxInList ids of one kind), however many
// questions the batch holds.
func (s *Store) LoadAttributes(ctx context.Context, accountID string, q holdfast.AttributeQuery) (holdfast.Attributes, error) {
	var (
		a   holdfast.Attributes
		err error
	)
	acct := []any{accountID}
	if a.Admins, err = listIn(ctx, s, "administrators", scanAdmin,
		`SELECT `+adminColumns+` FROM admins WHERE account_id = ? AND id IN (%s)`, acct, q.AdminIDs); err != nil {
		return a, err
	}
	emails := make([]string, len(q.AdminEmails))
	for i, e := range q.AdminEmails {
		emails[i] = strings.ToLower(e)
	}
	byEmail, err := listIn(ctx, s, "administrators", scanAdmin,
		`SELECT `+adminColumns+` FROM admins WHERE lower(email) IN (%s)`, nil, emails)
	if err != nil {
		return a, err
	}
	a.Admins = append(a.Admins, byEmail...)
	roles := slices.Clone(q.RoleIDs)
	for _, ad := range a.Admins {
		if ad.AccountID == accountID {
			roles = append(roles, ad.RoleID)
		}
	}
	if a.Roles, err = listIn(ctx, s, "roles", scanRole,
		`SELECT `+roleColumns+` FROM roles WHERE account_id = ? AND id IN (%s)`, acct, roles); err != nil {
		return a, err
	}
	if a.Devices, err = listIn(ctx, s, "devices", scanDevice,
		`SELECT `+deviceColumns+` FROM devices WHERE account_id = ? AND id IN (%s)`, acct, q.DeviceIDs); err != nil {
		return a, err
	}
	users := slices.Clone(q.UserIDs)
	for _, d := range a.Devices {
		users = append(users, d.UserID)
	}
	if a.Users, err = listIn(ctx, s, "users", scanUser,
		`SELECT `+userColumns+` FROM users WHERE account_id = ? AND id IN (%s)`, acct, users); err != nil {
		return a, err
	}
	profiles := slices.Clone(q.ProfileIDs)
	for _, u := range a.Users {
		profiles = append(profiles, u.ProfileID)
	}
	if a.Profiles, err = listIn(ctx, s, "profiles", scanProfile,
		`SELECT `+profileColumns+` FROM profiles WHERE account_id = ? AND id IN (%s)`, acct, profiles); err != nil {
		return a, err
	}
	if err := s.loadUserDevices(ctx, accountID, q.UserIDs, &a); err != nil {
		return a, err
	}
	return a, s.loadUserHolds(ctx, accountID, &a)
}

// loadUserDevices fills a.UserDevices for the named users that exist.
func (s *Store) loadUserDevices(ctx context.Context, accountID string, named []string, a *holdfast.Attributes) error {
	a.UserDevices = map[string][]holdfast.Device{}
	var ids []string
	for _, u := range a.Users {
		if slices.Contains(named, u.ID) {
			a.UserDevices[u.ID] = []holdfast.Device{}
			ids = append(ids, u.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	devices, err := listIn(ctx, s, "devices", scanDevice,
		`SELECT `+deviceColumns+` FROM devices WHERE account_id = ? AND user_id IN (%s) ORDER BY name, id`, []any{accountID}, ids)
	if err != nil {
		return err
	}
	// Each user is in one chunk, so its devices come in ListDevices' order.
	for _, d := range devices {
		a.UserDevices[d.UserID] = append(a.UserDevices[d.UserID], d)
	}
	return nil
}

// userHold is a hold with the custodian it was found for.
type userHold struct {
	userID string
	hold   holdfast.LegalHold
}

// loadUserHolds fills a.UserHolds for every user in a.Users.
func (s *Store) loadUserHolds(ctx context.Context, accountID string, a *holdfast.Attributes) error {
	a.UserHolds = make(map[string][]holdfast.LegalHold, len(a.Users))
	ids := make([]string, 0, len(a.Users))
	for _, u := range a.Users {
		a.UserHolds[u.ID] = []holdfast.LegalHold{}
		ids = append(ids, u.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	scan := func(r scanner) (userHold, error) {
		var uh userHold
		h, err := scanHoldWith(r, &uh.userID)
		uh.hold = h
		return uh, err
	}
	rows, err := listIn(ctx, s, "legal holds", scan, `SELECT `+holdColumnsQualified+`, c.user_id FROM holds h
		JOIN custodians c ON c.account_id = h.account_id AND c.hold_id = h.id
		WHERE h.account_id = ? AND c.user_id IN (%s) ORDER BY h.name, h.id`, []any{accountID}, ids)
	if err != nil {
		return err
	}
	// Each user is in one chunk, so its holds come in HoldsForUser's order.
	for _, uh := range rows {
		a.UserHolds[uh.userID] = append(a.UserHolds[uh.userID], uh.hold)
	}
	return nil
}
