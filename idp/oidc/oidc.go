// Package oidc is the OpenID Connect relying party of administrator
// sign-in: the authorization code flow with PKCE (S256), over
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2.
//
// What it checks on every ID token: the signature with an asymmetric
// algorithm the provider announces (never none, never HMAC), against
// the provider's JWKS (cached; an unknown key id refreshes it at most once
// per MinRefresh); the issuer (exactly); the audience (our client id);
// azp when present or when there are several audiences; expiry; and the
// nonce of the sign-in. The state of the sign-in is the caller's to check
// (it is the key it stored the nonce and verifier under).
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/holdfast/holdfast"
)

// Options configure an RP.
type Options struct {
	// Issuer is the provider's issuer URL, exactly as its ID tokens name
	// it (a trailing slash matters).
	Issuer       string
	ClientID     string
	ClientSecret holdfast.Secret
	// RedirectURL is our callback, registered at the provider.
	RedirectURL string
	// HTTPClient fetches discovery, keys and tokens; nil uses a client
	// with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// RP is a relying party for one provider and client. It is safe for
// concurrent use; build it once per configuration, not per request.
type RP struct {
	issuer   string
	clientID string
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	keys     *KeySet
	client   *http.Client
}

// Identity is what a verified ID token says about the person.
type Identity struct {
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// ErrRefused is the error of every refused answer of the provider:
// errors.Is(err, ErrRefused) holds, and the message says why.
var ErrRefused = fmt.Errorf("oidc: %w", holdfast.ErrIdPRefused)

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// asymmetricAlgs are the signature algorithms an ID token may use. HMAC
// (HS*) is left out on purpose: its key would be the client secret, or,
// in the classic confusion attack, the provider's public key.
var asymmetricAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// New discovers the provider (one request to its
// .well-known/openid-configuration) and returns an RP for it.
func New(ctx context.Context, opts Options) (*RP, error) {
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", opts.Issuer, err)
	}
	var meta struct {
		JWKSURL string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", opts.Issuer, err)
	}
	if meta.JWKSURL == "" {
		return nil, fmt.Errorf("oidc: discovery of %s: no jwks_uri", opts.Issuer)
	}
	algs := []string{}
	for _, a := range meta.Algs {
		if slices.Contains(asymmetricAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256} // the one algorithm every provider must support
	}
	keys := NewKeySet(meta.JWKSURL, client, algs, now)
	rp := &RP{
		issuer:   opts.Issuer,
		clientID: opts.ClientID,
		oauth: oauth2.Config{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret.Reveal(), RedirectURL: opts.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
		verifier: oidc.NewVerifier(opts.Issuer, keys, &oidc.Config{ClientID: opts.ClientID, SupportedSigningAlgs: algs, Now: now}),
		keys:     keys,
		client:   client,
	}
	return rp, nil
}

// AuthCodeURL is where the browser goes to sign in: the code flow with
// state, nonce and the S256 challenge of verifier.
func (rp *RP) AuthCodeURL(state, nonce, verifier string) string {
	return rp.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// Exchange redeems code with the PKCE verifier at the token endpoint and
// verifies the ID token it returns against nonce. The access token is
// not used: identity comes from the ID token only.
func (rp *RP) Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	if code == "" {
		return Identity{}, refused("no authorization code")
	}
	if verifier == "" {
		return Identity{}, refused("no PKCE verifier for this sign-in")
	}
	tok, err := rp.oauth.Exchange(oidc.ClientContext(ctx, rp.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, refused("token endpoint: %s", re.ErrorCode)
		}
		return Identity{}, fmt.Errorf("oidc: token endpoint: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, refused("the token response has no id_token")
	}
	return rp.VerifyIDToken(ctx, raw, nonce)
}

// VerifyIDToken verifies raw as described in the package comment.
func (rp *RP) VerifyIDToken(ctx context.Context, raw, nonce string) (Identity, error) {
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return Identity{}, err
		}
		return Identity{}, refused("id token: %s", err.Error())
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, refused("id token: wrong nonce")
	}
	var c struct {
		AZP           string `json:"azp"`
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&c); err != nil {
		return Identity{}, refused("id token claims: %s", err.Error())
	}
	// OpenID Connect Core 3.1.3.7: with several audiences azp must be
	// there, and when there it must be us.
	if (len(idt.Audience) > 1 || c.AZP != "") && c.AZP != rp.clientID {
		return Identity{}, refused("id token: authorized party %q is not this client", c.AZP)
	}
	if idt.Subject == "" {
		return Identity{}, refused("id token: no subject")
	}
	return Identity{Issuer: idt.Issuer, Subject: idt.Subject, Email: strings.TrimSpace(c.Email),
		EmailVerified: truthy(c.EmailVerified), Name: c.Name}, nil
}

// truthy reads email_verified, a boolean that some providers send as the
// string "true".
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	case float64:
		return x == 1
	}
	return false
}
