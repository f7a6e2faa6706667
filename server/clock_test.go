package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/holdfast/holdfast/signin"
)

// TestSessionAcrossClockSteps steps the injected clock hours back and
// forward: a step back breaks nothing and does not stretch the idle
// timeout; an idle session that ended stays ended when the clock steps
// back again.
func TestSessionAcrossClockSteps(t *testing.T) {
	f := newAuthFixture(t)
	b, _ := f.signInPlatformAdmin()
	t0 := f.now
	f.now = t0.Add(-3 * time.Hour)
	wantStatus(t, "session after the clock stepped back 3h", b.do("GET", "/auth/session", nil), http.StatusOK)
	// Idle from the stepped-back instant: the timeout counts from there,
	// not from the future last use.
	f.now = f.now.Add(signin.DefaultIdleTimeout + time.Second)
	wantStatus(t, "session idle since the step back", b.do("GET", "/auth/session", nil), http.StatusUnauthorized)
	f.now = t0
	wantStatus(t, "ended session after stepping back", b.do("GET", "/auth/session", nil), http.StatusUnauthorized)
}

// TestExpiredResetLinkStaysDead: a reset link refused because it expired
// is spent for good, so a clock stepped back later does not revive it.
func TestExpiredResetLinkStaysDead(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b := f.browser()
	b.do("POST", "/auth/password/forgot", map[string]string{"email": admin.Email})
	token := linkToken(t, f.mail.next(t).body)
	t0 := f.now
	f.now = t0.Add(30 * 24 * time.Hour)
	reset := map[string]string{"token": token, "new": "Another-Secret-7", "repeat": "Another-Secret-7"}
	wantStatus(t, "expired link", b.do("POST", "/auth/password/reset", reset), http.StatusUnprocessableEntity)
	f.now = t0
	wantStatus(t, "expired link after the clock stepped back", b.do("POST", "/auth/password/reset", reset), http.StatusUnprocessableEntity)
}
