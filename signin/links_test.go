package signin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

const newPassword = "Another-Horse-7-battery"

// TestResetLinks: sending a link again voids the earlier one; a link the
// policy refuses a password for stays usable; it sets the password once,
// ends the administrator's sessions and voids its other links; an expired
// link is refused and stays dead when the clock steps back. Sending is
// audited and decided by the engine.
func TestResetLinks(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	root := principalOf(f.root)
	must(t, f.svc.SendLink(ctx, root, "https://hf.example", f.cloud.ID, signin.SendReset))
	_, first := f.mail.next(t)
	must(t, f.svc.SendLink(ctx, root, "https://hf.example", f.cloud.ID, signin.SendInvite))
	_, invite := f.mail.next(t)
	must(t, f.svc.SendLink(ctx, root, "https://hf.example", f.cloud.ID, signin.SendReset))
	to, second := f.mail.next(t)
	if to != f.cloud.Email || first == second {
		t.Fatalf("second link to %s", to)
	}
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: first, New: newPassword, Repeat: newPassword}); !errors.Is(err, signin.ErrBadLink) {
		t.Fatalf("a re-sent link's predecessor worked: %v", err)
	}
	session, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: second, New: "weak", Repeat: "weak"}); fieldsOf(err) != "new" {
		t.Fatalf("weak password: %v", err)
	}
	must(t, f.svc.ResetPassword(ctx, signin.Reset{Token: second, New: newPassword, Repeat: newPassword}))
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: second, New: newPassword + "x", Repeat: newPassword + "x"}); !errors.Is(err, signin.ErrBadLink) {
		t.Fatalf("a used link worked again: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: invite, New: newPassword + "x", Repeat: newPassword + "x"}); !errors.Is(err, signin.ErrBadLink) {
		t.Fatalf("the invitation outlived the password it was for: %v", err)
	}
	if _, err := f.svc.Current(ctx, session.Secret); !errors.Is(err, signin.ErrSessionOver) {
		t.Fatalf("a session outlived the reset: %v", err)
	}
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, newPassword, inside); err != nil {
		t.Fatalf("sign-in with the reset password: %v", err)
	}

	must(t, f.svc.SendLink(ctx, root, "https://hf.example", f.cloud.ID, signin.SendReset))
	_, late := f.mail.next(t)
	f.clock.add(signin.LinkValidity + time.Second)
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: late, New: newPassword + "y", Repeat: newPassword + "y"}); !errors.Is(err, signin.ErrBadLink) {
		t.Fatalf("an expired link worked: %v", err)
	}
	f.clock.add(-time.Hour)
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: late, New: newPassword + "y", Repeat: newPassword + "y"}); !errors.Is(err, signin.ErrBadLink) {
		t.Fatalf("an expired link worked after the clock stepped back: %v", err)
	}
	recs, err := f.store.ListAudit(ctx, f.acct, holdfast.AuditFilter{Action: "administrator.reset_password"})
	must(t, err)
	if len(recs) != 3 || recs[0].ActorID != f.root.ID || recs[0].DecisionID == "" {
		t.Fatalf("reset_password records: %+v", recs)
	}
	cloud := principalOf(f.cloud)
	if err := f.svc.SendLink(ctx, cloud, "https://hf.example", f.root.ID, signin.SendReset); !errors.As(err, new(*holdfast.DeniedError)) {
		t.Fatalf("a Cloud administrator reset the platform administrator's password: %v", err)
	}
}

// TestSetupLink: the setup link (setup.Bootstrap's) sets the first
// password like any link, and a new one voids the last.
func TestSetupLink(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	old, _, err := signin.IssueLink(ctx, f.store, f.root, holdfast.LinkSetup, f.clock.Now())
	must(t, err)
	secret, l, err := signin.IssueLink(ctx, f.store, f.root, holdfast.LinkSetup, f.clock.Now())
	must(t, err)
	if l.ExpiresAt != f.clock.Now().Add(signin.LinkValidity) || l.ID == secret.Reveal() || !strings.HasSuffix(signin.LinkURL("https://hf", secret), secret.Reveal()) {
		t.Fatalf("link %+v", l)
	}
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: old.Reveal(), New: newPassword, Repeat: newPassword}); !errors.Is(err, signin.ErrBadLink) {
		t.Fatalf("the earlier setup link worked: %v", err)
	}
	must(t, f.svc.ResetPassword(ctx, signin.Reset{Token: secret.Reveal(), New: newPassword, Repeat: newPassword}))
}
