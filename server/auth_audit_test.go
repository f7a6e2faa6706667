package server

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/signin"
)

// blockAudit makes the audit table refuse inserts until the returned
// function runs.
func blockAudit(tb testing.TB, store holdfast.MetaStore) (unblock func()) {
	tb.Helper()
	db := store.(interface{ DB() *sql.DB }).DB()
	if _, err := db.Exec(`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit
		BEGIN SELECT RAISE(ABORT, 'audit sink blocked'); END`); err != nil {
		tb.Fatal(err)
	}
	return func() {
		if _, err := db.Exec(`DROP TRIGGER audit_refuse`); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestSignInRefusedWithoutAudit: a sign-in whose audit record cannot be
// written gets no session and records no login; 503 says why.
func TestSignInRefusedWithoutAudit(t *testing.T) {
	f := newAuthFixture(t)
	f.setPassword(f.admin, testPassword)
	b := f.browser()
	nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFAEnroll)
	var e signin.Enrollment
	b.do("GET", "/auth/mfa/enroll", nil).json(t, &e)
	code, err := idp.TOTPCode(holdfast.Secret(e.Secret), f.now)
	if err != nil {
		t.Fatal(err)
	}
	unblock := blockAudit(t, f.store)
	a := b.do("POST", "/auth/mfa/enroll", map[string]string{"code": code})
	wantStatus(t, "sign-in with the audit trail blocked", a, http.StatusServiceUnavailable)
	if !strings.Contains(a.body, "audit trail cannot be written") {
		t.Errorf("body = %s, want the reason", a.body)
	}
	if got, err := f.store.GetAdmin(context.Background(), f.account.ID, f.admin.ID); err != nil || got.LastLoginAt != nil {
		t.Errorf("LastLoginAt = %v (%v), want none recorded", got.LastLoginAt, err)
	}
	if s := b.do("GET", "/auth/session", nil); s.status == http.StatusOK && strings.Contains(s.body, `"next":"done"`) {
		t.Errorf("a full session exists: %s", s.body)
	}
	unblock()
}

// TestPasswordResetRefusedWithoutAudit: a password reset whose audit
// record cannot be written changes nothing and leaves the link usable.
func TestPasswordResetRefusedWithoutAudit(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b := f.browser()
	b.do("POST", "/auth/password/forgot", map[string]string{"email": admin.Email})
	token := linkToken(t, f.mail.next(t).body)
	before, err := f.store.GetAdmin(context.Background(), admin.AccountID, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	unblock := blockAudit(t, f.store)
	a := b.do("POST", "/auth/password/reset", map[string]string{"token": token, "new": "Another-Secret-7", "repeat": "Another-Secret-7"})
	wantStatus(t, "reset with the audit trail blocked", a, http.StatusServiceUnavailable)
	after, err := f.store.GetAdmin(context.Background(), admin.AccountID, admin.ID)
	if err != nil || after.PasswordHash != before.PasswordHash {
		t.Errorf("the password changed although its audit record was refused (%v)", err)
	}
	unblock()
	a = b.do("POST", "/auth/password/reset", map[string]string{"token": token, "new": "Another-Secret-7", "repeat": "Another-Secret-7"})
	wantStatus(t, "reset after the audit trail recovered", a, http.StatusNoContent)
}
