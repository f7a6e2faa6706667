package server

import (
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
)

// Ranges of the account settings (rights-and-roles.md sections 5.2 and 6).
const (
	minRollbackDays      = 1
	maxRollbackDays      = 90
	minInactiveAdminDays = 15
	maxInactiveAdminDays = 180
	maxAuditRetention    = 3650
)

// getAccount serves GET /api/v1/account (settings.view).
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	acct := principal(ctx).AccountID
	if _, err := s.decide(ctx, check{right: "settings.view", resource: settingsEntity(acct)}); err != nil {
		return err
	}
	a, err := s.store.GetAccount(ctx, acct)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// settingsPatch is the body of PATCH /api/v1/account/settings; absent
// members are left as they are.
type settingsPatch struct {
	RollbackDays       *int  `json:"rollback_days"`
	InactiveAdminDays  *int  `json:"inactive_admin_days"`
	AuditRetentionDays *int  `json:"audit_retention_days"`
	SSOEnforced        *bool `json:"sso_enforced"`
}

// updateSettings serves PATCH /api/v1/account/settings. Each member needs
// its own right: rollback_days settings.manage, inactive_admin_days
// account.inactive_admin_policy.manage, audit_retention_days
// account.audit_trail_retention.manage, sso_enforced account.sso.manage.
// One refusal refuses the whole change.
func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in settingsPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	var v holdfast.ValidationError
	var checks []check
	if in.RollbackDays != nil {
		if d := *in.RollbackDays; d < minRollbackDays || d > maxRollbackDays {
			v.Add("rollback_days", "must be from %d to %d", minRollbackDays, maxRollbackDays)
		}
		checks = append(checks, check{right: "settings.manage", resource: settingsEntity(acct)})
	}
	if in.InactiveAdminDays != nil {
		if d := *in.InactiveAdminDays; d < minInactiveAdminDays || d > maxInactiveAdminDays {
			v.Add("inactive_admin_days", "must be from %d to %d", minInactiveAdminDays, maxInactiveAdminDays)
		}
		checks = append(checks, check{right: "account.inactive_admin_policy.manage", resource: accountEntity(ctx)})
	}
	if in.AuditRetentionDays != nil {
		if d := *in.AuditRetentionDays; d < 0 || d > maxAuditRetention {
			v.Add("audit_retention_days", "must be 0 (keep forever) or up to %d", maxAuditRetention)
		}
		checks = append(checks, check{right: "account.audit_trail_retention.manage", resource: accountEntity(ctx)})
	}
	if in.SSOEnforced != nil {
		checks = append(checks, check{right: "account.sso.manage", resource: accountEntity(ctx)})
	}
	if len(checks) == 0 {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return err
	}
	rule, err := s.guard.Rule(ctx, acct)
	if err != nil {
		return err
	}
	var out holdfast.Account
	c := change{action: "account.settings.update", resourceType: holdfast.ResourceAccount, resourceID: acct, checks: checks}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		a, err := tx.GetAccount(ctx, acct)
		if err != nil {
			return "", nil, err
		}
		before := a.Settings
		if in.RollbackDays != nil {
			a.Settings.RollbackDays = *in.RollbackDays
		}
		if in.InactiveAdminDays != nil {
			a.Settings.InactiveAdminDays = *in.InactiveAdminDays
		}
		if in.AuditRetentionDays != nil {
			a.Settings.AuditRetentionDays = *in.AuditRetentionDays
		}
		if in.SSOEnforced != nil {
			a.Settings.SSOEnforced = *in.SSOEnforced
		}
		a.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if err := tx.UpdateAccount(ctx, &a); err != nil {
			return "", nil, err
		}
		if a.Settings.SSOEnforced && !before.SSOEnforced {
			if err := rule.Check(ctx, tx, "enforcing single sign-on"); err != nil {
				return "", nil, err
			}
		}
		out = a
		return acct, map[string]any{"from": before, "to": a.Settings}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// settingsEntity is the account's settings as a decision resource.
func settingsEntity(accountID string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceSettings, ID: accountID}
}
