package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast"
)

// The batch path reads what a batch of decisions needs with one
// MetaStore.LoadAttributes call (a few queries however many questions)
// into the attribute snapshot the resolver then reads from, instead of a
// round trip per attribute per question. The resolver itself does not
// change: whatever the prefetch did not cover (legal holds, hold types,
// role holder counts, the account) it still reads one at a time, through
// the same snapshot.

// attributeLoader is the part of the metadata store the prefetch reads.
type attributeLoader interface {
	LoadAttributes(ctx context.Context, accountID string, q holdfast.AttributeQuery) (holdfast.Attributes, error)
}

// attributeQuery names the administrators, roles, users, devices and
// profiles that resolving reqs will read (resolver.subject, role,
// resource and their helpers), so they can be read at once.
func attributeQuery(reqs []holdfast.DecisionRequest) holdfast.AttributeQuery {
	var q holdfast.AttributeQuery
	for _, req := range reqs {
		if id := req.Subject.ID; strings.Contains(id, "@") {
			q.AdminEmails = append(q.AdminEmails, id)
		} else if id != "" {
			q.AdminIDs = append(q.AdminIDs, id)
		}
		ent := req.Resource
		props := ent.Properties
		switch ent.Type {
		case holdfast.ResourceUser, holdfast.ResourceDevice:
			switch {
			case ent.ID == "":
				q.UserIDs = appendProp(q.UserIDs, props, "user_id")
				q.ProfileIDs = appendProp(q.ProfileIDs, props, "profile_id")
			case ent.Type == holdfast.ResourceUser:
				q.UserIDs = append(q.UserIDs, ent.ID)
			default:
				q.DeviceIDs = append(q.DeviceIDs, ent.ID)
			}
		case holdfast.ResourceProfile:
			q.ProfileIDs = append(q.ProfileIDs, ent.ID)
		case holdfast.ResourceReport, holdfast.ResourceSettings, holdfast.ResourceAccount:
			q.ProfileIDs = appendProp(q.ProfileIDs, props, "profile_id")
		case holdfast.ResourceAdministrator:
			q.AdminIDs = append(q.AdminIDs, ent.ID)
			q.RoleIDs = appendProp(q.RoleIDs, props, "role")
			q.RoleIDs = appendProp(q.RoleIDs, props, "new_role")
			if roles, ok := props["roles"].([]any); ok && len(roles) > 0 {
				if id, ok := roles[0].(string); ok {
					q.RoleIDs = append(q.RoleIDs, id)
				}
			}
		case holdfast.ResourceRole:
			q.RoleIDs = append(q.RoleIDs, ent.ID)
			if ids, err := importIDs(props); err == nil {
				q.RoleIDs = append(q.RoleIDs, ids...)
			}
		}
	}
	return q
}

// appendProp appends props[key] to ids when it is a string.
func appendProp(ids []string, props map[string]any, key string) []string {
	if s, ok := props[key].(string); ok {
		return append(ids, s)
	}
	return ids
}

// prefetch reads what q names and the snapshot does not hold yet with one
// LoadAttributes call, and remembers every answer, a thing that does not
// exist included. Like memo, it runs after the revision was read, so what
// it remembers is at least as new as the snapshot's revision.
func (s *attrSnapshot) prefetch(ctx context.Context, store attributeLoader, q holdfast.AttributeQuery) error {
	q = s.absent(q)
	if len(q.AdminIDs)+len(q.AdminEmails)+len(q.RoleIDs)+len(q.UserIDs)+len(q.DeviceIDs)+len(q.ProfileIDs) == 0 {
		return nil
	}
	a, err := store.LoadAttributes(ctx, s.accountID, q)
	if err != nil {
		return fmt.Errorf("authz: load attributes: %w", err)
	}
	s.fill(q, a)
	return nil
}

// absent keeps the ids of q whose answers the snapshot lacks.
func (s *attrSnapshot) absent(q holdfast.AttributeQuery) holdfast.AttributeQuery {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keep := func(ids []string, keys func(id string) []string) []string {
		var out []string
		for _, id := range ids {
			if id == "" {
				continue
			}
			for _, k := range keys(id) {
				if _, ok := s.entries[k]; !ok {
					out = append(out, id)
					break
				}
			}
		}
		return out
	}
	one := func(kind string) func(string) []string {
		return func(id string) []string { return []string{key(kind, id)} }
	}
	return holdfast.AttributeQuery{
		AdminIDs:    keep(q.AdminIDs, one("admin")),
		AdminEmails: keep(q.AdminEmails, func(e string) []string { return []string{key("admin-email", strings.ToLower(e))} }),
		RoleIDs:     keep(q.RoleIDs, one("role")),
		UserIDs: keep(q.UserIDs, func(id string) []string {
			if e, ok := s.entries[key("user", id)]; ok && e.err != nil {
				return nil // known missing: nothing more to read
			}
			return []string{key("user", id), key("devices", id), key("holds", id)}
		}),
		DeviceIDs:  keep(q.DeviceIDs, one("device")),
		ProfileIDs: keep(q.ProfileIDs, one("profile")),
	}
}

// fill remembers what LoadAttributes answered to q: each value under the
// key its single read has in memo, and ErrNotFound for every id it asked
// about and did not find (ids it followed from what it found included, as
// LoadAttributes does).
func (s *attrSnapshot) fill(q holdfast.AttributeQuery, a holdfast.Attributes) {
	s.mu.Lock()
	defer s.mu.Unlock()
	admins := map[string]holdfast.Administrator{}
	byEmail := map[string]holdfast.Administrator{}
	roleIDs := q.RoleIDs
	for _, ad := range a.Admins {
		byEmail[strings.ToLower(ad.Email)] = ad
		if ad.AccountID == s.accountID {
			admins[ad.ID] = ad
			roleIDs = append(roleIDs, ad.RoleID)
		}
	}
	rememberAll(s, "administrator", "admin", q.AdminIDs, admins)
	emails := make([]string, len(q.AdminEmails))
	for i, e := range q.AdminEmails {
		emails[i] = strings.ToLower(e)
	}
	rememberAll(s, "administrator", "admin-email", emails, byEmail)
	rememberAll(s, "role", "role", roleIDs, index(a.Roles, func(r holdfast.Role) string { return r.ID }))
	devices := index(a.Devices, func(d holdfast.Device) string { return d.ID })
	rememberAll(s, "device", "device", q.DeviceIDs, devices)
	userIDs := q.UserIDs
	for _, d := range devices {
		userIDs = append(userIDs, d.UserID)
	}
	users := index(a.Users, func(u holdfast.User) string { return u.ID })
	rememberAll(s, "user", "user", userIDs, users)
	profileIDs := q.ProfileIDs
	for _, u := range users {
		profileIDs = append(profileIDs, u.ProfileID)
	}
	rememberAll(s, "profile", "profile", profileIDs, index(a.Profiles, func(p holdfast.Profile) string { return p.ID }))
	for id, ds := range a.UserDevices {
		s.rememberLocked(key("devices", id), ds, nil)
	}
	for id, hs := range a.UserHolds {
		s.rememberLocked(key("holds", id), hs, nil)
	}
}

// rememberAll remembers found[id] for each of ids, or that it is not found.
func rememberAll[T any](s *attrSnapshot, what, kind string, ids []string, found map[string]T) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if v, ok := found[id]; ok {
			s.rememberLocked(key(kind, id), v, nil)
		} else {
			s.rememberLocked(key(kind, id), nil, fmt.Errorf("%s %s: %w", what, id, holdfast.ErrNotFound))
		}
	}
}

// index maps values by their id.
func index[T any](values []T, id func(T) string) map[string]T {
	out := make(map[string]T, len(values))
	for _, v := range values {
		out[id(v)] = v
	}
	return out
}
