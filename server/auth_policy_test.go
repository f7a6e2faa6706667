package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

func TestInactiveAdministratorsAreDisabled(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	acct, err := f.store.GetAccount(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	acct.Settings.InactiveAdminDays = 15
	if err := f.store.UpdateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	stale := f.addAdmin("stale@example.com", "cloud_admin", testPassword)
	fresh := f.addAdmin("fresh@example.com", "cloud_admin", testPassword)
	late := f.addAdmin("late@example.com", "cloud_admin", testPassword)

	// stale signs in (and holds a session), then nothing for 16 days;
	// fresh signs in on day 10.
	b := f.browser()
	nextStep(t, "stale login", b.do("POST", "/auth/login", map[string]string{"email": stale.Email, "password": testPassword}), "done")
	start := f.now
	f.now = start.Add(10 * 24 * time.Hour)
	nextStep(t, "fresh login", f.browser().do("POST", "/auth/login", map[string]string{"email": fresh.Email, "password": testPassword}), "done")
	f.now = start.Add(16 * 24 * time.Hour)

	n, err := f.srv.SweepInactiveAdmins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// stale and late (never signed in, created 16 days ago) go; fresh and
	// the platform administrator stay.
	if n != 2 {
		t.Errorf("disabled %d, want 2", n)
	}
	for _, c := range []struct {
		a    holdfast.Administrator
		want holdfast.AdminState
	}{{stale, holdfast.AdminDisabled}, {late, holdfast.AdminDisabled}, {fresh, holdfast.AdminActive}, {f.admin, holdfast.AdminActive}} {
		got, err := f.store.GetAdmin(ctx, f.account.ID, c.a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != c.want {
			t.Errorf("%s: %s, want %s", c.a.Email, got.State, c.want)
		}
	}
	if a := f.browser().do("POST", "/auth/login", map[string]string{"email": stale.Email, "password": testPassword}); a.status != http.StatusUnauthorized {
		t.Errorf("disabled administrator signs in: %d", a.status)
	}
	f.now = start.Add(16*24*time.Hour + time.Minute)
	if a := b.do("GET", "/auth/session", nil); a.status != http.StatusUnauthorized {
		t.Errorf("session of a disabled administrator: %d", a.status)
	}
	_, audit := f.snapshot()
	found := 0
	for _, r := range audit {
		if r.Action == "administrator.disable_inactive" {
			found++
		}
	}
	if found != 2 {
		t.Errorf("%d administrator.disable_inactive audit records, want 2", found)
	}
	// A second sweep has nothing to do.
	if n, err := f.srv.SweepInactiveAdmins(ctx); err != nil || n != 0 {
		t.Errorf("second sweep: %d %v", n, err)
	}

	// Sign-in itself disables an administrator the sweep has not reached.
	f.now = start.Add(32 * 24 * time.Hour)
	if a := f.browser().do("POST", "/auth/login", map[string]string{"email": fresh.Email, "password": testPassword}); a.status != http.StatusUnauthorized {
		t.Errorf("inactive administrator signs in: %d %s", a.status, a.body)
	}
	if got, _ := f.store.GetAdmin(ctx, f.account.ID, fresh.ID); got.State != holdfast.AdminDisabled {
		t.Errorf("inactive administrator left %s after a sign-in attempt", got.State)
	}
}

func TestPasswordPolicyAPI(t *testing.T) {
	f := newAuthFixture(t)
	w := f.do("GET", "/api/v1/account/password-policy", nil)
	var p signin.Policy
	decode(t, w, &p)
	if w.Code != 200 || p.MinLength != 12 || p.MaxLength != 64 || p.History != 5 || p.MaxFailures != 5 ||
		p.LockoutMinutes != 30 || p.ExpiryDays != 60 || !p.RequireSpecial || !p.MFAForFailsafe {
		t.Fatalf("policy: %d %s", w.Code, w.Body)
	}
	for _, bad := range []string{`{"expiry_days":0}`, `{"expiry_days":100}`, `{}`, `{"min_length":8}`} {
		if w := f.do("PATCH", "/api/v1/account/password-policy", bad); w.Code < 400 || w.Code > 499 {
			t.Errorf("PATCH %s: %d", bad, w.Code)
		}
	}
	f.engine.denyRight("account.password_policy.manage", "not a platform administrator")
	if w := f.do("PATCH", "/api/v1/account/password-policy", `{"expiry_days":30}`); w.Code != http.StatusForbidden {
		t.Errorf("without the right: %d", w.Code)
	}
	f.engine.mu.Lock()
	delete(f.engine.deny, "account.password_policy.manage")
	f.engine.mu.Unlock()
	w = f.do("PATCH", "/api/v1/account/password-policy", `{"expiry_days":30}`)
	decode(t, w, &p)
	if w.Code != 200 || p.ExpiryDays != 30 {
		t.Fatalf("PATCH: %d %s", w.Code, w.Body)
	}
	if a := f.lastAudit(); a.Action != "account.password_policy.update" {
		t.Errorf("last audit %s", a.Action)
	}
}

func TestIdentityProviderAPI(t *testing.T) {
	f := newAuthFixture(t)
	// Without account.sso.manage nothing is fetched or stored.
	fetched := make(chan struct{}, 10)
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched <- struct{}{} }))
	defer md.Close()
	f.engine.denyRight("account.sso.manage", "not a platform administrator")
	w := f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "saml", "name": "x", "metadata_url": md.URL})
	if w.Code != http.StatusForbidden || len(fetched) != 0 {
		t.Errorf("without the right: %d, %d metadata fetches", w.Code, len(fetched))
	}
	if w := f.do("GET", "/api/v1/identity-providers", nil); w.Code != http.StatusForbidden {
		t.Errorf("list without the right: %d", w.Code)
	}
	f.engine.mu.Lock()
	delete(f.engine.deny, "account.sso.manage")
	f.engine.mu.Unlock()

	for _, bad := range []map[string]any{
		{"kind": "ldap", "name": "x"},
		{"kind": "oidc", "name": "x", "issuer": "not a url", "client_id": "c"},
		{"kind": "oidc", "name": "x", "issuer": "https://idp.example"},
		{"kind": "saml", "name": "x"},
		{"kind": "saml", "name": "x", "metadata_xml": "<notmetadata/>"},
		{"kind": "oidc", "name": "", "issuer": "https://idp.example", "client_id": "c"},
	} {
		if w := f.do("POST", "/api/v1/identity-providers", bad); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("POST %v: %d %s", bad, w.Code, w.Body)
		}
	}
	// Discovery, keys and metadata over plain http are refused before
	// anything is fetched (a man in the middle could swap the keys).
	for _, plain := range []map[string]any{
		{"kind": "oidc", "name": "x", "issuer": "http://idp.example", "client_id": "c", "enabled": true},
		{"kind": "saml", "name": "x", "metadata_url": "http://idp.example/metadata"},
	} {
		if w := f.do("POST", "/api/v1/identity-providers", plain); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "https") {
			t.Errorf("POST %v: %d %s, want 422 naming https", plain, w.Code, w.Body)
		}
	}
	// A provider answering discovery; a wrong issuer is refused at once.
	var disco *httptest.Server
	disco = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks"}`, disco.URL)
	}))
	defer disco.Close()
	w = f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "oidc", "name": "Okta", "issuer": disco.URL + "/",
		"client_id": "c", "enabled": true})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "issuer") {
		t.Errorf("issuer with a trailing slash the provider does not use: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/v1/identity-providers", map[string]any{"kind": "oidc", "name": "Okta", "issuer": disco.URL,
		"client_id": "c", "client_secret": "s3cret-value", "enabled": true})
	if w.Code != http.StatusCreated || strings.Contains(w.Body.String(), "s3cret-value") {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var v idpView
	decode(t, w, &v)
	// PUT without a secret keeps it.
	w = f.do("PUT", "/api/v1/identity-providers/"+v.ID, map[string]any{"kind": "oidc", "name": "Okta 2", "issuer": disco.URL,
		"client_id": "c", "enabled": false})
	if w.Code != 200 {
		t.Fatalf("put: %d %s", w.Code, w.Body)
	}
	c, err := f.store.GetIdP(context.Background(), f.account.ID, v.ID)
	if err != nil || c.ClientSecret.Reveal() != "s3cret-value" || c.Name != "Okta 2" || c.Enabled {
		t.Fatalf("stored %+v %v", c, err)
	}
	// The list pages like every other: a total, a bounded page, a cursor.
	var idps struct {
		IdPs  []idpView `json:"identity_providers"`
		Total int       `json:"total"`
		Next  string    `json:"next_cursor"`
	}
	w = f.do("GET", "/api/v1/identity-providers?limit=1", nil)
	decode(t, w, &idps)
	if len(idps.IdPs) != 1 || idps.IdPs[0].ID != v.ID || idps.Total != 1 || idps.Next != "" {
		t.Errorf("list: %s, want Okta 2 alone, total 1, no next_cursor", w.Body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "offset=1", "cursor=nope"} {
		if w := f.do("GET", "/api/v1/identity-providers?"+q, nil); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("list ?%s = %d %s, want 422", q, w.Code, w.Body)
		}
	}
	// A disabled IdP does not start sign-ins.
	if a := f.browser().do("GET", "/auth/oidc/start?account="+f.account.ID+"&idp="+v.ID, nil); a.status != http.StatusNotFound {
		t.Errorf("start with a disabled IdP: %d", a.status)
	}
	if w := f.do("DELETE", "/api/v1/identity-providers/"+v.ID, nil); w.Code != http.StatusNoContent {
		t.Errorf("delete: %d", w.Code)
	}
	if w := f.do("GET", "/api/v1/identity-providers/"+v.ID, nil); w.Code != http.StatusNotFound {
		t.Errorf("get after delete: %d", w.Code)
	}
}
