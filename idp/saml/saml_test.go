package saml_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp/saml"
	"github.com/holdfast/holdfast/idp/saml/samltest"
)

const (
	metadataURL = "https://sp.test/auth/saml/metadata"
	acsURL      = "https://sp.test/auth/saml/acs"
)

func newSP(t testing.TB, p *samltest.IdP) *saml.SP {
	t.Helper()
	return newSPWith(t, p, nil)
}

// newSPWith is newSP judging time by clock (nil: the wall clock).
func newSPWith(t testing.TB, p *samltest.IdP, clock holdfast.Clock) *saml.SP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	crt, _ := x509.ParseCertificate(der)
	sp, err := saml.New(saml.Options{MetadataURL: metadataURL, ACSURL: acsURL, Key: key, Certificate: crt, IdP: p.Metadata(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestParseResponse(t *testing.T) {
	p := samltest.New(t)
	sp := newSP(t, p)
	other := samltest.New(t)
	good := func() samltest.Answer { return samltest.NewAnswer(p, acsURL, metadataURL) }

	for _, tt := range []struct {
		name   string
		answer func() samltest.Answer
	}{
		{"both signed", good},
		{"assertion signed, response not", func() samltest.Answer { a := good(); a.SignResponse = false; return a }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := sp.ParseResponse(tt.answer().XML(t), []string{"id-req1"})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if a.Subject != "alice" || a.Email != "alice@example.test" || a.Issuer != p.EntityID || a.ID == "" ||
				a.Expires.Before(time.Now().Add(5*time.Minute)) {
				t.Errorf("assertion %+v", a)
			}
		})
	}

	tests := []struct {
		name, reason string
		answer       func() samltest.Answer
		requestIDs   []string
	}{
		{"response signed, assertion unsigned", "assertion not signed itself",
			func() samltest.Answer { a := good(); a.SignAssertion = false; return a }, nil},
		{"nothing signed", "ignature", func() samltest.Answer { a := good(); a.SignAssertion, a.SignResponse = false, false; return a }, nil},
		{"signed by another key", "ignature", func() samltest.Answer { a := good(); a.Signer = other; return a }, nil},
		{"wrong audience", "audience", func() samltest.Answer { a := good(); a.Audience = "https://other-sp.test/metadata"; return a }, nil},
		{"no audience restriction", "audience", func() samltest.Answer { a := good(); a.NoAudience = true; return a }, nil},
		{"expired", "expired", func() samltest.Answer {
			a := good()
			a.Issued, a.NotOnOrAfter = time.Now().Add(-time.Hour), time.Now().Add(-55*time.Minute)
			return a
		}, nil},
		{"wrong recipient", "Recipient", func() samltest.Answer { a := good(); a.Recipient = "https://other-sp.test/acs"; return a }, nil},
		{"wrong destination", "Destination", func() samltest.Answer { a := good(); a.Destination = "https://other-sp.test/acs"; return a }, nil},
		{"answer to another request", "InResponseTo", func() samltest.Answer { a := good(); a.InResponseTo = "id-other"; return a }, nil},
		{"unsolicited, IdP-initiated off", "InResponseTo", good, []string{}},
		{"another issuer", "ssuer", func() samltest.Answer { a := good(); a.Issuer = "https://evil.test/metadata"; return a }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tt.requestIDs
			if ids == nil {
				ids = []string{"id-req1"}
			}
			_, err := sp.ParseResponse(tt.answer().XML(t), ids)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("refused with %q, want it to say %q", err, tt.reason)
			}
		})
	}
	for _, raw := range []string{"", "<x/>", `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`} {
		if _, err := sp.ParseResponse([]byte(raw), []string{"id-req1"}); err == nil {
			t.Errorf("accepted %q", raw)
		}
	}
}

func TestMetadataAndRequest(t *testing.T) {
	p := samltest.New(t)
	sp := newSP(t, p)
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`entityID="` + metadataURL + `"`, `WantAssertionsSigned="true"`, `AuthnRequestsSigned="true"`, acsURL, `use="signing"`} {
		if !strings.Contains(string(md), want) {
			t.Errorf("metadata lacks %s:\n%s", want, md)
		}
	}
	for _, bad := range []string{"HTTP-Artifact", `use="encryption"`} {
		if strings.Contains(string(md), bad) {
			t.Errorf("metadata has %s", bad)
		}
	}
	u, id, err := sp.AuthnRequest("relay-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://idp.test/sso?SAMLRequest=") || !strings.Contains(u, "RelayState=relay-1") ||
		!strings.Contains(u, "SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256") || !strings.Contains(u, "&Signature=") || id == "" {
		t.Errorf("request %s (id %q)", u, id)
	}
	if got := saml.PeekIssuer(samltest.NewAnswer(p, acsURL, metadataURL).XML(t)); got != p.EntityID {
		t.Errorf("PeekIssuer = %q", got)
	}
}

// FuzzParseResponse feeds arbitrary bytes to the response parser: it
// must never panic, and never accept what the IdP did not sign.
func FuzzParseResponse(f *testing.F) {
	p := samltest.New(f)
	sp := newSP(f, p)
	a := samltest.NewAnswer(p, acsURL, metadataURL)
	a.SignAssertion, a.SignResponse = false, false
	f.Add(a.XML(f))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := sp.ParseResponse(raw, []string{"id-req1"}); err == nil {
			t.Fatalf("accepted an unsigned answer: %q", raw)
		}
	})
}

// fixedClock is a clock a test sets.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// TestParseResponseByInjectedClock: a response is judged by the SP's
// clock, not the wall clock: an answer issued at T is taken at T, and
// refused once the clock has moved past its validity or stepped back
// before its issue.
func TestParseResponseByInjectedClock(t *testing.T) {
	p := samltest.New(t)
	issued := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Second)
	clock := &fixedClock{t: issued}
	sp := newSPWith(t, p, clock)
	answer := func() []byte {
		a := samltest.NewAnswer(p, acsURL, metadataURL)
		a.Issued, a.NotOnOrAfter = issued, issued.Add(5*time.Minute)
		return a.XML(t)
	}
	if _, err := sp.ParseResponse(answer(), []string{"id-req1"}); err != nil {
		t.Fatalf("at its issue instant by the injected clock: %v", err)
	}
	for _, at := range []time.Time{issued.Add(time.Hour), issued.Add(-time.Hour)} {
		clock.t = at
		if _, err := sp.ParseResponse(answer(), []string{"id-req1"}); !errors.Is(err, saml.ErrRefused) {
			t.Errorf("clock at %s (issued %s): %v, want refused", at, issued, err)
		}
	}
}
