package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp/saml"
)

// Stable SAML paths: the SP metadata (its URL is also the SP's entity
// id) and its assertion consumer service.
const (
	samlMetadataPath = "/auth/saml/metadata"
	samlACSPath      = "/auth/saml/acs"
	samlStartPath    = "/auth/saml/start"
	// samlStateCookie binds a sign-in to the browser that started it.
	samlStateCookie  = "holdfast_saml_state"
	maxMetadataBytes = 1 << 20
	// maxACSBytes bounds a posted SAMLResponse: real ones are a few KB.
	maxACSBytes = 256 << 10
	// samlMetadataMaxAge is how long fetched IdP metadata is used.
	samlMetadataMaxAge = time.Hour
)

// samlCache keeps each SAML IdP's parsed metadata, refetched after
// samlMetadataMaxAge or when the configuration changed. Safe for
// concurrent use.
type samlCache struct {
	mu sync.Mutex
	md map[string]cachedMetadata // IdP id -> metadata; guarded by mu
}

type cachedMetadata struct {
	updated time.Time // IdPConfig.UpdatedAt
	fetched time.Time
	md      *crewjam.EntityDescriptor
}

func (sc *samlCache) get(ctx context.Context, s *Server, c holdfast.IdPConfig) (*crewjam.EntityDescriptor, error) {
	now := s.now()
	sc.mu.Lock()
	e, ok := sc.md[c.ID]
	sc.mu.Unlock()
	if ok && e.updated.Equal(c.UpdatedAt) && now.Sub(e.fetched) < samlMetadataMaxAge {
		return e.md, nil
	}
	md, err := s.samlIdPMetadata(ctx, c)
	if err != nil {
		if ok && e.updated.Equal(c.UpdatedAt) {
			return e.md, nil // keep trusting what we had while the IdP's metadata URL hiccups
		}
		return nil, err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.md == nil {
		sc.md = map[string]cachedMetadata{}
	}
	sc.md[c.ID] = cachedMetadata{updated: c.UpdatedAt, fetched: now, md: md}
	return md, nil
}

func (sc *samlCache) forget(id string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	delete(sc.md, id)
}

// samlIdPMetadata returns the IdP's metadata of c: parsed from
// MetadataXML, or fetched from MetadataURL.
func (s *Server) samlIdPMetadata(ctx context.Context, c holdfast.IdPConfig) (*crewjam.EntityDescriptor, error) {
	data := []byte(c.MetadataXML)
	if c.MetadataURL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.MetadataURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.auth.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", c.MetadataURL, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch %s: %s", c.MetadataURL, resp.Status)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes)); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", c.MetadataURL, err)
		}
	}
	return saml.ParseMetadata(data)
}

// samlKeyPair returns the SP's signing key pair: the configured one, or
// one made for this process on first use.
func (a *authState) samlKeyPair() (*rsa.PrivateKey, *x509.Certificate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.samlKey != nil {
		k, ok := a.samlKey.(*rsa.PrivateKey)
		if !ok {
			return nil, nil, errors.New("saml: the SP key must be RSA")
		}
		return k, a.samlCrt, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: %w", err)
	}
	now := a.clock.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "Holdfast SAML SP"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: %w", err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: %w", err)
	}
	a.samlKey, a.samlCrt = key, crt
	return key, crt, nil
}

// serviceProvider returns our SP as the request's base URL names it,
// for the IdP md (nil for the metadata alone).
func (s *Server) serviceProvider(r *http.Request, md *crewjam.EntityDescriptor, allowIDPInitiated bool) (*saml.SP, error) {
	key, crt, err := s.auth.samlKeyPair()
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	return saml.New(saml.Options{MetadataURL: base + samlMetadataPath, ACSURL: base + samlACSPath, Key: key,
		Certificate: crt, IdP: md, AllowIDPInitiated: allowIDPInitiated, HTTPClient: s.auth.client})
}

// samlMetadata serves GET /auth/saml/metadata: the SP metadata an IdP
// administrator registers.
func (s *Server) samlMetadata(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.serviceProvider(r, nil, false)
	if err != nil {
		return fmt.Errorf("%w: %s", errBadRequest, err.Error())
	}
	out, err := sp.Metadata()
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
	md, err := s.auth.saml.get(ctx, s, c)
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	sp, err := s.serviceProvider(r, md, false)
	if err != nil {
		return fmt.Errorf("%w: %s", errBadRequest, err.Error())
	}
	relay := randomSecret(32)
	u, requestID, err := sp.AuthnRequest(relay)
	if err != nil {
		return fmt.Errorf("%w: %s", errUpstream, err.Error())
	}
	ar := holdfast.AuthRequest{ID: hashID(relay), AccountID: c.AccountID, IdPID: c.ID, RequestID: requestID,
		ReturnTo: localPath(q.Get("return_to")), ExpiresAt: s.now().UTC().Add(authRequestValidity)}
	if err := s.store.CreateAuthRequest(ctx, &ar); err != nil {
		return err
	}
	// The IdP posts the answer cross-site: over TLS the cookie must be
	// SameSite=None to come along. Over plain HTTP (development) None is
	// refused without Secure, and browsers then send a fresh cookie with
	// no SameSite attribute on a top-level POST.
	ck := &http.Cookie{Name: samlStateCookie, Value: relay, Path: samlACSPath, HttpOnly: true,
		MaxAge: int(authRequestValidity / time.Second)}
	if s.secureRequest(r) {
		ck.Secure, ck.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, ck)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
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
	http.SetCookie(w, &http.Cookie{Name: samlStateCookie, Value: "", Path: samlACSPath, HttpOnly: true,
		Secure: s.secureRequest(r), MaxAge: -1})
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	if err != nil || len(raw) == 0 {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "no readable SAMLResponse")
	}
	relay := r.PostForm.Get("RelayState")
	var (
		c          holdfast.IdPConfig
		requestIDs []string
		returnTo   = "/"
	)
	ar, err := s.store.TakeAuthRequest(ctx, hashID(relay), s.now().UTC())
	switch {
	case err == nil && relay != "":
		cookie, _ := r.Cookie(samlStateCookie)
		if cookie == nil || !secretEqual(cookie.Value, relay) {
			return s.ssoRefused(w, r, holdfast.IdPSAML, "relay state not this browser's")
		}
		if c, err = s.enabledIdP(ctx, ar.AccountID, ar.IdPID, holdfast.IdPSAML); err != nil {
			if errors.Is(err, holdfast.ErrNotFound) {
				return s.ssoRefused(w, r, holdfast.IdPSAML, "identity provider gone or disabled")
			}
			return err
		}
		requestIDs, returnTo = []string{ar.RequestID}, ar.ReturnTo
	case err == nil || errors.Is(err, holdfast.ErrNotFound):
		if c, err = s.unsolicitedIdP(ctx, raw); err != nil {
			if errors.Is(err, holdfast.ErrNotFound) {
				return s.ssoRefused(w, r, holdfast.IdPSAML, "unsolicited response, or unknown, used or expired relay state")
			}
			return err
		}
	default:
		return err
	}
	md, err := s.auth.saml.get(ctx, s, c)
	if err != nil {
		return s.idpUnreachable(ctx, c, err)
	}
	sp, err := s.serviceProvider(r, md, requestIDs == nil)
	if err != nil {
		return fmt.Errorf("%w: %s", errBadRequest, err.Error())
	}
	assertion, err := sp.ParseResponse(raw, requestIDs)
	if errors.Is(err, saml.ErrRefused) {
		return s.ssoRefused(w, r, holdfast.IdPSAML, err.Error())
	}
	if err != nil {
		return err
	}
	// Kept at least as long as the library accepts a response issued
	// now, so no replay outlives its record.
	expires := assertion.Expires
	if min := s.now().Add(crewjam.MaxIssueDelay + crewjam.MaxClockSkew); expires.Before(min) {
		expires = min
	}
	if err := s.store.UseAssertion(ctx, c.Issuer, assertion.ID, expires.UTC()); err != nil {
		if errors.Is(err, holdfast.ErrConflict) {
			return s.ssoRefused(w, r, holdfast.IdPSAML, "replayed assertion "+assertion.ID)
		}
		return err
	}
	if assertion.Subject == "" {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "no persistent NameID")
	}
	if _, err := s.signInWithIdP(w, r, c, assertion.Subject, assertion.Email, assertion.Email != ""); err != nil {
		if errors.Is(err, errBadSSO) || errors.Is(err, errOutsideFence) {
			return s.ssoRefused(w, r, holdfast.IdPSAML, err.Error())
		}
		return err
	}
	http.Redirect(w, r, localPath(returnTo), http.StatusSeeOther)
	return nil
}

// unsolicitedIdP returns the one enabled SAML IdP that allows
// IdP-initiated sign-in and whose entity id issued raw (read before any
// check: it only picks the metadata to check against); none: ErrNotFound.
func (s *Server) unsolicitedIdP(ctx context.Context, raw []byte) (holdfast.IdPConfig, error) {
	notFound := fmt.Errorf("identity provider: %w", holdfast.ErrNotFound)
	issuer := saml.PeekIssuer(raw)
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
