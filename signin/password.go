package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/idp"
)

// PasswordSignIn proves email and password, applies every sign-in rule
// and starts a session, which may still owe MFA or a password change
// (Started.Pending). Every refusal before the password is proven is the
// same ErrBadLogin, after the same argon2id work.
func (s *Service) PasswordSignIn(ctx context.Context, email, password string, at Attempt) (Started, error) {
	admin, creds, err := s.provePassword(ctx, email, password)
	if err != nil {
		return Started{}, err
	}
	pending, err := s.admit(ctx, admin, creds, at)
	if err != nil {
		return Started{}, err
	}
	return s.start(ctx, admin, "password", pending, at)
}

// provePassword finds the administrator of email and checks its password,
// its lockout and its state; failures count towards the lockout.
func (s *Service) provePassword(ctx context.Context, email, password string) (holdfast.Administrator, holdfast.Credentials, error) {
	now := s.now()
	email = strings.ToLower(strings.TrimSpace(email))
	admin, err := s.store.GetAdminByEmail(ctx, email)
	if errors.Is(err, holdfast.ErrNotFound) || email == "" {
		s.burn(password)
		return admin, holdfast.Credentials{}, ErrBadLogin
	}
	if err != nil {
		return admin, holdfast.Credentials{}, err
	}
	creds, err := Credentials(ctx, s.store, admin)
	if err != nil {
		return admin, creds, err
	}
	if locked(creds, now) {
		s.burn(password)
		s.auditSignIn(ctx, admin, "password", holdfast.OutcomeFailed, "locked")
		return admin, creds, ErrBadLogin
	}
	if !s.passwordMatches(ctx, admin, password) {
		return admin, creds, s.countFailure(ctx, admin, now, "wrong password")
	}
	if admin.State != holdfast.AdminActive {
		s.auditSignIn(ctx, admin, "password", holdfast.OutcomeFailed, "disabled")
		return admin, creds, ErrBadLogin
	}
	return admin, creds, nil
}

// locked reports whether creds are locked out at now.
func locked(creds holdfast.Credentials, now time.Time) bool {
	return creds.LockedUntil != nil && now.Before(*creds.LockedUntil)
}

// passwordMatches checks password against admin's hash; without one it
// does the same work and fails.
func (s *Service) passwordMatches(ctx context.Context, admin holdfast.Administrator, password string) bool {
	if admin.PasswordHash == "" {
		s.burn(password)
		return false
	}
	ok, err := idp.VerifyPassword(admin.PasswordHash, password)
	if err != nil {
		s.log.ErrorContext(ctx, "administrator password hash unreadable", "admin_id", admin.ID, "error", err.Error())
		return false
	}
	return ok
}

// admit applies the rules after a proven password: the role may use a
// password (fail-safe under enforced SSO), the geofence, the inactivity
// rule; it clears the failure count and returns the step still owed.
func (s *Service) admit(ctx context.Context, admin holdfast.Administrator, creds holdfast.Credentials, at Attempt) (string, error) {
	now := s.now()
	acct, err := s.store.GetAccount(ctx, admin.AccountID)
	if err != nil {
		return "", err
	}
	if allowed, err := s.rules.PasswordSignIn(ctx, acct, admin); err != nil || !allowed {
		if err == nil {
			s.auditSignIn(ctx, admin, "password", holdfast.OutcomeDenied, "sso enforced")
			err = ErrSSORequired
		}
		return "", err
	}
	if err := s.fenceSignIn(ctx, admin, at.IP); err != nil {
		return "", err
	}
	if disabled, err := s.disableIfInactive(ctx, acct, admin, now); err != nil || disabled {
		if err == nil {
			err = ErrBadLogin
		}
		return "", err
	}
	if creds.FailedLogins != 0 || creds.LockedUntil != nil {
		creds.FailedLogins, creds.LockedUntil, creds.UpdatedAt = 0, nil, now
		if err := s.store.PutCredentials(ctx, &creds); err != nil {
			return "", err
		}
	}
	return s.nextStep(ctx, admin, creds, "")
}

// nextStep returns the step after done for a password sign-in: MFA
// enrolment or check, then the change of an expired password.
func (s *Service) nextStep(ctx context.Context, admin holdfast.Administrator, creds holdfast.Credentials, done string) (string, error) {
	if done == "" {
		mfa, err := s.rules.MFARequired(ctx, admin, creds)
		if err != nil {
			return "", err
		}
		if mfa && creds.TOTPSecret == "" {
			return holdfast.SessionMFAEnroll, nil
		}
		if mfa {
			return holdfast.SessionMFA, nil
		}
	}
	st, err := s.store.GetIdentitySettings(ctx, admin.AccountID)
	if err != nil {
		return "", err
	}
	if idp.PasswordExpired(creds.PasswordChangedAt, admin.CreatedAt, st.PasswordExpiryDays, s.clock.Now()) {
		return holdfast.SessionPasswordChange, nil
	}
	return "", nil
}

// countFailure records a failed password or MFA code: the
// idp.MaxFailedLogins-th in a row locks the administrator out for
// idp.LockoutDuration and ends its sessions. The count is read afresh and
// written back under the administrator's failure lock, so attempts made
// in parallel are each counted; attempts spread over several replicas can
// still race, by at most one count per replica. It returns ErrBadLogin.
func (s *Service) countFailure(ctx context.Context, admin holdfast.Administrator, now time.Time, reason string) error {
	mu := s.failureLock(admin.ID)
	mu.Lock()
	defer mu.Unlock()
	creds, err := Credentials(ctx, s.store, admin)
	if err != nil {
		return err
	}
	creds.FailedLogins++
	if creds.FailedLogins >= idp.MaxFailedLogins {
		until := now.Add(idp.LockoutDuration)
		creds.FailedLogins, creds.LockedUntil = 0, &until
		reason += ", locked"
		if err := s.store.DeleteAdminSessions(ctx, admin.AccountID, admin.ID); err != nil {
			return err
		}
	}
	creds.UpdatedAt = now
	if err := s.store.PutCredentials(ctx, &creds); err != nil {
		return err
	}
	s.auditSignIn(ctx, admin, "password", holdfast.OutcomeFailed, reason)
	return ErrBadLogin
}

// ChangeExpiredPassword sets a new password for the session of at that
// owes the change of an expired one, and signs it in.
func (s *Service) ChangeExpiredPassword(ctx context.Context, newPassword, repeat string, at Attempt) (Started, error) {
	se, admin, err := s.Pending(ctx, at.Session, holdfast.SessionPasswordChange)
	if err != nil {
		return Started{}, err
	}
	if err := s.fenceSignIn(ctx, admin, at.IP); err != nil {
		return Started{}, retry(holdfast.SessionPasswordChange, err)
	}
	if err := s.SetPassword(ctx, s.store, admin, newPassword, repeat); err != nil {
		return Started{}, retry(holdfast.SessionPasswordChange, err)
	}
	return s.start(ctx, admin, se.Method, "", at)
}

// PasswordChange is a caller's change of its own password.
type PasswordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
	Repeat  string `json:"repeat"`
}

// ChangePassword changes p's own password. A wrong current password counts
// like a failed sign-in (a stolen session must not be a way to guess at
// leisure). Every session of p ends; a session caller gets a new one
// (nil for a token caller).
func (s *Service) ChangePassword(ctx context.Context, p holdfast.Principal, in PasswordChange, at Attempt) (*Started, error) {
	admin, err := s.store.GetAdmin(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return nil, err
	}
	ok, err := idp.VerifyPassword(admin.PasswordHash, in.Current)
	if err != nil || !ok {
		if cerr := s.countFailure(ctx, admin, s.now(), "wrong current password"); !errors.Is(cerr, ErrBadLogin) {
			return nil, cerr
		}
		return nil, fmt.Errorf("%w: current: the current password is wrong", holdfast.ErrInvalid)
	}
	if p.SessionID != "" {
		// The change starts a new session: refuse it from outside the
		// geofence before the password changes, not after.
		if err := s.fenceSignIn(ctx, admin, at.IP); err != nil {
			return nil, err
		}
	}
	if err := s.SetPassword(ctx, s.store, admin, in.New, in.Repeat); err != nil {
		return nil, err
	}
	if p.SessionID == "" {
		return nil, nil
	}
	st, err := s.start(ctx, admin, "password", "", at)
	return &st, err
}

// checkNewPassword checks pw against the policy and repeat.
func checkNewPassword(pw, repeat string) error {
	var v holdfast.ValidationError
	if err := idp.CheckPasswordPolicy("new", pw); err != nil {
		var verr *holdfast.ValidationError
		if errors.As(err, &verr) {
			v.Fields = append(v.Fields, verr.Fields...)
		}
	}
	if !SecretEqual(pw, repeat) {
		v.Add("repeat", "does not match the new password")
	}
	return v.Err()
}

// SetPassword checks a new password against the policy and the history
// and stores it through store (the caller's transaction, or the store),
// in one transaction with its audit record by the administrator. It
// clears any lockout, ends the administrator's sessions and voids its
// unused reset and invitation links.
func (s *Service) SetPassword(ctx context.Context, store holdfast.MetaStore, admin holdfast.Administrator, pw, repeat string) error {
	if err := checkNewPassword(pw, repeat); err != nil {
		return err
	}
	hash, err := idp.HashPassword(pw)
	if err != nil {
		return err
	}
	now := s.now()
	return store.Tx(ctx, func(tx holdfast.MetaStore) error {
		a, err := s.storePassword(ctx, tx, admin, pw, hash, now)
		if err != nil {
			return err
		}
		return s.changes.Append(ctx, tx, actor(a), change.Record{Action: "administrator.password_change",
			ResourceType: holdfast.ResourceAdministrator, ResourceID: a.ID, Outcome: holdfast.OutcomeSuccess})
	})
}

// storePassword writes hash as admin's password through tx unless pw is
// one of the last passwords, and ends what the old one opened.
func (s *Service) storePassword(ctx context.Context, tx holdfast.MetaStore, admin holdfast.Administrator, pw, hash string, now time.Time) (holdfast.Administrator, error) {
	a, err := tx.GetAdmin(ctx, admin.AccountID, admin.ID)
	if err != nil {
		return a, err
	}
	creds, err := Credentials(ctx, tx, a)
	if err != nil {
		return a, err
	}
	reused, err := idp.ReusedPassword(a.PasswordHash, creds.PasswordHistory, pw)
	if err != nil {
		return a, err
	}
	if reused {
		return a, &holdfast.ValidationError{Fields: []holdfast.FieldError{{Field: "new",
			Message: fmt.Sprintf("must differ from the last %d passwords", idp.PasswordHistoryLength)}}}
	}
	creds.PasswordHistory = idp.PushHistory(creds.PasswordHistory, a.PasswordHash)
	creds.PasswordChangedAt, creds.FailedLogins, creds.LockedUntil, creds.UpdatedAt = &now, 0, nil, now
	a.PasswordHash, a.UpdatedAt = hash, now.Truncate(time.Microsecond)
	if err := tx.UpdateAdmin(ctx, &a); err != nil {
		return a, err
	}
	if err := tx.PutCredentials(ctx, &creds); err != nil {
		return a, err
	}
	if err := tx.DeleteAdminSessions(ctx, a.AccountID, a.ID); err != nil {
		return a, err
	}
	// The link that set it, if any, is used already; no other may set
	// the next one.
	return a, VoidLinks(ctx, tx, a, now)
}
