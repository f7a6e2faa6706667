package server

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp/saml/samltest"
)

// The SAML response checks themselves are tested in idp/saml; here the
// ACS with what it adds: browser binding, replay, linking, sign-in rules.

// unsolicitedSAML configures p as an IdP of f's account that allows
// IdP-initiated sign-in, and returns a function posting a signed answer
// for nameID and email to the ACS from b.
func unsolicitedSAML(t *testing.T, f *authFixture, p *samltest.IdP) func(b *browser, nameID, email string) answer {
	t.Helper()
	w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "saml", "name": "Test IdP",
		"metadata_xml": p.MetadataXML(t), "enabled": true, "allow_idp_initiated": true})
	if w.Code != 201 {
		t.Fatalf("create IdP: %d %s", w.Code, w.Body)
	}
	return func(b *browser, nameID, email string) answer {
		a := samltest.NewAnswer(p, f.ts.URL+holdfast.SAMLACSPath, f.ts.URL+holdfast.SAMLMetadataPath)
		a.InResponseTo, a.NameID, a.Email = "", nameID, email
		return b.do("POST", holdfast.SAMLACSPath, url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(a.XML(t))}})
	}
}

func TestSSOLinkingByEmailThenSubject(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	ids := f.store
	p := samltest.New(t)
	post := unsolicitedSAML(t, f, p)
	alice := f.addAdmin("alice@example.test", "cloud_admin", "")
	signedIn := func(t *testing.T, b *browser, a answer, want string) {
		t.Helper()
		if a.status != 303 || a.header.Get("Location") != "/" {
			t.Fatalf("ACS: %d %s; log:\n%s", a.status, a.header.Get("Location"), f.log)
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
	if err != nil || len(links) != 1 || links[0].Subject != "subject-1" || links[0].Issuer != p.EntityID {
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

// aliceAnswer configures an IdP that allows IdP-initiated sign-in and
// alice, and returns a good unsolicited answer for her, issued now.
func aliceAnswer(t *testing.T, f *authFixture) url.Values {
	t.Helper()
	p := samltest.New(t)
	unsolicitedSAML(t, f, p)
	f.addAdmin("alice@example.test", "cloud_admin", "")
	a := samltest.NewAnswer(p, f.ts.URL+holdfast.SAMLACSPath, f.ts.URL+holdfast.SAMLMetadataPath)
	a.InResponseTo = ""
	return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(a.XML(t))}}
}

func TestSAMLReplayRefused(t *testing.T) {
	f := newAuthFixture(t)
	form := aliceAnswer(t, f)
	b := f.browser()
	if got := b.do("POST", holdfast.SAMLACSPath, form); got.status != 303 || got.header.Get("Location") != "/" || b.sessionEmail() != "alice@example.test" {
		t.Fatalf("first post: %d %s", got.status, got.header.Get("Location"))
	}
	other := f.browser()
	got := other.do("POST", holdfast.SAMLACSPath, form)
	if got.status != 303 || !strings.HasPrefix(got.header.Get("Location"), "/login?error=sso") || other.sessionEmail() != "" {
		t.Fatalf("replay: %d %s", got.status, got.header.Get("Location"))
	}
	if !strings.Contains(f.log.String(), "replayed assertion") {
		t.Errorf("log lacks the replay:\n%s", f.log)
	}
	// An oversized body is refused before any parsing.
	big := url.Values{"SAMLResponse": {strings.Repeat("A", maxACSBytes)}}
	if got := f.browser().do("POST", holdfast.SAMLACSPath, big); !strings.HasPrefix(got.header.Get("Location"), "/login?error=sso") {
		t.Errorf("oversized answer: %d %s", got.status, got.header.Get("Location"))
	}
}

// TestSAMLJudgedByServerClock: the ACS judges an assertion by the
// server's clock (Options.Clock), not the wall clock: a good answer posted
// once that clock has moved past the assertion's validity is refused.
func TestSAMLJudgedByServerClock(t *testing.T) {
	f := newAuthFixture(t)
	form := aliceAnswer(t, f)
	f.now = f.now.Add(time.Hour)
	b := f.browser()
	if got := b.do("POST", holdfast.SAMLACSPath, form); !strings.HasPrefix(got.header.Get("Location"), "/login?error=sso") || b.sessionEmail() != "" {
		t.Fatalf("an assertion expired by the server's clock: %d %s", got.status, got.header.Get("Location"))
	}
}
