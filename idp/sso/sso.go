// Package sso is holdfast.IdentityProviders over the two protocols: an
// OIDC relying party (idp/oidc) or a SAML service provider (idp/saml) per
// configured identity provider, built on first use and kept until its
// configuration changes. cmd/holdfast wires it into the server, which
// knows only the root interface.
package sso

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	crewjam "github.com/crewjam/saml"
	"golang.org/x/oauth2"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp/oidc"
	"github.com/holdfast/holdfast/idp/saml"
)

const (
	maxMetadataBytes = 1 << 20
	// metadataMaxAge is how long fetched IdP metadata is used.
	metadataMaxAge = time.Hour
	// errFetch is the one answer to a failed fetch from an identity
	// provider, whatever failed: a refused address, a closed port, a
	// timeout, a bad status or a document that does not parse all read the
	// same, so that the URL field is no probe of the server's network.
	errFetch = "cannot be fetched: the identity provider did not answer with a usable document (the server log has the reason)"
)

// Options configure Providers.
type Options struct {
	// HTTPClient fetches discovery, keys and metadata (required: an
	// egress client that refuses private addresses, see package egress).
	HTTPClient *http.Client
	// Clock judges tokens and assertions; nil is the wall clock.
	Clock holdfast.Clock
	// SAMLKey and SAMLCertificate sign SAML requests and are published in
	// the SP metadata; nil generates a pair per process (replicas then
	// disagree: configure one).
	SAMLKey         crypto.Signer
	SAMLCertificate *x509.Certificate
	Logger          *slog.Logger // nil discards
}

// Providers implements holdfast.IdentityProviders. Safe for concurrent use.
type Providers struct {
	client *http.Client
	clock  holdfast.Clock
	log    *slog.Logger

	mu      sync.Mutex // guards the fields below
	samlKey *rsa.PrivateKey
	samlCrt *x509.Certificate
	rps     map[string]cachedRP       // IdP id -> OIDC RP
	md      map[string]cachedMetadata // IdP id -> SAML IdP metadata
}

var _ holdfast.IdentityProviders = (*Providers)(nil)

type cachedRP struct {
	updated  time.Time // IdPConfig.UpdatedAt it was built from
	redirect string
	rp       *oidc.RP
}

type cachedMetadata struct {
	updated time.Time // IdPConfig.UpdatedAt
	fetched time.Time
	md      *crewjam.EntityDescriptor
}

// New returns the providers of opts.
func New(opts Options) (*Providers, error) {
	if (opts.SAMLKey == nil) != (opts.SAMLCertificate == nil) {
		return nil, errors.New("sso: SAML key and certificate go together")
	}
	p := &Providers{client: opts.HTTPClient, clock: holdfast.ClockOrSystem(opts.Clock), log: opts.Logger,
		samlCrt: opts.SAMLCertificate}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if opts.SAMLKey != nil {
		k, ok := opts.SAMLKey.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("sso: the SAML SP key must be RSA")
		}
		p.samlKey = k
	}
	return p, nil
}

// Start begins a sign-in at c bound to state.
func (p *Providers) Start(ctx context.Context, c holdfast.IdPConfig, base, state string) (holdfast.IdPStart, error) {
	if c.Kind == holdfast.IdPOIDC {
		rp, err := p.rp(ctx, c, base+holdfast.OIDCCallbackPath)
		if err != nil {
			return holdfast.IdPStart{}, err
		}
		nonce, verifier := rand.Text()+rand.Text(), oauth2.GenerateVerifier()
		return holdfast.IdPStart{URL: rp.AuthCodeURL(state, nonce, verifier), Nonce: holdfast.Secret(nonce),
			Verifier: holdfast.Secret(verifier)}, nil
	}
	sp, err := p.serviceProvider(ctx, c, base, false)
	if err != nil {
		return holdfast.IdPStart{}, err
	}
	u, requestID, err := sp.AuthnRequest(state)
	return holdfast.IdPStart{URL: u, RequestID: requestID}, err
}

// Finish checks answer to req.
func (p *Providers) Finish(ctx context.Context, c holdfast.IdPConfig, base string, answer []byte, req holdfast.AuthRequest) (holdfast.IdPIdentity, error) {
	if c.Kind == holdfast.IdPOIDC {
		rp, err := p.rp(ctx, c, base+holdfast.OIDCCallbackPath)
		if err != nil {
			return holdfast.IdPIdentity{}, err
		}
		id, err := rp.Exchange(ctx, string(answer), req.Verifier.Reveal(), req.Nonce.Reveal())
		return holdfast.IdPIdentity{Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified}, err
	}
	unsolicited := req.RequestID == ""
	sp, err := p.serviceProvider(ctx, c, base, unsolicited && c.AllowIDPInitiated)
	if err != nil {
		return holdfast.IdPIdentity{}, err
	}
	var ids []string
	if !unsolicited {
		ids = []string{req.RequestID}
	}
	a, err := sp.ParseResponse(answer, ids)
	if err != nil {
		return holdfast.IdPIdentity{}, err
	}
	// Kept at least as long as the library accepts a response issued
	// now, so no replay outlives its record.
	until := a.Expires
	if min := p.clock.Now().Add(crewjam.MaxIssueDelay + crewjam.MaxClockSkew); until.Before(min) {
		until = min
	}
	return holdfast.IdPIdentity{Subject: a.Subject, Email: a.Email, EmailVerified: a.Email != "",
		AssertionID: a.ID, ReplayUntil: until.UTC()}, nil
}

// Check fetches what c names and returns it completed.
func (p *Providers) Check(ctx context.Context, c holdfast.IdPConfig) (holdfast.IdPConfig, error) {
	if c.Kind == holdfast.IdPSAML {
		md, err := p.fetchMetadata(ctx, c)
		if err != nil {
			if c.MetadataURL == "" {
				return c, invalid("metadata", "%s", err.Error())
			}
			p.logFetch(ctx, c, err)
			return c, invalid("metadata_url", "%s", errFetch)
		}
		if c.Issuer != "" && c.Issuer != md.EntityID {
			return c, invalid("issuer", "the metadata names entity %q", md.EntityID)
		}
		c.Issuer = md.EntityID
		return c, nil
	}
	if c.Enabled {
		// Discovery now, so that a wrong issuer (a missing or extra
		// trailing slash is enough) is refused here, not at sign-in.
		if _, err := oidc.New(ctx, oidc.Options{Issuer: c.Issuer, ClientID: c.ClientID, HTTPClient: p.client}); err != nil {
			p.logFetch(ctx, c, err)
			return c, invalid("issuer", "the discovery document %s", errFetch)
		}
	}
	return c, nil
}

func invalid(field, format string, args ...any) error {
	return &holdfast.ValidationError{Fields: []holdfast.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}}
}

func (p *Providers) logFetch(ctx context.Context, c holdfast.IdPConfig, err error) {
	p.log.LogAttrs(ctx, slog.LevelWarn, "identity provider fetch failed", slog.String("idp", c.ID),
		slog.String("kind", c.Kind), slog.String("error", err.Error()))
}

// Forget drops the RP and metadata of the IdP id.
func (p *Providers) Forget(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rps, id)
	delete(p.md, id)
}

// Metadata is our SAML SP metadata under base.
func (p *Providers) Metadata(base string) ([]byte, error) {
	sp, err := p.newSP(base, nil, false)
	if err != nil {
		return nil, err
	}
	return sp.Metadata()
}

// Issuer reads the issuer of an unsolicited SAML answer.
func (p *Providers) Issuer(answer []byte) string { return saml.PeekIssuer(answer) }

// rp returns the RP of c with redirect as its callback, rebuilt when the
// stored configuration changed (on this replica or another).
func (p *Providers) rp(ctx context.Context, c holdfast.IdPConfig, redirect string) (*oidc.RP, error) {
	p.mu.Lock()
	e, ok := p.rps[c.ID]
	p.mu.Unlock()
	if ok && e.updated.Equal(c.UpdatedAt) && e.redirect == redirect {
		return e.rp, nil
	}
	rp, err := oidc.New(ctx, oidc.Options{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		RedirectURL: redirect, HTTPClient: p.client, Now: p.clock.Now})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rps == nil {
		p.rps = map[string]cachedRP{}
	}
	p.rps[c.ID] = cachedRP{updated: c.UpdatedAt, redirect: redirect, rp: rp}
	return rp, nil
}

// serviceProvider returns our SP towards the IdP of c, its metadata
// refetched after metadataMaxAge or when the configuration changed.
func (p *Providers) serviceProvider(ctx context.Context, c holdfast.IdPConfig, base string, allowIDPInitiated bool) (*saml.SP, error) {
	now := p.clock.Now()
	p.mu.Lock()
	e, ok := p.md[c.ID]
	p.mu.Unlock()
	md := e.md
	if !ok || !e.updated.Equal(c.UpdatedAt) || now.Sub(e.fetched) >= metadataMaxAge {
		fresh, err := p.fetchMetadata(ctx, c)
		switch {
		case err == nil:
			md = fresh
			p.mu.Lock()
			if p.md == nil {
				p.md = map[string]cachedMetadata{}
			}
			p.md[c.ID] = cachedMetadata{updated: c.UpdatedAt, fetched: now, md: fresh}
			p.mu.Unlock()
		case !ok || !e.updated.Equal(c.UpdatedAt):
			return nil, err
		}
		// else: keep trusting what we had while the metadata URL hiccups
	}
	return p.newSP(base, md, allowIDPInitiated)
}

func (p *Providers) newSP(base string, md *crewjam.EntityDescriptor, allowIDPInitiated bool) (*saml.SP, error) {
	key, crt, err := p.keyPair()
	if err != nil {
		return nil, err
	}
	return saml.New(saml.Options{MetadataURL: base + holdfast.SAMLMetadataPath, ACSURL: base + holdfast.SAMLACSPath,
		Key: key, Certificate: crt, IdP: md, AllowIDPInitiated: allowIDPInitiated, HTTPClient: p.client, Clock: p.clock})
}

// fetchMetadata returns the IdP's metadata of c: parsed from MetadataXML,
// or fetched from MetadataURL.
func (p *Providers) fetchMetadata(ctx context.Context, c holdfast.IdPConfig) (*crewjam.EntityDescriptor, error) {
	data := []byte(c.MetadataXML)
	if c.MetadataURL != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.MetadataURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := p.client.Do(req)
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

// keyPair returns the SP's signing key pair: the configured one, or one
// made for this process on first use.
func (p *Providers) keyPair() (*rsa.PrivateKey, *x509.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.samlKey != nil {
		return p.samlKey, p.samlCrt, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("saml: %w", err)
	}
	now := p.clock.Now()
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
	p.samlKey, p.samlCrt = key, crt
	return key, crt, nil
}
