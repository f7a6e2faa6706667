package server

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// The tests in this file sign in through the real OpenID Provider of
// ../shared/peers/oidc-idp (LemonLDAP::NG):
//
//	eval "$(../shared/peers/oidc-idp/start)"
//	go test ./server -run OIDCReal
//
// Without OIDC_ISSUER they skip, unless HOLDFAST_TEST_REQUIRE lists oidc.

type oidcPeer struct {
	issuer, clientID, clientSecret string
}

func needOIDCPeer(t *testing.T) oidcPeer {
	t.Helper()
	p := oidcPeer{os.Getenv("OIDC_ISSUER"), os.Getenv("OIDC_CLIENT_ID"), os.Getenv("OIDC_CLIENT_SECRET")}
	if p.issuer == "" || p.clientID == "" {
		storagetest.SkipOrFail(t, "oidc", `OIDC_ISSUER and OIDC_CLIENT_ID not set (eval "$(../shared/peers/oidc-idp/start)")`)
	}
	return p
}

// oidcFixture is a server with an OIDC IdP configured for the peer, and
// an administrator alice@example.test (the peer's alice).
type oidcFixture struct {
	*authFixture
	peer  oidcPeer
	idpID string
	alice holdfast.Administrator
}

func newOIDCFixture(t *testing.T) *oidcFixture {
	t.Helper()
	peer := needOIDCPeer(t)
	f := newAuthFixture(t)
	runPeerScript(t, peerScript(t, "oidc", "oidc-idp/register-redirect-uri"), f.ts.URL+holdfast.OIDCCallbackPath)
	of := &oidcFixture{authFixture: f, peer: peer}
	of.alice = f.addAdmin("alice@example.test", "cloud_admin", "")
	w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "oidc", "name": "Corporate SSO",
		"issuer": peer.issuer, "client_id": peer.clientID, "client_secret": peer.clientSecret, "enabled": true})
	if w.Code != http.StatusCreated {
		t.Fatalf("create IdP: %d %s", w.Code, w.Body)
	}
	var v idpView
	decode(t, w, &v)
	if strings.Contains(w.Body.String(), peer.clientSecret) || !v.HasClientSecret {
		t.Fatalf("IdP view shows the client secret or lost it: %s", w.Body)
	}
	if v.RedirectURI != "http://example.com"+holdfast.OIDCCallbackPath {
		t.Errorf("redirect_uri = %q", v.RedirectURI)
	}
	of.idpID = v.ID
	// The provider rereads its configuration about once a second: wait
	// until it knows the new redirect URI (it then shows its login form
	// instead of an error page).
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, _ := f.browser().follow(of.startURL("/"), nil)
		if strings.Contains(page.body, `name="user"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider does not accept redirect URI %s:\n%.2000s", f.ts.URL+holdfast.OIDCCallbackPath, page.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The form can show while a replica of the provider's configuration
	// still lacks the URI; only a sign-in that comes back to the callback
	// proves it is known everywhere.
	for {
		_, cb := of.signIn(f.browser(), "alice", "alice-password", true)
		if strings.HasPrefix(cb, f.ts.URL+holdfast.OIDCCallbackPath+"?") && strings.Contains(cb, "code=") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider does not send sign-ins back to %s (last stop %s)", f.ts.URL+holdfast.OIDCCallbackPath, cb)
		}
		time.Sleep(200 * time.Millisecond)
	}
	f.log.Reset()
	return of
}

func (f *oidcFixture) startURL(returnTo string) string {
	return f.ts.URL + "/auth/oidc/start?" + url.Values{"account": {f.account.ID}, "idp": {f.idpID}, "return_to": {returnTo}}.Encode()
}

// signIn drives the peer's login form for user; with stopAtCallback it
// stops before the callback and returns the callback URL (code, state).
func (f *oidcFixture) signIn(b *browser, user, password string, stopAtCallback bool) (answer, string) {
	f.t.Helper()
	page, pageURL := b.follow(f.startURL("/api/v1/account"), nil)
	if !strings.HasPrefix(pageURL, f.peer.issuer) {
		f.t.Fatalf("start did not lead to the provider: %s (%d %s)", pageURL, page.status, page.body)
	}
	stop := func(u string) bool {
		if stopAtCallback {
			return strings.HasPrefix(u, f.ts.URL+holdfast.OIDCCallbackPath)
		}
		return strings.HasPrefix(u, f.ts.URL+"/api/v1/account") || strings.HasPrefix(u, f.ts.URL+"/login")
	}
	return b.submit(page, pageURL, "user", map[string]string{"user": user, "password": password}, stop)
}

func TestOIDCRealIdPSignInLinksThenMatchesBySubject(t *testing.T) {
	f := newOIDCFixture(t)
	ctx := context.Background()
	b := f.browser()
	_, loc := f.signIn(b, "alice", "alice-password", false)
	if loc != f.ts.URL+"/api/v1/account" {
		t.Fatalf("after sign-in: %s, want the return_to", loc)
	}
	if got := b.sessionEmail(); got != f.alice.Email {
		t.Fatalf("session of %q, want alice", got)
	}
	links, err := f.store.ListIdentityLinks(ctx, f.account.ID, f.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Issuer != f.peer.issuer || links[0].Subject != "alice" {
		t.Fatalf("identity links %+v, want one for %s + alice", links, f.peer.issuer)
	}
	a, err := f.store.GetAdmin(ctx, f.account.ID, f.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.LastLoginAt == nil {
		t.Error("SSO sign-in did not record the last login")
	}
	s, _ := f.store.GetSession(ctx, signin.SecretID(b.cookie(sessionCookie)))
	if s.Method != holdfast.IdPOIDC {
		t.Errorf("session method %q", s.Method)
	}

	// Linked, alice is found by issuer + subject: a changed email in
	// Holdfast does not matter.
	a.Email = "alice.renamed@example.test"
	if err := f.store.UpdateAdmin(ctx, &a); err != nil {
		t.Fatal(err)
	}
	b2 := f.browser()
	f.signIn(b2, "alice", "alice-password", false)
	if got := b2.sessionEmail(); got != a.Email {
		t.Fatalf("second sign-in: session of %q, want %q", got, a.Email)
	}

	// bob is nobody here: refused, with no session.
	b3 := f.browser()
	_, loc = f.signIn(b3, "bob", "bob-password", false)
	if !strings.HasPrefix(loc, f.ts.URL+"/login?error=sso") {
		t.Fatalf("bob: ended at %s, want the sign-in page with an error", loc)
	}
	if b3.sessionEmail() != "" {
		t.Fatal("bob got a session")
	}
}

func TestOIDCRealIdPRefusals(t *testing.T) {
	f := newOIDCFixture(t)
	ids := f.store
	refused := func(t *testing.T, b *browser, a answer, reason string) {
		t.Helper()
		if !strings.Contains(f.log.String(), reason) {
			t.Errorf("the log does not give the reason %q:\n%s", reason, f.log)
		}
		f.log.Reset()
		if loc := a.header.Get("Location"); a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?error=sso") {
			t.Fatalf("answer %d %s: want a redirect to the sign-in page with an error", a.status, loc)
		}
		if b.cookie(sessionCookie) != "" || b.sessionEmail() != "" {
			t.Fatal("a refused sign-in left a session")
		}
	}
	// tamper changes the stored sign-in request behind a callback URL, as
	// if the server had kept other values than the browser's.
	tamper := func(t *testing.T, cb string, change func(*holdfast.AuthRequest)) {
		t.Helper()
		u, _ := url.Parse(cb)
		ar, err := ids.TakeAuthRequest(context.Background(), signin.SecretID(u.Query().Get("state")), f.now)
		if err != nil {
			t.Fatal(err)
		}
		change(&ar)
		if err := ids.CreateAuthRequest(context.Background(), &ar); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("replayed callback", func(t *testing.T) {
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		first := b.do("GET", cb, nil)
		if first.status != http.StatusSeeOther || first.header.Get("Location") != "/api/v1/account" {
			t.Fatalf("first callback: %d %s", first.status, first.header.Get("Location"))
		}
		// The same code and state again, from a browser with the state
		// cookie (the attacker replaying a captured URL has it at best).
		b2 := f.browser()
		u, _ := url.Parse(cb)
		b2.client.Jar.SetCookies(u, []*http.Cookie{{Name: oidcStateCookie, Value: u.Query().Get("state"), Path: holdfast.OIDCCallbackPath}})
		refused(t, b2, b2.do("GET", cb, nil), "unknown, used or expired state")
	})

	t.Run("wrong state", func(t *testing.T) {
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		refused(t, b, b.do("GET", u.String(), nil), "not this browser")
	})

	t.Run("callback in another browser", func(t *testing.T) {
		// Login CSRF: the attacker's own callback URL planted in the
		// victim's browser, which has no state cookie.
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		victim := f.browser()
		refused(t, victim, victim.do("GET", cb, nil), "not this browser")
	})

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		tamper(t, cb, func(ar *holdfast.AuthRequest) { ar.Verifier = holdfast.Secret(signin.NewSecret(32)) })
		refused(t, b, b.do("GET", cb, nil), "token endpoint: invalid_grant")
	})

	t.Run("missing PKCE verifier", func(t *testing.T) {
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		tamper(t, cb, func(ar *holdfast.AuthRequest) { ar.Verifier = "" })
		refused(t, b, b.do("GET", cb, nil), "no PKCE verifier")
	})

	t.Run("wrong nonce", func(t *testing.T) {
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		tamper(t, cb, func(ar *holdfast.AuthRequest) { ar.Nonce = holdfast.Secret(signin.NewSecret(32)) })
		refused(t, b, b.do("GET", cb, nil), "wrong nonce")
	})

	t.Run("tampered code", func(t *testing.T) {
		b := f.browser()
		_, cb := f.signIn(b, "alice", "alice-password", true)
		u, _ := url.Parse(cb)
		q := u.Query()
		q.Set("code", q.Get("code")+"x")
		u.RawQuery = q.Encode()
		refused(t, b, b.do("GET", u.String(), nil), "token endpoint: invalid_grant")
	})

	t.Run("open redirect", func(t *testing.T) {
		b := f.browser()
		page, pageURL := b.follow(f.startURL("https://evil.example/steal"), nil)
		_, loc := b.submit(page, pageURL, "user", map[string]string{"user": "alice", "password": "alice-password"},
			func(u string) bool {
				return !strings.HasPrefix(u, f.peer.issuer) && !strings.HasPrefix(u, f.ts.URL+holdfast.OIDCCallbackPath)
			})
		if loc != f.ts.URL+"/console" {
			t.Fatalf("return_to to another site: ended at %s, want /console", loc)
		}
	})
}
