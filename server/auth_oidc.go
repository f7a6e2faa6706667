package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp/oidc"
)

// Stable SSO paths: IdP administrators register them once.
const (
	oidcCallbackPath = "/auth/oidc/callback"
	// oidcStateCookie binds a sign-in to the browser that started it, so
	// that a callback URL planted in another browser (login CSRF) fails.
	oidcStateCookie = "holdfast_oidc_state"
)

// oidcCache holds one relying party per configured IdP, built on first
// use (discovery is a network round trip) and rebuilt when the stored
// configuration changed, on this replica or another. Safe for concurrent
// use.
type oidcCache struct {
	mu  sync.Mutex
	rps map[string]cachedRP // IdP id -> RP; guarded by mu
}

type cachedRP struct {
	updated  time.Time // IdPConfig.UpdatedAt it was built from
	redirect string
	rp       *oidc.RP
}

// get returns the RP of c with redirect as its callback.
func (oc *oidcCache) get(ctx context.Context, a *authState, c holdfast.IdPConfig, redirect string, now func() time.Time) (*oidc.RP, error) {
	oc.mu.Lock()
	e, ok := oc.rps[c.ID]
	oc.mu.Unlock()
	if ok && e.updated.Equal(c.UpdatedAt) && e.redirect == redirect {
		return e.rp, nil
	}
	rp, err := oidc.New(ctx, oidc.Options{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: redirect, HTTPClient: a.client, Now: now})
	if err != nil {
		return nil, err
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.rps == nil {
		oc.rps = map[string]cachedRP{}
	}
	oc.rps[c.ID] = cachedRP{updated: c.UpdatedAt, redirect: redirect, rp: rp}
	return rp, nil
}

// forget drops the RP of an IdP that changed or went away.
func (oc *oidcCache) forget(id string) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	delete(oc.rps, id)
}

// enabledIdP returns the account's IdP id of kind, enabled; anything else
// is not found.
func (s *Server) enabledIdP(ctx context.Context, accountID, id, kind string) (holdfast.IdPConfig, error) {
	c, err := s.store.GetIdP(ctx, accountID, id)
	if err != nil {
		return c, err
	}
	if !c.Enabled || c.Kind != kind {
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
	rp, err := s.auth.oidc.get(ctx, s.auth, c, s.baseURL(r)+oidcCallbackPath, s.now)
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	state, nonce, verifier := randomSecret(32), randomSecret(32), oauth2.GenerateVerifier()
	ar := holdfast.AuthRequest{ID: hashID(state), AccountID: c.AccountID, IdPID: c.ID, Nonce: holdfast.Secret(nonce),
		Verifier: holdfast.Secret(verifier), ReturnTo: localPath(q.Get("return_to")),
		ExpiresAt: s.now().UTC().Add(authRequestValidity)}
	if err := s.store.CreateAuthRequest(ctx, &ar); err != nil {
		return err
	}
	// Lax: the provider's redirect back is a top-level GET, which carries
	// it; a cross-site subrequest does not.
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: state, Path: oidcCallbackPath, HttpOnly: true,
		Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode, MaxAge: int(authRequestValidity / time.Second)})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, rp.AuthCodeURL(state, nonce, verifier), http.StatusFound)
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
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: "", Path: oidcCallbackPath, HttpOnly: true,
		Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	state := q.Get("state")
	cookie, _ := r.Cookie(oidcStateCookie)
	if state == "" || cookie == nil || !secretEqual(cookie.Value, state) {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, "state missing or not this browser's")
	}
	ar, err := s.store.TakeAuthRequest(ctx, hashID(state), s.now().UTC())
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
	rp, err := s.auth.oidc.get(ctx, s.auth, c, s.baseURL(r)+oidcCallbackPath, s.now)
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	id, err := rp.Exchange(ctx, q.Get("code"), ar.Verifier.Reveal(), ar.Nonce.Reveal())
	if errors.Is(err, oidc.ErrRefused) {
		return s.ssoRefused(w, r, holdfast.IdPOIDC, err.Error())
	}
	if err != nil {
		return fmt.Errorf("%w: %s", errUpstream, err.Error())
	}
	if _, err := s.signInWithIdP(w, r, c, id.Subject, id.Email, id.EmailVerified); err != nil {
		if errors.Is(err, errBadSSO) || errors.Is(err, errOutsideFence) {
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
