package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/signin"
)

// outstandingLinks creates an administrator (by the API, so it is
// invited) and sends it a reset link as another administrator would; it
// returns the administrator with both unused links.
func (f *authFixture) outstandingLinks(email string) (a holdfast.Administrator, invite, reset string) {
	f.t.Helper()
	w := f.do("POST", "/api/v1/administrators", map[string]any{"name": "Sofia", "email": email, "role": "cloud_admin"})
	if w.Code != http.StatusCreated {
		f.t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	decode(f.t, w, &a)
	invite = linkToken(f.t, f.mail.next(f.t).body)
	if w := f.do("POST", "/api/v1/administrators/"+a.ID+"/reset-password", nil); w.Code != http.StatusAccepted {
		f.t.Fatalf("reset link: %d %s", w.Code, w.Body)
	}
	reset = linkToken(f.t, f.mail.next(f.t).body)
	return a, invite, reset
}

// useLink sets a password with a mailed link.
func useLink(b *browser, token, pw string) answer {
	return b.do("POST", "/auth/password/reset", map[string]string{"token": token, "new": pw, "repeat": pw})
}

// TestSettingAPasswordVoidsOtherLinks: whichever way a password is set,
// no other reset or invitation link of the administrator works after.
func TestSettingAPasswordVoidsOtherLinks(t *testing.T) {
	t.Run("reset link voids the invitation", func(t *testing.T) {
		f := newAuthFixture(t)
		_, invite, reset := f.outstandingLinks("sofia@example.com")
		b := f.browser()
		wantStatus(t, "reset", useLink(b, reset, testPassword), http.StatusNoContent)
		wantStatus(t, "the invitation after", useLink(b, invite, "Other-Secret-42"), http.StatusUnprocessableEntity)
		nextStep(t, "password from the reset", b.do("POST", "/auth/login", map[string]string{"email": "sofia@example.com", "password": testPassword}), "done")
	})
	t.Run("invitation voids the reset link", func(t *testing.T) {
		f := newAuthFixture(t)
		_, invite, reset := f.outstandingLinks("sofia@example.com")
		b := f.browser()
		wantStatus(t, "invitation", useLink(b, invite, testPassword), http.StatusNoContent)
		wantStatus(t, "the reset link after", useLink(b, reset, "Other-Secret-42"), http.StatusUnprocessableEntity)
	})
	t.Run("an administrator's reset link voids the self-service one", func(t *testing.T) {
		f := newAuthFixture(t)
		a, invite, _ := f.outstandingLinks("sofia@example.com")
		b := f.browser()
		wantStatus(t, "invitation", useLink(b, invite, testPassword), http.StatusNoContent)
		// The administrator asks for a reset link itself, then another
		// administrator sends one: using the latter voids the former, of
		// the same purpose, and the former's purpose too.
		b.do("POST", "/auth/password/forgot", map[string]string{"email": a.Email})
		own := linkToken(t, f.mail.next(t).body)
		if w := f.do("POST", "/api/v1/administrators/"+a.ID+"/invite", nil); w.Code != http.StatusAccepted {
			t.Fatalf("invite: %d", w.Code)
		}
		reinvite := linkToken(t, f.mail.next(t).body)
		if w := f.do("POST", "/api/v1/administrators/"+a.ID+"/reset-password", nil); w.Code != http.StatusAccepted {
			t.Fatalf("reset link: %d", w.Code)
		}
		byAdmin := linkToken(t, f.mail.next(t).body)
		wantStatus(t, "the older reset link", useLink(b, own, "Other-Secret-42"), http.StatusUnprocessableEntity)
		wantStatus(t, "reset by an administrator", useLink(b, byAdmin, "Other-Secret-42"), http.StatusNoContent)
		wantStatus(t, "the invitation after", useLink(b, reinvite, "Third-Secret-99"), http.StatusUnprocessableEntity)
	})
	t.Run("change voids both", func(t *testing.T) {
		f := newAuthFixture(t)
		a, invite, reset := f.outstandingLinks("sofia@example.com")
		f.setPassword(a, testPassword)
		b := f.browser()
		nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": a.Email, "password": testPassword}), "done")
		b.session()
		wantStatus(t, "change", b.do("POST", "/auth/password", map[string]string{"current": testPassword, "new": "Other-Secret-42", "repeat": "Other-Secret-42"},
			csrfHeader, b.csrf), http.StatusNoContent)
		wantStatus(t, "the invitation after", useLink(b, invite, "Third-Secret-99"), http.StatusUnprocessableEntity)
		wantStatus(t, "the reset link after", useLink(b, reset, "Third-Secret-99"), http.StatusUnprocessableEntity)
	})
	t.Run("expired password change voids both", func(t *testing.T) {
		f := newAuthFixture(t)
		sent := f.now
		a, invite, reset := f.outstandingLinks("sofia@example.com")
		f.setPassword(a, testPassword)
		f.now = f.now.Add(61 * 24 * time.Hour) // past the default 60-day expiry
		b := f.browser()
		nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": a.Email, "password": testPassword}), holdfast.SessionPasswordChange)
		nextStep(t, "change", b.do("POST", "/auth/password/expired", map[string]string{"new": "Other-Secret-42", "repeat": "Other-Secret-42"}), "done")
		// The links were mailed 61 days ago and expired anyway; what
		// counts is that they are used, not merely old.
		assertLinksUsed(t, f, a, sent, invite, reset)
	})
}

// assertLinksUsed checks in the store that every link, mailed at sent, is
// marked used.
func assertLinksUsed(tb testing.TB, f *authFixture, a holdfast.Administrator, sent time.Time, tokens ...string) {
	tb.Helper()
	ids := f.store
	for _, tok := range tokens {
		// UseLink at the time the link was sent succeeds only for an
		// unused link: expiry does not count then.
		if _, err := ids.UseLink(context.Background(), signin.SecretID(tok), sent); err == nil {
			tb.Errorf("a link of %s is still unused", a.Email)
		}
	}
}

// TestDisablingVoidsCredentials: a disabled administrator's sessions, API
// tokens and links die; enabled again, none of them comes back.
func TestDisablingVoidsCredentials(t *testing.T) {
	for _, how := range []string{"disable", "delete", "inactive"} {
		t.Run(how, func(t *testing.T) {
			f := newAuthFixture(t)
			ctx := context.Background()
			sent := f.now
			a, invite, reset := f.outstandingLinks("sofia@example.com")
			f.setPassword(a, testPassword)
			b := f.browser()
			nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": a.Email, "password": testPassword}), "done")
			wantStatus(t, "session", b.session(), http.StatusOK)
			secret, hash, prefix, err := idp.NewToken()
			if err != nil {
				t.Fatal(err)
			}
			tok := holdfast.APIToken{AccountID: a.AccountID, AdminID: a.ID, Name: "script", Hash: hash, Prefix: prefix, CreatedAt: f.now}
			if err := f.store.CreateToken(ctx, &tok); err != nil {
				t.Fatal(err)
			}
			bearer := "Bearer " + secret.Reveal()
			if w := f.do("GET", "/api/v1/administrators/"+a.ID, nil, "Authorization", bearer); w.Code != http.StatusOK {
				t.Fatalf("token before: %d", w.Code)
			}

			switch how {
			case "disable":
				if w := f.do("PATCH", "/api/v1/administrators/"+a.ID, map[string]any{"state": "disabled"}); w.Code != http.StatusOK {
					t.Fatalf("disable: %d %s", w.Code, w.Body)
				}
				if w := f.do("PATCH", "/api/v1/administrators/"+a.ID, map[string]any{"state": "active"}); w.Code != http.StatusOK {
					t.Fatalf("enable: %d %s", w.Code, w.Body)
				}
			case "delete":
				if w := f.do("DELETE", "/api/v1/administrators/"+a.ID, nil); w.Code != http.StatusNoContent {
					t.Fatalf("delete: %d %s", w.Code, w.Body)
				}
			case "inactive":
				f.now = f.now.Add(200 * 24 * time.Hour)
				if _, err := f.srv.SweepInactiveAdmins(ctx); err != nil {
					t.Fatal(err)
				}
				cur, err := f.store.GetAdmin(ctx, a.AccountID, a.ID)
				if err != nil || cur.State != holdfast.AdminDisabled {
					t.Fatalf("after the sweep: %+v %v", cur, err)
				}
				cur.State = holdfast.AdminActive
				if err := f.store.UpdateAdmin(ctx, &cur); err != nil {
					t.Fatal(err)
				}
			}
			wantStatus(t, "session after", b.session(), http.StatusUnauthorized)
			if w := f.do("GET", "/api/v1/administrators/"+f.admin.ID, nil, "Authorization", bearer); w.Code != http.StatusUnauthorized {
				t.Errorf("token after: %d", w.Code)
			}
			if how == "delete" {
				return // the links went with the row: nothing to look up
			}
			if toks, err := f.store.ListTokens(ctx, a.AccountID, a.ID); err != nil || len(toks) != 1 || toks[0].RevokedAt == nil {
				t.Errorf("token not revoked: %+v %v", toks, err)
			}
			if how == "inactive" {
				assertLinksUsed(t, f, a, sent, invite, reset)
				return
			}
			wantStatus(t, "invitation after", useLink(b, invite, "Other-Secret-42"), http.StatusUnprocessableEntity)
			wantStatus(t, "reset link after", useLink(b, reset, "Other-Secret-42"), http.StatusUnprocessableEntity)
		})
	}
}

// TestRecover: the operator's recovery re-enables the administrator as a
// platform administrator, voids its older links, clears its TOTP and
// lockout, and hands out a link that works once and expires.
func TestRecover(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	a, invite, reset := f.outstandingLinks("sofia@example.com")
	ids := f.store
	until := f.now.Add(time.Hour)
	if err := ids.PutCredentials(ctx, &holdfast.Credentials{AccountID: a.AccountID, AdminID: a.ID, TOTPSecret: "JBSWY3DPEHPK3PXP",
		FailedLogins: 5, LockedUntil: &until, UpdatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	if w := f.do("PATCH", "/api/v1/administrators/"+a.ID, map[string]any{"state": "disabled"}); w.Code != http.StatusOK {
		t.Fatalf("disable: %d", w.Code)
	}
	recoverNow := func() setup.RecoverResult {
		t.Helper()
		res, err := setup.Recover(ctx, f.store, f.engine, setup.RecoverOptions{Email: "Sofia@Example.com", BaseURL: f.ts.URL, Clock: clockFunc(func() time.Time { return f.now })})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := recoverNow()
	if rec := f.lastAudit(); rec.Action != "administrator.recover" || rec.ActorEmail != "operator" || rec.ResourceID != a.ID {
		t.Errorf("audit %+v", rec)
	}
	got, err := f.store.GetAdmin(ctx, a.AccountID, a.ID)
	if err != nil || res.Created || got.State != holdfast.AdminActive || got.RoleID != "platform_admin" {
		t.Fatalf("recovered %+v, created %v, %v", got, res.Created, err)
	}
	if c, err := ids.GetCredentials(ctx, a.AccountID, a.ID); err != nil || c.TOTPSecret != "" || c.FailedLogins != 0 || c.LockedUntil != nil {
		t.Errorf("credentials after recovery: %+v %v", c, err)
	}
	b := f.browser()
	wantStatus(t, "older invitation", useLink(b, invite, testPassword), http.StatusUnprocessableEntity)
	wantStatus(t, "older reset link", useLink(b, reset, testPassword), http.StatusUnprocessableEntity)
	link := res.Link.Reveal()
	if !strings.HasPrefix(link, f.ts.URL+"/login?reset=") || !res.ExpiresAt.Equal(f.now.Add(signin.LinkValidity).Truncate(time.Microsecond)) {
		t.Fatalf("link %q until %v", link, res.ExpiresAt)
	}
	token := strings.TrimPrefix(link, f.ts.URL+"/login?reset=")
	wantStatus(t, "recovery link", useLink(b, token, testPassword), http.StatusNoContent)
	wantStatus(t, "recovery link again", useLink(b, token, "Other-Secret-42"), http.StatusUnprocessableEntity)
	nextStep(t, "sign-in enrols TOTP again", b.do("POST", "/auth/login", map[string]string{"email": a.Email, "password": testPassword}), holdfast.SessionMFAEnroll)

	// A second link expires.
	token = strings.TrimPrefix(recoverNow().Link.Reveal(), f.ts.URL+"/login?reset=")
	f.now = f.now.Add(signin.LinkValidity + time.Second)
	wantStatus(t, "expired recovery link", useLink(b, token, "Other-Secret-42"), http.StatusUnprocessableEntity)

	// Bad input changes nothing.
	before, audit := f.snapshot()
	for _, email := range []string{"", "not an email"} {
		if _, err := setup.Recover(ctx, f.store, f.engine, setup.RecoverOptions{Email: email, BaseURL: f.ts.URL}); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("email %q: %v", email, err)
		}
	}
	if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
		t.Error("a refused recovery changed something")
	}
}
