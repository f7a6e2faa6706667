package admins

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// RoleView is a role with its rights grouped by category.
type RoleView struct {
	holdfast.Role
	Categories []CategoryView `json:"categories"`
}

func (s *Service) viewRole(r holdfast.Role) RoleView {
	r.Rights = nonNil(r.Rights)
	return RoleView{Role: r, Categories: Categories(s.engine.Catalog(), r.Rights)}
}

// Roles returns one page of the account's roles (admins.view): the
// predefined roles the account has, with its edits, then its custom roles,
// in the engine's order. The cursor is the last role's id.
func (s *Service) Roles(ctx context.Context, p holdfast.Principal, page holdfast.Page) (holdfast.Paged[RoleView], error) {
	out := holdfast.Paged[RoleView]{Items: []RoleView{}}
	if err := page.Validate(); err != nil {
		return out, err
	}
	if err := s.view(ctx, p, "admins.view", accountEntity(p)); err != nil {
		return out, err
	}
	roles, err := s.engine.Roles(ctx, p.AccountID)
	if err != nil {
		return out, err
	}
	rest, err := after(roles, page.Cursor, func(r holdfast.Role) string { return r.ID })
	if err != nil {
		return out, err
	}
	out.Total = len(roles)
	if len(rest) > page.Size() {
		rest = rest[:page.Size()]
		out.Next = holdfast.EncodeCursor(rest[len(rest)-1].ID)
	}
	for _, role := range rest {
		out.Items = append(out.Items, s.viewRole(role))
	}
	return out, nil
}

// after returns the items of list after the one whose id the cursor
// names, all of them for no cursor. A cursor naming no item is ErrInvalid.
func after[T any](list []T, cursor string, id func(T) string) ([]T, error) {
	if cursor == "" {
		return list, nil
	}
	key, err := holdfast.DecodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(list, func(t T) bool { return len(key) == 1 && id(t) == key[0] })
	if i < 0 {
		var v holdfast.ValidationError
		v.Add("cursor", "is not a cursor this list returned")
		return nil, v.Err()
	}
	return list[i+1:], nil
}

// Role returns one role of the account (admins.view).
func (s *Service) Role(ctx context.Context, p holdfast.Principal, id string) (RoleView, error) {
	if err := s.view(ctx, p, "admins.view", roleEntity(id, nil)); err != nil {
		return RoleView{}, err
	}
	return s.resolved(ctx, p, id)
}

// resolved is role id as the engine now resolves it.
func (s *Service) resolved(ctx context.Context, p holdfast.Principal, id string) (RoleView, error) {
	role, err := s.engine.Role(ctx, p.AccountID, id)
	if err != nil {
		return RoleView{}, err
	}
	return s.viewRole(role), nil
}

// NewRole describes a custom role. Its rights are those of ImportFrom, of
// every category in Categories, and Rights.
type NewRole struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ImportFrom  string   `json:"import_from"`
	Categories  []string `json:"categories"`
	Rights      []string `json:"rights"`
}

// CreateRole adds a custom role (roles.manage, operation create; the
// engine decides which rights p may put in it). Unknown categories, rights
// or import source are a *holdfast.ValidationError.
func (s *Service) CreateRole(ctx context.Context, p holdfast.Principal, in NewRole) (RoleView, error) {
	var v holdfast.ValidationError
	now := s.changes.Now()
	role := holdfast.Role{
		ID:           holdfast.NewID("role_"),
		AccountID:    p.AccountID,
		Name:         holdfast.CheckName(&v, "name", in.Name),
		Description:  holdfast.CheckDescription(&v, "description", in.Description),
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
			return RoleView{}, err
		default:
			imported = src.Rights
		}
	}
	role.Rights = s.effectiveRights(&v, imported, in.Categories, in.Rights)
	if err := v.Err(); err != nil {
		return RoleView{}, err
	}
	props := map[string]any{"rights": role.Rights}
	if in.ImportFrom != "" {
		props["import_from"] = in.ImportFrom
	}
	c := change.Change{Action: "role.create", ResourceType: holdfast.ResourceRole, Checks: []change.Check{{
		Right: "roles.manage", Op: "create", Resource: roleEntity("", props),
	}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateRole(ctx, &role); err != nil {
			return "", nil, fmt.Errorf("role %q: %w", role.Name, err)
		}
		if err := s.engine.SaveRoleRights(ctx, tx, p.AccountID, role.ID, role.Rights); err != nil {
			return "", nil, err
		}
		return role.ID, map[string]any{"name": role.Name, "import_from": role.ImportedFrom, "rights": role.Rights}, nil
	})
	if err != nil {
		return RoleView{}, err
	}
	return s.resolved(ctx, p, role.ID)
}

// effectiveRights is the sorted union of base, every right of categories
// and rights; unknown categories and rights are field errors. A role needs
// at least one right.
func (s *Service) effectiveRights(v *holdfast.ValidationError, base, categories, rights []string) []string {
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
	return nonNil(out)
}

// RolePatch changes a role. When Categories or Rights is present the
// role's rights become their union, replacing the old ones.
type RolePatch struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	Categories  []string `json:"categories"`
	Rights      []string `json:"rights"`
}

// rightsChanged reports whether in replaces the role's rights.
func (in RolePatch) rightsChanged() bool { return in.Categories != nil || in.Rights != nil }

// validate trims in's fields and checks them against current, returning
// the role's rights after the change.
func (s *Service) validateRole(current holdfast.Role, in *RolePatch) ([]string, error) {
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = holdfast.CheckName(&v, "name", *in.Name)
		if current.Predefined && *in.Name != current.Name {
			v.Add("name", "a predefined role cannot be renamed")
		}
	}
	if in.Description != nil {
		*in.Description = holdfast.CheckDescription(&v, "description", *in.Description)
	}
	rights := current.Rights
	if in.rightsChanged() {
		rights = s.effectiveRights(&v, nil, in.Categories, in.Rights)
	}
	if in.Name == nil && in.Description == nil && !in.rightsChanged() {
		v.Add("", "the request changes nothing")
	}
	return rights, v.Err()
}

// UpdateRole edits role id (roles.manage, operation edit; the engine
// decides which roles are editable and which rights p may give). Editing a
// predefined role stores the account's edit of it: a role with the
// predefined id and OverrideOf set. Predefined roles keep their name.
func (s *Service) UpdateRole(ctx context.Context, p holdfast.Principal, id string, in RolePatch) (RoleView, error) {
	current, err := s.engine.Role(ctx, p.AccountID, id)
	if err != nil {
		return RoleView{}, err
	}
	rights, err := s.validateRole(current, &in)
	if err != nil {
		return RoleView{}, err
	}
	props := map[string]any{}
	if in.rightsChanged() {
		props["rights"] = rights
	}
	c := change.Change{Action: "role.update", ResourceType: holdfast.ResourceRole, ResourceID: id, Checks: []change.Check{{
		Right: "roles.manage", Op: "edit", Resource: roleEntity(id, props),
	}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		stored, err := storedRole(ctx, tx, p, current)
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
		if in.rightsChanged() {
			detail["rights"] = map[string]any{"from": nonNil(current.Rights), "to": rights}
		}
		stored.Rights = rights
		if err := s.saveRole(ctx, tx, p, &stored); err != nil {
			return "", nil, err
		}
		return id, detail, nil
	})
	if err != nil {
		return RoleView{}, err
	}
	return s.resolved(ctx, p, id)
}

// saveRole stores role through tx, creating the account's first edit of a
// predefined role, and its rights.
func (s *Service) saveRole(ctx context.Context, tx holdfast.MetaStore, p holdfast.Principal, role *holdfast.Role) error {
	role.UpdatedAt = s.changes.Now()
	var err error
	if role.CreatedAt.IsZero() {
		role.CreatedAt = role.UpdatedAt
		role.CreatedBy = p.AdminID
		err = tx.CreateRole(ctx, role)
	} else {
		err = tx.UpdateRole(ctx, role)
	}
	if err != nil {
		return fmt.Errorf("role %s: %w", role.ID, err)
	}
	return s.engine.SaveRoleRights(ctx, tx, p.AccountID, role.ID, role.Rights)
}

// storedRole returns the stored row of role: a custom role, the account's
// existing edit of a predefined role, or a new (not yet stored, zero
// CreatedAt) edit of it.
func storedRole(ctx context.Context, tx holdfast.MetaStore, p holdfast.Principal, role holdfast.Role) (holdfast.Role, error) {
	stored, err := tx.GetRole(ctx, p.AccountID, role.ID)
	if err == nil || !errors.Is(err, holdfast.ErrNotFound) || !role.Predefined {
		return stored, err
	}
	return holdfast.Role{
		ID:          role.ID,
		AccountID:   p.AccountID,
		Name:        role.Name,
		Description: role.Description,
		Product:     role.Product,
		Scope:       role.Scope,
		Predefined:  true,
		OverrideOf:  role.ID,
	}, nil
}

// DeleteRole removes role id (roles.manage, operation delete). A custom
// role is deleted; for a predefined role the account's edit is removed,
// which restores the catalog's rights. A role still assigned to
// administrators, and a predefined role without edits, is ErrConflict.
func (s *Service) DeleteRole(ctx context.Context, p holdfast.Principal, id string) error {
	acct := p.AccountID
	c := change.Change{Action: "role.delete", ResourceType: holdfast.ResourceRole, ResourceID: id, Checks: []change.Check{{
		Right: "roles.manage", Op: "delete", Resource: roleEntity(id, nil),
	}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
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
	return err
}

// roleEntity is a role as a decision resource.
func roleEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceRole, ID: id, Properties: props}
}
