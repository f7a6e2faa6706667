package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// userList is the body of GET /api/v1/users.
type userList struct {
	Users  []holdfast.User `json:"users"`
	Limit  int             `json:"limit"`
	Offset int             `json:"offset"`
}

// listUsers serves GET /api/v1/users: the users the engine lets the
// caller view (users.view on each). Filters: profile_id, state, q, limit,
// offset. The store query is narrowed to the caller's profile scope first,
// so paging stays cheap; a page can still be shorter than limit when the
// engine refuses an item for another reason.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	var f holdfast.UserFilter
	var err error
	if f.Limit, f.Offset, err = pageParams(q); err != nil {
		return err
	}
	f.Search = q.Get("q")
	switch st := holdfast.UserState(q.Get("state")); st {
	case "", holdfast.UserActive, holdfast.UserPreserved, holdfast.UserDeleted:
		f.State = st
	default:
		return fmt.Errorf("%w: state must be active, preserved or deleted", errBadRequest)
	}
	scope, err := s.profileScope(ctx)
	if err != nil {
		return err
	}
	switch pid := q.Get("profile_id"); {
	case pid != "" && scope != nil && !slices.Contains(scope, pid):
		f.ProfileIDs = []string{}
	case pid != "":
		f.ProfileIDs = []string{pid}
	default:
		f.ProfileIDs = scope
	}
	out := userList{Users: []holdfast.User{}, Limit: f.Limit, Offset: f.Offset}
	if f.ProfileIDs != nil && len(f.ProfileIDs) == 0 {
		return writeJSON(w, http.StatusOK, out)
	}
	users, err := s.store.ListUsers(ctx, principal(ctx).AccountID, f)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.allowed(ctx, check{right: "users.view", resource: userEntity(u.ID, nil)})
		if err != nil {
			return err
		}
		if ok {
			out.Users = append(out.Users, u)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// profileScope returns the profiles the caller's role is confined to, or
// nil when it is not confined by profile. It only narrows queries: every
// item is still decided by the engine.
func (s *Server) profileScope(ctx context.Context) ([]string, error) {
	p := principal(ctx)
	admin, err := s.store.GetAdmin(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return nil, err
	}
	role, err := s.engine.Role(ctx, p.AccountID, admin.RoleID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return []string{}, nil // the engine refuses everything anyway
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(role.Scope, holdfast.ScopeProfile) || admin.Scopes.AllProfiles {
		return nil, nil
	}
	return nonNilSlice(admin.Scopes.Profiles), nil
}

// getUser serves GET /api/v1/users/{id} (users.view).
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.viewUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// viewUser returns user id of the caller's account (users.view).
func (s *Server) viewUser(ctx context.Context, id string) (holdfast.User, error) {
	if _, err := s.decide(ctx, check{right: "users.view", resource: userEntity(id, nil)}); err != nil {
		return holdfast.User{}, err
	}
	return s.store.GetUser(ctx, principal(ctx).AccountID, id)
}

// userCreate is the body of POST /api/v1/users. An empty ProfileID puts
// the user in the Default profile.
type userCreate struct {
	Email      string `json:"email"`
	Name       string `json:"name"`
	ProfileID  string `json:"profile_id"`
	ExternalID string `json:"external_id"`
}

// createUser serves POST /api/v1/users (users.create_import).
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in userCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.newUser(ctx, in, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

// newUser validates in and creates the user, active, in the caller's
// account (users.create_import); extra is merged into the audit detail.
func (s *Server) newUser(ctx context.Context, in userCreate, extra map[string]any) (holdfast.User, error) {
	acct := principal(ctx).AccountID
	var v holdfast.ValidationError
	now := s.now().UTC().Truncate(time.Microsecond)
	u := holdfast.User{
		AccountID:  acct,
		Email:      checkEmail(&v, "email", in.Email),
		Name:       checkName(&v, "name", in.Name),
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
		def, err := s.defaultProfile(ctx)
		if err != nil {
			return u, err
		}
		u.ProfileID = def.ID
	}
	c := change{action: "user.create", resourceType: holdfast.ResourceUser, checks: []check{{
		right: "users.create_import", resource: userEntity("", map[string]any{"profile_id": u.ProfileID}),
	}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if _, err := tx.GetProfile(ctx, acct, u.ProfileID); errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, invalidField("profile_id", "profile %q does not exist", u.ProfileID)
		} else if err != nil {
			return "", nil, err
		}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return "", nil, fmt.Errorf("user %s: %w", u.Email, err)
		}
		detail := map[string]any{"email": u.Email, "profile_id": u.ProfileID}
		for k, v := range extra {
			detail[k] = v
		}
		return u.ID, detail, nil
	})
	return u, err
}

// defaultProfile returns the caller's account's Default profile.
func (s *Server) defaultProfile(ctx context.Context) (holdfast.Profile, error) {
	all, err := s.store.ListProfiles(ctx, principal(ctx).AccountID)
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

// userPatch is the body of PATCH /api/v1/users/{id}.
type userPatch struct {
	Name       *string `json:"name"`
	ProfileID  *string `json:"profile_id"`
	ExternalID *string `json:"external_id"`
}

// updateUser serves PATCH /api/v1/users/{id} (users.manage). Moving the
// user to another profile also needs users.manage over a user of the
// destination profile.
func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in userPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	out, err := s.patchUser(ctx, id, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// patchUser validates and applies in to user id (users.manage).
func (s *Server) patchUser(ctx context.Context, id string, in userPatch) (holdfast.User, error) {
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = checkName(&v, "name", *in.Name)
	}
	if in.ProfileID != nil && strings.TrimSpace(*in.ProfileID) == "" {
		v.Add("profile_id", "must not be empty")
	}
	if in == (userPatch{}) {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return holdfast.User{}, err
	}
	checks := []check{{right: "users.manage", resource: userEntity(id, nil)}}
	if in.ProfileID != nil {
		checks = append(checks, check{right: "users.manage",
			resource: userEntity("", map[string]any{"profile_id": *in.ProfileID})})
	}
	var out holdfast.User
	c := change{action: "user.update", resourceType: holdfast.ResourceUser, resourceID: id, checks: checks}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		u, err := tx.GetUser(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		detail := map[string]any{}
		set := func(field string, dst, src *string) {
			if src != nil && *dst != *src {
				detail[field] = map[string]string{"from": *dst, "to": *src}
				*dst = *src
			}
		}
		if in.ProfileID != nil {
			if _, err := tx.GetProfile(ctx, u.AccountID, *in.ProfileID); errors.Is(err, holdfast.ErrNotFound) {
				return "", nil, invalidField("profile_id", "profile %q does not exist", *in.ProfileID)
			} else if err != nil {
				return "", nil, err
			}
		}
		set("name", &u.Name, in.Name)
		set("profile_id", &u.ProfileID, in.ProfileID)
		set("external_id", &u.ExternalID, in.ExternalID)
		return s.saveUser(ctx, tx, &u, &out, detail)
	})
	return out, err
}

// saveUser stores u and copies it to out; it is the tail of every user
// mutation.
func (s *Server) saveUser(ctx context.Context, tx holdfast.MetaStore, u, out *holdfast.User, detail any) (string, any, error) {
	u.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := tx.UpdateUser(ctx, u); err != nil {
		return "", nil, fmt.Errorf("user %s: %w", u.ID, err)
	}
	*out = *u
	return u.ID, detail, nil
}

// userTransition is a state change of a user: the right it needs, the
// audit action, and the change itself, which returns an error matching
// ErrConflict when the user's state does not allow it.
type userTransition struct {
	right, action string
	apply         func(tx holdfast.MetaStore, u *holdfast.User, now time.Time) error
}

// transitionUser serves the state changes of one user.
func (s *Server) transitionUser(t userTransition) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		out, err := s.transition(r.Context(), r.PathValue("id"), t)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

// transition applies t to user id, in one transaction with its audit
// record, and returns the user after it.
func (s *Server) transition(ctx context.Context, id string, t userTransition) (holdfast.User, error) {
	var out holdfast.User
	c := change{action: t.action, resourceType: holdfast.ResourceUser, resourceID: id,
		checks: []check{{right: t.right, resource: userEntity(id, nil)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		u, err := tx.GetUser(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		from := u.State
		if err := t.apply(tx, &u, s.now().UTC().Truncate(time.Microsecond)); err != nil {
			return "", nil, err
		}
		return s.saveUser(ctx, tx, &u, &out, map[string]any{"email": u.Email, "from": from, "to": u.State})
	})
	return out, err
}

// preserveTransition: an active user stops backing up and its data is
// kept.
var preserveTransition = userTransition{right: "users.manage", action: "user.preserve",
	apply: func(_ holdfast.MetaStore, u *holdfast.User, now time.Time) error {
		if u.State != holdfast.UserActive {
			return fmt.Errorf("%w: only an active user can be preserved; user %s is %s", holdfast.ErrConflict, u.ID, u.State)
		}
		u.State, u.PreservedAt = holdfast.UserPreserved, &now
		return nil
	}}

// activateTransition: a preserved user becomes active again.
var activateTransition = userTransition{right: "users.manage", action: "user.activate",
	apply: func(_ holdfast.MetaStore, u *holdfast.User, _ time.Time) error {
		if u.State != holdfast.UserPreserved {
			return fmt.Errorf("%w: only a preserved user can be activated; user %s is %s", holdfast.ErrConflict, u.ID, u.State)
		}
		u.State, u.PreservedAt = holdfast.UserActive, nil
		return nil
	}}

// preserveUser serves POST /api/v1/users/{id}/preserve (users.manage).
func (s *Server) preserveUser(w http.ResponseWriter, r *http.Request) error {
	return s.transitionUser(preserveTransition)(w, r)
}

// activateUser serves POST /api/v1/users/{id}/activate (users.manage).
func (s *Server) activateUser(w http.ResponseWriter, r *http.Request) error {
	return s.transitionUser(activateTransition)(w, r)
}

// deleteUser serves DELETE /api/v1/users/{id} (users.delete): the user is
// marked deleted and can be restored for the account's rollback days. The
// engine refuses a held user; the hold is checked again inside the
// transaction, so a hold placed after the decision still wins (ErrHeld).
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	return s.transitionUser(userTransition{right: "users.delete", action: "user.delete",
		apply: func(tx holdfast.MetaStore, u *holdfast.User, now time.Time) error {
			if u.State == holdfast.UserDeleted {
				return fmt.Errorf("%w: user %s is already deleted", holdfast.ErrConflict, u.ID)
			}
			if err := checkNotHeld(r.Context(), tx, u); err != nil {
				return err
			}
			acct, err := tx.GetAccount(r.Context(), u.AccountID)
			if err != nil {
				return err
			}
			purge := now.AddDate(0, 0, acct.Settings.RollbackDays)
			u.State, u.DeletedAt, u.PurgeAfter = holdfast.UserDeleted, &now, &purge
			return nil
		}})(w, r)
}

// restoreUser serves POST /api/v1/users/{id}/restore (users.manage): a
// deleted user comes back, active, while its rollback window is open.
func (s *Server) restoreUser(w http.ResponseWriter, r *http.Request) error {
	return s.transitionUser(userTransition{right: "users.manage", action: "user.restore",
		apply: func(_ holdfast.MetaStore, u *holdfast.User, now time.Time) error {
			if u.State != holdfast.UserDeleted {
				return fmt.Errorf("%w: only a deleted user can be restored; user %s is %s", holdfast.ErrConflict, u.ID, u.State)
			}
			if u.PurgeAfter == nil || !now.Before(*u.PurgeAfter) {
				return fmt.Errorf("%w: the rollback window of user %s has closed", holdfast.ErrConflict, u.ID)
			}
			u.State, u.DeletedAt, u.PurgeAfter, u.PreservedAt = holdfast.UserActive, nil, nil, nil
			return nil
		}})(w, r)
}

// checkNotHeld returns an error matching ErrHeld when u is a custodian of
// a legal hold. It is the store's backstop behind the engine (whose
// refusal names the holds the caller may see), so it names none: the
// caller may be outside the hold's type.
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

// invalidField returns a ValidationError for one field.
func invalidField(field, format string, args ...any) error {
	var v holdfast.ValidationError
	v.Add(field, format, args...)
	return &v
}

// userEntity is a user as a decision resource.
func userEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceUser, ID: id, Properties: props}
}
