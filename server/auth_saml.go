package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

const (
	samlStartPath = "/auth/saml/start"
	// samlStateCookie binds a sign-in to the browser that started it.
	samlStateCookie = "holdfast_saml_state"
	// maxACSBytes bounds a posted SAMLResponse: real ones are a few KB.
	maxACSBytes = 256 << 10
)

// samlMetadata serves GET /auth/saml/metadata: the SP metadata an IdP
// administrator registers.
func (s *Server) samlMetadata(w http.ResponseWriter, r *http.Request) error {
	if s.auth.sso == nil {
		return fmt.Errorf("single sign-on: %w", holdfast.ErrNotFound)
	}
	out, err := s.auth.sso.Metadata(s.baseURL(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(out)
	return nil
}

// samlStart serves GET /auth/saml/start?account=&idp=&return_to=: an
// SP-initiated sign-in, its AuthnRequest id recorded server-side under
// the relay state.
func (s *Server) samlStart(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	c, err := s.enabledIdP(ctx, q.Get("account"), q.Get("idp"), holdfast.IdPSAML)
	if err != nil {
		return err
	}
	relay := signin.NewSecret(32)
	start, err := s.auth.sso.Start(ctx, c, s.baseURL(r), relay)
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	ar := holdfast.AuthRequest{ID: signin.SecretID(relay), AccountID: c.AccountID, IdPID: c.ID, RequestID: start.RequestID,
		ReturnTo: localPath(q.Get("return_to")), ExpiresAt: s.now().UTC().Add(authRequestValidity)}
	if err := s.store.CreateAuthRequest(ctx, &ar); err != nil {
		return err
	}
	// The IdP posts the answer cross-site: over TLS the cookie must be
	// SameSite=None to come along. Over plain HTTP (development) None is
	// refused without Secure, and browsers then send a fresh cookie with
	// no SameSite attribute on a top-level POST.
	ck := &http.Cookie{Name: samlStateCookie, Value: relay, Path: holdfast.SAMLACSPath, HttpOnly: true,
		MaxAge: int(authRequestValidity / time.Second)}
	if s.secureRequest(r) {
		ck.Secure, ck.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, ck)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, start.URL, http.StatusFound)
	return nil
}

// samlACS serves POST /auth/saml/acs {SAMLResponse, RelayState}. An
// answer to one of our requests needs this browser's relay state, still
// pending; an unsolicited one is taken only from an IdP that allows
// IdP-initiated sign-in. The response is checked by idp/saml, and its
// assertion id must never have been used before.
func (s *Server) samlACS(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxACSBytes)
	if err := r.ParseForm(); err != nil {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "unreadable form: "+err.Error())
	}
	if err := checkForm(r.PostForm); err != nil {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "unreadable form: "+err.Error())
	}
	http.SetCookie(w, &http.Cookie{Name: samlStateCookie, Value: "", Path: holdfast.SAMLACSPath, HttpOnly: true,
		Secure: s.secureRequest(r), MaxAge: -1})
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if err != nil || len(raw) == 0 {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "no readable SAMLResponse")
	}
	c, req, returnTo, refusal, err := s.samlRequestOf(r, raw)
	if refusal != "" {
		return s.ssoRefused(w, r, holdfast.IdPSAML, refusal)
	}
	if err != nil {
		return err
	}
	assertion, err := s.auth.sso.Finish(ctx, c, s.baseURL(r), raw, req)
	if errors.Is(err, holdfast.ErrIdPRefused) {
		return s.ssoRefused(w, r, holdfast.IdPSAML, err.Error())
	}
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	if err := s.store.UseAssertion(ctx, c.Issuer, assertion.AssertionID, assertion.ReplayUntil); err != nil {
		if errors.Is(err, holdfast.ErrConflict) {
			return s.ssoRefused(w, r, holdfast.IdPSAML, "replayed assertion "+assertion.AssertionID)
		}
		return err
	}
	if assertion.Subject == "" {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "no persistent NameID")
	}
	if err := s.signInWithIdP(w, r, c, signin.Asserted{Subject: assertion.Subject, Email: assertion.Email, EmailVerified: assertion.EmailVerified}); err != nil {
		if errors.Is(err, signin.ErrBadSSO) || errors.Is(err, signin.ErrOutsideFence) {
			return s.ssoRefused(w, r, holdfast.IdPSAML, err.Error())
		}
		return err
	}
	http.Redirect(w, r, localPath(returnTo), http.StatusSeeOther)
	return nil
}

// samlRequestOf finds the IdP and the sign-in request a SAML response
// answers: the pending request of its relay state (which must be this
// browser's), or, with none, the one IdP that allows unsolicited
// responses from the response's issuer. A non-empty refusal says why the
// response is refused.
func (s *Server) samlRequestOf(r *http.Request, raw []byte) (c holdfast.IdPConfig, req holdfast.AuthRequest, returnTo, refusal string, err error) {
	ctx := r.Context()
	relay := r.PostForm.Get("RelayState")
	returnTo = "/"
	ar, err := s.store.TakeAuthRequest(ctx, signin.SecretID(relay), s.now().UTC())
	switch {
	case err == nil && relay != "":
		cookie, _ := r.Cookie(samlStateCookie)
		if cookie == nil || !signin.SecretEqual(cookie.Value, relay) {
			return c, req, returnTo, "relay state not this browser's", nil
		}
		if c, err = s.enabledIdP(ctx, ar.AccountID, ar.IdPID, holdfast.IdPSAML); errors.Is(err, holdfast.ErrNotFound) {
			return c, req, returnTo, "identity provider gone or disabled", nil
		}
		return c, ar, ar.ReturnTo, "", err
	case err == nil || errors.Is(err, holdfast.ErrNotFound):
		if c, err = s.unsolicitedIdP(ctx, raw); errors.Is(err, holdfast.ErrNotFound) {
			return c, req, returnTo, "unsolicited response, or unknown, used or expired relay state", nil
		}
		return c, req, returnTo, "", err
	}
	return c, req, returnTo, "", err
}

// unsolicitedIdP returns the one enabled SAML IdP that allows
// IdP-initiated sign-in and whose entity id issued raw (read before any
// check: it only picks the metadata to check against); none: ErrNotFound.
func (s *Server) unsolicitedIdP(ctx context.Context, raw []byte) (holdfast.IdPConfig, error) {
	notFound := fmt.Errorf("identity provider: %w", holdfast.ErrNotFound)
	if s.auth.sso == nil {
		return holdfast.IdPConfig{}, notFound
	}
	issuer := s.auth.sso.Issuer(raw)
	if issuer == "" {
		return holdfast.IdPConfig{}, notFound
	}
	idps, err := s.store.ListEnabledIdPs(ctx)
	if err != nil {
		return holdfast.IdPConfig{}, err
	}
	var found []holdfast.IdPConfig
	for _, c := range idps {
		if c.Kind == holdfast.IdPSAML && c.AllowIDPInitiated && c.Issuer == issuer {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		return holdfast.IdPConfig{}, notFound
	}
	return found[0], nil
}
