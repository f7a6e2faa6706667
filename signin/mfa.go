package signin

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// totpIssuer names Holdfast in authenticator apps.
const totpIssuer = "Holdfast"

// mfaState is what both second-factor steps (sign-in and enrolment) start
// from: the session owing the step, its administrator and their
// credentials.
type mfaState struct {
	session holdfast.Session
	admin   holdfast.Administrator
	creds   holdfast.Credentials
	now     time.Time
}

// beginMFA reads the session of at owing step, whose administrator is not
// locked out.
func (s *Service) beginMFA(ctx context.Context, at Attempt, step string) (mfaState, error) {
	se, admin, err := s.Pending(ctx, at.Session, step)
	if err != nil {
		return mfaState{}, err
	}
	creds, err := Credentials(ctx, s.store, admin)
	if err != nil {
		return mfaState{}, err
	}
	now := s.now()
	if locked(creds, now) {
		return mfaState{}, ErrBadLogin
	}
	return mfaState{session: se, admin: admin, creds: creds, now: now}, nil
}

// finishMFA stores creds after a passed second factor (failures reset)
// and moves the sign-in on: a new session for the next step, or a
// signed-in one.
func (s *Service) finishMFA(ctx context.Context, st mfaState, creds holdfast.Credentials, at Attempt) (Started, error) {
	creds.FailedLogins, creds.UpdatedAt = 0, st.now
	if err := s.store.PutCredentials(ctx, &creds); err != nil {
		return Started{}, err
	}
	pending, err := s.nextStep(ctx, st.admin, creds, holdfast.SessionMFA)
	if err != nil {
		return Started{}, err
	}
	return s.start(ctx, st.admin, st.session.Method, pending, at)
}

// Code is a second factor: a TOTP code, or one of the recovery codes.
type Code struct {
	TOTP     string
	Recovery string
}

// VerifyMFA checks the second factor for the session of at that owes it.
// A TOTP code works once (a replay in its window is refused), a recovery
// code once ever. A wrong code counts towards the lockout (ErrWrongMFA,
// or ErrBadLogin once locked).
func (s *Service) VerifyMFA(ctx context.Context, code Code, at Attempt) (Started, error) {
	st, err := s.beginMFA(ctx, at, holdfast.SessionMFA)
	if err != nil {
		return Started{}, err
	}
	creds, ok := st.creds, false
	if code.Recovery != "" {
		creds.RecoveryCodes, ok = idp.UseRecoveryCode(creds.RecoveryCodes, code.Recovery)
	} else {
		var step int64
		if step, ok = idp.CheckTOTP(creds.TOTPSecret, code.TOTP, st.now, creds.TOTPLastStep); ok {
			creds.TOTPLastStep = step
		}
	}
	if !ok {
		err := s.countFailure(ctx, st.admin, st.now, "wrong MFA code")
		if errors.Is(err, ErrBadLogin) {
			err = ErrWrongMFA
		}
		return Started{}, retry(holdfast.SessionMFA, err)
	}
	return s.finishMFA(ctx, st, creds, at)
}

// Enrollment is the TOTP seed an administrator adds to an authenticator.
type Enrollment struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

// Enrollment returns the TOTP seed to enrol for the session of secret,
// which must owe enrolment. Asking again returns the same seed.
func (s *Service) Enrollment(ctx context.Context, secret string) (Enrollment, error) {
	_, admin, err := s.Pending(ctx, secret, holdfast.SessionMFAEnroll)
	if err != nil {
		return Enrollment{}, err
	}
	creds, err := Credentials(ctx, s.store, admin)
	if err != nil {
		return Enrollment{}, err
	}
	if creds.TOTPPending == "" {
		seed, _, err := idp.NewTOTP(totpIssuer, admin.Email)
		if err != nil {
			return Enrollment{}, err
		}
		creds.TOTPPending, creds.UpdatedAt = seed, s.now()
		if err := s.store.PutCredentials(ctx, &creds); err != nil {
			return Enrollment{}, err
		}
	}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + admin.Email,
		RawQuery: url.Values{"secret": {creds.TOTPPending.Reveal()}, "issuer": {totpIssuer}}.Encode()}
	return Enrollment{Secret: creds.TOTPPending.Reveal(), URL: u.String()}, nil
}

// Enrolled is a finished enrolment: the next session, and the recovery
// codes, shown this once.
type Enrolled struct {
	Started
	RecoveryCodes []string
}

// EnrollMFA confirms the pending TOTP seed of the session of at with its
// first code, makes the recovery codes and moves the sign-in on. A wrong
// code counts towards the lockout.
func (s *Service) EnrollMFA(ctx context.Context, code string, at Attempt) (Enrolled, error) {
	st, err := s.beginMFA(ctx, at, holdfast.SessionMFAEnroll)
	if err != nil {
		return Enrolled{}, err
	}
	creds := st.creds
	step, ok := idp.CheckTOTP(creds.TOTPPending, code, st.now, 0)
	if !ok {
		return Enrolled{}, retry(holdfast.SessionMFAEnroll, s.countFailure(ctx, st.admin, st.now, "wrong MFA enrolment code"))
	}
	codes, hashes, err := idp.NewRecoveryCodes()
	if err != nil {
		return Enrolled{}, err
	}
	creds.TOTPSecret, creds.TOTPPending, creds.TOTPLastStep, creds.RecoveryCodes = creds.TOTPPending, "", step, hashes
	started, err := s.finishMFA(ctx, st, creds, at)
	if err != nil {
		return Enrolled{}, err
	}
	plain := make([]string, len(codes))
	for i, c := range codes {
		plain[i] = c.Reveal()
	}
	return Enrolled{Started: started, RecoveryCodes: plain}, nil
}

// ResetSecondFactor clears the administrator's lockout and TOTP enrolment
// through ids, keeping its password history: the operator's way back in
// (setup.Recover).
func ResetSecondFactor(ctx context.Context, ids holdfast.IdentityStore, a holdfast.Administrator, now time.Time) error {
	c, err := Credentials(ctx, ids, a)
	if err != nil {
		return err
	}
	c.FailedLogins, c.LockedUntil = 0, nil
	c.TOTPSecret, c.TOTPPending, c.TOTPLastStep, c.RecoveryCodes = "", "", 0, nil
	c.UpdatedAt = now
	return ids.PutCredentials(ctx, &c)
}
