package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
)

// adminList is the body of GET /api/v1/administrators.
type adminList struct {
	Administrators []holdfast.Administrator `json:"administrators"`
	Limit          int                      `json:"limit"`
	Offset         int                      `json:"offset"`
}

// lastLoginChoices are the "Last Login Before" filter values, in days.
var lastLoginChoices = []int{7, 30, 60, 90}

// listAdmins serves GET /api/v1/administrators (admins.view).
func (s *Server) listAdmins(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := s.adminFilter(ctx, r.URL.Query())
	if err != nil {
		return err
	}
	if _, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)}); err != nil {
		return err
	}
	out := adminList{Administrators: []holdfast.Administrator{}, Limit: f.Limit, Offset: f.Offset}
	if f.RoleIDs != nil && len(f.RoleIDs) == 0 {
		// The product has no role in this account: nobody can hold one.
		return writeJSON(w, http.StatusOK, out)
	}
	admins, err := s.store.ListAdmins(ctx, principal(ctx).AccountID, f)
	if err != nil {
		return err
	}
	out.Administrators = nonNilSlice(admins)
	return writeJSON(w, http.StatusOK, out)
}

// adminFilter reads the list filters: role, product, last_login_before
// (7, 30, 60 or 90 days), never_logged_in, q, state, limit and offset.
func (s *Server) adminFilter(ctx context.Context, q url.Values) (holdfast.AdminFilter, error) {
	var f holdfast.AdminFilter
	var err error
	if f.Limit, f.Offset, err = pageParams(q); err != nil {
		return f, err
	}
	f.RoleID = q.Get("role")
	f.Search = q.Get("q")
	switch st := holdfast.AdminState(q.Get("state")); st {
	case "", holdfast.AdminActive, holdfast.AdminDisabled:
		f.State = st
	default:
		return f, fmt.Errorf("%w: state must be active or disabled", errBadRequest)
	}
	if f.NeverLoggedIn, err = boolParam(q, "never_logged_in"); err != nil {
		return f, err
	}
	if v := q.Get("last_login_before"); v != "" {
		days := slices.IndexFunc(lastLoginChoices, func(d int) bool { return fmt.Sprint(d) == v })
		if days < 0 {
			return f, fmt.Errorf("%w: last_login_before must be 7, 30, 60 or 90 (days)", errBadRequest)
		}
		t := s.now().Add(-time.Duration(lastLoginChoices[days]) * 24 * time.Hour)
		f.LastLoginBefore = &t
	}
	if product := q.Get("product"); product != "" {
		switch product {
		case holdfast.ProductPlatform, holdfast.ProductInSync, holdfast.ProductEnterpriseWorkloads:
		default:
			return f, fmt.Errorf("%w: product must be platform, insync or enterprise_workloads", errBadRequest)
		}
		roles, err := s.engine.Roles(ctx, principal(ctx).AccountID)
		if err != nil {
			return f, err
		}
		f.Product = product
		f.RoleIDs = []string{}
		for _, role := range roles {
			if role.Product == product {
				f.RoleIDs = append(f.RoleIDs, role.ID)
			}
		}
	}
	return f, nil
}

// getAdmin serves GET /api/v1/administrators/{id} (admins.view).
func (s *Server) getAdmin(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := s.decide(ctx, check{right: "admins.view", resource: adminEntity(id, nil)}); err != nil {
		return err
	}
	a, err := s.store.GetAdmin(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// adminCreate is the body of POST /api/v1/administrators.
type adminCreate struct {
	Name     string          `json:"name"`
	Email    string          `json:"email"`
	Country  string          `json:"country"`
	TimeZone string          `json:"time_zone"`
	Role     string          `json:"role"`
	Scopes   holdfast.Scopes `json:"scopes"`
}

// createAdmin serves POST /api/v1/administrators (admins.create).
func (s *Server) createAdmin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in adminCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.validAdmin(ctx, in)
	if err != nil {
		return err
	}
	c := change{action: "administrator.create", resourceType: holdfast.ResourceAdministrator, checks: []check{{
		right:    "admins.create",
		resource: adminEntity("", map[string]any{"role": a.RoleID, "scopes": a.Scopes}),
	}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateAdmin(ctx, &a); err != nil {
			return "", nil, fmt.Errorf("administrator %s: %w", a.Email, err)
		}
		return a.ID, map[string]any{"email": a.Email, "name": a.Name, "role": a.RoleID, "scopes": a.Scopes}, nil
	})
	if err != nil {
		return err
	}
	if err := s.inviteNewAdmin(ctx, r, a); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

// validAdmin checks a creation request and returns the administrator to
// store. An unknown role is a field error.
func (s *Server) validAdmin(ctx context.Context, in adminCreate) (holdfast.Administrator, error) {
	var v holdfast.ValidationError
	p := principal(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	a := holdfast.Administrator{
		AccountID: p.AccountID,
		Name:      checkName(&v, "name", in.Name),
		Email:     checkEmail(&v, "email", in.Email),
		Country:   checkCountry(&v, "country", in.Country),
		TimeZone:  checkTimeZone(&v, "time_zone", in.TimeZone),
		RoleID:    in.Role,
		Scopes:    in.Scopes,
		State:     holdfast.AdminActive,
		CreatedBy: p.AdminID,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := s.checkRole(ctx, &v, "role", in.Role); err != nil {
		return a, err
	}
	return a, v.Err()
}

// checkRole records a field error unless id is a role of the caller's
// account; only a store failure is returned.
func (s *Server) checkRole(ctx context.Context, v *holdfast.ValidationError, field, id string) error {
	if id == "" {
		v.Add(field, "is required")
		return nil
	}
	_, err := s.engine.Role(ctx, principal(ctx).AccountID, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		v.Add(field, "role %q does not exist", id)
		return nil
	}
	return err
}

// adminPatch is the body of PATCH /api/v1/administrators/{id}; absent
// members are left as they are.
type adminPatch struct {
	Name     *string              `json:"name"`
	Country  *string              `json:"country"`
	TimeZone *string              `json:"time_zone"`
	Role     *string              `json:"role"`
	Scopes   *holdfast.Scopes     `json:"scopes"`
	State    *holdfast.AdminState `json:"state"`
}

// updateAdmin serves PATCH /api/v1/administrators/{id} (admins.edit). A
// role or scope change is sent to the engine as new_role / new_scopes.
func (s *Server) updateAdmin(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in adminPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = checkName(&v, "name", *in.Name)
	}
	if in.Country != nil {
		*in.Country = checkCountry(&v, "country", *in.Country)
	}
	if in.TimeZone != nil {
		*in.TimeZone = checkTimeZone(&v, "time_zone", *in.TimeZone)
	}
	if in.Role != nil {
		if err := s.checkRole(ctx, &v, "role", *in.Role); err != nil {
			return err
		}
	}
	if in.State != nil && *in.State != holdfast.AdminActive && *in.State != holdfast.AdminDisabled {
		v.Add("state", "must be active or disabled")
	}
	if in == (adminPatch{}) {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return err
	}
	props := map[string]any{}
	if in.Role != nil {
		props["new_role"] = *in.Role
	}
	if in.Scopes != nil {
		props["new_scopes"] = *in.Scopes
	}
	rule, err := s.guard.Rule(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	var out holdfast.Administrator
	c := change{action: "administrator.update", resourceType: holdfast.ResourceAdministrator, resourceID: id,
		checks: []check{{right: "admins.edit", resource: adminEntity(id, props)}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAdmin(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		was := a
		detail := map[string]any{}
		set := func(field string, dst *string, src *string) {
			if src != nil && *dst != *src {
				detail[field] = map[string]string{"from": *dst, "to": *src}
				*dst = *src
			}
		}
		set("name", &a.Name, in.Name)
		set("country", &a.Country, in.Country)
		set("time_zone", &a.TimeZone, in.TimeZone)
		set("role", &a.RoleID, in.Role)
		if in.Scopes != nil {
			detail["scopes"] = map[string]any{"from": a.Scopes, "to": *in.Scopes}
			a.Scopes = *in.Scopes
		}
		if in.State != nil && a.State != *in.State {
			detail["state"] = map[string]any{"from": a.State, "to": *in.State}
			a.State = *in.State
		}
		now := s.now().UTC()
		a.UpdatedAt = now.Truncate(time.Microsecond)
		if err := tx.UpdateAdmin(ctx, &a); err != nil {
			return "", nil, fmt.Errorf("administrator %s: %w", id, err)
		}
		if was.State == holdfast.AdminActive && a.State == holdfast.AdminDisabled {
			if err := s.voidCredentials(ctx, tx, a, now); err != nil {
				return "", nil, err
			}
		}
		// Only an active administrator disabled or moved to another role
		// can take the account's last way in with it.
		if was.State == holdfast.AdminActive && (a.State != was.State || a.RoleID != was.RoleID) {
			if err := rule.Check(ctx, tx, "changing administrator "+a.Email); err != nil {
				return "", nil, err
			}
		}
		out = a
		return a.ID, detail, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteAdmin serves DELETE /api/v1/administrators/{id} (admins.delete).
func (s *Server) deleteAdmin(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	rule, err := s.guard.Rule(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	c := change{action: "administrator.delete", resourceType: holdfast.ResourceAdministrator, resourceID: id,
		checks: []check{{right: "admins.delete", resource: adminEntity(id, nil)}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAdmin(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		// Voided before the row goes, not left to the schema's cascades.
		if err := s.voidCredentials(ctx, tx, a, s.now().UTC()); err != nil {
			return "", nil, err
		}
		if err := tx.DeleteAdmin(ctx, a.AccountID, id); err != nil {
			return "", nil, fmt.Errorf("administrator %s: %w", id, err)
		}
		if a.State == holdfast.AdminActive {
			if err := rule.Check(ctx, tx, "deleting administrator "+a.Email); err != nil {
				return "", nil, err
			}
		}
		return id, map[string]any{"email": a.Email, "role": a.RoleID}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}

// adminEntity is an administrator as a decision resource.
func adminEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: id, Properties: props}
}

// nonNilSlice makes a nil list encode as [].
func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
