package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/egress"
	"github.com/holdfast/holdfast/signin"
)

// idpInput is the body of POST and PUT /api/v1/identity-providers.
type idpInput struct {
	Kind              string `json:"kind"`
	Name              string `json:"name"`
	Issuer            string `json:"issuer"`
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	MetadataURL       string `json:"metadata_url"`
	MetadataXML       string `json:"metadata_xml"`
	Enabled           bool   `json:"enabled"`
	AllowIDPInitiated bool   `json:"allow_idp_initiated"`
}

// idpView is an IdP as the API shows it: never the client secret.
type idpView struct {
	holdfast.IdPConfig
	HasClientSecret bool `json:"has_client_secret"`
	// RedirectURI (OIDC) or ACSURL and MetadataURL of this SP (SAML) are
	// what the IdP administrator registers.
	RedirectURI   string `json:"redirect_uri,omitempty"`
	SPMetadataURL string `json:"sp_metadata_url,omitempty"`
	ACSURL        string `json:"acs_url,omitempty"`
	// LoginURL is the account's sign-in page, with this IdP's button.
	LoginURL string `json:"login_url"`
}

func (s *Server) viewIdP(r *http.Request, c holdfast.IdPConfig) idpView {
	v := idpView{IdPConfig: c, HasClientSecret: c.ClientSecret != ""}
	base := s.baseURL(r)
	v.LoginURL = base + "/login?account=" + url.QueryEscape(c.AccountID)
	if c.Kind == holdfast.IdPOIDC {
		v.RedirectURI = base + holdfast.OIDCCallbackPath
	} else {
		v.SPMetadataURL, v.ACSURL = base+holdfast.SAMLMetadataPath, base+holdfast.SAMLACSPath
	}
	return v
}

// absURL reports whether s is an absolute https URL, or an http one on a
// loopback host (egress.CheckURL, the rule every redirect hop is held to
// as well). An identity provider's discovery document, keys and metadata
// decide whose sign-in is believed: fetched over plain http from the
// network, anyone on the path could swap the keys and forge sign-ins.
func absURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && egress.CheckURL(u) == nil
}

// idpUnreachable logs why a fetch from c failed and returns the generic
// upstream error.
func (s *Server) idpUnreachable(ctx context.Context, c holdfast.IdPConfig, err error) error {
	s.log.LogAttrs(ctx, slog.LevelWarn, "identity provider failed", slog.String("request_id", requestIDFrom(ctx)),
		slog.String("idp", c.ID), slog.String("kind", c.Kind), slog.String("error", err.Error()))
	return fmt.Errorf("%w: the identity provider cannot be reached", errUpstream)
}

// validIdP checks in and builds the configuration; for SAML it reads the
// IdP's metadata, which names its entity id (the issuer).
func (s *Server) validIdP(ctx context.Context, in idpInput, old *holdfast.IdPConfig) (holdfast.IdPConfig, error) {
	var v holdfast.ValidationError
	c := holdfast.IdPConfig{Kind: in.Kind, Name: holdfast.CheckName(&v, "name", in.Name), Issuer: strings.TrimSpace(in.Issuer),
		ClientID: strings.TrimSpace(in.ClientID), ClientSecret: holdfast.Secret(in.ClientSecret),
		MetadataURL: strings.TrimSpace(in.MetadataURL), MetadataXML: in.MetadataXML, Enabled: in.Enabled,
		AllowIDPInitiated: in.AllowIDPInitiated}
	switch c.Kind {
	case holdfast.IdPOIDC:
		if !absURL(c.Issuer) {
			v.Add("issuer", "must be the provider's absolute https issuer URL (http only on a loopback host)")
		}
		if c.ClientID == "" {
			v.Add("client_id", "is required")
		}
		if c.ClientSecret == "" && old != nil {
			c.ClientSecret = old.ClientSecret // PUT without a secret keeps it
		}
		if c.AllowIDPInitiated {
			v.Add("allow_idp_initiated", "applies to SAML only")
		}
	case holdfast.IdPSAML:
		if (c.MetadataURL == "") == (c.MetadataXML == "") {
			v.Add("metadata_url", "give the IdP metadata as metadata_url or metadata_xml, one of them")
		} else if c.MetadataURL != "" && !absURL(c.MetadataURL) {
			v.Add("metadata_url", "must be an absolute https URL (http only on a loopback host)")
		}
		if c.ClientID != "" || c.ClientSecret != "" {
			v.Add("client_id", "applies to OIDC only")
		}
	default:
		v.Add("kind", "must be oidc or saml")
	}
	if err := v.Err(); err != nil {
		return c, err
	}
	if s.auth.sso == nil {
		return c, fmt.Errorf("%w: single sign-on is not configured on this server", holdfast.ErrUnavailable)
	}
	return s.auth.sso.Check(ctx, c)
}

func (s *Server) ssoCheck(ctx context.Context) check {
	return check{right: "account.sso.manage", resource: accountEntity(ctx)}
}

// listIdPs serves GET /api/v1/identity-providers (account.sso.manage).
func (s *Server) listIdPs(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.decide(ctx, s.ssoCheck(ctx)); err != nil {
		return err
	}
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.store.PageIdPs(ctx, principal(ctx).AccountID, page)
	if err != nil {
		return err
	}
	return writePageAs(w, "identity_providers", got, func(c holdfast.IdPConfig) idpView { return s.viewIdP(r, c) })
}

// getIdP serves GET /api/v1/identity-providers/{id} (account.sso.manage).
func (s *Server) getIdP(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.decide(ctx, s.ssoCheck(ctx)); err != nil {
		return err
	}
	c, err := s.store.GetIdP(ctx, principal(ctx).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.viewIdP(r, c))
}

// createIdP serves POST /api/v1/identity-providers (account.sso.manage).
func (s *Server) createIdP(w http.ResponseWriter, r *http.Request) error {
	return s.saveIdP(w, r, "")
}

// replaceIdP serves PUT /api/v1/identity-providers/{id}
// (account.sso.manage); an empty client_secret keeps the stored one.
func (s *Server) replaceIdP(w http.ResponseWriter, r *http.Request) error {
	return s.saveIdP(w, r, r.PathValue("id"))
}

func (s *Server) saveIdP(w http.ResponseWriter, r *http.Request, id string) error {
	ctx := r.Context()
	var in idpInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	// Decide before fetching anything the body names: a caller without
	// the right must not make the server fetch URLs.
	if _, err := s.decide(ctx, s.ssoCheck(ctx)); err != nil {
		return err
	}
	var old *holdfast.IdPConfig
	if id != "" {
		o, err := s.store.GetIdP(ctx, acct, id)
		if err != nil {
			return err
		}
		old = &o
	}
	c, err := s.validIdP(ctx, in, old)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c.AccountID, c.ID, c.CreatedAt, c.UpdatedAt = acct, id, now, now
	action, status := "identity_provider.create", http.StatusCreated
	if old != nil {
		c.CreatedAt, action, status = old.CreatedAt, "identity_provider.update", http.StatusOK
	} else {
		c.ID = newID("idp_")
	}
	ch := change{action: action, resourceType: "identity_provider", resourceID: c.ID, checks: []check{s.ssoCheck(ctx)}}
	if _, err := s.apply(ctx, ch, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.PutIdP(ctx, &c); err != nil {
			return "", nil, err
		}
		return c.ID, map[string]any{"kind": c.Kind, "name": c.Name, "issuer": c.Issuer, "enabled": c.Enabled}, nil
	}); err != nil {
		return err
	}
	s.auth.sso.Forget(c.ID)
	return writeJSON(w, status, s.viewIdP(r, c))
}

// deleteIdP serves DELETE /api/v1/identity-providers/{id}
// (account.sso.manage); the identity links made through it go too.
func (s *Server) deleteIdP(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	acct := principal(ctx).AccountID
	ch := change{action: "identity_provider.delete", resourceType: "identity_provider", resourceID: id, checks: []check{s.ssoCheck(ctx)}}
	if _, err := s.apply(ctx, ch, func(tx holdfast.MetaStore) (string, any, error) {
		return id, nil, tx.DeleteIdP(ctx, acct, id)
	}); err != nil {
		return err
	}
	if s.auth.sso != nil {
		s.auth.sso.Forget(id)
	}
	return noContent(w)
}

// signInWithIdP completes an SSO sign-in through c (signin.Service) and
// hands the browser its session.
func (s *Server) signInWithIdP(w http.ResponseWriter, r *http.Request, c holdfast.IdPConfig, who signin.Asserted) error {
	st, err := s.signin.SignInWithIdP(r.Context(), c, who, s.attempt(r))
	if err != nil {
		return err
	}
	s.setStarted(w, r, st)
	return nil
}
