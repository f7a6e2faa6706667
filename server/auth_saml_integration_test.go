package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// The tests in this file sign in through the real SAML IdP of
// ../shared/peers/saml-idp (SimpleSAMLphp):
//
//	eval "$(../shared/peers/saml-idp/start)"
//	go test ./server -run SAMLReal
//
// Without SAML_IDP_METADATA_URL they skip, unless HOLDFAST_TEST_REQUIRE
// lists saml.

type samlFixture struct {
	*authFixture
	metadataURL, ssoURL string
	idpID               string
	alice               holdfast.Administrator
}

func newSAMLFixture(t *testing.T) *samlFixture {
	t.Helper()
	md, sso := os.Getenv("SAML_IDP_METADATA_URL"), os.Getenv("SAML_IDP_SSO_URL")
	if md == "" || sso == "" {
		storagetest.SkipOrFail(t, "saml", `SAML_IDP_METADATA_URL not set (eval "$(../shared/peers/saml-idp/start)")`)
	}
	f := newAuthFixture(t)
	// The IdP reads our metadata from this URL on every request.
	runPeerScript(t, peerScript(t, "saml", "saml-idp/register-sp"), "--metadata-url", f.ts.URL+holdfast.SAMLMetadataPath)
	sf := &samlFixture{authFixture: f, metadataURL: md, ssoURL: sso}
	sf.alice = f.addAdmin("alice@example.test", "cloud_admin", "")
	w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "saml", "name": "Corporate SAML",
		"metadata_url": md, "enabled": true})
	if w.Code != http.StatusCreated {
		t.Fatalf("create IdP: %d %s", w.Code, w.Body)
	}
	var v idpView
	decode(t, w, &v)
	if v.Issuer != md { // SimpleSAMLphp's entity id is its metadata URL
		t.Errorf("issuer from the metadata = %q, want %q", v.Issuer, md)
	}
	sf.idpID = v.ID
	return sf
}

func (f *samlFixture) startURL(returnTo string) string {
	return f.ts.URL + samlStartPath + "?" + url.Values{"account": {f.account.ID}, "idp": {f.idpID}, "return_to": {returnTo}}.Encode()
}

// login drives the IdP's login form and returns the page with the
// auto-posting SAMLResponse form, not yet posted.
func (f *samlFixture) login(b *browser, start, user, password string) (answer, string) {
	f.t.Helper()
	page, pageURL := b.follow(start, nil)
	if !strings.Contains(pageURL, "AuthState=") {
		f.t.Fatalf("start did not lead to the IdP login form: %s (%d)\n%.2000s", pageURL, page.status, page.body)
	}
	page, pageURL = b.submit(page, pageURL, "username", map[string]string{"username": user, "password": password}, nil)
	if !strings.Contains(page.body, "SAMLResponse") {
		f.t.Fatalf("no SAMLResponse form after login at %s:\n%.2000s", pageURL, page.body)
	}
	return page, pageURL
}

// post submits the SAMLResponse form, with fields overriding its values,
// and returns the ACS answer (not followed).
func (f *samlFixture) post(b *browser, page answer, fields map[string]string) answer {
	f.t.Helper()
	action, values := findForm(f.t, page.body, "SAMLResponse")
	if action != f.ts.URL+holdfast.SAMLACSPath {
		f.t.Fatalf("the IdP posts to %q, want our ACS", action)
	}
	for k, v := range fields {
		values.Set(k, v)
	}
	return b.do("POST", action, values)
}

func TestSAMLRealIdPSignIn(t *testing.T) {
	f := newSAMLFixture(t)
	ctx := context.Background()

	md := f.browser().do("GET", holdfast.SAMLMetadataPath, nil)
	wantStatus(t, "SP metadata", md, http.StatusOK)
	for _, want := range []string{`WantAssertionsSigned="true"`, `AuthnRequestsSigned="true"`, f.ts.URL + holdfast.SAMLACSPath, `entityID="` + f.ts.URL + holdfast.SAMLMetadataPath} {
		if !strings.Contains(md.body, want) {
			t.Errorf("SP metadata lacks %s", want)
		}
	}
	if strings.Contains(md.body, "HTTP-Artifact") {
		t.Error("SP metadata offers the artifact binding")
	}

	b := f.browser()
	page, _ := f.login(b, f.startURL("/api/v1/account"), "alice", "alice-password")
	a := f.post(b, page, nil)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/api/v1/account" {
		t.Fatalf("ACS: %d %s; log:\n%s", a.status, a.header.Get("Location"), f.log)
	}
	if got := b.sessionEmail(); got != f.alice.Email {
		t.Fatalf("session of %q, want alice", got)
	}
	links, err := f.store.ListIdentityLinks(ctx, f.account.ID, f.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Issuer != f.metadataURL || links[0].Subject != "alice" {
		t.Fatalf("identity links %+v, want one for the IdP's persistent id alice", links)
	}

	// The same answer again: its relay state is used up.
	b2 := f.browser()
	b2.client.Jar.SetCookies(mustURL(t, f.ts.URL+holdfast.SAMLACSPath), []*http.Cookie{{Name: samlStateCookie, Value: formValue(t, page, "RelayState"), Path: holdfast.SAMLACSPath}})
	samlRefused(t, f, b2, f.post(b2, page, nil), "unsolicited response, or unknown, used or expired relay state")

	// bob is nobody here.
	b3 := f.browser()
	page, _ = f.login(b3, f.startURL("/"), "bob", "bob-password")
	samlRefused(t, f, b3, f.post(b3, page, nil), "single sign-on failed")
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func formValue(tb testing.TB, page answer, name string) string {
	tb.Helper()
	_, v := findForm(tb, page.body, "SAMLResponse")
	return v.Get(name)
}

// samlRefused checks a refused ACS answer: the sign-in page, no session,
// and reason in the log.
func samlRefused(t *testing.T, f *samlFixture, b *browser, a answer, reason string) {
	t.Helper()
	if loc := a.header.Get("Location"); a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?error=sso") {
		t.Fatalf("ACS answered %d %s, want a redirect to the sign-in page with an error; log:\n%s", a.status, loc, f.log)
	}
	if b.cookie(sessionCookie) != "" || b.sessionEmail() != "" {
		t.Fatal("a refused SAML answer left a session")
	}
	if !strings.Contains(f.log.String(), reason) {
		t.Errorf("the log does not give the reason %q:\n%s", reason, f.log)
	}
	f.log.Reset()
}

// editResponse decodes the SAMLResponse of page, lets edit change the
// document and returns it encoded again.
func editResponse(t *testing.T, page answer, edit func(doc *etree.Document)) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(formValue(t, page, "SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

func TestSAMLRealIdPRefusals(t *testing.T) {
	f := newSAMLFixture(t)
	// Each case tampers with a real, signed answer for alice and posts it
	// from the browser that started the sign-in.
	tests := []struct {
		name, reason string
		edit         func(doc *etree.Document)
	}{
		{"tampered assertion (NameID)", "ignature", func(doc *etree.Document) {
			doc.FindElement("//Assertion/Subject/NameID").SetText("carol")
		}},
		{"tampered attribute", "ignature", func(doc *etree.Document) {
			for _, v := range doc.FindElements("//Assertion/AttributeStatement/Attribute/AttributeValue") {
				if v.Text() == "alice@example.test" {
					v.SetText("carol@example.test")
				}
			}
		}},
		// Removing the assertion's signature also breaks the Response's;
		// a Response re-signed over an unsigned assertion is in
		// TestSAMLResponseChecks.
		{"assertion signature removed", "ignature", func(doc *etree.Document) {
			a := doc.FindElement("//Assertion")
			a.RemoveChild(a.SelectElement("Signature"))
		}},
		{"nothing signed", "ignature", func(doc *etree.Document) {
			a := doc.FindElement("//Assertion")
			a.RemoveChild(a.SelectElement("Signature"))
			doc.Root().RemoveChild(doc.Root().SelectElement("Signature"))
		}},
		{"wrapping: evil assertion first, signed one hidden in Extensions", "exactly one plain assertion", func(doc *etree.Document) {
			root := doc.Root()
			signed := root.SelectElement("Assertion")
			evil := signed.Copy()
			evil.RemoveChild(evil.SelectElement("Signature"))
			evil.FindElement("./Subject/NameID").SetText("carol")
			root.RemoveChild(signed)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(signed)
			root.InsertChildAt(root.SelectElement("Status").Index(), ext)
			root.AddChild(evil)
		}},
		{"wrapping: two assertions, the evil one unsigned", "exactly one plain assertion", func(doc *etree.Document) {
			root := doc.Root()
			evil := root.SelectElement("Assertion").Copy()
			evil.RemoveChild(evil.SelectElement("Signature"))
			evil.CreateAttr("ID", "_evil")
			evil.FindElement("./Subject/NameID").SetText("carol")
			root.InsertChildAt(root.SelectElement("Assertion").Index(), evil)
		}},
		{"wrapping: evil assertion inside the signed one", "exactly one plain assertion", func(doc *etree.Document) {
			signed := doc.Root().SelectElement("Assertion")
			evil := signed.Copy()
			evil.RemoveChild(evil.SelectElement("Signature"))
			evil.FindElement("./Subject/NameID").SetText("carol")
			signed.SelectElement("Signature").AddChild(evil)
		}},
		{"encrypted-assertion confusion", "exactly one plain assertion", func(doc *etree.Document) {
			doc.Root().AddChild(etree.NewElement("saml:EncryptedAssertion"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.browser()
			page, _ := f.login(b, f.startURL("/"), "alice", "alice-password")
			a := f.post(b, page, map[string]string{"SAMLResponse": editResponse(t, page, tt.edit)})
			samlRefused(t, f, b, a, tt.reason)
		})
	}

	t.Run("relay state of another browser", func(t *testing.T) {
		b := f.browser()
		page, _ := f.login(b, f.startURL("/"), "alice", "alice-password")
		victim := f.browser()
		samlRefused(t, f, victim, f.post(victim, page, nil), "relay state not this browser's")
	})

	t.Run("IdP-initiated is off by default", func(t *testing.T) {
		b := f.browser()
		page, _ := f.login(b, f.ssoURL+"?"+url.Values{"spentityid": {f.ts.URL + holdfast.SAMLMetadataPath}}.Encode(), "alice", "alice-password")
		samlRefused(t, f, b, f.post(b, page, nil), "unsolicited response")
	})

	t.Run("IdP-initiated when allowed, and its replay", func(t *testing.T) {
		w := f.do("PUT", "/api/v1/identity-providers/"+f.idpID, map[string]any{"kind": "saml", "name": "Corporate SAML",
			"metadata_url": f.metadataURL, "enabled": true, "allow_idp_initiated": true})
		if w.Code != http.StatusOK {
			t.Fatalf("update IdP: %d %s", w.Code, w.Body)
		}
		b := f.browser()
		page, _ := f.login(b, f.ssoURL+"?"+url.Values{"spentityid": {f.ts.URL + holdfast.SAMLMetadataPath}}.Encode(), "alice", "alice-password")
		a := f.post(b, page, nil)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/" || b.sessionEmail() != f.alice.Email {
			t.Fatalf("IdP-initiated sign-in: %d %s; log:\n%s", a.status, a.header.Get("Location"), f.log)
		}
		other := f.browser()
		samlRefused(t, f, other, f.post(other, page, nil), "replayed assertion")
	})
}
