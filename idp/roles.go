package idp

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/policies"
)

// RoleSource resolves a role of an account with its effective rights
// (*authz.Engine does).
type RoleSource interface {
	Role(ctx context.Context, accountID, id string) (holdfast.Role, error)
}

// RoleRules decides how an administrator may sign in from what their role
// holds, never from the role's id: the rights named by the catalog's rules
// (rules.failsafe_right, rules.webdav_token_right) and the role attributes
// of the catalog (password_under_sso). A custom role given the fail-safe
// right signs in like a platform administrator. It is safe for concurrent
// use.
type RoleRules struct {
	roles RoleSource
	cat   *policies.Catalog
}

// NewRoleRules returns the sign-in rules of cat over roles.
func NewRoleRules(roles RoleSource, cat *policies.Catalog) *RoleRules {
	return &RoleRules{roles: roles, cat: cat}
}

// role returns the administrator's role; a role that no longer exists
// holds nothing.
func (r *RoleRules) role(ctx context.Context, a holdfast.Administrator) (holdfast.Role, bool, error) {
	role, err := r.roles.Role(ctx, a.AccountID, a.RoleID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return role, false, nil
	}
	if err != nil {
		return role, false, fmt.Errorf("idp: role of administrator %s: %w", a.ID, err)
	}
	return role, true, nil
}

func (r *RoleRules) holds(ctx context.Context, a holdfast.Administrator, right string) (bool, error) {
	role, ok, err := r.role(ctx, a)
	if err != nil || !ok || right == "" {
		return false, err
	}
	return slices.Contains(role.Rights, right), nil
}

// Failsafe reports whether a's role holds the fail-safe right: a password
// sign-in while the account enforces single sign-on, always with MFA.
func (r *RoleRules) Failsafe(ctx context.Context, a holdfast.Administrator) (bool, error) {
	return r.holds(ctx, a, r.cat.Rules.FailsafeRight)
}

// PasswordUnderSSO reports whether a may sign in with a password while the
// account enforces single sign-on: with the fail-safe right, or in a
// predefined role whose catalog entry keeps passwords (legal
// administrators, for WebDAV).
func (r *RoleRules) PasswordUnderSSO(ctx context.Context, a holdfast.Administrator) (bool, error) {
	role, ok, err := r.role(ctx, a)
	if err != nil || !ok {
		return false, err
	}
	if slices.Contains(role.Rights, r.cat.Rules.FailsafeRight) {
		return true, nil
	}
	if !role.Predefined {
		return false, nil
	}
	base := role.ID
	if role.OverrideOf != "" {
		base = role.OverrideOf
	}
	c, found := r.cat.Role(base)
	return found && c.PasswordUnderSSO, nil
}

// MFARequired reports whether a password sign-in of a must pass a second
// factor: always for holders of the fail-safe right, and for anyone who
// enrolled.
func (r *RoleRules) MFARequired(ctx context.Context, a holdfast.Administrator, c holdfast.Credentials) (bool, error) {
	if c.TOTPSecret != "" {
		return true, nil
	}
	return r.Failsafe(ctx, a)
}

// WebDAVToken reports whether a may open the WebDAV mount of legal holds
// with an API token.
func (r *RoleRules) WebDAVToken(ctx context.Context, a holdfast.Administrator) (bool, error) {
	return r.holds(ctx, a, r.cat.Rules.WebDAVTokenRight)
}

// PasswordSignIn reports whether a may sign in with a password (and so be
// sent reset and invitation links) in acct: always while the account does
// not enforce single sign-on, and under it as PasswordUnderSSO says.
func (r *RoleRules) PasswordSignIn(ctx context.Context, acct holdfast.Account, a holdfast.Administrator) (bool, error) {
	if !acct.Settings.SSOEnforced {
		return true, nil
	}
	return r.PasswordUnderSSO(ctx, a)
}
