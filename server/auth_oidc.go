package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

// oidcStateCookie binds a sign-in to the browser that started it, so that
// a callback URL planted in another browser (login CSRF) fails.
const oidcStateCookie = "holdfast_oidc_state"

// enabledIdP returns the account's IdP id of kind, enabled; anything else
// (or single sign-on off) is not found.
func (s *Server) enabledIdP(ctx context.Context, accountID, id, kind string) (holdfast.IdPConfig, error) {
	c, err := s.store.GetIdP(ctx, accountID, id)
	if err != nil {
		return c, err
	}
	if !c.Enabled || c.Kind != kind || s.auth.sso == nil {
		return c, fmt.Errorf("identity provider %s: %w", id, holdfast.ErrNotFound)
	}
	return c, nil
}

// oidcStart serves GET /auth/oidc/start?account=&idp=&return_to=: it
// records the sign-in (state, nonce, PKCE verifier) server-side and sends
// the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	c, err := s.enabledIdP(ctx, q.Get("account"), q.Get("idp"), holdfast.IdPOIDC)
	if err != nil {
		return err
	}
	state := signin.NewSecret(32)
	start, err := s.auth.sso.Start(ctx, c, s.baseURL(r), state)
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	ar := holdfast.AuthRequest{ID: signin.SecretID(state), AccountID: c.AccountID, IdPID: c.ID, Nonce: start.Nonce,
		Verifier: start.Verifier, ReturnTo: localPath(q.Get("return_to")),
		ExpiresAt: s.now().UTC().Add(authRequestValidity)}
	if err := s.store.CreateAuthRequest(ctx, &ar); err != nil {
		return err
	}
	// Lax: the provider's redirect back is a top-level GET, which carries
	// it; a cross-site subrequest does not.
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: state, Path: holdfast.OIDCCallbackPath, HttpOnly: true,
		Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode, MaxAge: int(authRequestValidity / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, start.URL, http.StatusFound)
	return nil
}

// oidcCallback serves GET /auth/oidc/callback?code=&state=: the state
// must be the one this browser started with and still pending (it is
// taken once); the code is redeemed with the PKCE verifier and the ID
// token verified; then signInWithIdP. Every refusal sends the browser to
// the sign-in page with nothing granted.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: "", Path: holdfast.OIDCCallbackPath, HttpOnly: true,
		Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	state := q.Get("state")
	cookie, _ := r.Cookie(oidcStateCookie)
	if state == "" || cookie == nil || !signin.SecretEqual(cookie.Value, state) {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, "state missing or not this browser's")
	}
	ar, err := s.store.TakeAuthRequest(ctx, signin.SecretID(state), s.now().UTC())
	if errors.Is(err, holdfast.ErrNotFound) {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, "unknown, used or expired state")
	}
	if err != nil {
		return err
	}
	if e := q.Get("error"); e != "" {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, "provider answered error "+e)
	}
	c, err := s.enabledIdP(ctx, ar.AccountID, ar.IdPID, holdfast.IdPOIDC)
	if errors.Is(err, holdfast.ErrNotFound) {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, "identity provider gone or disabled")
	}
	if err != nil {
		return err
	}
	id, err := s.auth.sso.Finish(ctx, c, s.baseURL(r), []byte(q.Get("code")), ar)
	if errors.Is(err, holdfast.ErrIdPRefused) {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, err.Error())
	}
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	if err := s.signInWithIdP(w, r, c, signin.Asserted{Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified}); err != nil {
		if errors.Is(err, signin.ErrBadSSO) || errors.Is(err, signin.ErrOutsideFence) {
			return s.ssoRefused(w, r, holdfast.IdPOIDC, err.Error())
		}
		return err
	}
	http.Redirect(w, r, localPath(ar.ReturnTo), http.StatusSeeOther)
	return nil
}

// ssoRefused logs why an SSO answer was refused and sends the browser to
// the sign-in page. The reason never reaches the browser: it could help
// an attacker tune a forgery.
func (s *Server) ssoRefused(w http.ResponseWriter, r *http.Request, kind, reason string) error {
	s.metrics.signIns.WithLabelValues(kind, "refused").Inc()
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "sso refused", slog.String("request_id", requestIDFrom(r.Context())),
		slog.String("kind", kind), slog.String("reason", reason))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login?error=sso", http.StatusSeeOther)
	return nil
}
