package admins

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// LastLoginChoices are the "Last Login Before" filter values, in days.
var LastLoginChoices = []int{7, 30, 60, 90}

// Query narrows the administrator list. Zero fields do not filter.
type Query struct {
	RoleID string
	// Product keeps the holders of the product's roles: platform, insync
	// or enterprise_workloads.
	Product string
	// LastLoginDays keeps those who have not signed in for that many days
	// (one of LastLoginChoices), including those who never did.
	LastLoginDays int
	NeverLoggedIn bool
	Search        string // case-insensitive part of the name or email
	State         holdfast.AdminState
}

// filter checks q and returns the store filter it means.
func (s *Service) filter(ctx context.Context, p holdfast.Principal, q Query) (holdfast.AdminFilter, error) {
	var v holdfast.ValidationError
	f := holdfast.AdminFilter{RoleID: q.RoleID, Search: q.Search, State: q.State, NeverLoggedIn: q.NeverLoggedIn}
	switch q.State {
	case "", holdfast.AdminActive, holdfast.AdminDisabled:
	default:
		v.Add("state", "must be active or disabled")
	}
	if q.LastLoginDays != 0 {
		if !slices.Contains(LastLoginChoices, q.LastLoginDays) {
			v.Add("last_login_before", "must be 7, 30, 60 or 90 (days)")
		}
		t := s.changes.Now().Add(-time.Duration(q.LastLoginDays) * 24 * time.Hour)
		f.LastLoginBefore = &t
	}
	switch q.Product {
	case "":
	case holdfast.ProductPlatform, holdfast.ProductInSync, holdfast.ProductEnterpriseWorkloads:
		roles, err := s.engine.Roles(ctx, p.AccountID)
		if err != nil {
			return f, err
		}
		f.Product, f.RoleIDs = q.Product, []string{}
		for _, role := range roles {
			if role.Product == q.Product {
				f.RoleIDs = append(f.RoleIDs, role.ID)
			}
		}
	default:
		v.Add("product", "must be platform, insync or enterprise_workloads")
	}
	return f, v.Err()
}

// List returns one page of the account's administrators matching q, by
// name, with the total that match (admins.view).
func (s *Service) List(ctx context.Context, p holdfast.Principal, q Query, page holdfast.Page) (holdfast.Paged[holdfast.Administrator], error) {
	empty := holdfast.Paged[holdfast.Administrator]{Items: []holdfast.Administrator{}}
	f, err := s.filter(ctx, p, q)
	if err == nil {
		err = page.Validate()
	}
	if err != nil {
		return empty, err
	}
	if err := s.view(ctx, p, "admins.view", accountEntity(p)); err != nil {
		return empty, err
	}
	if f.RoleIDs != nil && len(f.RoleIDs) == 0 {
		// The product has no role in this account: nobody can hold one.
		return empty, nil
	}
	return s.store.PageAdmins(ctx, p.AccountID, f, page)
}

// Get returns one administrator of the account (admins.view).
func (s *Service) Get(ctx context.Context, p holdfast.Principal, id string) (holdfast.Administrator, error) {
	if err := s.view(ctx, p, "admins.view", adminEntity(id, nil)); err != nil {
		return holdfast.Administrator{}, err
	}
	return s.store.GetAdmin(ctx, p.AccountID, id)
}

// NewAdmin describes an administrator to create.
type NewAdmin struct {
	Name     string          `json:"name"`
	Email    string          `json:"email"`
	Country  string          `json:"country"`
	TimeZone string          `json:"time_zone"`
	Role     string          `json:"role"`
	Scopes   holdfast.Scopes `json:"scopes"`
	// PasswordHash is an argon2id hash (idp.HashPassword) of a first
	// password, for offline loaders such as the demo; the API never sets
	// it: an administrator created there gets an invitation.
	PasswordHash string `json:"-"`
}

// Create adds an active administrator to p's account (admins.create; the
// engine decides whether p may give that role and those scopes). Bad
// fields and an unknown role are a *holdfast.ValidationError; a taken
// email ErrConflict.
func (s *Service) Create(ctx context.Context, p holdfast.Principal, in NewAdmin) (holdfast.Administrator, error) {
	var v holdfast.ValidationError
	now := s.changes.Now()
	a := holdfast.Administrator{
		AccountID: p.AccountID,
		Name:      holdfast.CheckName(&v, "name", in.Name),
		Email:     holdfast.CheckEmail(&v, "email", in.Email),
		Country:   holdfast.CheckCountry(&v, "country", in.Country),
		TimeZone:  holdfast.CheckTimeZone(&v, "time_zone", in.TimeZone),
		RoleID:    in.Role,
		Scopes:    in.Scopes,
		State:     holdfast.AdminActive,
		CreatedBy: p.AdminID,
		CreatedAt: now,
		UpdatedAt: now,

		PasswordHash: in.PasswordHash,
	}
	if err := s.checkRole(ctx, p, &v, "role", in.Role); err != nil {
		return a, err
	}
	if err := v.Err(); err != nil {
		return a, err
	}
	c := change.Change{Action: "administrator.create", ResourceType: holdfast.ResourceAdministrator, Checks: []change.Check{{
		Right: "admins.create", Resource: adminEntity("", map[string]any{"role": a.RoleID, "scopes": a.Scopes}),
	}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateAdmin(ctx, &a); err != nil {
			return "", nil, fmt.Errorf("administrator %s: %w", a.Email, err)
		}
		return a.ID, map[string]any{"email": a.Email, "name": a.Name, "role": a.RoleID, "scopes": a.Scopes}, nil
	})
	return a, err
}

// checkRole records a field error unless id is a role of p's account;
// only a store failure is returned.
func (s *Service) checkRole(ctx context.Context, p holdfast.Principal, v *holdfast.ValidationError, field, id string) error {
	if id == "" {
		v.Add(field, "is required")
		return nil
	}
	_, err := s.engine.Role(ctx, p.AccountID, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		v.Add(field, "role %q does not exist", id)
		return nil
	}
	return err
}

// AdminPatch changes an administrator; nil members are left as they are.
type AdminPatch struct {
	Name     *string              `json:"name"`
	Country  *string              `json:"country"`
	TimeZone *string              `json:"time_zone"`
	Role     *string              `json:"role"`
	Scopes   *holdfast.Scopes     `json:"scopes"`
	State    *holdfast.AdminState `json:"state"`
}

// validate trims in's fields and checks them.
func (s *Service) validate(ctx context.Context, p holdfast.Principal, in *AdminPatch) error {
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = holdfast.CheckName(&v, "name", *in.Name)
	}
	if in.Country != nil {
		*in.Country = holdfast.CheckCountry(&v, "country", *in.Country)
	}
	if in.TimeZone != nil {
		*in.TimeZone = holdfast.CheckTimeZone(&v, "time_zone", *in.TimeZone)
	}
	if in.Role != nil {
		if err := s.checkRole(ctx, p, &v, "role", *in.Role); err != nil {
			return err
		}
	}
	if in.State != nil && *in.State != holdfast.AdminActive && *in.State != holdfast.AdminDisabled {
		v.Add("state", "must be active or disabled")
	}
	if *in == (AdminPatch{}) {
		v.Add("", "the request changes nothing")
	}
	return v.Err()
}

// Update changes administrator id (admins.edit; a role or scope change is
// decided with the new role and scopes). Disabling an administrator voids
// its sessions, tokens and links; a change that would leave the account
// without an active platform administrator who can sign in is
// ErrConflict, and nothing changes.
func (s *Service) Update(ctx context.Context, p holdfast.Principal, id string, in AdminPatch) (holdfast.Administrator, error) {
	var out holdfast.Administrator
	if err := s.validate(ctx, p, &in); err != nil {
		return out, err
	}
	props := map[string]any{}
	if in.Role != nil {
		props["new_role"] = *in.Role
	}
	if in.Scopes != nil {
		props["new_scopes"] = *in.Scopes
	}
	rule, err := s.guard.Rule(ctx, p.AccountID)
	if err != nil {
		return out, err
	}
	c := change.Change{Action: "administrator.update", ResourceType: holdfast.ResourceAdministrator, ResourceID: id,
		Checks: []change.Check{{Right: "admins.edit", Resource: adminEntity(id, props)}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		was, err := tx.GetAdmin(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		a, detail := patched(was, in)
		now := s.changes.Now()
		a.UpdatedAt = now
		if err := tx.UpdateAdmin(ctx, &a); err != nil {
			return "", nil, fmt.Errorf("administrator %s: %w", id, err)
		}
		if was.State == holdfast.AdminActive && a.State == holdfast.AdminDisabled {
			if err := s.void(ctx, tx, a, now); err != nil {
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
	return out, err
}

// patched applies in to a and returns it with the audit detail of what
// changed (from, to).
func patched(a holdfast.Administrator, in AdminPatch) (holdfast.Administrator, map[string]any) {
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
	return a, detail
}

// Delete removes administrator id (admins.delete), voiding its sessions,
// tokens and links first. Deleting the account's last active platform
// administrator who can sign in is ErrConflict, and nothing changes.
func (s *Service) Delete(ctx context.Context, p holdfast.Principal, id string) error {
	rule, err := s.guard.Rule(ctx, p.AccountID)
	if err != nil {
		return err
	}
	c := change.Change{Action: "administrator.delete", ResourceType: holdfast.ResourceAdministrator, ResourceID: id,
		Checks: []change.Check{{Right: "admins.delete", Resource: adminEntity(id, nil)}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAdmin(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		// Voided before the row goes, not left to the schema's cascades.
		if err := s.void(ctx, tx, a, s.changes.Now()); err != nil {
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
	return err
}

// adminEntity is an administrator as a decision resource.
func adminEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: id, Properties: props}
}
