package server

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
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
	Mailer holdfast.Mailer
	// Providers signs administrators in through the identity providers
	// accounts configure (OIDC, SAML; idp/sso, wired in cmd/holdfast);
	// nil: single sign-on is off, and configuring an IdP is refused.
	Providers holdfast.IdentityProviders
	// IdleTimeout ends a session unused this long (default 30 minutes);
	// MaxAge ends any session this long after sign-in (default 12 hours).
	IdleTimeout, MaxAge time.Duration
}

// Fixed limits and names of sign-in at the edge.
const (
	// authRequestValidity bounds a sign-in at an IdP.
	authRequestValidity = 10 * time.Minute

	sessionCookie       = "holdfast_session"
	secureSessionCookie = "__Host-holdfast_session"
	csrfHeader          = signin.CSRFHeader
)

// authState is the sign-in edge of a Server; nil when sign-in is off.
type authState struct {
	sso holdfast.IdentityProviders // nil: no single sign-on
}

// initAuth sets up sign-in when opts.Enabled: it registers the
// routes and the session authenticator.
func (s *Server) initAuth(opts AuthOptions) error {
	if !opts.Enabled {
		return nil
	}
	s.auth = &authState{sso: opts.Providers}
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
	s.public("GET /auth/mfa/enroll/qr", s.api(s.mfaEnrollQR))
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

// attempt is what the sign-in service needs to know of r: the client's
// address and the session the browser already has.
func (s *Server) attempt(r *http.Request) signin.Attempt {
	return signin.Attempt{IP: clientIP(r), Session: s.sessionSecret(r)}
}

// setStarted hands the browser the session st.
func (s *Server) setStarted(w http.ResponseWriter, r *http.Request, st signin.Started) {
	s.setSessionCookie(w, r, st.Secret, st.MaxAge)
}

// sessionAuth is the Authenticator of the session cookie. A session that
// owes a step authenticates nothing. Unsafe methods must carry the
// session's CSRF token in the X-CSRF-Token header (or, for the sign-in
// page's forms, a csrf form field). The geofence is enforced on every
// request.
func (s *Server) sessionAuth(r *http.Request) (holdfast.Principal, error) {
	secret := s.sessionSecret(r)
	if secret == "" {
		return holdfast.Principal{}, ErrNoCredentials
	}
	req := signin.SessionRequest{Secret: secret, IP: clientIP(r), Safe: safeMethod(r.Method)}
	if !req.Safe {
		req.CSRF = csrfOf(r)
	}
	return s.signin.Authenticate(r.Context(), req)
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
