// Package lockout keeps an account from locking itself out. An account
// must always have at least one active platform administrator who can sign
// in: one whose role holds the catalog's platform administrator right and,
// while the account enforces single sign-on, its fail-safe right (the
// password sign-in that still works when the IdP does not).
//
// Every change that could take that away (disabling, deleting or demoting
// an administrator, the inactive-administrator policy, enforcing SSO) makes
// its change and then calls [Rule.Check] in the same transaction, so the
// rule is decided on what the transaction would commit. Which roles count
// is data: the rights named by the catalog's rules, held by the roles the
// engine resolves; no role id appears here.
package lockout

import (
	"context"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast"
)

// RoleLister lists an account's roles with their effective rights
// (*authz.Engine does).
type RoleLister interface {
	Roles(ctx context.Context, accountID string) ([]holdfast.Role, error)
}

// Guard resolves the lockout rule of an account. It is safe for concurrent
// use.
type Guard struct {
	roles         RoleLister
	platformRight string
	failsafeRight string
}

// New returns a guard that counts the holders of platformRight, and of
// failsafeRight too while SSO is enforced (the catalog's
// rules.platform_admin_right and rules.failsafe_right).
func New(roles RoleLister, platformRight, failsafeRight string) *Guard {
	return &Guard{roles: roles, platformRight: platformRight, failsafeRight: failsafeRight}
}

// Rule is the lockout rule of one account: which roles make a platform
// administrator, and which of them may use the fail-safe password.
type Rule struct {
	accountID string
	platform  []string // role ids holding the platform administrator right
	failsafe  []string // of those, the ones holding the fail-safe right too
}

// Rule resolves the rule of accountID. Call it before the transaction: the
// engine reads roles through the store, not through the transaction. The
// roles that hold these rights are predefined and cannot be edited, so they
// do not change in between.
func (g *Guard) Rule(ctx context.Context, accountID string) (Rule, error) {
	roles, err := g.roles.Roles(ctx, accountID)
	if err != nil {
		return Rule{}, fmt.Errorf("lockout: roles of account %s: %w", accountID, err)
	}
	r := Rule{accountID: accountID}
	for _, role := range roles {
		if !slices.Contains(role.Rights, g.platformRight) {
			continue
		}
		r.platform = append(r.platform, role.ID)
		if slices.Contains(role.Rights, g.failsafeRight) {
			r.failsafe = append(r.failsafe, role.ID)
		}
	}
	return r, nil
}

// RecoveryRole returns the id of a role whose holder counts as a platform
// administrator who can use the fail-safe password, for the operator's
// recovery; none: ErrNotFound.
func (r Rule) RecoveryRole() (string, error) {
	if len(r.failsafe) == 0 {
		return "", fmt.Errorf("lockout: no role of account %s holds the platform administrator and fail-safe rights: %w",
			r.accountID, holdfast.ErrNotFound)
	}
	return r.failsafe[0], nil
}

// Check returns an error matching holdfast.ErrConflict unless tx, after
// the change it holds, still has an active platform administrator who can
// sign in; what names the change for the message ("disable administrator
// ann@example.com"). Call it inside the change's transaction, after the
// change's writes: every write of an account updates the account's row
// (its revision), so on PostgreSQL a concurrent change of the same account
// waits for this one to commit and its own Check then counts what this
// one left; SQLite runs one writing transaction at a time.
func (r Rule) Check(ctx context.Context, tx holdfast.MetaStore, what string) error {
	acct, err := tx.GetAccount(ctx, r.accountID)
	if err != nil {
		return err
	}
	roles, need := r.platform, "an active platform administrator"
	if acct.Settings.SSOEnforced {
		roles, need = r.failsafe, "an active platform administrator who can use the fail-safe password while single sign-on is enforced"
	}
	if len(roles) > 0 {
		// An empty RoleIDs would not filter: only ask with some.
		admins, err := tx.ListAdmins(ctx, r.accountID, holdfast.AdminFilter{State: holdfast.AdminActive, RoleIDs: roles, Limit: 1})
		if err != nil {
			return err
		}
		if len(admins) > 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: %s would leave the account without %s, and nobody could sign in to manage it; "+
		"make another administrator a platform administrator first", holdfast.ErrConflict, what, need)
}
