// Package saml is the SAML 2.0 service provider of administrator sign-in,
// over github.com/crewjam/saml (with github.com/russellhaering/goxmldsig
// pinned to v1.6.1 or later in go.mod: CVE-2026-33487).
//
// Beyond what crewjam/saml checks (signature, Destination, InResponseTo,
// Issuer, status, Recipient, NotOnOrAfter, audience), ParseResponse
// requires: exactly one plain Assertion anywhere in the document, that
// assertion signed itself (a signed Response over an unsigned assertion is
// refused), Subject and Conditions present, and an audience restriction
// naming us. Replay of an assertion id is the caller's to refuse (it has
// the shared store); Assertion.ID and Expires are what to record.
package saml

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/holdfast/holdfast"
)

const (
	protocolNS  = "urn:oasis:names:tc:SAML:2.0:protocol"
	assertionNS = "urn:oasis:names:tc:SAML:2.0:assertion"
)

// ErrRefused is the error of every refused response: errors.Is(err,
// ErrRefused) holds and the message says why (for logs, not for the
// browser).
var ErrRefused = fmt.Errorf("saml: %w", holdfast.ErrIdPRefused)

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Options configure an SP.
type Options struct {
	// MetadataURL is where our metadata is served; it is also our entity
	// id. ACSURL is our assertion consumer service (HTTP-POST).
	MetadataURL, ACSURL string
	// Key and Certificate sign our requests and are published in the
	// metadata.
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
	// IdP is the identity provider's metadata; nil serves only Metadata.
	IdP *crewjam.EntityDescriptor
	// AllowIDPInitiated accepts unsolicited responses (then InResponseTo
	// cannot be checked).
	AllowIDPInitiated bool
	HTTPClient        *http.Client
	// Clock judges every time in a response (issue instant, validity,
	// certificate dates); nil is the wall clock.
	Clock holdfast.Clock
}

// libraryClock adapts a holdfast.Clock to the clock crewjam/saml and
// goxmldsig read: only the readings of the time come from it.
type libraryClock struct {
	clockwork.Clock
	c holdfast.Clock
}

func (l libraryClock) Now() time.Time                  { return l.c.Now() }
func (l libraryClock) Since(t time.Time) time.Duration { return l.c.Now().Sub(t) }
func (l libraryClock) Until(t time.Time) time.Duration { return t.Sub(l.c.Now()) }

// SP is our service provider towards one IdP. It is cheap to build and
// safe for concurrent use.
type SP struct {
	sp *crewjam.ServiceProvider
}

// New returns the SP of opts.
func New(opts Options) (*SP, error) {
	meta, err := url.Parse(opts.MetadataURL)
	if err != nil || meta.Host == "" {
		return nil, fmt.Errorf("saml: bad metadata URL %q", opts.MetadataURL)
	}
	acs, err := url.Parse(opts.ACSURL)
	if err != nil || acs.Host == "" {
		return nil, fmt.Errorf("saml: bad ACS URL %q", opts.ACSURL)
	}
	sp := &crewjam.ServiceProvider{
		EntityID:          meta.String(),
		Key:               opts.Key,
		Certificate:       opts.Certificate,
		MetadataURL:       *meta,
		AcsURL:            *acs,
		IDPMetadata:       opts.IdP,
		AuthnNameIDFormat: crewjam.PersistentNameIDFormat,
		// With an RSA key, requests would be signed with SHA-1 by default.
		SignatureMethod:   dsig.RSASHA256SignatureMethod,
		AllowIDPInitiated: opts.AllowIDPInitiated,
		HTTPClient:        opts.HTTPClient,
		Clock:             dsig.NewFakeClock(libraryClock{Clock: clockwork.NewRealClock(), c: holdfast.ClockOrSystem(opts.Clock)}),
	}
	// An assertion without an audience restriction is not ours to accept.
	sp.ValidateAudienceRestriction = func(a *crewjam.Assertion) error {
		for _, ar := range a.Conditions.AudienceRestrictions {
			if ar.Audience.Value == sp.EntityID {
				return nil
			}
		}
		return fmt.Errorf("no audience restriction names %q", sp.EntityID)
	}
	return &SP{sp: sp}, nil
}

// EntityID is our entity id (the metadata URL).
func (s *SP) EntityID() string { return s.sp.EntityID }

// ACSURL is our assertion consumer service.
func (s *SP) ACSURL() string { return s.sp.AcsURL.String() }

// Metadata returns our SP metadata: signed requests, assertions wanted
// signed, only the HTTP-POST binding at the ACS and no encryption key
// (assertions come signed, in the clear, over TLS).
func (s *SP) Metadata() ([]byte, error) {
	md := s.sp.Metadata()
	d := &md.SPSSODescriptors[0]
	signing := d.KeyDescriptors[:0]
	for _, k := range d.KeyDescriptors {
		if k.Use == "signing" {
			signing = append(signing, k)
		}
	}
	d.KeyDescriptors = signing
	acs := d.AssertionConsumerServices[:0]
	for _, e := range d.AssertionConsumerServices {
		if e.Binding == crewjam.HTTPPostBinding {
			acs = append(acs, e)
		}
	}
	d.AssertionConsumerServices = acs
	out, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: metadata: %w", err)
	}
	return append([]byte(xml.Header), out...), nil
}

// AuthnRequest makes a signed AuthnRequest for the IdP's HTTP-Redirect
// endpoint and returns the URL to send the browser to and the request id
// the answer must name. relayState must be URL-safe.
func (s *SP) AuthnRequest(relayState string) (redirect, requestID string, err error) {
	dest := s.sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding)
	if dest == "" {
		return "", "", errors.New("saml: the identity provider offers no HTTP-Redirect sign-in")
	}
	req, err := s.sp.MakeAuthenticationRequest(dest, crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		return "", "", fmt.Errorf("saml: %w", err)
	}
	u, err := req.Redirect(relayState, s.sp)
	if err != nil {
		return "", "", fmt.Errorf("saml: %w", err)
	}
	return u.String(), req.ID, nil
}

// Assertion is what a checked response says.
type Assertion struct {
	ID     string
	Issuer string
	// Subject is the NameID, when it is persistent or unspecified (a
	// transient one is not a stable identity: "").
	Subject string
	// Email is the asserted email attribute (or an emailAddress NameID).
	Email string
	// Expires is when the assertion stops being valid, clock skew
	// included: keep its id until then to refuse a replay.
	Expires time.Time
}

// ParseResponse checks the decoded SAMLResponse raw, the answer to one
// of requestIDs (none: unsolicited, refused unless AllowIDPInitiated).
func (s *SP) ParseResponse(raw []byte, requestIDs []string) (Assertion, error) {
	if s.sp.IDPMetadata == nil {
		return Assertion{}, errors.New("saml: no identity provider metadata")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return Assertion{}, refused("malformed XML")
	}
	root := doc.Root()
	if root.Tag != "Response" || root.NamespaceURI() != protocolNS {
		return Assertion{}, refused("not a SAML Response")
	}
	var plain, encrypted int
	var responseSig *etree.Element
	for _, ch := range root.ChildElements() {
		switch {
		case ch.Tag == "Assertion" && ch.NamespaceURI() == assertionNS:
			plain++
			// crewjam/saml dereferences both without a nil check.
			if ch.SelectElement("Subject") == nil || ch.SelectElement("Conditions") == nil {
				return Assertion{}, refused("assertion without Subject or Conditions")
			}
		case ch.Tag == "EncryptedAssertion":
			encrypted++
		case ch.Tag == "Signature" && ch.NamespaceURI() == dsig.Namespace:
			responseSig = ch
		}
	}
	// Assertions anywhere in the document count too: one hidden inside
	// another element is the raw material of signature wrapping.
	anywhere := 0
	var count func(e *etree.Element)
	count = func(e *etree.Element) {
		for _, ch := range e.ChildElements() {
			if ch.Tag == "Assertion" {
				anywhere++
			}
			count(ch)
		}
	}
	count(root)
	if plain != 1 || encrypted != 0 || anywhere != 1 {
		return Assertion{}, refused("want exactly one plain assertion, got %d (%d anywhere, %d encrypted)", plain, anywhere, encrypted)
	}
	acs := s.sp.AcsURL
	// As sent: the Response signature, when there is one, must hold.
	first, err := s.sp.ParseXMLResponse(raw, requestIDs, acs)
	if err != nil {
		return Assertion{}, refused("%s", reason(err))
	}
	a := first
	if responseSig != nil {
		// Without the Response signature the library requires, and
		// verifies, the assertion's own.
		root.RemoveChild(responseSig)
		stripped, err := doc.WriteToBytes()
		if err != nil {
			return Assertion{}, fmt.Errorf("saml: %w", err)
		}
		second, err := s.sp.ParseXMLResponse(stripped, requestIDs, acs)
		if err != nil {
			return Assertion{}, refused("assertion not signed itself: %s", reason(err))
		}
		if first.ID != second.ID {
			return Assertion{}, refused("assertion ids differ between checks")
		}
		a = second
	}
	if a.ID == "" {
		return Assertion{}, refused("assertion without an id")
	}
	out := Assertion{ID: a.ID, Issuer: a.Issuer.Value, Expires: a.Conditions.NotOnOrAfter.Add(crewjam.MaxClockSkew)}
	out.Subject, out.Email = identity(a)
	return out, nil
}

// reason unwraps the library's private reason.
func reason(err error) string {
	var ire *crewjam.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		return ire.PrivateErr.Error()
	}
	return err.Error()
}

// identity returns the stable subject and the asserted email.
func identity(a *crewjam.Assertion) (subject, email string) {
	if a.Subject != nil && a.Subject.NameID != nil && a.Subject.NameID.Format != string(crewjam.TransientNameIDFormat) {
		subject = strings.TrimSpace(a.Subject.NameID.Value)
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
		a.Subject.NameID.Format == string(crewjam.EmailAddressNameIDFormat) {
		email = strings.TrimSpace(a.Subject.NameID.Value)
	}
	return subject, email
}

// ParseMetadata reads an IdP's metadata.
func ParseMetadata(data []byte) (*crewjam.EntityDescriptor, error) {
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if md.EntityID == "" || len(md.IDPSSODescriptors) == 0 {
		return nil, errors.New("not the metadata of a SAML identity provider")
	}
	return md, nil
}

// PeekIssuer returns the Issuer a response names, read before any check:
// only to pick the metadata to check it against.
func PeekIssuer(raw []byte) string {
	var peek struct {
		Issuer string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	}
	if err := xml.Unmarshal(raw, &peek); err != nil {
		return ""
	}
	return strings.TrimSpace(peek.Issuer)
}
