package signin_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

// TestSignInWithIdP: the first sign-in links the administrator whose
// verified email the IdP asserts; later ones match by subject whatever
// the email; another subject with the same email, an unverified email,
// another account's administrator and a disabled one are all ErrBadSSO.
func TestSignInWithIdP(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	idp := holdfast.IdPConfig{ID: "idp_1", AccountID: f.acct, Kind: holdfast.IdPOIDC, Issuer: "https://idp.example", Enabled: true}
	for name, who := range map[string]signin.Asserted{
		"unverified":    {Subject: "s-1", Email: f.cloud.Email},
		"no email":      {Subject: "s-1", EmailVerified: true},
		"unknown email": {Subject: "s-1", Email: "x@example.com", EmailVerified: true},
	} {
		if _, err := f.svc.SignInWithIdP(ctx, idp, who, inside); !errors.Is(err, signin.ErrBadSSO) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	st, err := f.svc.SignInWithIdP(ctx, idp, signin.Asserted{Subject: "s-1", Email: " Cloud@Example.com", EmailVerified: true}, inside)
	if err != nil || st.Pending != "" || st.Session.Method != holdfast.IdPOIDC || st.Session.AdminID != f.cloud.ID {
		t.Fatalf("first sign-in: %+v %v", st, err)
	}
	st, err = f.svc.SignInWithIdP(ctx, idp, signin.Asserted{Subject: "s-1", Email: "renamed@example.com"}, inside)
	if err != nil || st.Session.AdminID != f.cloud.ID {
		t.Fatalf("by subject: %+v %v", st, err)
	}
	if _, err := f.svc.SignInWithIdP(ctx, idp, signin.Asserted{Subject: "s-2", Email: f.cloud.Email, EmailVerified: true}, inside); !errors.Is(err, signin.ErrBadSSO) {
		t.Fatalf("another subject with the same email: %v", err)
	}
	if recs := f.signIns(f.cloud); len(recs) != 3 || recs[2] != holdfast.OutcomeDenied+` {"method":"oidc","reason":"email asserted by another subject"}` {
		t.Fatalf("records: %q", recs)
	}
	other := idp
	other.AccountID = "acct_other"
	if _, err := f.svc.SignInWithIdP(ctx, other, signin.Asserted{Subject: "s-1"}, inside); !errors.Is(err, signin.ErrBadSSO) {
		t.Fatalf("another account's IdP: %v", err)
	}
	a := f.cloud
	a.State = holdfast.AdminDisabled
	must(t, f.store.UpdateAdmin(ctx, &a))
	if _, err := f.svc.SignInWithIdP(ctx, idp, signin.Asserted{Subject: "s-1"}, inside); !errors.Is(err, signin.ErrBadSSO) {
		t.Fatalf("disabled administrator: %v", err)
	}
}

// TestGeofenceAtSignIn: with the geofence up, a sign-in from outside is
// refused and audited, by password and by SSO alike.
func TestGeofenceAtSignIn(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	st, err := f.store.GetIdentitySettings(ctx, f.acct)
	must(t, err)
	st.GeofenceEnabled, st.GeofenceAllowed = true, []string{"192.0.2.0/24"}
	must(t, f.store.PutIdentitySettings(ctx, &st))
	outside := signin.Attempt{IP: net.ParseIP("198.51.100.7")}
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, outside); !errors.Is(err, signin.ErrOutsideFence) {
		t.Fatalf("password from outside: %v", err)
	}
	idp := holdfast.IdPConfig{ID: "idp_1", AccountID: f.acct, Kind: holdfast.IdPSAML, Issuer: "https://idp.example"}
	if _, err := f.svc.SignInWithIdP(ctx, idp, signin.Asserted{Subject: "s", Email: f.cloud.Email, EmailVerified: true}, outside); !errors.Is(err, signin.ErrOutsideFence) {
		t.Fatalf("SSO from outside: %v", err)
	}
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside); err != nil {
		t.Fatalf("from inside: %v", err)
	}
	if err := f.svc.FenceToken(ctx, f.acct, outside.IP); !errors.Is(err, signin.ErrOutsideFence) {
		t.Fatalf("token from outside: %v", err)
	}
}

// TestInactiveAdministrators: an administrator idle past the account's
// InactiveAdminDays is disabled at its next sign-in or by the sweep, with
// its sessions ended; the last platform administrator is kept.
func TestInactiveAdministrators(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.settings(func(st *holdfast.AccountSettings) { st.InactiveAdminDays = 30 })
	st, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	f.clock.add(31 * 24 * time.Hour)
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside); !errors.Is(err, signin.ErrBadLogin) {
		t.Fatalf("inactive administrator signed in: %v", err)
	}
	a, err := f.store.GetAdmin(ctx, f.acct, f.cloud.ID)
	must(t, err)
	if a.State != holdfast.AdminDisabled {
		t.Fatalf("state %s", a.State)
	}
	if _, err := f.store.GetSession(ctx, st.Session.ID); !errors.Is(err, holdfast.ErrNotFound) {
		t.Fatalf("a disabled administrator's session is kept: %v", err)
	}
	n, err := f.svc.SweepInactive(ctx)
	if err != nil || n != 0 {
		t.Fatalf("sweep disabled %d (%v); the last platform administrator must stay", n, err)
	}
	recs, err := f.store.ListAudit(ctx, f.acct, holdfast.AuditFilter{Action: "administrator.disable_inactive"})
	if err != nil || len(recs) != 1 || recs[0].ResourceID != f.cloud.ID {
		t.Fatalf("records %+v %v", recs, err)
	}
}

// TestPasswordPolicy: reading needs settings.view, changing the expiry
// needs account.password_policy.manage and is audited; an expired
// password is a step owed at sign-in.
func TestPasswordPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	days := 30
	p, err := f.svc.UpdatePolicy(ctx, principalOf(f.root), signin.PolicyPatch{ExpiryDays: &days})
	if err != nil || p.ExpiryDays != 30 || p.SessionIdleMins != 30 {
		t.Fatalf("update: %+v %v", p, err)
	}
	bad := 0
	if _, err := f.svc.UpdatePolicy(ctx, principalOf(f.root), signin.PolicyPatch{ExpiryDays: &bad}); !errors.Is(err, holdfast.ErrInvalid) {
		t.Fatalf("expiry 0: %v", err)
	}
	f.clock.add(31 * 24 * time.Hour)
	st, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	if err != nil || st.Pending != holdfast.SessionPasswordChange {
		t.Fatalf("expired password: %+v %v", st, err)
	}
	at := signin.Attempt{IP: inside.IP, Session: st.Secret}
	if _, err := f.svc.ChangeExpiredPassword(ctx, "weak", "weak", at); signin.RetryStep(err) != holdfast.SessionPasswordChange {
		t.Fatalf("weak password: %v", err)
	}
	done, err := f.svc.ChangeExpiredPassword(ctx, newPassword, newPassword, at)
	if err != nil || done.Pending != "" {
		t.Fatalf("changed: %+v %v", done, err)
	}
	recs, err := f.store.ListAudit(ctx, f.acct, holdfast.AuditFilter{Action: "account.password_policy.update"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("policy records %+v %v", recs, err)
	}
}
