package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// AuthOptions configure sign-in: sessions, password login with MFA, SSO
// through OIDC and SAML, links, geofencing and SCIM. Unless Enabled none
// of it is served and only API tokens authenticate. The sign-in state
// lives in the metadata store (holdfast.IdentityStore).
type AuthOptions struct {
	// Enabled turns sign-in on.
	Enabled bool
	// Mailer sends reset and invitation links; nil only logs that a
	// message was dropped.
	Mailer Mailer
	// Providers signs administrators in through the identity providers
	// accounts configure (OIDC, SAML; idp/sso, wired in cmd/holdfast);
	// nil: single sign-on is off, and configuring an IdP is refused.
	Providers holdfast.IdentityProviders
	// IdleTimeout ends a session unused this long (default 30 minutes);
	// MaxAge ends any session this long after sign-in (default 12 hours).
	IdleTimeout, MaxAge time.Duration
}

// Defaults and fixed limits of sign-in.
const (
	defaultIdleTimeout = 30 * time.Minute
	defaultMaxAge      = 12 * time.Hour
	// pendingMaxAge bounds a session that still owes a sign-in step.
	pendingMaxAge = 10 * time.Minute
	// touchEvery is how stale a session's last-seen time may get before
	// it is written again.
	touchEvery = time.Minute
	// linkValidity is how long reset and invitation links work.
	linkValidity = 24 * time.Hour
	// authRequestValidity bounds a sign-in at an IdP.
	authRequestValidity = 10 * time.Minute

	sessionCookie       = "holdfast_session"
	secureSessionCookie = "__Host-holdfast_session"
	csrfHeader          = "X-CSRF-Token"
)

// authState is the sign-in machinery of a Server; nil when sign-in is off.
type authState struct {
	mailer Mailer
	sso    holdfast.IdentityProviders // nil: no single sign-on
	idle   time.Duration
	maxAge time.Duration
	// clock is the server's clock (Options.Clock).
	clock holdfast.Clock

	// attempts limits sign-in attempts per client address.
	attempts attemptLimiter

	// dummyHash is verified against when an email is unknown, so that the
	// answer takes as long as for a known one. Immutable.
	dummyHash string

	// failureLocks serialize, per administrator (striped by id), the
	// read-modify-write of the failed sign-in count (countFailure).
	failureLocks [64]sync.Mutex
}

// failureLock returns the lock of adminID's failure count.
func (a *authState) failureLock(adminID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(adminID))
	return &a.failureLocks[h.Sum32()%uint32(len(a.failureLocks))]
}

// Errors of sign-in. Every refused password login gets errBadLogin, so an
// answer never tells whether an email exists, is locked or disabled.
var (
	errBadLogin     = fmt.Errorf("%w: wrong email or password, or the account is locked", holdfast.ErrUnauthenticated)
	errSessionOver  = fmt.Errorf("%w: the session is over; sign in again", holdfast.ErrUnauthenticated)
	errCSRF         = fmt.Errorf("%w: a change made with a session cookie needs the %s header of GET /auth/session", holdfast.ErrDenied, csrfHeader)
	errSSORequired  = fmt.Errorf("%w: this account signs in through its identity provider", holdfast.ErrDenied)
	errStepOwed     = fmt.Errorf("%w: finish signing in first", holdfast.ErrUnauthenticated)
	errBadLink      = fmt.Errorf("%w: the link is invalid, used or expired; ask for a new one", holdfast.ErrInvalid)
	errOutsideFence = idp.ErrOutsideFence
	errWrongMFA     = fmt.Errorf("%w: wrong or reused code", holdfast.ErrUnauthenticated)
)

// initAuth sets up sign-in when opts.Enabled: it registers the
// routes and the session authenticator.
func (s *Server) initAuth(opts AuthOptions) error {
	if !opts.Enabled {
		return nil
	}
	a := &authState{mailer: opts.Mailer, sso: opts.Providers, idle: opts.IdleTimeout, maxAge: opts.MaxAge, clock: s.clock}
	if a.idle <= 0 {
		a.idle = defaultIdleTimeout
	}
	if a.maxAge <= 0 {
		a.maxAge = defaultMaxAge
	}
	var err error
	if a.dummyHash, err = idp.HashPassword("dummy password for unknown emails"); err != nil {
		return err
	}
	s.auth = a
	// The session cookie comes after the bearer token and any configured
	// authenticator; Basic (WebDAV clients) after that.
	s.authn = append(s.authn, s.sessionAuth, s.basicToken)
	s.bearerGeofenced()
	s.registerAuthRoutes()
	return nil
}

// registerAuthRoutes is the route table of sign-in.
func (s *Server) registerAuthRoutes() {
	s.public("GET /login", http.HandlerFunc(s.loginPage))
	s.public("GET "+SetupPath, http.HandlerFunc(s.setupPage))
	s.public("GET /{$}", http.HandlerFunc(s.rootPage))
	s.registerConsole()
	s.public("POST /auth/login", s.limited(s.api(s.passwordLogin)))
	s.public("POST /auth/mfa", s.limited(s.api(s.mfaStep)))
	s.public("GET /auth/mfa/enroll", s.api(s.mfaEnrollStart))
	s.public("POST /auth/mfa/enroll", s.limited(s.api(s.mfaEnrollFinish)))
	s.public("POST /auth/password/expired", s.limited(s.api(s.expiredPasswordChange)))
	s.public("POST /auth/logout", s.api(s.logout))
	s.public("POST /auth/password/forgot", s.limited(s.api(s.forgotPassword)))
	s.public("POST /auth/password/reset", s.limited(s.api(s.resetPassword)))
	s.authed("GET /auth/session", s.getSession)
	s.authed("POST /auth/password", s.changePassword)

	s.public("GET /auth/oidc/start", s.api(s.oidcStart))
	s.public("GET "+holdfast.OIDCCallbackPath, s.api(s.oidcCallback))
	s.public("GET "+holdfast.SAMLMetadataPath, s.api(s.samlMetadata))
	s.public("GET "+samlStartPath, s.api(s.samlStart))
	s.public("POST "+holdfast.SAMLACSPath, s.api(s.samlACS))

	s.authed("POST /api/v1/administrators/{id}/reset-password", s.sendResetLink)
	s.authed("POST /api/v1/administrators/{id}/invite", s.sendInvite)

	s.authed("GET /api/v1/identity-providers", s.listIdPs)
	s.authed("POST /api/v1/identity-providers", s.createIdP)
	s.authed("GET /api/v1/identity-providers/{id}", s.getIdP)
	s.authed("PUT /api/v1/identity-providers/{id}", s.replaceIdP)
	s.authed("DELETE /api/v1/identity-providers/{id}", s.deleteIdP)

	s.authed("GET /api/v1/account/password-policy", s.getPasswordPolicy)
	s.authed("PATCH /api/v1/account/password-policy", s.updatePasswordPolicy)
	s.authed("GET /api/v1/account/geofence", s.getGeofence)
	s.authed("PUT /api/v1/account/geofence", s.putGeofence)

	s.authed("GET /api/v1/tokens", s.listTokens)
	s.authed("POST /api/v1/tokens", s.createToken)
	s.authed("DELETE /api/v1/tokens/{id}", s.revokeToken)
}

// randomSecret returns n random bytes as unpadded base64url.
func randomSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashID is the store key of a secret: hex SHA-256. Secrets are random
// and long, so a fast hash is enough.
func hashID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// secretEqual compares two secrets in constant time.
func secretEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// clientIP is the address the request came from. Forwarding headers are
// not trusted: they are the client's to set.
func clientIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

// secureRequest reports whether cookies must be Secure: the public URL is
// https, or the request came over TLS.
func (s *Server) secureRequest(r *http.Request) bool {
	return strings.HasPrefix(s.publicURL, "https://") || r.TLS != nil
}

func (s *Server) sessionCookieName(r *http.Request) string {
	if s.secureRequest(r) {
		return secureSessionCookie
	}
	return sessionCookie
}

// setSessionCookie hands the browser a session secret.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(r), Value: secret, Path: "/", HttpOnly: true,
		Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second)})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(r), Value: "", Path: "/", HttpOnly: true,
		Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// sessionSecret returns the session cookie's value, "" without one.
func (s *Server) sessionSecret(r *http.Request) string {
	c, err := r.Cookie(s.sessionCookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// startSession creates a session for admin, with pending naming a step
// still owed, and sets its cookie. A session the browser already had is
// ended first: the id changes at every step, so a fixed id is worthless.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, admin holdfast.Administrator, method, pending string) (holdfast.Session, error) {
	// Every new session is a sign-in, the steps after the password and
	// password changes included: none starts from outside the geofence (a
	// session whose address is outside counts as older than the fence).
	if err := s.fenceSignIn(ctx, admin, clientIP(r)); err != nil {
		return holdfast.Session{}, err
	}
	now := s.now().UTC()
	maxAge := s.auth.maxAge
	if pending != "" {
		maxAge = pendingMaxAge
	}
	secret := randomSecret(32)
	se := holdfast.Session{ID: hashID(secret), AccountID: admin.AccountID, AdminID: admin.ID, Method: method,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(maxAge), Pending: pending,
		CSRF: holdfast.Secret(randomSecret(32)), RemoteIP: ipString(clientIP(r))}
	// The session, the login time and the sign-in's audit record land
	// together or not at all: a sign-in that cannot be audited is refused.
	err := s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		ids := tx
		if old := s.sessionSecret(r); old != "" {
			if err := ids.DeleteSession(ctx, hashID(old)); err != nil {
				return err
			}
		}
		if err := ids.CreateSession(ctx, &se); err != nil {
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
			return s.auditUnwritable(ctx, rec.Action, err)
		}
		return nil
	})
	if err != nil {
		return holdfast.Session{}, err
	}
	s.setSessionCookie(w, r, secret, maxAge)
	return se, nil
}

func ipString(ip net.IP) string {
	if ip == nil {
		return ""
	}
	return ip.String()
}

// currentSession returns the live session of the request's cookie,
// whatever step it owes; none or over: errSessionOver.
func (s *Server) currentSession(r *http.Request) (holdfast.Session, error) {
	secret := s.sessionSecret(r)
	if secret == "" {
		return holdfast.Session{}, errSessionOver
	}
	ctx := r.Context()
	se, err := s.store.GetSession(ctx, hashID(secret))
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Session{}, errSessionOver
	}
	if err != nil {
		return holdfast.Session{}, err
	}
	now := s.now()
	if !now.Before(se.ExpiresAt) || now.Sub(se.LastSeenAt) >= s.auth.idle {
		if err := s.store.DeleteSession(ctx, se.ID); err != nil {
			return holdfast.Session{}, err
		}
		return holdfast.Session{}, errSessionOver
	}
	return se, nil
}

// pendingSession returns the request's session if it owes step.
func (s *Server) pendingSession(r *http.Request, steps ...string) (holdfast.Session, holdfast.Administrator, error) {
	se, err := s.currentSession(r)
	if err != nil {
		return se, holdfast.Administrator{}, err
	}
	ok := false
	for _, st := range steps {
		ok = ok || se.Pending == st
	}
	if !ok {
		return se, holdfast.Administrator{}, fmt.Errorf("%w: this session does not owe that step", holdfast.ErrUnauthenticated)
	}
	admin, err := s.activeAdmin(r.Context(), se.AccountID, se.AdminID)
	return se, admin, err
}

// activeAdmin returns the administrator when it exists and is active;
// otherwise errSessionOver.
func (s *Server) activeAdmin(ctx context.Context, accountID, id string) (holdfast.Administrator, error) {
	a, err := s.store.GetAdmin(ctx, accountID, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		return a, errSessionOver
	}
	if err != nil {
		return a, err
	}
	if a.State != holdfast.AdminActive {
		return a, errSessionOver
	}
	return a, nil
}

// sessionAuth is the Authenticator of the session cookie. A session that
// owes a step authenticates nothing. Unsafe methods must carry the
// session's CSRF token in the X-CSRF-Token header (or, for the sign-in
// page's forms, a csrf form field). The geofence is enforced on every
// request.
func (s *Server) sessionAuth(r *http.Request) (holdfast.Principal, error) {
	if s.sessionSecret(r) == "" {
		return holdfast.Principal{}, ErrNoCredentials
	}
	ctx := r.Context()
	se, err := s.currentSession(r)
	if err != nil {
		return holdfast.Principal{}, err
	}
	if se.Pending != "" {
		return holdfast.Principal{}, errStepOwed
	}
	admin, err := s.activeAdmin(ctx, se.AccountID, se.AdminID)
	if err != nil {
		if errors.Is(err, errSessionOver) {
			_ = s.store.DeleteSession(ctx, se.ID)
		}
		return holdfast.Principal{}, err
	}
	if !safeMethod(r.Method) && !secretEqual(csrfOf(r), se.CSRF.Reveal()) {
		return holdfast.Principal{}, errCSRF
	}
	now := s.now().UTC()
	changed, err := s.fenceSession(ctx, r, &se, now)
	if err != nil {
		return holdfast.Principal{}, err
	}
	// A clock stepped back past the last use touches the session too, so
	// that the idle timeout counts from now, not from a future instant.
	if changed || now.Sub(se.LastSeenAt) >= touchEvery || now.Before(se.LastSeenAt) {
		se.LastSeenAt = now
		if err := s.store.UpdateSession(ctx, &se); err != nil {
			return holdfast.Principal{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: admin.AccountID, AdminID: admin.ID,
		Email: admin.Email, SessionID: se.ID}, nil
}

// csrfOf returns the CSRF token a request carries.
func csrfOf(r *http.Request) string {
	if v := r.Header.Get(csrfHeader); v != "" {
		return v
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return r.PostFormValue("csrf")
	}
	return ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin refuses a cross-site POST to a sign-in endpoint (login
// CSRF): browsers send Origin or Sec-Fetch-Site with every POST.
func (s *Server) sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("%w: cross-site request refused", holdfast.ErrDenied)
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return nil // not a browser, or a browser that does not say
	}
	if origin == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		// The sign-in page's Referrer-Policy no-referrer makes Chromium
		// send Origin: null with the form; Sec-Fetch-Site, which no page
		// can set, says the form is this server's.
		return nil
	}
	if origin != s.baseURL(r) {
		return fmt.Errorf("%w: cross-site request refused", holdfast.ErrDenied)
	}
	return nil
}

// auditSignIn appends the record of a sign-in that changed nothing (a
// refused one); it must land even when the client left, and a failure to
// write it is logged, not returned.
func (s *Server) auditSignIn(ctx context.Context, admin holdfast.Administrator, method, outcome, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	rec, err := s.signInRecord(ctx, admin, method, outcome, reason)
	if err == nil {
		err = s.store.AppendAudit(ctx, &rec)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit sign-in", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("error", err.Error()))
	}
}

// signInRecord counts a sign-in and returns its audit record.
func (s *Server) signInRecord(ctx context.Context, admin holdfast.Administrator, method, outcome, reason string) (holdfast.AuditRecord, error) {
	detail := map[string]any{"method": method}
	if reason != "" {
		detail["reason"] = reason
	}
	c := change{action: "auth.sign_in", resourceType: holdfast.ResourceAdministrator, resourceID: admin.ID}
	pctx := holdfast.WithPrincipal(ctx, holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: admin.AccountID,
		AdminID: admin.ID, Email: admin.Email})
	s.metrics.signIns.WithLabelValues(method, outcome).Inc()
	return s.auditRecord(pctx, c, admin.ID, holdfast.Decision{}, outcome, detail)
}

// localPath returns p when it is a path on this server, the console
// otherwise, so that a return address can never send a signed-in browser
// elsewhere, and a sign-in without one lands on the console.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		strings.ContainsAny(p, "\\\r\n\t") {
		return defaultLanding
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return defaultLanding
	}
	return p
}

// defaultLanding is where a sign-in without a return address lands.
const defaultLanding = "/console"
