package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// passwordPolicy is the administrator password policy as the API shows
// it. Only expiry_days can change (rights-and-roles.md section 6).
type passwordPolicy struct {
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

func (s *Server) policyOf(ctx context.Context, accountID string) (passwordPolicy, error) {
	st, err := s.store.GetIdentitySettings(ctx, accountID)
	if err != nil {
		return passwordPolicy{}, err
	}
	acct, err := s.store.GetAccount(ctx, accountID)
	if err != nil {
		return passwordPolicy{}, err
	}
	return passwordPolicy{MinLength: idp.MinPasswordLength, MaxLength: idp.MaxPasswordLength, RequireUpper: true,
		RequireLower: true, RequireDigit: true, RequireSpecial: true, History: idp.PasswordHistoryLength,
		MaxFailures: idp.MaxFailedLogins, LockoutMinutes: int(idp.LockoutDuration / time.Minute),
		ExpiryDays: st.PasswordExpiryDays, MFAForFailsafe: true, InactiveDays: acct.Settings.InactiveAdminDays,
		SSOEnforced: acct.Settings.SSOEnforced, SessionIdleMins: int(s.auth.idle / time.Minute)}, nil
}

// getPasswordPolicy serves GET /api/v1/account/password-policy
// (settings.view).
func (s *Server) getPasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	acct := principal(ctx).AccountID
	if _, err := s.decide(ctx, check{right: "settings.view", resource: settingsEntity(acct)}); err != nil {
		return err
	}
	p, err := s.policyOf(ctx, acct)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// updatePasswordPolicy serves PATCH /api/v1/account/password-policy
// {expiry_days} (account.password_policy.manage).
func (s *Server) updatePasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in struct {
		ExpiryDays *int `json:"expiry_days"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.ExpiryDays == nil || *in.ExpiryDays < idp.MinPasswordExpiryDays || *in.ExpiryDays > idp.MaxPasswordExpiryDays {
		return fmt.Errorf("%w: expiry_days: must be from %d to %d (only the expiry can change)", holdfast.ErrInvalid,
			idp.MinPasswordExpiryDays, idp.MaxPasswordExpiryDays)
	}
	acct := principal(ctx).AccountID
	c := change{action: "account.password_policy.update", resourceType: holdfast.ResourceAccount, resourceID: acct,
		checks: []check{{right: "account.password_policy.manage", resource: accountEntity(ctx)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		ids := tx
		st, err := ids.GetIdentitySettings(ctx, acct)
		if err != nil {
			return "", nil, err
		}
		from := st.PasswordExpiryDays
		st.PasswordExpiryDays, st.UpdatedAt = *in.ExpiryDays, s.now().UTC()
		if err := ids.PutIdentitySettings(ctx, &st); err != nil {
			return "", nil, err
		}
		return acct, map[string]any{"expiry_days": map[string]int{"from": from, "to": st.PasswordExpiryDays}}, nil
	})
	if err != nil {
		return err
	}
	p, err := s.policyOf(ctx, acct)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
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
func (s *Server) disableIfInactive(ctx context.Context, acct holdfast.Account, admin holdfast.Administrator, now time.Time) (bool, error) {
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
		if err := s.voidCredentials(ctx, tx, a, now); err != nil {
			return err
		}
		rec := holdfast.AuditRecord{AccountID: a.AccountID, Time: now.Truncate(time.Microsecond), Action: "administrator.disable_inactive",
			ResourceType: holdfast.ResourceAdministrator, ResourceID: a.ID, Outcome: holdfast.OutcomeSuccess,
			Detail: []byte(fmt.Sprintf(`{"inactive_admin_days":%d}`, acct.Settings.InactiveAdminDays))}
		return tx.AppendAudit(ctx, &rec)
	})
	if errors.Is(err, holdfast.ErrConflict) {
		s.log.LogAttrs(ctx, slog.LevelWarn, "inactive administrator kept: the account's last platform administrator",
			slog.String("account_id", admin.AccountID), slog.String("admin_id", admin.ID))
		return false, nil
	}
	return err == nil, err
}

// SweepInactiveAdmins disables, in every account, the administrators
// inactive for longer than the account's InactiveAdminDays, and removes
// expired sessions. It returns how many administrators it disabled. Run
// it periodically (cmd/holdfast does, hourly).
func (s *Server) SweepInactiveAdmins(ctx context.Context) (int, error) {
	now := s.now().UTC()
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
	if s.auth != nil {
		if _, err := s.store.DeleteExpiredSessions(ctx, now); err != nil {
			return n, err
		}
	}
	return n, nil
}
