package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
)

// roleView is a role with its rights grouped by category.
type roleView struct {
	holdfast.Role
	Categories []categoryView `json:"categories"`
}

// roleList is the body of GET /api/v1/roles.
type roleList struct {
	Roles []roleView `json:"roles"`
}

func (s *Server) viewRole(r holdfast.Role) roleView {
	r.Rights = nonNilSlice(r.Rights)
	return roleView{Role: r, Categories: catalogCategories(s.engine.Catalog(), r.Rights)}
}

// listRoles serves GET /api/v1/roles (admins.view): predefined roles the
// account has, with its edits, then its custom roles.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)}); err != nil {
		return err
	}
	roles, err := s.engine.Roles(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	out := roleList{Roles: []roleView{}}
	for _, role := range roles {
		out.Roles = append(out.Roles, s.viewRole(role))
	}
	return writeJSON(w, http.StatusOK, out)
}

// getRole serves GET /api/v1/roles/{id} (admins.view).
func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := s.decide(ctx, check{right: "admins.view", resource: roleEntity(id, nil)}); err != nil {
		return err
	}
	role, err := s.engine.Role(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.viewRole(role))
}

// roleCreate is the body of POST /api/v1/roles. The role's rights are
// those of ImportFrom, of every category in Categories, and Rights.
type roleCreate struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ImportFrom  string   `json:"import_from"`
	Categories  []string `json:"categories"`
	Rights      []string `json:"rights"`
}

// createRole serves POST /api/v1/roles (roles.manage, operation create).
func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in roleCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p := principal(ctx)
	var v holdfast.ValidationError
	now := s.now().UTC().Truncate(time.Microsecond)
	role := holdfast.Role{
		ID:           newID("role_"),
		AccountID:    p.AccountID,
		Name:         checkName(&v, "name", in.Name),
		Description:  checkDescription(&v, "description", in.Description),
		Product:      holdfast.ProductInSync,
		ImportedFrom: in.ImportFrom,
		CreatedBy:    p.AdminID,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	var imported []string
	if in.ImportFrom != "" {
		src, err := s.engine.Role(ctx, p.AccountID, in.ImportFrom)
		switch {
		case errors.Is(err, holdfast.ErrNotFound):
			v.Add("import_from", "role %q does not exist", in.ImportFrom)
		case err != nil:
			return err
		default:
			imported = src.Rights
		}
	}
	role.Rights = s.effectiveRights(&v, imported, in.Categories, in.Rights)
	if err := v.Err(); err != nil {
		return err
	}
	props := map[string]any{"rights": role.Rights}
	if in.ImportFrom != "" {
		props["import_from"] = in.ImportFrom
	}
	c := change{action: "role.create", resourceType: holdfast.ResourceRole, checks: []check{{
		right: "roles.manage", op: "create", resource: roleEntity("", props),
	}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateRole(ctx, &role); err != nil {
			return "", nil, fmt.Errorf("role %q: %w", role.Name, err)
		}
		if err := s.engine.SaveRoleRights(ctx, tx, p.AccountID, role.ID, role.Rights); err != nil {
			return "", nil, err
		}
		return role.ID, map[string]any{"name": role.Name, "import_from": role.ImportedFrom, "rights": role.Rights}, nil
	})
	if err != nil {
		return err
	}
	return s.writeRole(ctx, w, http.StatusCreated, role.ID)
}

// effectiveRights is the sorted union of base, every right of categories
// and rights; unknown categories and rights are field errors. A role needs
// at least one right.
func (s *Server) effectiveRights(v *holdfast.ValidationError, base, categories, rights []string) []string {
	cat := s.engine.Catalog()
	out := slices.Clone(base)
	for _, c := range categories {
		list, ok := categoryRights(cat, c)
		if !ok {
			v.Add("categories", "unknown right category %q", c)
		}
		out = append(out, list...)
	}
	for _, id := range rights {
		if !knownRight(cat, id) {
			v.Add("rights", "unknown right %q", id)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		v.Add("rights", "a role needs at least one right (from import_from, categories or rights)")
	}
	return nonNilSlice(out)
}

// rolePatch is the body of PATCH /api/v1/roles/{id}. When Categories or
// Rights is present the role's rights become their union, replacing the
// old ones.
type rolePatch struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	Categories  []string `json:"categories"`
	Rights      []string `json:"rights"`
}

// updateRole serves PATCH /api/v1/roles/{id} (roles.manage, operation
// edit). Editing a predefined role stores the account's edit of it: a role
// with the predefined id and OverrideOf set. Predefined roles keep their
// name.
func (s *Server) updateRole(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in rolePatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	current, err := s.engine.Role(ctx, acct, id)
	if err != nil {
		return err
	}
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = checkName(&v, "name", *in.Name)
		if current.Predefined && *in.Name != current.Name {
			v.Add("name", "a predefined role cannot be renamed")
		}
	}
	if in.Description != nil {
		*in.Description = checkDescription(&v, "description", *in.Description)
	}
	rightsChanged := in.Categories != nil || in.Rights != nil
	rights := current.Rights
	if rightsChanged {
		rights = s.effectiveRights(&v, nil, in.Categories, in.Rights)
	}
	if in.Name == nil && in.Description == nil && !rightsChanged {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return err
	}
	props := map[string]any{}
	if rightsChanged {
		props["rights"] = rights
	}
	c := change{action: "role.update", resourceType: holdfast.ResourceRole, resourceID: id, checks: []check{{
		right: "roles.manage", op: "edit", resource: roleEntity(id, props),
	}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		stored, err := s.storedRole(ctx, tx, current)
		if err != nil {
			return "", nil, err
		}
		detail := map[string]any{}
		if in.Name != nil && *in.Name != stored.Name {
			detail["name"] = map[string]string{"from": stored.Name, "to": *in.Name}
			stored.Name = *in.Name
		}
		if in.Description != nil && *in.Description != stored.Description {
			detail["description"] = map[string]string{"from": stored.Description, "to": *in.Description}
			stored.Description = *in.Description
		}
		if rightsChanged {
			detail["rights"] = map[string]any{"from": nonNilSlice(current.Rights), "to": rights}
		}
		stored.Rights = rights
		stored.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if stored.CreatedAt.IsZero() {
			stored.CreatedAt = stored.UpdatedAt
			stored.CreatedBy = principal(ctx).AdminID
			err = tx.CreateRole(ctx, &stored)
		} else {
			err = tx.UpdateRole(ctx, &stored)
		}
		if err != nil {
			return "", nil, fmt.Errorf("role %s: %w", id, err)
		}
		if err := s.engine.SaveRoleRights(ctx, tx, acct, id, rights); err != nil {
			return "", nil, err
		}
		return id, detail, nil
	})
	if err != nil {
		return err
	}
	return s.writeRole(ctx, w, http.StatusOK, id)
}

// storedRole returns the stored row of role: a custom role, the account's
// existing edit of a predefined role, or a new (not yet stored, zero
// CreatedAt) edit of it.
func (s *Server) storedRole(ctx context.Context, tx holdfast.MetaStore, role holdfast.Role) (holdfast.Role, error) {
	stored, err := tx.GetRole(ctx, principal(ctx).AccountID, role.ID)
	if err == nil || !errors.Is(err, holdfast.ErrNotFound) || !role.Predefined {
		return stored, err
	}
	return holdfast.Role{
		ID:          role.ID,
		AccountID:   principal(ctx).AccountID,
		Name:        role.Name,
		Description: role.Description,
		Product:     role.Product,
		Scope:       role.Scope,
		Predefined:  true,
		OverrideOf:  role.ID,
	}, nil
}

// deleteRole serves DELETE /api/v1/roles/{id} (roles.manage, operation
// delete). A custom role is deleted; for a predefined role the account's
// edit is removed, which restores the catalog's rights. A role still
// assigned to administrators is a conflict.
func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	acct := principal(ctx).AccountID
	c := change{action: "role.delete", resourceType: holdfast.ResourceRole, resourceID: id, checks: []check{{
		right: "roles.manage", op: "delete", resource: roleEntity(id, nil),
	}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		stored, err := tx.GetRole(ctx, acct, id)
		if errors.Is(err, holdfast.ErrNotFound) {
			if _, err := s.engine.Role(ctx, acct, id); err == nil {
				return "", nil, fmt.Errorf("%w: predefined role %s has no edits of this account to remove", holdfast.ErrConflict, id)
			}
		}
		if err != nil {
			return "", nil, fmt.Errorf("role %s: %w", id, err)
		}
		if stored.OverrideOf == "" {
			n, err := tx.CountAdminsWithRole(ctx, acct, id)
			if err != nil {
				return "", nil, err
			}
			if n > 0 {
				return "", nil, fmt.Errorf("%w: role %q is assigned to %d administrator(s); assign them another role first", holdfast.ErrConflict, stored.Name, n)
			}
		}
		if err := s.engine.DeleteRoleRights(ctx, tx, acct, id); err != nil {
			return "", nil, err
		}
		if err := tx.DeleteRole(ctx, acct, id); err != nil {
			return "", nil, fmt.Errorf("role %s: %w", id, err)
		}
		return id, map[string]any{"name": stored.Name, "override_of": stored.OverrideOf}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}

// writeRole writes the role as the engine now resolves it.
func (s *Server) writeRole(ctx context.Context, w http.ResponseWriter, status int, id string) error {
	role, err := s.engine.Role(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, status, s.viewRole(role))
}

// roleEntity is a role as a decision resource.
func roleEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceRole, ID: id, Properties: props}
}
