package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// UserQuery filters ListUsers. Zero fields do not filter.
type UserQuery struct {
	ProfileID  string
	State      holdfast.UserState
	Search     string // case-insensitive substring of name or email
	Email      string // exact, case-insensitive
	ExternalID string // exact
}

// ListUsers returns one page of the users p may view (users.view), by name:
// the query runs inside p's profile and workload scope, so the cursor and
// the total count only those. Without users.view the page is empty.
func (s *Service) ListUsers(ctx context.Context, p holdfast.Principal, q UserQuery, page holdfast.Page) (holdfast.Paged[holdfast.User], error) {
	empty := holdfast.Paged[holdfast.User]{Items: []holdfast.User{}}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	f, err := s.userFilter(ctx, p, q)
	if isDenied(err) {
		return empty, nil
	}
	if err != nil {
		return empty, err
	}
	return s.store.PageUsers(ctx, p.AccountID, f, page)
}

// ListUsersAt returns up to count users p may view from the start-th (from
// 1), by name, and the total, for clients that page by index (SCIM).
// Without users.view it is refused. Skipping walks the index page by page,
// never holding more than one page.
func (s *Service) ListUsersAt(ctx context.Context, p holdfast.Principal, q UserQuery, start, count int) ([]holdfast.User, int, error) {
	f, err := s.userFilter(ctx, p, q)
	if err != nil {
		return nil, 0, err
	}
	var cursor string
	for skip := start - 1; skip > 0; {
		n := min(skip, holdfast.MaxPageSize)
		got, err := s.store.PageUsers(ctx, p.AccountID, f, holdfast.Page{Cursor: cursor, Limit: n})
		if err != nil || got.Next == "" {
			return []holdfast.User{}, got.Total, err
		}
		cursor, skip = got.Next, skip-n
	}
	if count <= 0 {
		got, err := s.store.PageUsers(ctx, p.AccountID, f, holdfast.Page{Limit: 1})
		return []holdfast.User{}, got.Total, err
	}
	got, err := s.store.PageUsers(ctx, p.AccountID, f, holdfast.Page{Cursor: cursor, Limit: count})
	return got.Items, got.Total, err
}

// userFilter decides users.view for p (a refusal is returned) and turns q
// into a store filter inside p's profile and workload scope.
func (s *Service) userFilter(ctx context.Context, p holdfast.Principal, q UserQuery) (holdfast.UserFilter, error) {
	switch q.State {
	case "", holdfast.UserActive, holdfast.UserPreserved, holdfast.UserDeleted:
	default:
		return holdfast.UserFilter{}, invalidField("state", "must be active, preserved or deleted")
	}
	if err := s.decide(ctx, p, "users.view", userEntity("", nil)); err != nil {
		return holdfast.UserFilter{}, err
	}
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return holdfast.UserFilter{}, err
	}
	f := holdfast.UserFilter{ProfileIDs: sc.narrow(q.ProfileID), State: q.State, Search: q.Search,
		Email: q.Email, ExternalID: q.ExternalID}
	if sc.workloads != nil {
		if f.Reach, err = s.reach(ctx, p.AccountID, sc.workloads); err != nil {
			return f, err
		}
	}
	return f, nil
}

// reach is the workload scope covered as a user filter: a user is reached
// through a device of a covered workload, a profile with one, or (with no
// device at all) a profile without workloads.
func (s *Service) reach(ctx context.Context, accountID string, covered []string) (*holdfast.UserReach, error) {
	profiles, err := s.store.ListProfiles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	r := &holdfast.UserReach{Workloads: covered}
	for _, pr := range profiles {
		switch {
		case len(pr.Workloads) == 0:
			r.Bare = append(r.Bare, pr.ID)
		case slices.ContainsFunc(pr.Workloads, func(w string) bool { return slices.Contains(covered, w) }):
			r.Profiles = append(r.Profiles, pr.ID)
		}
	}
	return r, nil
}

// GetUser returns user id (users.view).
func (s *Service) GetUser(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error) {
	if err := s.decide(ctx, p, "users.view", userEntity(id, nil)); err != nil {
		return holdfast.User{}, err
	}
	return s.store.GetUser(ctx, p.AccountID, id)
}

// ProvisionUser creates a user as CreateUser does and, when active is
// false, preserves it at once (two audited changes), as provisioning
// clients create users that are not active yet.
func (s *Service) ProvisionUser(ctx context.Context, p holdfast.Principal, in NewUser, active bool) (holdfast.User, error) {
	u, err := s.CreateUser(ctx, p, in)
	if err != nil || active {
		return u, err
	}
	return s.PreserveUser(ctx, p, u.ID)
}

// NewUser is a user to create. An empty ProfileID is the Default profile;
// Via names the channel in the audit record ("scim"), "" for the API.
type NewUser struct {
	Email, Name, ProfileID, ExternalID string
	Via                                string
}

// CreateUser creates an active user in p's account (users.create_import
// over a user of its profile). A taken email is ErrConflict; a profile
// that does not exist names the field.
func (s *Service) CreateUser(ctx context.Context, p holdfast.Principal, in NewUser) (holdfast.User, error) {
	var v holdfast.ValidationError
	now := s.run.Now()
	u := holdfast.User{
		AccountID:  p.AccountID,
		Email:      holdfast.CheckEmail(&v, "email", in.Email),
		Name:       holdfast.CheckName(&v, "name", in.Name),
		ProfileID:  strings.TrimSpace(in.ProfileID),
		State:      holdfast.UserActive,
		ExternalID: strings.TrimSpace(in.ExternalID),
		CreatedAt:  now,
		UpdatedAt:  now,
	}
	if err := v.Err(); err != nil {
		return u, err
	}
	if u.ProfileID == "" {
		def, err := s.DefaultProfile(ctx, p.AccountID)
		if err != nil {
			return u, err
		}
		u.ProfileID = def.ID
	}
	c := change.Change{Action: "user.create", ResourceType: holdfast.ResourceUser, Checks: []change.Check{{
		Right: "users.create_import", Resource: userEntity("", map[string]any{"profile_id": u.ProfileID}),
	}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := profileExists(ctx, tx, p.AccountID, u.ProfileID); err != nil {
			return "", nil, err
		}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return "", nil, fmt.Errorf("user %s: %w", u.Email, err)
		}
		detail := map[string]any{"email": u.Email, "profile_id": u.ProfileID}
		if in.Via != "" {
			detail["via"] = in.Via
		}
		return u.ID, detail, nil
	})
	return u, err
}

// profileExists names the profile_id field when the profile is missing.
func profileExists(ctx context.Context, tx holdfast.MetaStore, accountID, id string) error {
	_, err := tx.GetProfile(ctx, accountID, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		return invalidField("profile_id", "profile %q does not exist", id)
	}
	return err
}

// UserPatch changes a user; nil members stay as they are.
type UserPatch struct {
	Name, ProfileID, ExternalID *string
}

// UpdateUser applies in to user id (users.manage). Moving the user to
// another profile also needs users.manage over a user of the destination.
func (s *Service) UpdateUser(ctx context.Context, p holdfast.Principal, id string, in UserPatch) (holdfast.User, error) {
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = holdfast.CheckName(&v, "name", *in.Name)
	}
	if in.ProfileID != nil && strings.TrimSpace(*in.ProfileID) == "" {
		v.Add("profile_id", "must not be empty")
	}
	if in == (UserPatch{}) {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return holdfast.User{}, err
	}
	checks := []change.Check{{Right: "users.manage", Resource: userEntity(id, nil)}}
	if in.ProfileID != nil {
		checks = append(checks, change.Check{Right: "users.manage",
			Resource: userEntity("", map[string]any{"profile_id": *in.ProfileID})})
	}
	var out holdfast.User
	c := change.Change{Action: "user.update", ResourceType: holdfast.ResourceUser, ResourceID: id, Checks: checks}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		u, err := tx.GetUser(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if in.ProfileID != nil {
			if err := profileExists(ctx, tx, p.AccountID, *in.ProfileID); err != nil {
				return "", nil, err
			}
		}
		detail := map[string]any{}
		set(detail, "name", &u.Name, in.Name)
		set(detail, "profile_id", &u.ProfileID, in.ProfileID)
		set(detail, "external_id", &u.ExternalID, in.ExternalID)
		return s.saveUser(ctx, tx, &u, &out, detail)
	})
	return out, err
}

// saveUser stores u and copies it to out; the tail of every user change.
func (s *Service) saveUser(ctx context.Context, tx holdfast.MetaStore, u, out *holdfast.User, detail any) (string, any, error) {
	u.UpdatedAt = s.run.Now()
	if err := tx.UpdateUser(ctx, u); err != nil {
		return "", nil, fmt.Errorf("user %s: %w", u.ID, err)
	}
	*out = *u
	return u.ID, detail, nil
}

// transition is a state change of a user: the right it needs, the audit
// action, and the change itself, which returns an error matching
// ErrConflict when the user's state does not allow it.
type transition struct {
	right, action string
	apply         func(ctx context.Context, tx holdfast.MetaStore, u *holdfast.User, now time.Time) error
}

// move applies t to user id in one transaction with its audit record.
func (s *Service) move(ctx context.Context, p holdfast.Principal, id string, t transition) (holdfast.User, error) {
	var out holdfast.User
	c := change.Change{Action: t.action, ResourceType: holdfast.ResourceUser, ResourceID: id,
		Checks: []change.Check{{Right: t.right, Resource: userEntity(id, nil)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		u, err := tx.GetUser(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		from := u.State
		if err := t.apply(ctx, tx, &u, s.run.Now()); err != nil {
			return "", nil, err
		}
		return s.saveUser(ctx, tx, &u, &out, map[string]any{"email": u.Email, "from": from, "to": u.State})
	})
	return out, err
}

// PreserveUser stops an active user's backups and keeps its data
// (users.manage). A preserved user accepts no new backups.
func (s *Service) PreserveUser(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error) {
	return s.move(ctx, p, id, transition{right: "users.manage", action: "user.preserve",
		apply: func(_ context.Context, _ holdfast.MetaStore, u *holdfast.User, now time.Time) error {
			if u.State != holdfast.UserActive {
				return fmt.Errorf("%w: only an active user can be preserved; user %s is %s", holdfast.ErrConflict, u.ID, u.State)
			}
			u.State, u.PreservedAt = holdfast.UserPreserved, &now
			return nil
		}})
}

// ActivateUser makes a preserved user active again (users.manage).
func (s *Service) ActivateUser(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error) {
	return s.move(ctx, p, id, transition{right: "users.manage", action: "user.activate",
		apply: func(_ context.Context, _ holdfast.MetaStore, u *holdfast.User, _ time.Time) error {
			if u.State != holdfast.UserPreserved {
				return fmt.Errorf("%w: only a preserved user can be activated; user %s is %s", holdfast.ErrConflict, u.ID, u.State)
			}
			u.State, u.PreservedAt = holdfast.UserActive, nil
			return nil
		}})
}

// DeleteUser marks user id deleted (users.delete); it can be restored for
// the account's rollback days. The engine refuses a held user, and the
// hold is checked again inside the transaction, so a hold placed after
// the decision still wins (ErrHeld).
func (s *Service) DeleteUser(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error) {
	return s.move(ctx, p, id, transition{right: "users.delete", action: "user.delete",
		apply: func(ctx context.Context, tx holdfast.MetaStore, u *holdfast.User, now time.Time) error {
			if u.State == holdfast.UserDeleted {
				return fmt.Errorf("%w: user %s is already deleted", holdfast.ErrConflict, u.ID)
			}
			if err := checkNotHeld(ctx, tx, u); err != nil {
				return err
			}
			acct, err := tx.GetAccount(ctx, u.AccountID)
			if err != nil {
				return err
			}
			purge := now.AddDate(0, 0, acct.Settings.RollbackDays)
			u.State, u.DeletedAt, u.PurgeAfter = holdfast.UserDeleted, &now, &purge
			return nil
		}})
}

// RestoreUser brings a deleted user back, active, while its rollback
// window is open (users.manage).
func (s *Service) RestoreUser(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error) {
	return s.move(ctx, p, id, transition{right: "users.manage", action: "user.restore",
		apply: func(_ context.Context, _ holdfast.MetaStore, u *holdfast.User, now time.Time) error {
			if u.State != holdfast.UserDeleted {
				return fmt.Errorf("%w: only a deleted user can be restored; user %s is %s", holdfast.ErrConflict, u.ID, u.State)
			}
			if u.PurgeAfter == nil || !now.Before(*u.PurgeAfter) {
				return fmt.Errorf("%w: the rollback window of user %s has closed", holdfast.ErrConflict, u.ID)
			}
			u.State, u.DeletedAt, u.PurgeAfter, u.PreservedAt = holdfast.UserActive, nil, nil, nil
			return nil
		}})
}

// checkNotHeld returns an error matching ErrHeld when u is a custodian of
// a legal hold. It is the store's backstop behind the engine (whose
// refusal names the holds the caller may see), so it names none.
func checkNotHeld(ctx context.Context, tx holdfast.MetaStore, u *holdfast.User) error {
	holds, err := tx.HoldsForUser(ctx, u.AccountID, u.ID)
	if err != nil {
		return err
	}
	if len(holds) > 0 {
		return fmt.Errorf("%w: user %s is on a legal hold", holdfast.ErrHeld, u.Email)
	}
	return nil
}

// UserSync is what a provisioning client (SCIM) says a user should be:
// nil members are left alone.
type UserSync struct {
	Name, ExternalID *string
	Active           *bool
}

// DeprovisionUser preserves user id when it is active and leaves it as it
// is otherwise (users.view, then users.manage): a provisioning client's
// delete keeps the user's data and any legal hold over it.
func (s *Service) DeprovisionUser(ctx context.Context, p holdfast.Principal, id string) (holdfast.User, error) {
	u, err := s.GetUser(ctx, p, id)
	if err != nil || u.State != holdfast.UserActive {
		return u, err
	}
	return s.PreserveUser(ctx, p, id)
}

// SyncUser changes what differs between user cur and in: name and
// external id (users.manage), then the state (active: activate a
// preserved user; inactive: preserve an active one). A deleted user is
// restored through RestoreUser, never by a sync (ErrConflict).
func (s *Service) SyncUser(ctx context.Context, p holdfast.Principal, cur holdfast.User, in UserSync) (holdfast.User, error) {
	var patch UserPatch
	if in.Name != nil && *in.Name != cur.Name {
		patch.Name = in.Name
	}
	if in.ExternalID != nil && *in.ExternalID != cur.ExternalID {
		patch.ExternalID = in.ExternalID
	}
	u := cur
	var err error
	if patch != (UserPatch{}) {
		if u, err = s.UpdateUser(ctx, p, cur.ID, patch); err != nil {
			return u, err
		}
	}
	switch {
	case in.Active == nil:
	case *in.Active && u.State == holdfast.UserPreserved:
		return s.ActivateUser(ctx, p, u.ID)
	case !*in.Active && u.State == holdfast.UserActive:
		return s.PreserveUser(ctx, p, u.ID)
	case *in.Active && u.State == holdfast.UserDeleted:
		return u, fmt.Errorf("%w: user %s is deleted; restore it through /api/v1/users/%s/restore", holdfast.ErrConflict, u.ID, u.ID)
	}
	return u, nil
}

// DefaultProfile returns the account's Default profile.
func (s *Service) DefaultProfile(ctx context.Context, accountID string) (holdfast.Profile, error) {
	all, err := s.store.ListProfiles(ctx, accountID)
	if err != nil {
		return holdfast.Profile{}, err
	}
	for _, p := range all {
		if p.Default {
			return p, nil
		}
	}
	return holdfast.Profile{}, fmt.Errorf("default profile: %w", holdfast.ErrNotFound)
}
