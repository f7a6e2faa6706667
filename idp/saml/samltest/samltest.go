// Package samltest signs SAML responses for tests of the SP in
// [github.com/holdfast/holdfast/idp/saml] and of the server's ACS. The
// real-IdP flow is tested in server against ../shared/peers/saml-idp.
package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// IdP signs SAML responses the way an identity provider does, with a
// key the test controls, so that each check of an SP can be fed an
// answer that is correctly signed yet wrong in one way.
type IdP struct {
	key      *rsa.PrivateKey
	cert     []byte // DER
	EntityID string
}

// New returns an IdP with a fresh RSA key and self-signed certificate.
func New(t testing.TB) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &IdP{key: key, cert: der, EntityID: "https://idp.test/metadata"}
}

// GetKeyPair makes IdP a goxmldsig key store.
func (p *IdP) GetKeyPair() (*rsa.PrivateKey, []byte, error) { return p.key, p.cert, nil }

// Metadata is the IdP's metadata as the SP sees it.
func (p *IdP) Metadata() *crewjam.EntityDescriptor {
	return &crewjam.EntityDescriptor{EntityID: p.EntityID, IDPSSODescriptors: []crewjam.IDPSSODescriptor{{
		SSODescriptor: crewjam.SSODescriptor{RoleDescriptor: crewjam.RoleDescriptor{KeyDescriptors: []crewjam.KeyDescriptor{{
			Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{X509Certificates: []crewjam.X509Certificate{
				{Data: base64.StdEncoding.EncodeToString(p.cert)}}}}}}}},
		SingleSignOnServices: []crewjam.Endpoint{{Binding: crewjam.HTTPRedirectBinding, Location: "https://idp.test/sso"}},
	}}}
}

// Answer describes a response; NewAnswer gives a good one.
type Answer struct {
	Destination, InResponseTo, Issuer, Audience, Recipient, NameID, Email string
	Issued, NotOnOrAfter                                                  time.Time
	NoAudience, SignAssertion, SignResponse                               bool
	Signer                                                                dsig.X509KeyStore
}

// NewAnswer is a good answer of p to request id-req1 for alice, for the
// SP with ACS URL acs and entity id entity.
func NewAnswer(p *IdP, acs, entity string) Answer {
	now := time.Now().UTC()
	return Answer{Destination: acs, InResponseTo: "id-req1", Issuer: p.EntityID, Audience: entity, Recipient: acs,
		NameID: "alice", Email: "alice@example.test", Issued: now, NotOnOrAfter: now.Add(5 * time.Minute), SignAssertion: true, SignResponse: true, Signer: p}
}

// XML renders and signs the answer; each call makes a new assertion id.
func (a Answer) XML(t testing.TB) []byte {
	t.Helper()
	ts := func(x time.Time) string { return x.UTC().Format("2006-01-02T15:04:05Z") }
	aud := fmt.Sprintf(`<saml:AudienceRestriction><saml:Audience>%s</saml:Audience></saml:AudienceRestriction>`, a.Audience)
	if a.NoAudience {
		aud = ""
	}
	assertion := fmt.Sprintf(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a%d" Version="2.0" IssueInstant="%s">`+
		`<saml:Issuer>%s</saml:Issuer>`+
		`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">%s</saml:NameID>`+
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="%s" Recipient="%s" InResponseTo="%s"/></saml:SubjectConfirmation></saml:Subject>`+
		`<saml:Conditions NotBefore="%s" NotOnOrAfter="%s">%s</saml:Conditions>`+
		`<saml:AuthnStatement AuthnInstant="%s"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`+
		`<saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>%s</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`+
		`</saml:Assertion>`,
		time.Now().UnixNano(), ts(a.Issued), a.Issuer, a.NameID, ts(a.NotOnOrAfter), a.Recipient, a.InResponseTo,
		ts(a.Issued.Add(-time.Minute)), ts(a.NotOnOrAfter), aud, ts(a.Issued), a.Email)
	resp := fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="%s" Destination="%s" InResponseTo="%s">`+
		`<saml:Issuer>%s</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>%s</samlp:Response>`,
		ts(a.Issued), a.Destination, a.InResponseTo, a.Issuer, assertion)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(resp); err != nil {
		t.Fatal(err)
	}
	sc := dsig.NewDefaultSigningContext(a.Signer)
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := sc.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if a.SignAssertion {
		el := root.SelectElement("Assertion")
		signed, err := sc.SignEnveloped(el)
		if err != nil {
			t.Fatal(err)
		}
		root.InsertChildAt(el.Index(), signed)
		root.RemoveChild(el)
	}
	if a.SignResponse {
		signed, err := sc.SignEnveloped(root)
		if err != nil {
			t.Fatal(err)
		}
		doc.SetRoot(signed)
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// MetadataXML is Metadata as XML, for an IdP configured by metadata_xml.
func (p *IdP) MetadataXML(t testing.TB) string {
	t.Helper()
	b, err := xml.Marshal(p.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
