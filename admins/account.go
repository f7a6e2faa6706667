package admins

import (
	"context"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// Ranges of the account settings (rights-and-roles.md sections 5.2 and 6).
const (
	MinRollbackDays      = 1
	MaxRollbackDays      = 90
	MinInactiveAdminDays = 15
	MaxInactiveAdminDays = 180
	MaxAuditRetention    = 3650
)

// Account returns p's account with its settings (settings.view).
func (s *Service) Account(ctx context.Context, p holdfast.Principal) (holdfast.Account, error) {
	if err := s.view(ctx, p, "settings.view", settingsEntity(p.AccountID)); err != nil {
		return holdfast.Account{}, err
	}
	return s.store.GetAccount(ctx, p.AccountID)
}

// SettingsPatch changes the account's settings; nil members are left as
// they are.
type SettingsPatch struct {
	RollbackDays       *int  `json:"rollback_days"`
	InactiveAdminDays  *int  `json:"inactive_admin_days"`
	AuditRetentionDays *int  `json:"audit_retention_days"`
	SSOEnforced        *bool `json:"sso_enforced"`
}

// checks validates in and returns the decisions it needs: each member its
// own right.
func (in SettingsPatch) checks(p holdfast.Principal) ([]change.Check, error) {
	var v holdfast.ValidationError
	var checks []change.Check
	if in.RollbackDays != nil {
		if d := *in.RollbackDays; d < MinRollbackDays || d > MaxRollbackDays {
			v.Add("rollback_days", "must be from %d to %d", MinRollbackDays, MaxRollbackDays)
		}
		checks = append(checks, change.Check{Right: "settings.manage", Resource: settingsEntity(p.AccountID)})
	}
	if in.InactiveAdminDays != nil {
		if d := *in.InactiveAdminDays; d < MinInactiveAdminDays || d > MaxInactiveAdminDays {
			v.Add("inactive_admin_days", "must be from %d to %d", MinInactiveAdminDays, MaxInactiveAdminDays)
		}
		checks = append(checks, change.Check{Right: "account.inactive_admin_policy.manage", Resource: accountEntity(p)})
	}
	if in.AuditRetentionDays != nil {
		if d := *in.AuditRetentionDays; d < 0 || d > MaxAuditRetention {
			v.Add("audit_retention_days", "must be 0 (keep forever) or up to %d", MaxAuditRetention)
		}
		checks = append(checks, change.Check{Right: "account.audit_trail_retention.manage", Resource: accountEntity(p)})
	}
	if in.SSOEnforced != nil {
		checks = append(checks, change.Check{Right: "account.sso.manage", Resource: accountEntity(p)})
	}
	if len(checks) == 0 {
		v.Add("", "the request changes nothing")
	}
	return checks, v.Err()
}

// apply sets in's members on st.
func (in SettingsPatch) apply(st *holdfast.AccountSettings) {
	if in.RollbackDays != nil {
		st.RollbackDays = *in.RollbackDays
	}
	if in.InactiveAdminDays != nil {
		st.InactiveAdminDays = *in.InactiveAdminDays
	}
	if in.AuditRetentionDays != nil {
		st.AuditRetentionDays = *in.AuditRetentionDays
	}
	if in.SSOEnforced != nil {
		st.SSOEnforced = *in.SSOEnforced
	}
}

// UpdateSettings changes p's account's settings. Each member needs its own
// right: rollback_days settings.manage, inactive_admin_days
// account.inactive_admin_policy.manage, audit_retention_days
// account.audit_trail_retention.manage, sso_enforced account.sso.manage;
// one refusal refuses the whole change. Enforcing single sign-on while no
// active platform administrator may use the fail-safe password is
// ErrConflict, and nothing changes.
func (s *Service) UpdateSettings(ctx context.Context, p holdfast.Principal, in SettingsPatch) (holdfast.Account, error) {
	var out holdfast.Account
	checks, err := in.checks(p)
	if err != nil {
		return out, err
	}
	rule, err := s.guard.Rule(ctx, p.AccountID)
	if err != nil {
		return out, err
	}
	c := change.Change{Action: "account.settings.update", ResourceType: holdfast.ResourceAccount, ResourceID: p.AccountID, Checks: checks}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAccount(ctx, p.AccountID)
		if err != nil {
			return "", nil, err
		}
		before := a.Settings
		in.apply(&a.Settings)
		a.UpdatedAt = s.changes.Now()
		if err := tx.UpdateAccount(ctx, &a); err != nil {
			return "", nil, err
		}
		if a.Settings.SSOEnforced && !before.SSOEnforced {
			if err := rule.Check(ctx, tx, "enforcing single sign-on"); err != nil {
				return "", nil, err
			}
		}
		out = a
		return p.AccountID, map[string]any{"from": before, "to": a.Settings}, nil
	})
	return out, err
}

// settingsEntity is the account's settings as a decision resource.
func settingsEntity(accountID string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceSettings, ID: accountID}
}
