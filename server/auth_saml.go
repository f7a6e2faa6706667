package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/holdfast/holdfast"
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
	md      *saml.EntityDescriptor
}

func (sc *samlCache) get(ctx context.Context, s *Server, c holdfast.IdPConfig) (*saml.EntityDescriptor, error) {
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
func (s *Server) samlIdPMetadata(ctx context.Context, c holdfast.IdPConfig) (*saml.EntityDescriptor, error) {
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
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if md.EntityID == "" || len(md.IDPSSODescriptors) == 0 {
		return nil, errors.New("not the metadata of a SAML identity provider")
	}
	return md, nil
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
	now := time.Now()
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
func (s *Server) serviceProvider(r *http.Request, md *saml.EntityDescriptor, allowIDPInitiated bool) (*saml.ServiceProvider, error) {
	key, crt, err := s.auth.samlKeyPair()
	if err != nil {
		return nil, err
	}
	base := s.baseURL(r)
	metaURL, err := url.Parse(base + samlMetadataPath)
	if err != nil {
		return nil, fmt.Errorf("%w: bad host", errBadRequest)
	}
	acsURL, _ := url.Parse(base + samlACSPath)
	sp := &saml.ServiceProvider{
		EntityID:          metaURL.String(),
		Key:               key,
		Certificate:       crt,
		MetadataURL:       *metaURL,
		AcsURL:            *acsURL,
		IDPMetadata:       md,
		AuthnNameIDFormat: saml.PersistentNameIDFormat,
		// With an RSA key, requests would be signed with SHA-1 by default.
		SignatureMethod:   dsig.RSASHA256SignatureMethod,
		AllowIDPInitiated: allowIDPInitiated,
		HTTPClient:        s.auth.client,
	}
	// An assertion without an audience restriction is not ours to accept.
	sp.ValidateAudienceRestriction = func(a *saml.Assertion) error {
		for _, ar := range a.Conditions.AudienceRestrictions {
			if ar.Audience.Value == sp.EntityID {
				return nil
			}
		}
		return fmt.Errorf("no audience restriction names %q", sp.EntityID)
	}
	return sp, nil
}

// samlMetadata serves GET /auth/saml/metadata: the SP metadata an IdP
// administrator registers. It asks for signed assertions, signs its
// requests and offers only the HTTP-POST binding at the ACS.
func (s *Server) samlMetadata(w http.ResponseWriter, r *http.Request) error {
	sp, err := s.serviceProvider(r, nil, false)
	if err != nil {
		return err
	}
	md := sp.Metadata()
	d := &md.SPSSODescriptors[0]
	signing := d.KeyDescriptors[:0]
	for _, k := range d.KeyDescriptors {
		if k.Use == "signing" {
			signing = append(signing, k)
		}
	}
	d.KeyDescriptors = signing // no encryption key: assertions come signed, in the clear, over TLS
	acs := d.AssertionConsumerServices[:0]
	for _, e := range d.AssertionConsumerServices {
		if e.Binding == saml.HTTPPostBinding {
			acs = append(acs, e)
		}
	}
	d.AssertionConsumerServices = acs
	out, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(append([]byte(xml.Header), out...))
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
		return fmt.Errorf("%w: the identity provider's metadata cannot be read: %s", errUpstream, err.Error())
	}
	sp, err := s.serviceProvider(r, md, false)
	if err != nil {
		return err
	}
	dest := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if dest == "" {
		return fmt.Errorf("%w: the identity provider offers no HTTP-Redirect sign-in", errUpstream)
	}
	req, err := sp.MakeAuthenticationRequest(dest, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return err
	}
	relay := randomSecret(32)
	ar := holdfast.AuthRequest{ID: hashID(relay), AccountID: c.AccountID, IdPID: c.ID, RequestID: req.ID,
		ReturnTo: localPath(q.Get("return_to")), ExpiresAt: s.now().UTC().Add(authRequestValidity)}
	if err := s.auth.ids.CreateAuthRequest(ctx, &ar); err != nil {
		return err
	}
	u, err := req.Redirect(relay, sp)
	if err != nil {
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
	http.Redirect(w, r, u.String(), http.StatusFound)
	return nil
}

// samlACS serves POST /auth/saml/acs {SAMLResponse, RelayState}. An
// answer to one of our requests needs this browser's relay state, still
// pending; an unsolicited one is taken only from an IdP that allows
// IdP-initiated sign-in. The response is checked by crewjam/saml
// (signature, Destination, InResponseTo, Issuer, status, Recipient,
// NotOnOrAfter, audience) and, beyond that, must carry exactly one
// assertion, signed itself, whose id was never used before.
func (s *Server) samlACS(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxACSBytes)
	if err := r.ParseForm(); err != nil {
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
	ar, err := s.auth.ids.TakeAuthRequest(ctx, hashID(relay), s.now().UTC())
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
		return fmt.Errorf("%w: the identity provider's metadata cannot be read: %s", errUpstream, err.Error())
	}
	sp, err := s.serviceProvider(r, md, requestIDs == nil)
	if err != nil {
		return err
	}
	assertion, err := parseSignedAssertion(sp, raw, requestIDs)
	if err != nil {
		return s.ssoRefused(w, r, holdfast.IdPSAML, err.Error())
	}
	expires := assertion.Conditions.NotOnOrAfter.Add(saml.MaxClockSkew)
	if min := s.now().Add(saml.MaxIssueDelay); expires.Before(min) {
		expires = min
	}
	if err := s.auth.ids.UseAssertion(ctx, c.Issuer, assertion.ID, expires.UTC()); err != nil {
		if errors.Is(err, holdfast.ErrConflict) {
			return s.ssoRefused(w, r, holdfast.IdPSAML, "replayed assertion "+assertion.ID)
		}
		return err
	}
	subject, email := assertionIdentity(assertion)
	if subject == "" {
		return s.ssoRefused(w, r, holdfast.IdPSAML, "no persistent NameID")
	}
	if _, err := s.signInWithIdP(w, r, c, subject, email, email != ""); err != nil {
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
	var peek struct {
		Issuer string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	}
	notFound := fmt.Errorf("identity provider: %w", holdfast.ErrNotFound)
	if err := xml.Unmarshal(raw, &peek); err != nil || peek.Issuer == "" {
		return holdfast.IdPConfig{}, notFound
	}
	idps, err := s.auth.ids.ListEnabledIdPs(ctx)
	if err != nil {
		return holdfast.IdPConfig{}, err
	}
	var found []holdfast.IdPConfig
	for _, c := range idps {
		if c.Kind == holdfast.IdPSAML && c.AllowIDPInitiated && c.Issuer == strings.TrimSpace(peek.Issuer) {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		return holdfast.IdPConfig{}, notFound
	}
	return found[0], nil
}

// parseSignedAssertion checks raw with sp and returns its assertion. The
// library accepts a signed Response with unsigned assertions; we do not:
// the Response must hold exactly one plain Assertion, and the response
// is checked twice, as sent (its own signature, when there is one, must
// be valid) and without the Response signature, which makes the library
// require and verify the assertion's own.
func parseSignedAssertion(sp *saml.ServiceProvider, raw []byte, requestIDs []string) (*saml.Assertion, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return nil, errors.New("malformed XML")
	}
	root := doc.Root()
	if root.Tag != "Response" || root.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:protocol" {
		return nil, errors.New("not a SAML Response")
	}
	var assertions, encrypted int
	var responseSig *etree.Element
	for _, ch := range root.ChildElements() {
		switch {
		case ch.Tag == "Assertion" && ch.NamespaceURI() == "urn:oasis:names:tc:SAML:2.0:assertion":
			assertions++
			// The library dereferences both without a nil check.
			if ch.SelectElement("Subject") == nil || ch.SelectElement("Conditions") == nil {
				return nil, errors.New("assertion without Subject or Conditions")
			}
		case ch.Tag == "EncryptedAssertion":
			encrypted++
		case ch.Tag == "Signature" && ch.NamespaceURI() == dsig.Namespace:
			responseSig = ch
		}
	}
	// Count assertions anywhere in the document too: one hidden inside
	// another element is the raw material of signature wrapping.
	all := 0
	var count func(e *etree.Element)
	count = func(e *etree.Element) {
		for _, ch := range e.ChildElements() {
			if ch.Tag == "Assertion" {
				all++
			}
			count(ch)
		}
	}
	count(root)
	if assertions != 1 || encrypted != 0 || all != 1 {
		return nil, fmt.Errorf("want exactly one plain assertion, got %d (%d anywhere, %d encrypted)", assertions, all, encrypted)
	}
	acsURL := sp.AcsURL
	first, err := sp.ParseXMLResponse(raw, requestIDs, acsURL)
	if err != nil {
		return nil, samlReason(err)
	}
	if responseSig == nil {
		return first, nil // the library already required the assertion's signature
	}
	root.RemoveChild(responseSig)
	stripped, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	second, err := sp.ParseXMLResponse(stripped, requestIDs, acsURL)
	if err != nil {
		return nil, fmt.Errorf("assertion not signed itself: %w", samlReason(err))
	}
	if first.ID != second.ID || first.ID == "" {
		return nil, errors.New("assertion ids differ between checks")
	}
	return second, nil
}

// samlReason unwraps the library's private reason for logs.
func samlReason(err error) error {
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		return ire.PrivateErr
	}
	return err
}

// assertionIdentity returns the stable subject (a persistent or
// unspecified NameID, never a transient one) and the asserted email.
func assertionIdentity(a *saml.Assertion) (subject, email string) {
	if a.Subject != nil && a.Subject.NameID != nil {
		n := a.Subject.NameID
		if n.Format != string(saml.TransientNameIDFormat) {
			subject = strings.TrimSpace(n.Value)
		}
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			switch at.Name {
			case "email", "mail", "urn:oid:0.9.2342.19200300.100.1.3",
				"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress":
				if len(at.Values) > 0 && email == "" {
					email = strings.TrimSpace(at.Values[0].Value)
				}
			}
		}
	}
	if email == "" && a.Subject != nil && a.Subject.NameID != nil &&
		a.Subject.NameID.Format == string(saml.EmailAddressNameIDFormat) {
		email = strings.TrimSpace(a.Subject.NameID.Value)
	}
	return subject, email
}
