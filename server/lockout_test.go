package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/scim"
)

// refusedLockout checks that w is the 409 of a change that would lock the
// account out, saying why, and that nothing changed since before.
func (f *fixture) refusedLockout(what string, w *httptest.ResponseRecorder, before string, beforeAudit int, why string) {
	f.t.Helper()
	if w.Code != http.StatusConflict {
		f.t.Fatalf("%s: status %d, want 409; %s", what, w.Code, w.Body)
	}
	env := errorOf(f.t, w)
	if env.Code != "conflict" || !strings.Contains(env.Message, why) {
		f.t.Errorf("%s: error %+v, want one saying %q", what, env, why)
	}
	after, audit := f.snapshot()
	if after != before || len(audit) != beforeAudit {
		f.t.Errorf("%s: a refused change was written", what)
	}
}

// TestLastPlatformAdministratorIsKept refuses every administrator change
// that would leave the account without an active platform administrator.
func TestLastPlatformAdministratorIsKept(t *testing.T) {
	f := newFixture(t)
	const why = "without an active platform administrator"
	self := "/api/v1/administrators/" + f.admin.ID
	before, audit := f.snapshot()
	f.refusedLockout("disable self", f.do("PATCH", self, map[string]any{"state": "disabled"}), before, len(audit), why)
	f.refusedLockout("demote self", f.do("PATCH", self, map[string]any{"role": "cloud_admin"}), before, len(audit), why)
	f.refusedLockout("delete self", f.do("DELETE", self, nil), before, len(audit), why)
	if w := f.do("GET", "/api/v1/administrators", nil); w.Code != http.StatusOK {
		t.Fatalf("the platform administrator lost access: %d %s", w.Code, w.Body)
	}

	// With a second platform administrator, the first may go.
	w := f.do("POST", "/api/v1/administrators", map[string]any{"name": "Pat", "email": "pat@example.com", "role": "platform_admin"})
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var pat holdfast.Administrator
	decode(t, w, &pat)
	if w := f.do("PATCH", "/api/v1/administrators/"+pat.ID, map[string]any{"role": "cloud_admin"}); w.Code != http.StatusOK {
		t.Fatalf("demote one of two: %d %s", w.Code, w.Body)
	}
	if w := f.do("PATCH", "/api/v1/administrators/"+pat.ID, map[string]any{"role": "platform_admin"}); w.Code != http.StatusOK {
		t.Fatalf("promote again: %d %s", w.Code, w.Body)
	}
	if w := f.do("PATCH", "/api/v1/administrators/"+pat.ID, map[string]any{"state": "disabled"}); w.Code != http.StatusOK {
		t.Fatalf("disable one of two: %d %s", w.Code, w.Body)
	}
	// A disabled administrator takes nobody's way in: deleting it is fine,
	// and the remaining one is the last again.
	if w := f.do("DELETE", "/api/v1/administrators/"+pat.ID, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete a disabled one: %d %s", w.Code, w.Body)
	}
	before, audit = f.snapshot()
	f.refusedLockout("disable the last again", f.do("PATCH", self, map[string]any{"state": "disabled"}), before, len(audit), why)
}

// TestSSOEnforcementKeepsAFailsafeAdministrator refuses to enforce SSO
// while no active platform administrator may use the fail-safe password;
// which role may is the catalog's failsafe_right, not a role id.
func TestSSOEnforcementKeepsAFailsafeAdministrator(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A custom role holding the platform right without the fail-safe one
	// (the fake engine serves stored roles with their rights).
	role := holdfast.Role{ID: "role_no_failsafe", AccountID: f.account.ID, Name: "No fail-safe", Product: holdfast.ProductPlatform,
		Rights: []string{testPlatformRight}, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateRole(ctx, &role); err != nil {
		t.Fatal(err)
	}
	a, err := f.store.GetAdmin(ctx, f.account.ID, f.admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.RoleID = role.ID
	if err := f.store.UpdateAdmin(ctx, &a); err != nil {
		t.Fatal(err)
	}
	before, audit := f.snapshot()
	f.refusedLockout("enforce SSO", f.do("PATCH", "/api/v1/account/settings", map[string]any{"sso_enforced": true}),
		before, len(audit), "fail-safe password")

	a.RoleID = "platform_admin"
	if err := f.store.UpdateAdmin(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if w := f.do("PATCH", "/api/v1/account/settings", map[string]any{"sso_enforced": true}); w.Code != http.StatusOK {
		t.Fatalf("enforce SSO with a fail-safe administrator: %d %s", w.Code, w.Body)
	}
	// Under SSO, the last fail-safe administrator cannot be moved to the
	// role without it, although it stays a platform administrator.
	before, audit = f.snapshot()
	f.refusedLockout("demote to no fail-safe", f.do("PATCH", "/api/v1/administrators/"+f.admin.ID, map[string]any{"role": role.ID}),
		before, len(audit), "fail-safe password")
}

// TestInactivePolicyKeepsTheLastPlatformAdministrator: the policy
// disables inactive administrators, platform administrators included,
// but never the last one.
func TestInactivePolicyKeepsTheLastPlatformAdministrator(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	created := time.Now().UTC().Truncate(time.Microsecond)
	other := holdfast.Administrator{AccountID: f.account.ID, Name: "Pat", Email: "pat@example.com", RoleID: "platform_admin",
		State: holdfast.AdminActive, CreatedAt: created, UpdatedAt: created}
	if err := f.store.CreateAdmin(ctx, &other); err != nil {
		t.Fatal(err)
	}
	f.now = created.Add(200 * 24 * time.Hour) // past the default 180 days
	n, err := f.srv.SweepInactiveAdmins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	active, err := f.store.ListAdmins(ctx, f.account.ID, holdfast.AdminFilter{State: holdfast.AdminActive})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(active) != 1 {
		t.Fatalf("sweep disabled %d, %d still active; want 1 and 1", n, len(active))
	}
	if rec := f.lastAudit(); rec.Action != "administrator.disable_inactive" || rec.ResourceID == active[0].ID {
		t.Errorf("audit %+v", rec)
	}
	if !strings.Contains(f.logs.String(), "inactive administrator kept") {
		t.Errorf("keeping the last one was not logged: %s", f.logs)
	}
	// Another sweep changes nothing.
	if n, err := f.srv.SweepInactiveAdmins(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v", n, err)
	}
}

// TestSCIMCannotLockOut: SCIM provisions users, never administrators; a
// user with the platform administrator's email, deactivated and deleted
// through SCIM, leaves the administrator active and able to sign in.
func TestSCIMCannotLockOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	contentType := "Content-Type"
	w := f.do("POST", "/scim/v2/Users", `{"schemas":["`+scim.UserSchema+`"],"userName":"`+f.admin.Email+`","active":true}`, contentType, scim.MediaType)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var u scim.User
	decode(t, w, &u)
	patch := `{"schemas":["` + scim.PatchSchema + `"],"Operations":[{"op":"replace","path":"active","value":false}]}`
	if w := f.do("PATCH", "/scim/v2/Users/"+u.ID, patch, contentType, scim.MediaType); w.Code != http.StatusOK {
		t.Fatalf("deactivate: %d %s", w.Code, w.Body)
	}
	if w := f.do("DELETE", "/scim/v2/Users/"+u.ID, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	a, err := f.store.GetAdmin(ctx, f.account.ID, f.admin.ID)
	if err != nil || a.State != holdfast.AdminActive || a.RoleID != f.admin.RoleID {
		t.Fatalf("administrator after SCIM: %+v %v", a, err)
	}
	if w := f.do("GET", "/api/v1/administrators/"+f.admin.ID, nil); w.Code != http.StatusOK {
		t.Fatalf("the administrator's token after SCIM: %d", w.Code)
	}
}
