package signin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// Attempt is what the edge knows of a sign-in attempt or session request:
// where it comes from and the session the browser already holds.
type Attempt struct {
	// IP is the client's address (after the trusted proxies).
	IP net.IP
	// Session is the secret of the browser's current session cookie, ""
	// without one. A new session replaces it.
	Session string
}

// Started is a session just made: the edge hands Secret to the browser
// for MaxAge. Pending names the step still owed ("" when signed in).
type Started struct {
	Session holdfast.Session
	Secret  string
	MaxAge  time.Duration
	Pending string
}

// ipString is ip as the store keeps it.
func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

// start creates a session for admin, with pending naming a step still
// owed. The browser's earlier session ends in the same transaction: the
// id changes at every step, so a fixed id is worthless. A finished
// sign-in records the login time and its audit record with the session,
// or nothing happens.
func (s *Service) start(ctx context.Context, admin holdfast.Administrator, method, pending string, at Attempt) (Started, error) {
	// Every new session is a sign-in, the steps after the password and
	// password changes included: none starts from outside the geofence.
	if err := s.fenceSignIn(ctx, admin, at.IP); err != nil {
		return Started{}, err
	}
	now := s.now()
	maxAge := s.maxAge
	if pending != "" {
		maxAge = PendingMaxAge
	}
	secret := NewSecret(32)
	se := holdfast.Session{ID: SecretID(secret), AccountID: admin.AccountID, AdminID: admin.ID, Method: method,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(maxAge), Pending: pending,
		CSRF: holdfast.Secret(NewSecret(32)), RemoteIP: ipString(at.IP)}
	err := s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		if at.Session != "" {
			if err := tx.DeleteSession(ctx, SecretID(at.Session)); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, &se); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if pending != "" {
			return nil
		}
		if err := tx.RecordLogin(ctx, admin.AccountID, admin.ID, now); err != nil {
			return fmt.Errorf("record login: %w", err)
		}
		rec, err := s.signInRecord(ctx, admin, method, holdfast.OutcomeSuccess, "")
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &rec); err != nil {
			return s.changes.Unwritable(ctx, rec.Action, err)
		}
		return nil
	})
	if err != nil {
		return Started{}, err
	}
	return Started{Session: se, Secret: secret, MaxAge: maxAge, Pending: pending}, nil
}

// Current returns the live session of secret, whatever step it owes. A
// session past its absolute end or idle for the idle timeout is deleted;
// none, or over: ErrSessionOver.
func (s *Service) Current(ctx context.Context, secret string) (holdfast.Session, error) {
	if secret == "" {
		return holdfast.Session{}, ErrSessionOver
	}
	se, err := s.store.GetSession(ctx, SecretID(secret))
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Session{}, ErrSessionOver
	}
	if err != nil {
		return holdfast.Session{}, err
	}
	now := s.clock.Now()
	if !now.Before(se.ExpiresAt) || now.Sub(se.LastSeenAt) >= s.idle {
		if err := s.store.DeleteSession(ctx, se.ID); err != nil {
			return holdfast.Session{}, err
		}
		return holdfast.Session{}, ErrSessionOver
	}
	return se, nil
}

// Pending returns the session of secret and its administrator when the
// session owes one of steps.
func (s *Service) Pending(ctx context.Context, secret string, steps ...string) (holdfast.Session, holdfast.Administrator, error) {
	se, err := s.Current(ctx, secret)
	if err != nil {
		return se, holdfast.Administrator{}, err
	}
	if !slices.Contains(steps, se.Pending) {
		return se, holdfast.Administrator{}, ErrWrongStep
	}
	admin, err := s.activeAdmin(ctx, se.AccountID, se.AdminID)
	return se, admin, err
}

// activeAdmin returns the administrator when it exists and is active;
// otherwise ErrSessionOver.
func (s *Service) activeAdmin(ctx context.Context, accountID, id string) (holdfast.Administrator, error) {
	a, err := s.store.GetAdmin(ctx, accountID, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		return a, ErrSessionOver
	}
	if err != nil {
		return a, err
	}
	if a.State != holdfast.AdminActive {
		return a, ErrSessionOver
	}
	return a, nil
}

// SessionRequest is a request made with a session cookie.
type SessionRequest struct {
	Secret string // the cookie's value
	IP     net.IP
	// Safe is a method that changes nothing (GET, HEAD, OPTIONS); any
	// other must carry the session's CSRF token.
	Safe bool
	CSRF string
}

// Authenticate resolves a session request to its administrator. A session
// that owes a step authenticates nothing (ErrStepOwed); a change without
// the session's CSRF token is ErrCSRF; the geofence applies with its grace
// rules. Use moves the idle timeout on.
func (s *Service) Authenticate(ctx context.Context, req SessionRequest) (holdfast.Principal, error) {
	se, err := s.Current(ctx, req.Secret)
	if err != nil {
		return holdfast.Principal{}, err
	}
	if se.Pending != "" {
		return holdfast.Principal{}, ErrStepOwed
	}
	admin, err := s.activeAdmin(ctx, se.AccountID, se.AdminID)
	if err != nil {
		if errors.Is(err, ErrSessionOver) {
			_ = s.store.DeleteSession(ctx, se.ID)
		}
		return holdfast.Principal{}, err
	}
	if !req.Safe && !SecretEqual(req.CSRF, se.CSRF.Reveal()) {
		return holdfast.Principal{}, ErrCSRF
	}
	if err := s.touch(ctx, &se, req.IP); err != nil {
		return holdfast.Principal{}, err
	}
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: admin.AccountID, AdminID: admin.ID,
		Email: admin.Email, SessionID: se.ID}, nil
}

// touch applies the geofence to a use of se from ip and writes its
// last-seen time when it is stale or the fence state changed.
func (s *Service) touch(ctx context.Context, se *holdfast.Session, ip net.IP) error {
	now := s.now()
	st, err := s.settings.Get(ctx, s.store, s.store, se.AccountID)
	if err != nil {
		return err
	}
	changed, err := idp.FenceSession(st, se, ip, now)
	if err != nil {
		return err
	}
	// A clock stepped back past the last use touches the session too, so
	// that the idle timeout counts from now, not from a future instant.
	if changed || now.Sub(se.LastSeenAt) >= touchEvery || now.Before(se.LastSeenAt) {
		se.LastSeenAt = now
		if err := s.store.UpdateSession(ctx, se); err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
	}
	return nil
}

// SignOut ends the session of secret. A finished session must show its
// CSRF token (one of csrf), so no other site can sign the administrator
// out; a session already over is no error.
func (s *Service) SignOut(ctx context.Context, secret string, csrf ...string) error {
	se, err := s.Current(ctx, secret)
	if errors.Is(err, ErrSessionOver) {
		return nil
	}
	if err != nil {
		return err
	}
	if se.Pending == "" && !slices.ContainsFunc(csrf, func(c string) bool { return SecretEqual(c, se.CSRF.Reveal()) }) {
		return ErrCSRF
	}
	return s.store.DeleteSession(ctx, se.ID)
}

// Info is who a caller is and, for a cookie session, the CSRF token its
// changes must carry.
type Info struct {
	AccountID string    `json:"account_id"`
	AdminID   string    `json:"admin_id"`
	Email     string    `json:"email"`
	Method    string    `json:"method,omitempty"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Info describes p's sign-in: an API token, or its session.
func (s *Service) Info(ctx context.Context, p holdfast.Principal) (Info, error) {
	out := Info{AccountID: p.AccountID, AdminID: p.AdminID, Email: p.Email, Method: "api_token"}
	if p.SessionID != "" {
		se, err := s.store.GetSession(ctx, p.SessionID)
		if err != nil {
			return out, err
		}
		out.Method, out.CSRFToken, out.ExpiresAt = se.Method, se.CSRF.Reveal(), se.ExpiresAt
	}
	return out, nil
}

// fenceSignIn refuses, and audits, a sign-in from outside the account's
// geofence.
func (s *Service) fenceSignIn(ctx context.Context, admin holdfast.Administrator, ip net.IP) error {
	st, err := s.store.GetIdentitySettings(ctx, admin.AccountID)
	if err != nil {
		return err
	}
	if !idp.FenceAllows(st, ip) {
		s.auditSignIn(ctx, admin, "any", holdfast.OutcomeDenied, "outside geofence")
		return ErrOutsideFence
	}
	return nil
}

// FenceToken refuses a request authenticated by an API token of
// accountID from ip outside the account's geofence.
func (s *Service) FenceToken(ctx context.Context, accountID string, ip net.IP) error {
	st, err := s.settings.Get(ctx, s.store, s.store, accountID)
	if err != nil {
		return err
	}
	if !idp.FenceAllows(st, ip) {
		return ErrOutsideFence
	}
	return nil
}

// Allow counts one sign-in attempt from ip and reports whether it is
// within the per-address limit.
func (s *Service) Allow(ip net.IP) bool {
	return s.attempts.Allow(ipString(ip), s.clock.Now())
}

// SweepSessions removes the sessions past their absolute end.
func (s *Service) SweepSessions(ctx context.Context) error {
	_, err := s.store.DeleteExpiredSessions(ctx, s.now())
	return err
}
