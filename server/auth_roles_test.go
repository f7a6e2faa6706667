package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/holdfast/holdfast"
)

// addCustomRole stores a custom role with rights (the fake engine serves
// stored roles with their rights).
func (f *authFixture) addCustomRole(id string, rights ...string) {
	f.t.Helper()
	role := holdfast.Role{ID: id, AccountID: f.account.ID, Name: id, Product: holdfast.ProductInSync,
		Rights: rights, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateRole(context.Background(), &role); err != nil {
		f.t.Fatal(err)
	}
}

func (f *authFixture) enforceSSO() {
	f.t.Helper()
	ctx := context.Background()
	acct, err := f.store.GetAccount(ctx, f.account.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	acct.Settings.SSOEnforced = true
	if err := f.store.UpdateAccount(ctx, &acct); err != nil {
		f.t.Fatal(err)
	}
}

// TestFailsafeLoginIsARight: who may use the password while SSO is
// enforced, and must then pass MFA, is whoever's role holds the catalog's
// fail-safe right, not a role id.
func TestFailsafeLoginIsARight(t *testing.T) {
	f := newAuthFixture(t)
	f.enforceSSO()
	f.addCustomRole("role_failsafe", "users.view", testFailsafeRight)
	f.addCustomRole("role_plain", "users.view")
	with := f.addAdmin("failsafe@example.com", "role_failsafe", testPassword)
	without := f.addAdmin("plain@example.com", "role_plain", testPassword)

	nextStep(t, "custom role with the fail-safe right, under SSO",
		f.browser().do("POST", "/auth/login", map[string]string{"email": with.Email, "password": testPassword}), holdfast.SessionMFAEnroll)
	b := f.browser()
	wantStatus(t, "custom role without the fail-safe right, under SSO",
		b.do("POST", "/auth/login", map[string]string{"email": without.Email, "password": testPassword}), http.StatusForbidden)
	if b.cookie(sessionCookie) != "" {
		t.Error("refused login set a session cookie")
	}
	if rec := f.lastAudit(); rec.Action != "auth.sign_in" || rec.ResourceID != without.ID || rec.Outcome != holdfast.OutcomeDenied {
		t.Errorf("refusal audited as %s %s %s, want auth.sign_in of %s denied", rec.Action, rec.ResourceID, rec.Outcome, without.ID)
	}
}

// TestWebDAVTokenLoginIsARight: an API token opens WebDAV for whoever's
// role holds the catalog's webdav_token_right; the right alone decides,
// so the same administrator is refused once the role loses it.
func TestWebDAVTokenLoginIsARight(t *testing.T) {
	f := newAuthFixture(t)
	f.addCustomRole("role_tokens", testWebDAVTokenRight)
	a := f.addAdmin("tokens@example.com", "role_tokens", "")
	ok, err := f.srv.roleRules.WebDAVToken(context.Background(), a)
	if err != nil || !ok {
		t.Fatalf("custom role with %s: WebDAV token = %v, %v; want true", testWebDAVTokenRight, ok, err)
	}
	role, err := f.store.GetRole(context.Background(), f.account.ID, "role_tokens")
	if err != nil {
		t.Fatal(err)
	}
	role.Rights = []string{"users.view"}
	if err := f.store.UpdateRole(context.Background(), &role); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.srv.roleRules.WebDAVToken(context.Background(), a); err != nil || ok {
		t.Errorf("custom role without %s: WebDAV token = %v, %v; want false", testWebDAVTokenRight, ok, err)
	}
}
