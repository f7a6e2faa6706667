package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/idp"
)

// Policy is the administrator password policy as the API shows it. Only
// ExpiryDays can change (rights-and-roles.md section 6).
type Policy struct {
	MinLength       int  `json:"min_length"`
	MaxLength       int  `json:"max_length"`
	RequireUpper    bool `json:"require_upper"`
	RequireLower    bool `json:"require_lower"`
	RequireDigit    bool `json:"require_digit"`
	RequireSpecial  bool `json:"require_special"`
	History         int  `json:"history"`
	MaxFailures     int  `json:"max_failures"`
	LockoutMinutes  int  `json:"lockout_minutes"`
	ExpiryDays      int  `json:"expiry_days"`
	MFAForFailsafe  bool `json:"mfa_for_failsafe"`
	InactiveDays    int  `json:"inactive_admin_days"`
	SSOEnforced     bool `json:"sso_enforced"`
	SessionIdleMins int  `json:"session_idle_minutes"`
}

// policyOf is the policy of accountID.
func (s *Service) policyOf(ctx context.Context, accountID string) (Policy, error) {
	st, err := s.store.GetIdentitySettings(ctx, accountID)
	if err != nil {
		return Policy{}, err
	}
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return Policy{}, err
	}
	return Policy{MinLength: idp.MinPasswordLength, MaxLength: idp.MaxPasswordLength, RequireUpper: true,
		RequireLower: true, RequireDigit: true, RequireSpecial: true, History: idp.PasswordHistoryLength,
		MaxFailures: idp.MaxFailedLogins, LockoutMinutes: int(idp.LockoutDuration / time.Minute),
		ExpiryDays: st.PasswordExpiryDays, MFAForFailsafe: true, InactiveDays: acct.Settings.InactiveAdminDays,
		SSOEnforced: acct.Settings.SSOEnforced, SessionIdleMins: int(s.idle / time.Minute)}, nil
}

// Policy returns the password policy of p's account (settings.view).
func (s *Service) Policy(ctx context.Context, p holdfast.Principal) (Policy, error) {
	res := holdfast.Entity{Type: holdfast.ResourceSettings, ID: p.AccountID}
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: "settings.view", Resource: res}); err != nil {
		return Policy{}, err
	}
	return s.policyOf(ctx, p.AccountID)
}

// PolicyPatch is a change of the password policy: the expiry only.
type PolicyPatch struct {
	ExpiryDays *int `json:"expiry_days"`
}

// UpdatePolicy changes the password expiry of p's account
// (account.password_policy.manage) and returns the policy.
func (s *Service) UpdatePolicy(ctx context.Context, p holdfast.Principal, in PolicyPatch) (Policy, error) {
	if in.ExpiryDays == nil || *in.ExpiryDays < idp.MinPasswordExpiryDays || *in.ExpiryDays > idp.MaxPasswordExpiryDays {
		return Policy{}, fmt.Errorf("%w: expiry_days: must be from %d to %d (only the expiry can change)", holdfast.ErrInvalid,
			idp.MinPasswordExpiryDays, idp.MaxPasswordExpiryDays)
	}
	acct := p.AccountID
	c := change.Change{Action: "account.password_policy.update", ResourceType: holdfast.ResourceAccount, ResourceID: acct,
		Checks: []change.Check{{Right: "account.password_policy.manage", Resource: holdfast.Entity{Type: holdfast.ResourceAccount, ID: acct}}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		st, err := tx.GetIdentitySettings(ctx, acct)
		if err != nil {
			return "", nil, err
		}
		from := st.PasswordExpiryDays
		st.PasswordExpiryDays, st.UpdatedAt = *in.ExpiryDays, s.now()
		if err := tx.PutIdentitySettings(ctx, &st); err != nil {
			return "", nil, err
		}
		return acct, map[string]any{"expiry_days": map[string]int{"from": from, "to": st.PasswordExpiryDays}}, nil
	})
	if err != nil {
		return Policy{}, err
	}
	return s.policyOf(ctx, acct)
}

// inactiveSince reports whether admin has been inactive for longer than
// the account allows at now: no sign-in (or, never signed in, no
// creation) within InactiveAdminDays. disableIfInactive keeps the last
// platform administrator who can sign in (lockout), whatever this says.
func inactiveSince(acct holdfast.Account, admin holdfast.Administrator, now time.Time) bool {
	days := acct.Settings.InactiveAdminDays
	if days <= 0 || admin.State != holdfast.AdminActive {
		return false
	}
	last := admin.CreatedAt
	if admin.LastLoginAt != nil {
		last = *admin.LastLoginAt
	}
	return !now.Before(last.Add(time.Duration(days) * 24 * time.Hour))
}

// disableIfInactive disables admin when inactiveSince says so, with an
// audit record by the system, and reports whether it did. It leaves the
// account's last platform administrator who can sign in as it is (logged):
// the policy must not lock the account out.
func (s *Service) disableIfInactive(ctx context.Context, acct holdfast.Account, admin holdfast.Administrator, now time.Time) (bool, error) {
	if !inactiveSince(acct, admin, now) {
		return false, nil
	}
	rule, err := s.guard.Rule(ctx, acct.ID)
	if err != nil {
		return false, err
	}
	err = s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		a, err := tx.GetAdmin(ctx, admin.AccountID, admin.ID)
		if err != nil {
			return err
		}
		if !inactiveSince(acct, a, now) {
			return nil
		}
		a.State, a.UpdatedAt = holdfast.AdminDisabled, now.Truncate(time.Microsecond)
		if err := tx.UpdateAdmin(ctx, &a); err != nil {
			return err
		}
		if err := rule.Check(ctx, tx, "disabling inactive administrator "+a.Email); err != nil {
			return err
		}
		if err := VoidCredentials(ctx, tx, a, now); err != nil {
			return err
		}
		rec := holdfast.AuditRecord{AccountID: a.AccountID, Time: now.Truncate(time.Microsecond), Action: "administrator.disable_inactive",
			ResourceType: holdfast.ResourceAdministrator, ResourceID: a.ID, Outcome: holdfast.OutcomeSuccess,
			Detail: fmt.Appendf(nil, `{"inactive_admin_days":%d}`, acct.Settings.InactiveAdminDays)}
		return tx.AppendAudit(ctx, &rec)
	})
	if errors.Is(err, holdfast.ErrConflict) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "inactive administrator kept: the account's last platform administrator",
			slog.String("account_id", admin.AccountID), slog.String("admin_id", admin.ID))
		return false, nil
	}
	return err == nil, err
}

// SweepInactive disables, in every account, the administrators inactive
// for longer than the account's InactiveAdminDays, and returns how many
// it disabled. Run it periodically (cmd/holdfast does, hourly).
func (s *Service) SweepInactive(ctx context.Context) (int, error) {
	now := s.now()
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, acct := range accts {
		admins, err := s.store.ListAdmins(ctx, acct.ID, holdfast.AdminFilter{State: holdfast.AdminActive})
		if err != nil {
			return n, err
		}
		for _, a := range admins {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			disabled, err := s.disableIfInactive(ctx, acct, a, now)
			if err != nil {
				return n, err
			}
			if disabled {
				n++
			}
		}
	}
	return n, nil
}
