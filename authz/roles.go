package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast"
)

// Roles lists the roles of an account: the catalog roles its edition and
// add-ons make available, with the account's edits, then its custom roles,
// each with its effective rights.
func (e *Engine) Roles(ctx context.Context, accountID string) ([]holdfast.Role, error) {
	acct, err := e.store.GetAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	g, err := e.currentGrants(ctx)
	if err != nil {
		return nil, err
	}
	r := resolver{store: e.store, cat: e.cat, g: g}
	var out []holdfast.Role
	for _, cr := range e.cat.RoleList() {
		if cr.ID == customRoleID || !e.cat.RoleAvailable(cr.ID, string(acct.Edition), acct.Addons) {
			continue
		}
		ri, err := r.role(ctx, accountID, cr.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ri.Role)
	}
	stored, err := e.store.ListRoles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, s := range stored {
		if s.OverrideOf != "" {
			continue
		}
		ri, err := r.role(ctx, accountID, s.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ri.Role)
	}
	return out, nil
}

// Role returns one role of the account with its effective rights; a role
// the account does not have is ErrNotFound.
func (e *Engine) Role(ctx context.Context, accountID, id string) (holdfast.Role, error) {
	g, err := e.currentGrants(ctx)
	if err != nil {
		return holdfast.Role{}, err
	}
	ri, err := resolver{store: e.store, cat: e.cat, g: g}.role(ctx, accountID, id)
	if err != nil {
		return holdfast.Role{}, err
	}
	return ri.Role, nil
}

// SaveRoleRights replaces the Casbin grants of a stored role (a custom role,
// or the account's edit of a predefined role) with rights, through tx so the
// change lands with the role itself. Unknown rights are ErrInvalid.
func (e *Engine) SaveRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string, rights []string) error {
	sub, err := e.storedSubject(accountID, roleID)
	if err != nil {
		return err
	}
	var bad holdfast.ValidationError
	for _, id := range rights {
		if _, ok := e.cat.Right(id); !ok {
			bad.Add("rights", "unknown right %q", id)
		}
	}
	if err := bad.Err(); err != nil {
		return err
	}
	a := NewAdapter(tx, "")
	if err := a.RemoveFilteredPolicyCtx(ctx, "p", "p", 0, sub); err != nil {
		return fmt.Errorf("authz: clear grants of %s: %w", roleID, err)
	}
	sorted := slices.Clone(rights)
	slices.Sort(sorted)
	for _, right := range slices.Compact(sorted) {
		if err := a.AddPolicyCtx(ctx, "p", "p", []string{sub, accountID, right}); err != nil {
			return fmt.Errorf("authz: grant %s to %s: %w", right, roleID, err)
		}
	}
	return nil
}

// DeleteRoleRights removes the Casbin grants of a stored role through tx.
func (e *Engine) DeleteRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string) error {
	sub, err := e.storedSubject(accountID, roleID)
	if err != nil {
		return err
	}
	return NewAdapter(tx, "").RemoveFilteredPolicyCtx(ctx, "p", "p", 0, sub)
}

// storedSubject is the Casbin subject of a stored role: custom role ids are
// global, edits of predefined roles are per account.
func (e *Engine) storedSubject(accountID, roleID string) (string, error) {
	if accountID == "" || roleID == "" || roleID == customRoleID {
		return "", errors.Join(holdfast.ErrInvalid, fmt.Errorf("authz: role %q of account %q", roleID, accountID))
	}
	_, predefined := e.cat.Role(roleID)
	return CasbinSubject(accountID, roleID, predefined), nil
}
