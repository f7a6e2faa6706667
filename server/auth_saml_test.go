package server

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/big"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/holdfast/holdfast"
)

// testSAMLIdP signs SAML responses the way an IdP does, with a key the
// test controls, so that each check of parseSignedAssertion can be fed
// an answer that is correctly signed yet wrong in one way. The real-IdP
// flow is in auth_saml_integration_test.go.
type testSAMLIdP struct {
	key      *rsa.PrivateKey
	cert     []byte // DER
	entityID string
}

func newTestSAMLIdP(t testing.TB) *testSAMLIdP {
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
	return &testSAMLIdP{key: key, cert: der, entityID: "https://idp.test/metadata"}
}

func (p *testSAMLIdP) GetKeyPair() (*rsa.PrivateKey, []byte, error) { return p.key, p.cert, nil }

// metadata is the IdP's metadata as the SP sees it.
func (p *testSAMLIdP) metadata() *saml.EntityDescriptor {
	return &saml.EntityDescriptor{EntityID: p.entityID, IDPSSODescriptors: []saml.IDPSSODescriptor{{
		SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{KeyDescriptors: []saml.KeyDescriptor{{
			Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{
				{Data: base64.StdEncoding.EncodeToString(p.cert)}}}}}}}},
		SingleSignOnServices: []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: "https://idp.test/sso"}},
	}}}
}

// samlAnswer describes a response; newSAMLAnswer gives a good one.
type samlAnswer struct {
	destination, inResponseTo, issuer, audience, recipient, nameID, email string
	issued, notOnOrAfter                                                  time.Time
	noAudience, signAssertion, signResponse                               bool
	signer                                                                dsig.X509KeyStore
}

func newSAMLAnswer(p *testSAMLIdP, acs, entity string) samlAnswer {
	now := time.Now().UTC()
	return samlAnswer{destination: acs, inResponseTo: "id-req1", issuer: p.entityID, audience: entity, recipient: acs,
		nameID: "alice", email: "alice@example.test", issued: now, notOnOrAfter: now.Add(5 * time.Minute), signAssertion: true, signResponse: true, signer: p}
}

func (a samlAnswer) xml(t testing.TB) []byte {
	t.Helper()
	ts := func(x time.Time) string { return x.UTC().Format("2006-01-02T15:04:05Z") }
	aud := fmt.Sprintf(`<saml:AudienceRestriction><saml:Audience>%s</saml:Audience></saml:AudienceRestriction>`, a.audience)
	if a.noAudience {
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
		time.Now().UnixNano(), ts(a.issued), a.issuer, a.nameID, ts(a.notOnOrAfter), a.recipient, a.inResponseTo,
		ts(a.issued.Add(-time.Minute)), ts(a.notOnOrAfter), aud, ts(a.issued), a.email)
	resp := fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="%s" Destination="%s" InResponseTo="%s">`+
		`<saml:Issuer>%s</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>%s</samlp:Response>`,
		ts(a.issued), a.destination, a.inResponseTo, a.issuer, assertion)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(resp); err != nil {
		t.Fatal(err)
	}
	sc := dsig.NewDefaultSigningContext(a.signer)
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := sc.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if a.signAssertion {
		el := root.SelectElement("Assertion")
		signed, err := sc.SignEnveloped(el)
		if err != nil {
			t.Fatal(err)
		}
		root.InsertChildAt(el.Index(), signed)
		root.RemoveChild(el)
	}
	if a.signResponse {
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

func TestSAMLResponseChecks(t *testing.T) {
	f := newAuthFixture(t)
	p := newTestSAMLIdP(t)
	sp, err := f.srv.serviceProvider(httptest.NewRequest("POST", "https://sp.test"+samlACSPath, nil), p.metadata(), false)
	if err != nil {
		t.Fatal(err)
	}
	acs, entity := sp.AcsURL.String(), sp.EntityID
	if acs != "https://sp.test"+samlACSPath || entity != "https://sp.test"+samlMetadataPath {
		t.Fatalf("SP acs %s entity %s", acs, entity)
	}
	other := newTestSAMLIdP(t)
	good := func() samlAnswer { return newSAMLAnswer(p, acs, entity) }

	for _, tt := range []struct {
		name   string
		answer func() samlAnswer
	}{
		{"both signed", good},
		{"assertion signed, response not", func() samlAnswer { a := good(); a.signResponse = false; return a }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			as, err := parseSignedAssertion(sp, tt.answer().xml(t), []string{"id-req1"})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if sub, email := assertionIdentity(as); sub != "alice" || email != "alice@example.test" {
				t.Errorf("identity %q %q", sub, email)
			}
		})
	}

	tests := []struct {
		name, reason string
		answer       func() samlAnswer
		requestIDs   []string
	}{
		{"response signed, assertion unsigned", "assertion not signed itself",
			func() samlAnswer { a := good(); a.signAssertion = false; return a }, nil},
		{"nothing signed", "ignature", func() samlAnswer { a := good(); a.signAssertion, a.signResponse = false, false; return a }, nil},
		{"signed by another key", "ignature", func() samlAnswer { a := good(); a.signer = other; return a }, nil},
		{"wrong audience", "audience", func() samlAnswer { a := good(); a.audience = "https://other-sp.test/metadata"; return a }, nil},
		{"no audience restriction", "audience", func() samlAnswer { a := good(); a.noAudience = true; return a }, nil},
		{"expired", "expired", func() samlAnswer {
			a := good()
			a.issued, a.notOnOrAfter = time.Now().Add(-time.Hour), time.Now().Add(-55*time.Minute)
			return a
		}, nil},
		{"wrong recipient", "Recipient", func() samlAnswer { a := good(); a.recipient = "https://other-sp.test/acs"; return a }, nil},
		{"wrong destination", "Destination", func() samlAnswer { a := good(); a.destination = "https://other-sp.test/acs"; return a }, nil},
		{"answer to another request", "InResponseTo", func() samlAnswer { a := good(); a.inResponseTo = "id-other"; return a }, nil},
		{"unsolicited, IdP-initiated off", "InResponseTo", good, []string{}},
		{"another issuer", "ssuer", func() samlAnswer { a := good(); a.issuer = "https://evil.test/metadata"; return a }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tt.requestIDs
			if ids == nil {
				ids = []string{"id-req1"}
			}
			_, err := parseSignedAssertion(sp, tt.answer().xml(t), ids)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("refused with %q, want it to say %q", err, tt.reason)
			}
		})
	}
}

// FuzzParseSignedAssertion feeds arbitrary bytes to the ACS parser: it
// must never panic, and never accept what our IdP did not sign.
func FuzzParseSignedAssertion(f *testing.F) {
	p := newTestSAMLIdP(f)
	af := newAuthFixture(f)
	sp, err := af.srv.serviceProvider(httptest.NewRequest("POST", "https://sp.test"+samlACSPath, nil), p.metadata(), false)
	if err != nil {
		f.Fatal(err)
	}
	a := newSAMLAnswer(p, sp.AcsURL.String(), sp.EntityID)
	a.signAssertion, a.signResponse = false, false
	f.Add(a.xml(f))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := parseSignedAssertion(sp, raw, []string{"id-req1"}); err == nil {
			t.Fatalf("accepted an unsigned answer: %q", raw)
		}
	})
}

// unsolicitedSAML configures p as an IdP of f's account that allows
// IdP-initiated sign-in, and returns a function posting a signed answer
// for nameID and email to the ACS from b.
func unsolicitedSAML(t *testing.T, f *authFixture, p *testSAMLIdP) func(b *browser, nameID, email string) answer {
	t.Helper()
	md, err := xml.Marshal(p.metadata())
	if err != nil {
		t.Fatal(err)
	}
	w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "saml", "name": "Test IdP",
		"metadata_xml": string(md), "enabled": true, "allow_idp_initiated": true})
	if w.Code != 201 {
		t.Fatalf("create IdP: %d %s", w.Code, w.Body)
	}
	return func(b *browser, nameID, email string) answer {
		a := newSAMLAnswer(p, f.ts.URL+samlACSPath, f.ts.URL+samlMetadataPath)
		a.inResponseTo, a.nameID, a.email = "", nameID, email
		return b.do("POST", samlACSPath, url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(a.xml(t))}})
	}
}

func TestSSOLinkingByEmailThenSubject(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	ids := f.store.(holdfast.IdentityStore)
	p := newTestSAMLIdP(t)
	post := unsolicitedSAML(t, f, p)
	alice := f.addAdmin("alice@example.test", "cloud_admin", "")
	signedIn := func(t *testing.T, b *browser, a answer, want string) {
		t.Helper()
		if a.status != 303 || a.header.Get("Location") != "/" {
			t.Fatalf("ACS: %d %s; log:\n%s", a.status, a.header.Get("Location"), f.logs)
		}
		if got := b.sessionEmail(); got != want {
			t.Fatalf("session of %q, want %q", got, want)
		}
	}
	refused := func(t *testing.T, b *browser, a answer) {
		t.Helper()
		if a.status != 303 || !strings.HasPrefix(a.header.Get("Location"), "/login?error=sso") || b.sessionEmail() != "" {
			t.Fatalf("ACS: %d %s, want refused without a session", a.status, a.header.Get("Location"))
		}
	}

	// An email nobody has: refused, nothing linked.
	b := f.browser()
	refused(t, b, post(b, "nobody-1", "nobody@example.test"))

	// First sign-in: linked by the asserted email.
	b = f.browser()
	signedIn(t, b, post(b, "subject-1", "alice@example.test"), alice.Email)
	links, err := ids.ListIdentityLinks(ctx, f.account.ID, alice.ID)
	if err != nil || len(links) != 1 || links[0].Subject != "subject-1" || links[0].Issuer != p.entityID {
		t.Fatalf("links %+v %v", links, err)
	}
	// Another subject asserting alice's email is someone else.
	b = f.browser()
	refused(t, b, post(b, "subject-2", "alice@example.test"))
	// The linked subject is alice whatever email it asserts now.
	b = f.browser()
	signedIn(t, b, post(b, "subject-1", "not-alice@example.test"), alice.Email)

	// An administrator of another account with the asserted email is not
	// reachable through this account's IdP.
	other := holdfast.Account{Name: "Other", Edition: f.account.Edition, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateAccount(ctx, &other); err != nil {
		t.Fatal(err)
	}
	ob := holdfast.Administrator{AccountID: other.ID, Name: "Bob", Email: "bob@other.test", RoleID: "cloud_admin",
		State: holdfast.AdminActive, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateAdmin(ctx, &ob); err != nil {
		t.Fatal(err)
	}
	b = f.browser()
	refused(t, b, post(b, "bob", "bob@other.test"))

	// A disabled administrator is refused even when linked.
	a, _ := f.store.GetAdmin(ctx, f.account.ID, alice.ID)
	a.State = holdfast.AdminDisabled
	if err := f.store.UpdateAdmin(ctx, &a); err != nil {
		t.Fatal(err)
	}
	b = f.browser()
	refused(t, b, post(b, "subject-1", "alice@example.test"))
}
